"""The grid: a recipe expanded into cells (a mapping of axis values: intermediate, target, seed and the
study axes of axes.py); executors.py runs them.

Each intermediate module is trained once per seed into ``INTERMEDIATE_OUTPUT/TASK-METHOD-seedS`` and
every cell of that intermediate references the folder. A cell is done when its result file
``OUTPUT/results/INTERMEDIATE/TARGET-seedS.json`` exists with the cell's current fingerprint (a hash of
its training and evaluation settings); finished work is never redone, a killed grid resumes where it
stopped, and an interrupted training restarts cleanly (``training.pipeline.train`` discards its ``.partial``
folder, or resumes from its last checkpoint when ``save_steps`` > 0).

    OUTPUT/recipe.json                      the resolved recipe of the last invocation
    OUTPUT/grid_log.jsonl                   one line per event (trainings started / finished, cells done)
    OUTPUT/targets/INTERMEDIATE/TARGET-seedS/   target run folders (+ recipe.json beside manifest.json)
    OUTPUT/results/INTERMEDIATE/TARGET-seedS.json   evaluation result + tidy rows of a cell
    OUTPUT/results.sqlite                   the results store (see store.py)

The intermediate runs a cell needs (tasks, mixtures, the links of orders) are made in jobs.py.
Intermediates are looked up in ``INTERMEDIATE_TRAINERS`` (name -> ``fn(config, *, tasks, log) -> Run``):
a registered intermediate task trains with ``training.pipeline.train``; "multitask" plugs in by registering
itself (``@register_intermediate_trainer("multitask")`` in a module listed in ``PLUGIN_MODULES``).
Retrieval targets get no target training: they are scored from the intermediate run (the plain
backbone for "none"). With compose "fuse" / "merge", one cell per target fuses / merges all the recipe's
intermediates (row "fusion" / "merged")."""
from __future__ import annotations

import importlib
import json
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from adapterstilts.config import TrainConfig, resolve_report_to
from adapterstilts.errors import UserError
from adapterstilts.experiments.axes import Row, check_only, parse_only, rows, selected, value_text
from adapterstilts.experiments.jobs import Intermediate, _data_block, _folder, _Jobs
from adapterstilts.experiments.recipe import Recipe
from adapterstilts.experiments.store import STORE_FILE, cell_key
from adapterstilts.runs import MANIFEST, Run

RECIPE_FILE = "recipe.json"
LOG_FILE = "grid_log.jsonl"
PLUGIN_MODULES = ("adapterstilts.training.multitask",)  # imported on demand to find extra intermediate trainers
INTERMEDIATE_TRAINERS: dict[str, Callable[..., Run]] = {}


def register_intermediate_trainer(name: str):
    """Register ``fn(config: TrainConfig, *, tasks: list[str], log) -> Run`` as the trainer of ``name``."""

    def decorator(fn):
        INTERMEDIATE_TRAINERS[name] = fn
        return fn

    return decorator


def _train_single_task(config: TrainConfig, *, tasks: list[str], log=print) -> Run:
    from adapterstilts.training.pipeline import train

    return train(config, log=log)


def intermediate_trainer(name: str) -> Callable[..., Run]:
    """The training function of intermediate ``name``: a registered trainer, else ``training.train``
    for a registered intermediate task; a name with neither raises (the grid marks its cells skipped)."""
    from adapterstilts.tasks import TASKS

    if name in INTERMEDIATE_TRAINERS:
        return INTERMEDIATE_TRAINERS[name]
    if name in TASKS:
        return _train_single_task
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue
            raise UserError(f"trainer plugin {module} cannot be imported ({exc}); fix it or remove {name!r}") from None
        except ImportError as exc:
            raise UserError(f"trainer plugin {module} cannot be imported ({exc}); fix it or remove {name!r}") from None
    if name in INTERMEDIATE_TRAINERS:
        return INTERMEDIATE_TRAINERS[name]
    if name == "multitask":
        raise UserError("multi-task intermediate training is not available yet; remove 'multitask' from the "
                        "recipe's intermediates (its cells are skipped meanwhile)")
    raise UserError(f"no trainer for intermediate {name!r}; register one with "
                    "adapterstilts.experiments.plan.register_intermediate_trainer")


# ------------------------------------------------------------------------------------------ plan
@dataclass(frozen=True)
class Cell:
    intermediate: str  # row label: "none", a task, "multitask", "fusion", "merged", "a>b", "mix:NAME"
    target: str
    seed: int
    retrieval: bool
    compose: str
    needs: tuple[str, ...]  # intermediate run folders
    run: str | None  # target run folder (None: retrieval, no target training; or a zero-shot few-shot cell)
    result: str
    blocked: str | None = None
    axes: tuple[tuple[str, Any], ...] = ()  # the study axes beyond intermediate / target / seed
    base: str | None = None  # few-shot cells: the English target run they continue (shots > 0) or score (0)

    @property
    def axis(self) -> dict[str, Any]:
        return dict(self.axes)

    @property
    def key(self) -> str:
        return cell_key(self.intermediate, self.target, self.seed, self.axis)

    @property
    def shots(self) -> int | None:
        return self.axis.get("shots")

    @property
    def language(self) -> str | None:
        return self.axis.get("language")

    def english(self) -> "Cell":
        """The English target cell a few-shot cell builds on."""
        axes = tuple((k, v) for k, v in self.axes if k not in ("shots", "language"))
        return replace(self, run=self.base, axes=axes, base=None)


@dataclass
class Plan:
    recipe: Recipe
    root: str
    model: str
    report_to: str
    store: str
    intermediates: list[Intermediate] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    retrain_changed: bool = False  # retrain finished runs whose settings differ (else: stop with an error)
    jobs: dict[str, Intermediate] = field(default_factory=dict)  # every intermediate run a cell refers to, by path

    @property
    def log_path(self) -> Path:
        return Path(self.root) / LOG_FILE

    def job(self, path: str) -> Intermediate:
        return self.jobs[path]


def expand(recipe: Recipe, only: list[str] | None = None, *, report_to: str | None = None) -> Plan:
    """The recipe's cells (filtered by ``only``) and the intermediate runs they need. No side effects."""
    from adapterstilts.tasks import get_task

    filters = parse_only(only)
    root = Path(recipe["output"] or Path("runs") / recipe.name).absolute()
    inter_root = Path(recipe["intermediate_output"] or root / "intermediate").absolute()
    model = str(root / "tiny-xlmr") if recipe["model"] == "tiny" else recipe["model"]
    compose = recipe["compose"]
    grid_rows = rows(recipe)
    sizes = recipe["sizes"]
    has_sizes, shots = sizes != [None], recipe["shots"]
    plan = Plan(recipe, str(root), model, resolve_report_to(report_to or recipe["report_to"]),
                str(Path(recipe["results"]).absolute() if recipe["results"] else root / STORE_FILE))
    jobs = _Jobs(recipe, inter_root)
    choices: dict[str, set[str]] = {a: set() for a in ("intermediate", "target", "seed", "size", "shots", "language",
                                                         "order", "mix")}
    for row in grid_rows:
        for target in recipe["targets"]:
            task = get_task(target)
            langs = _cell_languages(recipe, task) if shots else [None]
            for seed in recipe["seeds"]:
                sized = has_sizes and _sized(row, recipe)
                for size in sizes if sized else [None]:  # the baseline (and a mix of fixed size) has one size
                    for k in shots or [None]:
                        for lang in langs:
                            axes = {**row.axes(), **({"size": size} if sized else {}),
                                    **({"shots": k, "language": lang} if shots else {})}
                            values = {"intermediate": row.label, "target": target, "seed": seed, **axes}
                            for key, value in values.items():
                                choices[key].add(value_text(value))
                            if not selected(filters, values):
                                continue
                            plan.cells.append(_cell(plan, jobs, row, task, seed, size, compose, axes, root))
    check_only(filters, {k: sorted(v) for k, v in choices.items()})
    plan.jobs = dict(jobs.made)
    needed = {p for c in plan.cells if not c.blocked for p in _closure(plan.jobs, c.needs)}
    plan.intermediates = [j for j in jobs.made.values() if j.path in needed or j.blocked]
    return plan


def _sized(row: Row, recipe: Recipe) -> bool:
    """Does the size axis apply to this row? Not to the baseline, nor to a mixture with its own size."""
    if row.kind == "none":
        return False
    return not (row.kind == "mix" and recipe["mixes"][row.mix].get("size") is not None)


def _closure(jobs: dict[str, Intermediate], paths) -> list[str]:
    """``paths`` and the earlier links of the orders among them."""
    out = []
    for path in paths:
        while path is not None:
            out.append(path)
            path = jobs[path].after if path in jobs else None
    return out


def _cell_languages(recipe: Recipe, task) -> list[str]:
    langs = recipe.languages_for(task.name)
    return list(task.languages) if langs == "all" else list(langs)


def _cell(plan: Plan, jobs: _Jobs, row: Row, task, seed: int, size: int | None, compose: str, axes: dict,
          root: Path) -> Cell:
    recipe, target = plan.recipe, task.name
    retrieval = task.format == "retrieval"
    needed = [] if row.kind == "none" else jobs.get(row, seed, size)
    blocked = None
    if retrieval and row.kind == "combined":
        needed = []
        blocked = (f"retrieval targets have no target training, so there is no {row.label} run to score; "
                   "they are scored from single intermediates in stack / continue recipes")
    else:
        blocked = next((f"intermediate {j.name}: {j.blocked}" for j in needed if j.blocked), None)
        if blocked is None and not retrieval:
            blocked = _data_block(recipe, "target", target)
    if blocked is None and axes.get("shots") is not None and retrieval:
        blocked = f"{target} has no training data, so no few-shot training: drop it from the targets of a shots study"
    name = f"{target}-seed{seed}" + (f"-size{value_text(size)}" if "size" in axes else "")
    english = None if retrieval else str(root / "targets" / _folder(row.label) / name)
    run, base = english, None
    if axes.get("shots") is not None:
        base = english
        k, lang = axes["shots"], axes["language"]
        run = str(root / "targets" / _folder(row.label) / f"{name}-shots{k}-{lang}") if k else None
        name = f"{name}-shots{k}-{lang}"
    return Cell(row.label, target, seed, retrieval, "none" if row.kind == "none" else compose,
                tuple(j.path for j in needed), run, str(root / "results" / _folder(row.label) / f"{name}.json"),
                blocked, tuple(sorted(axes.items())), base)


# ------------------------------------------------------------------------------------------ configs
def _config(plan: Plan, phase: str, task: str, *, output: str, seed: int, compose: str = "none",
            intermediates: tuple[str, ...] = (), **extra) -> TrainConfig:
    recipe = plan.recipe
    settings = recipe.settings(phase, task)
    data = settings.pop("data", None) or recipe["data"]
    return TrainConfig(task=task, output=output, model=plan.model, revision=recipe["revision"], method=recipe["method"],
                       compose=compose, intermediates=list(intermediates), data=data, seed=seed,
                       report_to=plan.report_to, **settings, **extra)


def intermediate_config(plan: Plan, job: Intermediate) -> TrainConfig:
    chained = {"compose": "chain", "intermediates": (job.after,)} if job.after else {}
    return _config(plan, "intermediate", job.task or job.name, output=job.path, seed=job.seed,
                   train_data=job.train_data, **chained)


def target_config(plan: Plan, cell: Cell) -> TrainConfig:
    if cell.shots:  # continue the English target run on k examples of the cell's language
        from adapterstilts.tasks.derived import FewShot

        spec = FewShot(cell.target, cell.language, cell.shots, cell.seed).to_spec()
        return _config(plan, "fewshot", cell.target, output=cell.run or "", seed=cell.seed, train_data=spec,
                       init_from=cell.base)
    return _config(plan, "target", cell.target, output=cell.run or "", seed=cell.seed, compose=cell.compose,
                   intermediates=cell.needs)


def evaluation_settings(plan: Plan, cell: Cell) -> dict[str, Any]:
    recipe = plan.recipe
    data = recipe.settings("target", cell.target).get("data") or recipe["data"]
    languages = [cell.language] if cell.language else recipe.languages_for(cell.target)
    return {**recipe["evaluation"], "data": data, "languages": languages}


def _hash(data) -> str:
    from adapterstilts.config.identity import fingerprint as identity_fingerprint

    return identity_fingerprint(data)


def _identity(plan: Plan, config: TrainConfig) -> dict:
    from adapterstilts.config.identity import identity

    return identity(config, plan.root)


def intermediate_fingerprint(plan: Plan, job: Intermediate) -> str:
    """Identity of what an intermediate run learns (its settings; not where it is written)."""
    data = {"config": _identity(plan, intermediate_config(plan, job)), "tasks": list(job.tasks)}
    if job.name == "multitask":
        data.update(multitask_options(plan))
    if job.after:
        data["after"] = intermediate_fingerprint(plan, plan.job(job.after))
    return _hash(data)


def multitask_options(plan: Plan) -> dict[str, Any]:
    return {"sampling": plan.recipe["multitask_sampling"], "temperature": float(plan.recipe["multitask_temperature"])}


def target_fingerprint(plan: Plan, cell: Cell) -> str:
    data = {"config": _identity(plan, target_config(plan, cell)),
            "intermediates": [intermediate_fingerprint(plan, plan.job(p)) for p in cell.needs]}
    if cell.shots:
        data["base"] = target_fingerprint(plan, cell.english())
    return _hash(data)


def fingerprint(plan: Plan, cell: Cell) -> str:
    """Identity of a cell's result: its runs' fingerprints and the evaluation settings."""
    from adapterstilts.config.identity import relative_to_root

    scored = cell.english() if cell.shots == 0 else cell
    return _hash({"run": None if cell.retrieval else target_fingerprint(plan, scored),
                  "intermediates": [intermediate_fingerprint(plan, plan.job(p)) for p in cell.needs],
                  "model": relative_to_root(plan.model, plan.root), "evaluation": evaluation_settings(plan, cell)})


# ------------------------------------------------------------------------------------------ status
def read_json(path: str | Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def cached_result(plan: Plan, cell: Cell) -> dict | None:
    """The cell's result file when it was made with the cell's current settings. A result written
    before identity version 2 (no ``identity_version``) still counts when its evaluation settings are
    the same and its runs are fresh; it comes back with the new fingerprint (the caller rewrites it)."""
    from adapterstilts.config.identity import IDENTITY_VERSION

    record = read_json(cell.result)
    if not record:
        return None
    expected = fingerprint(plan, cell)
    if record.get("fingerprint") == expected:
        return record
    if record.get("identity_version") is None and record.get("evaluation") == evaluation_settings(plan, cell):
        runs = [(j.path, intermediate_fingerprint(plan, j), intermediate_config(plan, j))
                for j in (plan.job(p) for p in cell.needs)]
        if cell.run:
            runs.append((cell.run, target_fingerprint(plan, cell), target_config(plan, cell)))
        if all(run_state(*r) == "fresh" for r in runs):
            return {**record, "fingerprint": expected, "identity_version": IDENTITY_VERSION, "migrated": True}
    return None


def _partial(path: str) -> Path:
    p = Path(path)
    return p.parent / f".{p.name}.partial"


def config_changes(path: Path, config: TrainConfig, root: str | None = None) -> list[str]:
    """The identity fields that differ between a finished run's saved config.json and ``config``."""
    from adapterstilts.config.identity import changes, identity

    saved = read_json(path / "config.json")
    if not isinstance(saved, dict):
        return []
    if saved.get("lr") is None:  # the method default of its time: the manifest records what it trained with
        trained_lr = ((read_json(path / MANIFEST) or {}).get("hyperparameters") or {}).get("lr")
        saved = {**saved, "lr": trained_lr}
    root = root or str(Path(path).parent.parent)
    return changes(identity(saved, root), identity(config, root))


def run_state(path: str | Path, expected: str, config: TrainConfig, root: str | None = None) -> str:
    """"missing" (no finished run), "fresh" (trained with these settings) or "stale". A run marked by
    an older identity version is fresh when its saved settings match on today's identity fields."""
    from adapterstilts.config.identity import IDENTITY_VERSION

    path = Path(path)
    if not (path / MANIFEST).is_file():
        return "missing"
    about = read_json(path / RECIPE_FILE) or {}
    if about.get("fingerprint") and about.get("identity_version") == IDENTITY_VERSION:
        return "fresh" if about["fingerprint"] == expected else "stale"
    return "stale" if config_changes(path, config, root) else "fresh"  # older marker, or killed before it


def intermediate_status(plan: Plan, job: Intermediate) -> str:
    if job.blocked:
        return "blocked"
    state = run_state(job.path, intermediate_fingerprint(plan, job), intermediate_config(plan, job), plan.root)
    if state != "missing":
        return {"fresh": "cached", "stale": "stale"}[state]
    return "interrupted" if _partial(job.path).exists() else "to train"


def cell_status(plan: Plan, cell: Cell) -> str:
    if cell.blocked:
        return "blocked"
    if cached_result(plan, cell):
        return "done"
    if cell.run:
        state = run_state(cell.run, target_fingerprint(plan, cell), target_config(plan, cell), plan.root)
        if state != "missing":
            return {"fresh": "trained", "stale": "stale"}[state]
        if _partial(cell.run).exists():
            return "interrupted"
    return "to run"


def describe(plan: Plan) -> str:
    recipe = plan.recipe
    lines = [f"recipe {recipe.name} ({recipe.source}): method {recipe['method']}, compose {recipe['compose']}, "
             f"model {plan.model}, data {recipe['data']}, seeds {recipe['seeds']}",
             f"output {plan.root}; results store {plan.store}; report_to {plan.report_to}",
             f"intermediate modules ({len(plan.intermediates)}):"]
    for job in plan.intermediates:
        status = intermediate_status(plan, job)
        lines.append(f"  {job.name:<14} seed {job.seed:<6} {status:<12} {job.blocked or job.path}")
    statuses = [(c, cell_status(plan, c)) for c in plan.cells]
    counts = {s: sum(1 for _, x in statuses if x == s)
              for s in ("done", "trained", "stale", "interrupted", "to run", "blocked")}
    lines.append(f"cells ({len(plan.cells)}: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + "):")
    for cell, status in statuses:
        what = cell.blocked or (f"retrieval from {Path(cell.needs[0]).name if cell.needs else 'the plain backbone'}"
                                if cell.retrieval else f"compose {cell.compose}")
        lines.append(f"  {cell.key:<36} {status:<12} {what}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ work
def log_event(plan: Plan, event: str, **fields) -> None:
    plan.log_path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"time": round(time.time(), 3), "pid": os.getpid(), "event": event, **fields})
    with open(plan.log_path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
