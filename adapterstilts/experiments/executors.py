"""Running a grid plan (see plan.py): train what is missing, evaluate, write each cell's result file,
copy its rows into the results store. ``run_cell`` is the unit of work a cluster job runs;
``run_grid`` drives it locally (one cell after another) or through submitit (SLURM array jobs: the
intermediate modules first, then the cells), and only the driver writes the store.

Multi-GPU inside one cell is the Trainer's own (accelerate / torch DDP when the process is started by
``accelerate launch`` or torchrun); the grid launches nothing. The grid driver is not rank-aware, so
run it as one process per job: for a grid, one GPU per cell job (``--gpus-per-node 1``) and many jobs
in parallel is also the better use of a cluster. Run the driver of a SLURM grid where it survives
(tmux, or a small CPU job): it waits for the jobs, then copies their results into the store; if it
dies, cancel its jobs (scancel) and run it again: finished cells are copied in, the rest resubmitted."""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from adapterstilts.config import TrainConfig
from adapterstilts.errors import UserError
from adapterstilts.experiments.plan import (RECIPE_FILE, _closure, Cell, Intermediate, Plan, read_json, cached_result, config_changes,
                                evaluation_settings, fingerprint, intermediate_config, intermediate_fingerprint, multitask_options,
                                intermediate_status, intermediate_trainer, log_event, run_state, target_config,
                                target_fingerprint)
from adapterstilts.experiments.store import ResultsStore, rows_from_result
from adapterstilts.runs import Run, write_json_atomic
from adapterstilts.runs.folder import DiskError


def _ensure_run(plan: Plan, path: Path, expected: str, config: TrainConfig, train_fn, log, event: dict,
                about: dict) -> Run:
    """A finished run at ``path`` trained with ``config``: reused when fresh, trained when missing; a stale
    one (other settings) is retrained with ``plan.retrain_changed``, else a one-line error."""
    from adapterstilts.config.identity import IDENTITY_VERSION

    state = run_state(path, expected, config, plan.root)
    if state == "stale":
        if not plan.retrain_changed:
            changes = config_changes(path, config, plan.root) or ["the intermediate modules it builds on changed"]
            raise UserError(f"{path} was trained with other settings ({'; '.join(changes[:4])}); pass "
                            "--retrain-changed to retrain it, or give this recipe another output root (--set output=DIR)")
        log(f"retraining {path}: its settings changed")
        config = replace(config, overwrite=True)
    if state != "fresh":
        log_event(plan, f"train-{about['phase']}-start", **event)
        train_fn(config)
        log_event(plan, f"train-{about['phase']}-done", **event)
    saved = read_json(path / RECIPE_FILE) or {}
    if saved.get("fingerprint") != expected or saved.get("identity_version") != IDENTITY_VERSION:
        write_json_atomic(path / RECIPE_FILE, {**about, "fingerprint": expected, "identity_version": IDENTITY_VERSION,
                                               "recipe": plan.recipe.to_json()})
    return Run.open(path)


def ensure_intermediate(plan: Plan, job: Intermediate, log=print) -> Run:
    """The finished intermediate run of ``job``: reused when present, trained otherwise."""
    if job.blocked:
        raise UserError(f"intermediate {job.name}: {job.blocked}")
    if job.after:  # an order: its earlier links first
        ensure_intermediate(plan, plan.job(job.after), log=log)
    trainer = intermediate_trainer(job.name if job.name == "multitask" else job.task or job.name)
    return _ensure_run(plan, Path(job.path), intermediate_fingerprint(plan, job), intermediate_config(plan, job),
                       lambda config: trainer(config, tasks=list(job.tasks), log=log,
                                              **(multitask_options(plan) if job.name == "multitask" else {})), log,
                       {"intermediate": job.name, "seed": job.seed, "path": job.path},
                       {"phase": "intermediate", "intermediate": job.name, "seed": job.seed, "tasks": list(job.tasks),
                        "size": job.size, "train_data": job.train_data})


def ensure_target_run(plan: Plan, cell: Cell, log=print) -> Run:
    from adapterstilts.training.pipeline import train

    if cell.shots:  # a few-shot run continues the English target run
        ensure_target_run(plan, cell.english(), log=log)
    return _ensure_run(plan, Path(cell.run), target_fingerprint(plan, cell), target_config(plan, cell),
                       lambda config: train(config, log=log), log, {"cell": cell.key, "path": cell.run},
                       {"phase": "target", "cell": cell.key, "intermediate": cell.intermediate, "target": cell.target,
                        "seed": cell.seed, "intermediate_runs": list(cell.needs), "axes": cell.axis})


def _model_override(plan: Plan, run_path: str) -> str | None:
    """The grid's base model, when the run recorded a local model folder that is gone (the grid's
    output folder was moved or copied: its tiny model moved with it)."""
    recorded = Run.open(run_path).base_model
    looks_local = recorded.startswith(("/", ".", "~"))
    return plan.model if looks_local and not Path(recorded).expanduser().exists() else None


def run_cell(plan: Plan, cell: Cell, log=print) -> dict[str, Any]:
    """Do one cell (train its target unless cached, evaluate, write its result file); returns the record.
    What cluster jobs run; the driver copies the record's rows into the store."""
    from adapterstilts.evaluation.zero_shot import evaluate_backbone, evaluate_run

    if cell.blocked:
        raise UserError(f"cell {cell.key}: {cell.blocked}")
    fp = fingerprint(plan, cell)
    cached = cached_result(plan, cell)
    if cached:
        if cached.pop("migrated", False):  # a result from before identity version 2: mark it anew
            write_json_atomic(cell.result, cached)
        return {**cached, "cached": True}
    runs = [ensure_intermediate(plan, plan.job(p), log=log) for p in cell.needs]
    settings = evaluation_settings(plan, cell)
    common = dict(languages=settings["languages"], split=settings["split"], data=settings["data"], log=log)
    if cell.retrieval and not runs:
        run_path = None
        result = evaluate_backbone(plan.model, task_name=cell.target, revision=plan.recipe["revision"],
                                   layer=settings["layer"], **common)
    elif cell.retrieval:
        run_path = str(runs[0].path)
        result = evaluate_run(run_path, task_name=cell.target, layer=settings["layer"],
                              model=_model_override(plan, run_path), **common)
    else:
        scored = cell.english() if cell.shots == 0 else cell  # zero shots: the English run, on one language
        run_path = str(ensure_target_run(plan, scored, log=log).path)
        result = evaluate_run(run_path, max_examples=settings["max_examples"], batch_size=settings["batch_size"],
                              model=_model_override(plan, run_path), **common)
    recipe = plan.recipe
    rows = rows_from_result(result, recipe=recipe.name, intermediate=cell.intermediate, method=recipe["method"],
                            compose=cell.compose, target=cell.target, seed=cell.seed, run=run_path, axes=cell.axis)
    from adapterstilts.config.identity import IDENTITY_VERSION

    record = {"recipe": recipe.name, "cell": cell.key, "fingerprint": fp, "identity_version": IDENTITY_VERSION,
              "intermediate": cell.intermediate, "target": cell.target, "seed": cell.seed, "axes": cell.axis,
              "method": recipe["method"], "compose": cell.compose, "run": run_path,
              "intermediate_runs": list(cell.needs), "evaluation": settings, "result": result, "rows": rows}
    write_json_atomic(cell.result, record)
    log_event(plan, "cell-evaluated", cell=cell.key, result=cell.result)
    return {**record, "cached": False}


# ------------------------------------------------------------------------------------------ driver
EXECUTORS = ("local", "slurm", "submitit-local", "submitit-debug")


@dataclass
class ExecutorOptions:
    """``local``: cells one after another in this process. ``slurm``: one SLURM job per intermediate
    module, then one per cell (array jobs through submitit); ``submitit-local`` / ``submitit-debug``:
    the same code path on this machine (subprocesses / in-process), for testing a cluster setup.
    A cell uses the GPUs its job gets through the Trainer (accelerate); the grid launches nothing itself."""

    kind: str = "local"
    partition: str | None = None
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    mem_gb: int | None = None
    timeout_min: int | None = None
    array_parallelism: int | None = None
    folder: str | None = None


@dataclass
class Summary:
    done: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    blocked: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        return (f"{len(self.done)} cell(s) done, {len(self.cached)} already done, {len(self.failed)} failed, "
                f"{len(self.blocked)} skipped")


def check_places(plan: Plan) -> None:
    """Before any work: the grid's output folder, its results and intermediate folders and the results store
    can be written (a file on the way is one line naming it, not a traceback mid-grid)."""
    from adapterstilts.runs.folder import check_output_place

    root = Path(plan.root)
    recipe = plan.recipe
    check_output_place(root, "output")
    check_output_place(root / "results", "output")
    inter = recipe["intermediate_output"]
    check_output_place(Path(inter).absolute() if inter else root / "intermediate",
                       "intermediate_output" if inter else "output")
    check_output_place(plan.store, "results" if recipe["results"] else "output", file=True)


def prepare(plan: Plan, log=print) -> None:
    """Side effects before running: the tiny model (``model: tiny``) and OUTPUT/recipe.json."""
    if plan.recipe["model"] == "tiny" and not (Path(plan.model) / "config.json").is_file():
        from adapterstilts.tiny_model import make_tiny_model

        log(f"building the tiny XLM-R in {plan.model}")
        make_tiny_model(plan.model)
    write_json_atomic(Path(plan.root) / RECIPE_FILE, plan.recipe.to_json())


def _commit(plan: Plan, store: ResultsStore, cell: Cell, record: dict, summary: Summary, log) -> None:
    name = plan.recipe.name
    if record.get("cached") and store.has_cell(name, cell.key):
        summary.cached.append(cell.key)
        return
    store.replace_cell(name, cell.key, [{**row, "recipe": name} for row in record["rows"]])
    log_event(plan, "cell-synced" if record.get("cached") else "cell-done", cell=cell.key)
    (summary.cached if record.get("cached") else summary.done).append(cell.key)
    if not record.get("cached"):
        log(f"done {cell.key}: {_headline(record)}")


def _headline(record: dict) -> str:
    average = record["result"].get("average", {})
    primary = record["result"].get("primary")
    value = average.get(primary)
    return f"{primary} {value:.2f} (mean over {len(record['result']['languages'])} languages)" if value is not None else "-"


def _reason(exc: BaseException) -> str:
    """One line: a UserError's message; otherwise the exception type and the last line of its text
    (submitit wraps a job's traceback in the message of the error it raises)."""
    text = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    last = text[-1] if text else ""
    return last if isinstance(exc, UserError) else f"{type(exc).__name__}: {last}".rstrip(": ")


def run_grid(plan: Plan, executor: ExecutorOptions | None = None, *, keep_going: bool = False, wait: bool = False,
             log=print) -> Summary:
    from adapterstilts.progress import bar_safe, console

    console()  # library warnings once per grid, not once per cell; log lines around the bars
    log = bar_safe(log)
    executor = executor or ExecutorOptions()
    if executor.kind not in EXECUTORS:
        raise UserError(f"unknown --executor {executor.kind!r}; choose one of: {', '.join(EXECUTORS)}")
    check_places(plan)
    summary = Summary(blocked={c.key: c.blocked for c in plan.cells if c.blocked})
    runnable = [c for c in plan.cells if not c.blocked]
    if not runnable:
        if summary.blocked:
            raise UserError(f"nothing to run: {next(iter(summary.blocked.values()))}")
        raise UserError("nothing to run: the selection (--only) matches no cell of the recipe")
    for key, why in summary.blocked.items():
        log(f"skipping {key}: {why}")
    submitter = None if executor.kind == "local" else _submitit_executor(plan, executor)
    from adapterstilts.experiments.lock import grid_lock

    with grid_lock(plan.root, wait=wait, log=log):
        prepare(plan, log)
        store = ResultsStore(plan.store)
        if submitter is None:
            _run_local(plan, runnable, store, summary, keep_going, log)
        else:
            _run_submitit(plan, runnable, submitter, executor.kind, store, summary, log)
    log(summary.line())
    if summary.failed:
        first = next(iter(summary.failed.items()))
        raise UserError(f"{len(summary.failed)} cell(s) failed (first: {first[0]}: {first[1]}); finished cells are "
                        f"kept: fix the cause and run again to resume (events in {plan.log_path})")
    return summary


def _run_local(plan: Plan, cells: list[Cell], store: ResultsStore, summary: Summary, keep_going: bool, log) -> None:
    """One cell after another, with a progress line each ("cell 17/99: ..., ETA ...")."""
    import time

    spent: list[float] = []
    pending = {c.key for c in cells if cached_result(plan, c) is None}  # once: status reads every result file
    if pending and len(pending) < len(cells):  # a re-run: say where it picks up
        first = next(c.key for c in cells if c.key in pending)
        log(f"resuming the grid in {plan.root}: {len(cells) - len(pending)} of {len(cells)} cells already done "
            f"(kept), {len(pending)} to go, from {first}")
    for i, cell in enumerate(cells, 1):
        cached = cell.key not in pending
        if not cached:
            pending.discard(cell.key)
            eta = f", ETA {_duration(sum(spent) / len(spent) * (len(pending) + 1))}" if spent else ""
            log(f"cell {i}/{len(cells)}: {cell.key}{eta}")
        started = time.time()
        try:
            record = run_cell(plan, cell, log=log)
        except Exception as exc:
            if not keep_going or isinstance(exc, DiskError):  # a full disk fails every later cell too: stop
                raise
            summary.failed[cell.key] = _reason(exc)
            log(f"failed {cell.key}: {_reason(exc)}")
            continue
        if not cached:
            spent.append(time.time() - started)
        _commit(plan, store, cell, record, summary, log)


def _duration(seconds: float) -> str:
    minutes = int(seconds // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{int(seconds % 60):02d}s"


def _intermediate_job(plan: Plan, job: Intermediate) -> str:
    return str(ensure_intermediate(plan, job).path)


def _cell_job(plan: Plan, cell: Cell) -> dict:
    return run_cell(plan, cell)


def _target_job(plan: Plan, cell: Cell) -> str:
    return str(ensure_target_run(plan, cell).path)


def _waves(plan: Plan, jobs: list[Intermediate]) -> list[list[Intermediate]]:
    """``jobs`` grouped so that a job runs after the earlier links of its order (one wave per depth)."""
    def depth(job: Intermediate) -> int:
        return 0 if not job.after else 1 + depth(plan.job(job.after))

    waves: dict[int, list[Intermediate]] = {}
    for job in jobs:
        waves.setdefault(depth(job), []).append(job)
    return [waves[k] for k in sorted(waves)]


def _submitit_executor(plan: Plan, options: ExecutorOptions):
    try:
        import submitit
    except ImportError:
        raise UserError(f"--executor {options.kind} needs submitit, which is not installed; "
                        "`pip install 'adapterstilts[cluster]'`") from None
    cluster = {"slurm": "slurm", "submitit-local": "local", "submitit-debug": "debug"}[options.kind]
    if cluster == "slurm" and not (shutil.which("sbatch") and shutil.which("srun")):
        raise UserError("--executor slurm needs the SLURM commands (sbatch, srun) on PATH; run on the cluster's "
                        "login node, or use --executor local")
    folder = options.folder or str(Path(plan.root) / "submitit" / "%j")
    executor = submitit.AutoExecutor(folder=folder, cluster=cluster)
    params: dict[str, Any] = {"name": f"adapterstilts-{plan.recipe.name}"}
    for key in ("timeout_min", "gpus_per_node", "cpus_per_task", "mem_gb"):
        if getattr(options, key) is not None:
            params[key] = getattr(options, key)
    if cluster == "slurm":
        if options.partition:
            params["slurm_partition"] = options.partition
        if options.array_parallelism:
            params["slurm_array_parallelism"] = options.array_parallelism
    executor.update_parameters(**params)
    return executor


def _submitted(executor, job_fn, plan: Plan, items: list):
    """(item, None) for each job array member that finished, (item, exception) for each that failed."""
    for item, future in zip(items, executor.map_array(job_fn, [plan] * len(items), items)):
        try:
            future.result()
        except Exception as exc:
            yield item, exc
        else:
            yield item, None


def _run_submitit(plan: Plan, cells: list[Cell], executor, kind: str, store: ResultsStore, summary: Summary,
                  log) -> None:
    todo = []
    for cell in cells:
        cached = cached_result(plan, cell)
        if cached:
            _commit(plan, store, cell, {**cached, "cached": True}, summary, log)
        else:
            todo.append(cell)
    # every run is trained by one job: intermediates in waves (an order's earlier links first), then the
    # English target runs that few-shot cells continue, then the cells (which then only evaluate / train
    # their own run)
    needed = {p for c in todo for p in _closure(plan.jobs, c.needs)}
    jobs = [j for j in plan.intermediates if j.path in needed and intermediate_status(plan, j) != "cached"]
    failed: dict[str, str] = {}
    for wave in _waves(plan, jobs):
        log(f"submitting {len(wave)} intermediate training job(s) ({kind})")
        for job, exc in _submitted(executor, _intermediate_job, plan, wave):
            if exc is not None:
                failed[job.path] = f"intermediate {job.name} seed {job.seed} failed: {_reason(exc)}"
    english = list({c.base: c.english() for c in todo if c.shots and not any(p in failed for p in c.needs)}.values())
    if english:
        log(f"submitting {len(english)} English target training job(s) for few-shot cells ({kind})")
        for cell, exc in _submitted(executor, _target_job, plan, english):
            if exc is not None:
                failed[cell.run] = f"English target run {cell.key} failed: {_reason(exc)}"
    ready = []
    for cell in todo:
        reason = next((failed[p] for p in (*cell.needs, cell.base) if p in failed), None)
        if reason:
            summary.failed[cell.key] = reason
        else:
            ready.append(cell)
    if ready:
        log(f"submitting {len(ready)} cell job(s) ({kind})")
        for cell, future in zip(ready, executor.map_array(_cell_job, [plan] * len(ready), ready)):
            try:
                record = future.result()
            except Exception as exc:
                summary.failed[cell.key] = _reason(exc)
                continue
            _commit(plan, store, cell, record, summary, log)
