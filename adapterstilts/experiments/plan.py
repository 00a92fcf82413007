"""The grid: a recipe expanded into cells (intermediate x target x seed); grid_run.py runs them.

Each intermediate module is trained once per seed into ``INTERMEDIATE_OUTPUT/TASK-METHOD-seedS`` and
every cell of that intermediate references the folder. A cell is done when its result file
``OUTPUT/results/INTERMEDIATE/TARGET-seedS.json`` exists with the cell's current fingerprint (a hash of
its training and evaluation settings); finished work is never redone, a killed grid resumes where it
stopped, and an interrupted training restarts cleanly (``training.train`` discards its ``.partial``
folder, or resumes from its last checkpoint when ``save_steps`` > 0).

    OUTPUT/recipe.json                      the resolved recipe of the last invocation
    OUTPUT/grid_log.jsonl                   one line per event (trainings started / finished, cells done)
    OUTPUT/targets/INTERMEDIATE/TARGET-seedS/   target run folders (+ recipe.json beside manifest.json)
    OUTPUT/results/INTERMEDIATE/TARGET-seedS.json   evaluation result + tidy rows of a cell
    OUTPUT/results.sqlite                   the results store (see results_store.py)

Intermediates are looked up in ``INTERMEDIATE_TRAINERS`` (name -> ``fn(config, *, tasks, log) -> Run``):
a registered intermediate task trains with ``training.train``; "multitask" plugs in by registering
itself (``@register_intermediate_trainer("multitask")`` in a module listed in ``PLUGIN_MODULES``).
Retrieval targets get no target training: they are scored from the intermediate run (the plain
backbone for "none"). With compose "fuse" / "merge", one cell per target fuses / merges all the recipe's
intermediates (row "fusion" / "merged")."""
from __future__ import annotations

import hashlib
import importlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from adapterstilts.config import TrainConfig, resolve_report_to
from adapterstilts.errors import UserError
from adapterstilts.experiments.recipe import SPECIAL_INTERMEDIATES, VOLATILE_KEYS, Recipe
from adapterstilts.experiments.store import STORE_FILE, cell_key
from adapterstilts.runs import MANIFEST, Run

RECIPE_FILE = "recipe.json"
LOG_FILE = "grid_log.jsonl"
COMBINED = {"fuse": "fusion", "merge": "merged"}  # compose -> row label of the one cell per target over all intermediates
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
class Intermediate:
    name: str  # an intermediate task, or "multitask"
    seed: int
    path: str
    tasks: tuple[str, ...]
    blocked: str | None = None


@dataclass(frozen=True)
class Cell:
    intermediate: str  # row label: "none", a task, "multitask", "fusion" or "merged"
    target: str
    seed: int
    retrieval: bool
    compose: str
    needs: tuple[str, ...]  # intermediate run folders
    run: str | None  # target run folder (None: retrieval, no target training)
    result: str
    blocked: str | None = None

    @property
    def key(self) -> str:
        return cell_key(self.intermediate, self.target, self.seed)


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


def parse_only(items: list[str] | None) -> dict[str, set[str]]:
    """``["intermediate=squad,mnli,target=xnli"]`` -> {"intermediate": {"squad", "mnli"}, "target": {"xnli"}}."""
    out: dict[str, set[str]] = {}
    key = None
    for item in items or []:
        for part in filter(None, (p.strip() for p in item.split(","))):
            if "=" in part:
                key, _, part = part.partition("=")
                key = key.strip()
                if key not in ("intermediate", "target", "seed"):
                    raise UserError(f"--only {item!r}: unknown key {key!r}; use intermediate=..., target=..., seed=...")
            elif key is None:
                raise UserError(f"--only {item!r}: expected KEY=VALUE, e.g. --only intermediate=squad,target=xnli")
            out.setdefault(key, set()).add(part.strip())
    return out


def _data_block(recipe: Recipe, phase: str, task: str) -> str | None:
    from adapterstilts.tasks import get_task

    data = recipe.settings(phase, task).get("data") or recipe["data"]
    spec = get_task(task)
    if data == "hub" and spec.requires_local_data is not None:
        return f"{task} needs local data: set {phase}.per_task.{task}.data=DIR ({spec.requires_local_data.message})"
    return None


def expand(recipe: Recipe, only: list[str] | None = None, *, report_to: str | None = None) -> Plan:
    """The recipe's cells (filtered by ``only``) and the intermediate runs they need. No side effects."""
    from adapterstilts.tasks import get_task

    filters = parse_only(only)
    root = Path(recipe["output"] or Path("runs") / recipe.name).absolute()
    inter_root = Path(recipe["intermediate_output"] or root / "intermediate").absolute()
    model = str(root / "tiny-xlmr") if recipe["model"] == "tiny" else recipe["model"]
    method, compose = recipe["method"], recipe["compose"]
    tasks = [n for n in recipe["intermediates"] if n != "none"]
    rows: list[tuple[str, tuple[str, ...]]] = [("none", ())] if "none" in recipe["intermediates"] else []
    rows += [(COMBINED[compose], tuple(tasks))] if compose in COMBINED else [(n, (n,)) for n in tasks]
    choices = {"intermediate": [r for r, _ in rows], "target": list(recipe["targets"]),
               "seed": [str(s) for s in recipe["seeds"]]}
    for key, values in filters.items():
        unknown = sorted(values - set(choices[key]))
        if unknown:
            raise UserError(f"--only {key}={','.join(unknown)}: not in the recipe's {key}s; choose from: "
                            f"{', '.join(choices[key])}")
    keep = {k: filters.get(k, set(v)) for k, v in choices.items()}
    plan = Plan(recipe, str(root), model, resolve_report_to(report_to or recipe["report_to"]),
                str(Path(recipe["results"]).absolute() if recipe["results"] else root / STORE_FILE))
    jobs: dict[tuple[str, int], Intermediate] = {}

    def job(name: str, seed: int) -> Intermediate:
        if (name, seed) not in jobs:
            members = tuple(recipe["multitask_tasks"] or [t for t in tasks if t not in SPECIAL_INTERMEDIATES]
                            ) if name == "multitask" else (name,)
            try:
                intermediate_trainer(name)
                blocked = next(filter(None, (_data_block(recipe, "intermediate", t) for t in members)), None)
            except UserError as exc:
                blocked = str(exc)
            if name == "multitask" and not members and not blocked:
                blocked = "multitask needs tasks: list them in multitask_tasks or in intermediates"
            jobs[name, seed] = Intermediate(name, seed, str(inter_root / f"{name}-{method}-seed{seed}"), members, blocked)
        return jobs[name, seed]

    for label, names in rows:
        for target in recipe["targets"]:
            for seed in recipe["seeds"]:
                if label not in keep["intermediate"] or target not in keep["target"] or str(seed) not in keep["seed"]:
                    continue
                retrieval = get_task(target).format == "retrieval"
                blocked = None
                if retrieval and label in COMBINED.values():
                    needed: list[Intermediate] = []
                    blocked = (f"retrieval targets have no target training, so there is no {label} run to score; "
                               "they are scored from single intermediates in stack / continue recipes")
                else:
                    needed = [job(n, seed) for n in names]
                    blocked = next((f"intermediate {j.name}: {j.blocked}" for j in needed if j.blocked), None)
                    if blocked is None and not retrieval:
                        blocked = _data_block(recipe, "target", target)
                name = f"{target}-seed{seed}"
                run = None if retrieval else str(root / "targets" / label / name)
                plan.cells.append(Cell(label, target, seed, retrieval, "none" if label == "none" else compose,
                                       tuple(j.path for j in needed), run, str(root / "results" / label / f"{name}.json"),
                                       blocked))
    plan.jobs = {j.path: j for j in jobs.values()}
    needed_paths = {p for c in plan.cells if not c.blocked for p in c.needs}
    plan.intermediates = [j for j in jobs.values() if j.path in needed_paths or j.blocked]
    return plan


# ------------------------------------------------------------------------------------------ configs
def _config(plan: Plan, phase: str, task: str, *, output: str, seed: int, compose: str = "none",
            intermediates: tuple[str, ...] = ()) -> TrainConfig:
    recipe = plan.recipe
    settings = recipe.settings(phase, task)
    data = settings.pop("data", None) or recipe["data"]
    return TrainConfig(task=task, output=output, model=plan.model, revision=recipe["revision"], method=recipe["method"],
                       compose=compose, intermediates=list(intermediates), data=data, seed=seed,
                       report_to=plan.report_to, **settings)


def intermediate_config(plan: Plan, job: Intermediate) -> TrainConfig:
    return _config(plan, "intermediate", job.name, output=job.path, seed=job.seed)


def target_config(plan: Plan, cell: Cell) -> TrainConfig:
    return _config(plan, "target", cell.target, output=cell.run or "", seed=cell.seed, compose=cell.compose,
                   intermediates=cell.needs)


def _comparable(config: dict) -> dict:
    return {k: v for k, v in json.loads(json.dumps(config)).items() if k not in VOLATILE_KEYS}


def evaluation_settings(plan: Plan, cell: Cell) -> dict[str, Any]:
    recipe = plan.recipe
    data = recipe.settings("target", cell.target).get("data") or recipe["data"]
    return {**recipe["evaluation"], "data": data, "languages": recipe.languages_for(cell.target)}


def _hash(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def intermediate_fingerprint(plan: Plan, job: Intermediate) -> str:
    """Identity of what an intermediate run learns (its settings; not where it is written)."""
    identity = {"config": _comparable(intermediate_config(plan, job).to_dict()), "tasks": list(job.tasks)}
    if job.name == "multitask":
        identity.update(multitask_options(plan))
    return _hash(identity)


def multitask_options(plan: Plan) -> dict[str, Any]:
    return {"sampling": plan.recipe["multitask_sampling"], "temperature": float(plan.recipe["multitask_temperature"])}


def target_fingerprint(plan: Plan, cell: Cell) -> str:
    return _hash({"config": _comparable(target_config(plan, cell).to_dict()),
                  "intermediates": [intermediate_fingerprint(plan, plan.job(p)) for p in cell.needs]})


def fingerprint(plan: Plan, cell: Cell) -> str:
    """Identity of a cell's result: its runs' fingerprints and the evaluation settings."""
    return _hash({"run": None if cell.retrieval else target_fingerprint(plan, cell),
                  "intermediates": [intermediate_fingerprint(plan, plan.job(p)) for p in cell.needs],
                  "model": plan.model, "evaluation": evaluation_settings(plan, cell)})


# ------------------------------------------------------------------------------------------ status
def read_json(path: str | Path) -> dict | None:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def cached_result(plan: Plan, cell: Cell) -> dict | None:
    record = read_json(cell.result)
    return record if record and record.get("fingerprint") == fingerprint(plan, cell) else None


def _partial(path: str) -> Path:
    p = Path(path)
    return p.parent / f".{p.name}.partial"


def config_changes(path: Path, config: TrainConfig) -> list[str]:
    """What differs between a finished run's saved config.json and ``config`` ("key: old -> new")."""
    saved = read_json(path / "config.json")
    if saved is None:
        return []
    before, now = _comparable(saved), _comparable(config.to_dict())
    return [f"{k}: {before.get(k)!r} -> {now.get(k)!r}" for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]


def run_state(path: str | Path, expected: str, config: TrainConfig) -> str:
    """"missing" (no finished run), "fresh" (trained with these settings) or "stale"."""
    path = Path(path)
    if not (path / MANIFEST).is_file():
        return "missing"
    about = read_json(path / RECIPE_FILE) or {}
    if about.get("fingerprint"):
        return "fresh" if about["fingerprint"] == expected else "stale"
    return "stale" if config_changes(path, config) else "fresh"  # killed before recipe.json was written


def intermediate_status(plan: Plan, job: Intermediate) -> str:
    if job.blocked:
        return "blocked"
    state = run_state(job.path, intermediate_fingerprint(plan, job), intermediate_config(plan, job))
    if state != "missing":
        return {"fresh": "cached", "stale": "stale"}[state]
    return "interrupted" if _partial(job.path).exists() else "to train"


def cell_status(plan: Plan, cell: Cell) -> str:
    if cell.blocked:
        return "blocked"
    if cached_result(plan, cell):
        return "done"
    if cell.run:
        state = run_state(cell.run, target_fingerprint(plan, cell), target_config(plan, cell))
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
