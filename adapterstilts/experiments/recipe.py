"""Recipes: one YAML file describes a whole intermediate x target x seed grid.

Resolution order: ``DEFAULTS`` (the paper's protocol, below) <- the recipe file <- command-line
overrides (``--set key=value``: dotted keys, values parsed as YAML scalars). Dictionaries merge key
by key, lists and scalars replace. Every layer is checked on its own, so an error names the key and
where it came from (the file, or ``--set``); the merged recipe is then checked as a whole.

Bundled recipes live in the top-level ``recipes/`` folder (studies in ``recipes/studies/``), shipped
inside the package as ``adapterstilts.recipes_data`` (package data, so installed users have them); ``adapterstilts run NAME`` finds them by name, any other argument is a path to a YAML file.

Keys (see ``adapterstilts recipes NAME`` for a fully resolved example):

    name, description        free text; name defaults to the file name
    model, revision          base model id / folder; ``tiny`` builds the bundled tiny XLM-R into OUTPUT
    data                     hub | sample | DIR (per phase and per task overridable)
    method                   lora | bottleneck | full
    compose                  none | stack | fuse | merge | continue (how targets use the intermediate modules;
                             fuse / merge: one cell per target over all listed intermediates)
    seeds                    list of ints
    intermediates            intermediate tasks; "none" = no-intermediate baseline, "multitask" = all at once
    multitask_tasks          tasks of the multi-task intermediate (empty: the other listed intermediates)
    multitask_sampling       proportional | temperature | uniform (task drawn per batch)
    multitask_temperature    T of temperature sampling, p ~ n^(1/T)
    targets                  target tasks (default: the XTREME suite's nine, adapterstilts/suites/xtreme.py)
    languages                all | [langs] | {target: all | [langs], default: ...}
    intermediate, target     training settings (any TrainConfig field, e.g. lr, epochs, batch_size,
                             grad_accum, max_length, max_steps, save_steps...) and ``per_task:
                             {task: {settings}}`` overrides
    evaluation               split, max_examples, batch_size, layer (retrieval)
    study axes (each optional; a grid without them is the paper's intermediate x target x seed):
    sizes                    intermediate training sizes: a seeded subsample stratified by label of each
                             intermediate task (null = all its data), e.g. [1000, 10000, null]
    orders                   intermediate tasks (or mixtures "mix:NAME") trained in order, one row each:
                             [[mnli, squad]] trains MNLI, then SQuAD from the MNLI module (compose chain),
                             row "mnli>squad"; [[mnli, "mix:multi"]]: MNLI, then the mixture
    mixes                    named training mixtures, one row each ("mix:NAME"): {NAME: {sources:
                             [{task, language, split}], weights: [..] (with size), size: N}}
    shots                    target-language examples: after the English target training, each
                             language of each target trains further on k of its own examples (seeded;
                             from its training data, or held out of its evaluation data) and is
                             evaluated alone; 0 = zero-shot. E.g. [0, 5, 10, 50]
    fewshot                  training settings of the few-shot runs (over the target's), per_task too
    output                   output root (default runs/NAME); intermediate_output: where intermediate
                             modules go (default OUTPUT/intermediate; share it between recipes to reuse them)
    results                  results store (default OUTPUT/results.sqlite)
    report_to                auto (tensorboard when importable, else none) | none | tensorboard | wandb | mlflow
"""
from __future__ import annotations

import copy
import json
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError
from adapterstilts.experiments.axes import validate_axes
from adapterstilts.suites import XTREME



def _recipes_dir() -> Path:
    """``recipes/`` of a source checkout (editable installs and the tests run from it), else the copy
    an installed wheel ships as the package ``adapterstilts.recipes_data``."""
    checkout = Path(__file__).resolve().parents[2] / "recipes"
    if (checkout / "tiny.yaml").is_file():
        return checkout
    from importlib.resources import files

    return Path(str(files("adapterstilts.recipes_data")))


RECIPES_DIR = _recipes_dir()
SPECIAL_INTERMEDIATES = ("none", "multitask")
METHOD_NAMES = ("lora", "bottleneck", "full")
REPORT_TO = ("auto", "none", "tensorboard", "wandb", "mlflow")
# TrainConfig fields a recipe does not set per phase (the grid sets them, or they are top-level keys)
_NOT_PHASE_KEYS = {"task", "output", "model", "revision", "method", "compose", "intermediates", "seed",
                   "overwrite", "progress", "report_to", "train_data", "init_from"}
# TrainConfig fields that do not change what a run learns (ignored when comparing a cached run)
VOLATILE_KEYS = ("overwrite", "progress", "report_to", "logging_steps", "save_steps", "output")

DEFAULTS: dict[str, Any] = {
    "name": "",
    "description": "",
    "model": "FacebookAI/xlm-roberta-large",
    "revision": None,
    "data": "hub",
    "method": "full",
    "compose": "continue",
    "seeds": [42],
    "intermediates": ["none"],
    "multitask_tasks": [],
    "multitask_sampling": "proportional",
    "multitask_temperature": 2.0,
    "targets": list(XTREME.names),
    "languages": "all",
    # jiant / the paper: lr 1e-5 (null: the method's default: LoRA 3e-4, bottleneck 1e-4), warmup 10%,
    # max length 256 (QA 384: the task's default when null), effective batch 32 (QA 16); the targets'
    # epochs and batch sizes are the XTREME suite's protocol (suites/xtreme.py)
    "intermediate": {"lr": None, "epochs": 3.0, "batch_size": 8, "grad_accum": 4, "warmup_ratio": 0.1,
                     "max_length": None, "per_task": {"squad": {"batch_size": 4, "grad_accum": 4},
                                                      "squad_v2": {"batch_size": 4, "grad_accum": 4}}},
    "target": {"lr": None, "epochs": 2.0, "batch_size": 8, "grad_accum": 4, "warmup_ratio": 0.1, "max_length": None,
               "per_task": XTREME.recipe_per_task(batch_size=8, grad_accum=4)},
    "evaluation": {"split": None, "max_examples": None, "batch_size": 64, "layer": None},
    "sizes": [None],
    "orders": [],
    "mixes": {},
    "shots": [],
    # few-shot runs continue the English target run on k examples: more epochs, no warmup (k is tiny)
    "fewshot": {"epochs": 10.0, "warmup_ratio": 0.0, "per_task": {}},
    "output": None,
    "intermediate_output": None,
    "results": None,
    "report_to": "auto",
}


# ------------------------------------------------------------------------------------------ types
def _train_hints() -> dict[str, Any]:
    from adapterstilts.config import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in fields(TrainConfig) if f.name not in _NOT_PHASE_KEYS}


def _describe(hint) -> str:
    if hint is type(None):
        return "null"
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if typing.get_origin(hint) in (tuple, list):
        return f"a list of {_describe(typing.get_args(hint)[0])}"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))


def _coerce(value, hint):
    """``value`` converted to ``hint`` (int -> float, "1e-5" -> float, list -> tuple), or raise TypeError."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option)
            except TypeError:
                continue
        raise TypeError
    if hint is type(None):
        if value is None:
            return None
        raise TypeError
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise TypeError
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads 1e-5 (no dot) as a string
            try:
                return float(value)
            except ValueError:
                raise TypeError from None
        raise TypeError
    if hint is str:
        if isinstance(value, str):
            return value
        raise TypeError
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise TypeError
        inner = typing.get_args(hint)[0]
        items = [_coerce(v, inner) for v in value]
        return tuple(items) if origin is tuple else items
    raise TypeError


STR_LIST = list[str]
INT_LIST = list[int]
OPT_STR = typing.Optional[str]
OPT_INT = typing.Optional[int]
TOP_KEYS: dict[str, Any] = {
    "name": str, "description": str, "model": str, "revision": OPT_STR, "data": str, "method": str,
    "compose": str, "seeds": INT_LIST, "intermediates": STR_LIST, "multitask_tasks": STR_LIST, "targets": STR_LIST,
    "multitask_sampling": str, "multitask_temperature": float,
    "languages": "languages", "intermediate": "phase", "target": "phase", "evaluation": "evaluation",
    "output": OPT_STR, "intermediate_output": OPT_STR, "results": OPT_STR, "report_to": str,
    "sizes": list[typing.Optional[int]], "orders": list[list[str]], "mixes": "mixes", "shots": INT_LIST,
    "fewshot": "phase",
}
MIX_KEYS: dict[str, Any] = {"sources": "sources", "weights": typing.Optional[list[float]], "size": OPT_INT}
EVAL_KEYS: dict[str, Any] = {"split": OPT_STR, "max_examples": OPT_INT, "batch_size": int, "layer": OPT_INT}


def _full_sizes(value):
    """A recipe's sizes may say "full" for all the data, as ``--only size=full`` and folder names do (null too)."""
    if isinstance(value, list):
        return [None if isinstance(v, str) and v.strip().lower() == "full" else v for v in value]
    return value


class _Checker:
    """Checks one layer (a file, or the --set overrides) against the schema; names ``source`` in errors."""

    def __init__(self, source: str):
        self.source = source
        self.phase_hints = {**_train_hints(), "data": OPT_STR}

    def fail(self, key: str, problem: str, fix: str) -> UserError:
        return UserError(f"{self.source}: {key}: {problem}; {fix}")

    def unknown(self, key: str, known) -> UserError:
        return self.fail(key, "unknown key", f"use one of: {', '.join(sorted(known))}")

    def typed(self, key: str, value, hint):
        try:
            return _coerce(value, hint)
        except TypeError:
            raise self.fail(key, f"expected {_describe(hint)}, got {value!r}", "fix the value") from None

    def mapping(self, key: str, value) -> dict:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a mapping of keys, got {value!r}", "indent the keys below it")
        return value

    def check(self, layer: dict) -> dict:
        out: dict[str, Any] = {}
        for key, value in layer.items():
            if key not in TOP_KEYS:
                raise self.unknown(str(key), TOP_KEYS)
            kind = TOP_KEYS[key]
            if kind == "phase":
                out[key] = self.phase(key, value)
            elif kind == "evaluation":
                out[key] = self.section(key, value, EVAL_KEYS)
            elif kind == "languages":
                out[key] = self.languages(value)
            elif key == "sizes":
                out[key] = self.typed(key, _full_sizes(value), kind)
            elif kind == "mixes":
                out[key] = {str(name): self.mix(f"mixes.{name}", spec) for name, spec in self.mapping(key, value).items()}
            else:
                out[key] = self.typed(key, value, kind)
        return out

    def section(self, prefix: str, value, hints: dict) -> dict:
        out = {}
        for k, v in self.mapping(prefix, value).items():
            if k not in hints:
                raise self.unknown(f"{prefix}.{k}", hints)
            out[k] = self.typed(f"{prefix}.{k}", v, hints[k])
        return out

    def settings(self, prefix: str, value) -> dict:
        return self.section(prefix, value, self.phase_hints)

    def mix(self, prefix: str, value) -> dict:
        out = {}
        for k, v in self.mapping(prefix, value).items():
            if k not in MIX_KEYS:
                raise self.unknown(f"{prefix}.{k}", MIX_KEYS)
            if k != "sources":
                out[k] = self.typed(f"{prefix}.{k}", v, MIX_KEYS[k])
                continue
            if not isinstance(v, list) or not v:
                raise self.fail(f"{prefix}.sources", f"expected a list of {{task, language}} mappings, got {v!r}",
                                "e.g. sources: [{task: pawsx, language: en}, {task: pawsx, language: de}]")
            sources = []
            for i, src in enumerate(v):
                where = f"{prefix}.sources[{i}]"
                src = self.section(where, src, {"task": str, "language": str, "split": OPT_STR})
                if "task" not in src or "language" not in src:
                    raise self.fail(where, "needs task and language", "e.g. {task: pawsx, language: de}")
                sources.append(src)
            out[k] = sources
        if "sources" not in out:
            raise self.fail(prefix, "no sources", "list the tasks and languages to mix under sources:")
        return out

    def phase(self, key: str, value) -> dict:
        value = dict(self.mapping(key, value))
        per_task = self.mapping(f"{key}.per_task", value.pop("per_task", None) or {})
        out = self.settings(key, value)
        out["per_task"] = {str(t): self.settings(f"{key}.per_task.{t}", s) for t, s in per_task.items()}
        return out

    def languages(self, value):
        if isinstance(value, str):
            if value != "all":
                raise self.fail("languages", f"expected 'all', a list or a mapping, got {value!r}",
                                "write languages: all, or a list such as [de, zh]")
            return value
        if isinstance(value, list):
            return self.typed("languages", value, STR_LIST)
        out = {}
        for target, langs in self.mapping("languages", value).items():
            if langs != "all":
                langs = self.typed(f"languages.{target}", langs, STR_LIST)
            out[str(target)] = langs
        return out


# ------------------------------------------------------------------------------------------ loading
def bundled_recipes() -> dict[str, Path]:
    return {p.stem: p for p in sorted(RECIPES_DIR.glob("*.yaml"))}


def find_recipe(ref: str | Path) -> Path:
    path = Path(ref)
    if path.is_file():
        return path
    bundled = bundled_recipes()
    if str(ref) in bundled:
        return bundled[str(ref)]
    raise UserError(f"no recipe {str(ref)!r}: not a file and not a bundled recipe; pass a YAML path or one of: "
                    f"{', '.join(bundled) or 'none'} (`adapterstilts recipes` lists them)")


def read_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise UserError(f"{path}:{where} is not valid YAML ({problem}); fix the syntax") from None
    except OSError as exc:
        raise UserError(f"cannot read recipe {path} ({exc.strerror}); check the path") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: a recipe is a mapping of keys (name:, method:, ...), got {type(data).__name__}; "
                        "see `adapterstilts recipes tiny` for an example")
    return data


def parse_overrides(items: list[str] | None) -> dict:
    """``["target.per_task.xnli.epochs=3", "seeds=[1,2]"]`` -> nested dict (values parsed as YAML)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise UserError(f"--set {item!r}: expected KEY=VALUE with a dotted key, e.g. --set target.epochs=3")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            raise UserError(f"--set {item!r}: the value is not a YAML scalar or list; quote it") from None
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {item!r}: {part!r} was already set to a value; set its keys only")
        node[parts[-1]] = value
    return out


def merge(base: dict, layer: dict) -> dict:
    """``layer`` over ``base``: dictionaries merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for key, value in layer.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_layer(base: dict, layer: dict) -> dict:
    """A recipe layer over the layers below it. A phase-level setting of a later layer also beats the
    lower layers' per-task values of that setting (``target: {max_steps: 2}`` in a recipe applies to
    every target, even those the defaults give per-task epochs or batch sizes)."""
    base = copy.deepcopy(base)
    for phase in ("intermediate", "target", "fewshot"):
        common = [k for k in layer.get(phase, {}) if k != "per_task"]
        for settings in base.get(phase, {}).get("per_task", {}).values():
            for key in common:
                settings.pop(key, None)
    return merge(base, layer)


@dataclass
class Recipe:
    """A resolved, validated recipe (``data`` is plain JSON) and where it came from."""

    data: dict[str, Any]
    source: str

    @property
    def name(self) -> str:
        return self.data["name"]

    def __getitem__(self, key: str):
        return self.data[key]

    def settings(self, phase: str, task: str) -> dict[str, Any]:
        """Training settings of ``task`` in ``phase`` ("intermediate" | "target" | "fewshot": the
        target's, then the few-shot ones): phase <- per_task."""
        out = self.settings("target", task) if phase == "fewshot" else {}
        section = self.data[phase]
        out.update({k: v for k, v in section.items() if k != "per_task"})
        out.update(section["per_task"].get(task, {}))
        return out

    def languages_for(self, target: str) -> str | list[str]:
        langs = self.data["languages"]
        if isinstance(langs, dict):
            return langs.get(target, langs.get("default", "all"))
        return langs

    def to_json(self) -> dict[str, Any]:
        return json.loads(json.dumps({**self.data, "source": self.source}))


def load_recipe(ref: str | Path, overrides: list[str] | None = None) -> Recipe:
    path = find_recipe(ref)
    raw = read_yaml(path)
    if not raw:  # not the defaults' 99-cell XLM-R Large grid by accident
        raise UserError(f"{path} is empty; a recipe names at least its model, intermediates and targets (see "
                        "`adapterstilts recipes tiny` for an example)")
    layer = _Checker(str(path)).check(raw)
    extra = _Checker("--set").check(parse_overrides(overrides))
    data = merge_layer(merge_layer(DEFAULTS, layer), extra)
    if not data["name"]:
        data["name"] = path.stem
    source = str(path) + (" (with --set overrides)" if overrides else "")
    validate(data, source)
    return Recipe(data, str(path))


def validate(data: dict, source: str) -> None:
    """Cross-key checks of a merged recipe (each key's type was checked in its own layer)."""
    from adapterstilts.tasks import TASKS, get_task

    def fail(key: str, problem: str, fix: str) -> UserError:
        return UserError(f"{source}: {key}: {problem}; {fix}")

    def kind_of(name: str) -> str | None:
        return TASKS.get(name).kind if name in TASKS else None

    intermediates = [n for n in TASKS.names() if kind_of(n) == "intermediate"]
    targets = [n for n in TASKS.names() if kind_of(n) == "target"]
    from adapterstilts.compose import COMPOSITIONS, get_composition

    for key, choices in (("method", METHOD_NAMES), ("compose", COMPOSITIONS.names()), ("report_to", REPORT_TO)):
        if data[key] not in choices:
            raise fail(key, f"unknown value {data[key]!r}", f"choose one of: {', '.join(choices)}")
    for key in ("seeds", "intermediates", "targets"):
        if not data[key]:
            raise fail(key, "empty list", "list at least one")
        if len(set(data[key])) != len(data[key]):
            raise fail(key, f"duplicates in {data[key]}", "list each once")
    for i, name in enumerate(data["intermediates"]):
        if name not in intermediates and name not in SPECIAL_INTERMEDIATES:
            raise fail(f"intermediates[{i}]", f"unknown intermediate task {name!r}",
                       f"choose from: {', '.join(list(SPECIAL_INTERMEDIATES) + intermediates)}")
    for i, name in enumerate(data["multitask_tasks"]):
        if name not in intermediates:
            raise fail(f"multitask_tasks[{i}]", f"unknown intermediate task {name!r}", f"choose from: {', '.join(intermediates)}")
    for i, name in enumerate(data["targets"]):
        if name not in targets:
            raise fail(f"targets[{i}]", f"unknown target task {name!r}", f"choose from: {', '.join(targets)}")
    for phase, allowed in (("intermediate", intermediates + ["multitask"]), ("target", targets)):
        for task in data[phase]["per_task"]:
            if task not in allowed:
                raise fail(f"{phase}.per_task.{task}", f"unknown {phase} task {task!r}", f"choose from: {', '.join(allowed)}")
    langs = data["languages"]
    per_target = langs if isinstance(langs, dict) else {t: langs for t in data["targets"]}
    for target, values in per_target.items():
        if target == "default":
            continue
        if target not in targets:
            raise fail(f"languages.{target}", f"unknown target task {target!r}", f"choose from: {', '.join(targets)}")
        if values != "all":
            task = get_task(target)
            for lang in values:
                if lang not in task.languages:
                    raise fail(f"languages.{target}" if isinstance(langs, dict) else "languages",
                               f"{target} has no language {lang!r}", f"choose from: {', '.join(task.languages)}")
    tasks = [n for n in data["intermediates"] if n not in SPECIAL_INTERMEDIATES]
    composition = get_composition(data["compose"])
    if data["method"] not in composition.methods or "target" not in composition.kinds:
        fit = [c for c in COMPOSITIONS.names() if data["method"] in COMPOSITIONS.get(c).methods
               and "target" in COMPOSITIONS.get(c).kinds]
        raise fail("compose", f"{data['compose']!r} is not available for targets with method {data['method']}",
                   f"choose one of: {', '.join(fit)}")
    if data["compose"] == "none" and (tasks or "multitask" in data["intermediates"]):
        raise fail("compose", "'none' trains targets from the plain backbone, but intermediate tasks are listed",
                   "set compose: stack | fuse | continue, or list only 'none'")
    combined = len(tasks) + ("multitask" in data["intermediates"])
    if composition.combined_row and combined < composition.min_intermediates:
        raise fail("compose", f"{data['compose']!r} combines at least {composition.min_intermediates} intermediate "
                   f"modules, {combined} listed", "list more intermediates, or use compose: stack")
    validate_axes(data, fail, intermediates)
    for phase in ("intermediate", "target", "fewshot"):
        for task, settings in [(None, data[phase]), *data[phase]["per_task"].items()]:
            where = f"{phase}.per_task.{task}" if task else phase
            if settings.get("batch_size", 1) < 1 or settings.get("grad_accum", 1) < 1:
                raise fail(where, "batch_size and grad_accum must be at least 1", "fix the value")
