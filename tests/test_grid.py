"""The grid: expansion counts, one training per intermediate module reused by every target, the
multi-task plug-in point, a grid killed with SIGKILL and resumed (no cell lost or repeated), and the
submitit executor path. Real runs use the tiny model, the bundled samples and 2 training steps."""
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from adapterstilts.errors import UserError
from adapterstilts.experiments.plan import (INTERMEDIATE_TRAINERS, cell_status, describe, expand, intermediate_config,
                                intermediate_trainer, register_intermediate_trainer, target_config)
from adapterstilts.experiments.executors import ExecutorOptions, ensure_intermediate, run_grid
from adapterstilts.experiments.recipe import load_recipe
from adapterstilts.experiments.store import ResultsStore
from adapterstilts.runs import MANIFEST, Run

FAST = {"lr": 1e-3, "max_steps": 2, "batch_size": 4, "grad_accum": 1, "logging_steps": 1}


def _recipe(tmp_path, model, **extra):
    data = {"name": "grid-test", "model": str(model), "data": "sample", "method": "lora", "compose": "stack",
            "seeds": [0], "intermediates": ["none", "mnli"], "targets": ["xnli", "tatoeba"],
            "languages": {"xnli": ["en", "de"], "tatoeba": ["de"]}, "intermediate": dict(FAST), "target": dict(FAST),
            "evaluation": {"max_examples": 4, "batch_size": 8}, "output": str(tmp_path / "out"), "report_to": "none",
            **extra}
    path = tmp_path / "grid-test.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _events(root):
    path = Path(root) / "grid_log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def test_expansion_counts_and_only(tmp_path):
    recipe = load_recipe(_recipe(tmp_path, "tiny", intermediates=["mnli", "squad", "hellaswag"], targets=["xnli", "pawsx"],
                                 seeds=[1, 2]))
    plan = expand(recipe)
    assert len(plan.cells) == 3 * 2 * 2 and len(plan.intermediates) == 3 * 2
    assert len({c.key for c in plan.cells}) == 12
    for cell in plan.cells:  # each cell references its own seed's module of its intermediate
        (need,) = cell.needs
        assert Path(need).name == f"{cell.intermediate}-lora-seed{cell.seed}"
    assert plan.model == str(tmp_path / "out" / "tiny-xlmr")
    with_baseline = expand(load_recipe(_recipe(tmp_path, "tiny", targets=["xnli", "pawsx", "tatoeba"], seeds=[1, 2])))
    assert len(with_baseline.cells) == 2 * 3 * 2 and len(with_baseline.intermediates) == 2
    assert [c.needs for c in with_baseline.cells if c.intermediate == "none"] == [()] * 6
    retrieval = [c for c in with_baseline.cells if c.target == "tatoeba"]
    assert all(c.retrieval and c.run is None for c in retrieval)
    only = expand(recipe, ["intermediate=squad,hellaswag,target=xnli", "seed=2"])
    assert sorted(c.key for c in only.cells) == ["hellaswag/xnli/seed2", "squad/xnli/seed2"]
    assert {j.name for j in only.intermediates} == {"squad", "hellaswag"}  # only what the selection needs
    with pytest.raises(UserError, match="--only intermediate=qqp"):
        expand(recipe, ["intermediate=qqp"])
    with pytest.raises(UserError, match="unknown key 'task'"):
        expand(recipe, ["task=xnli"])
    fuse = expand(load_recipe(_recipe(tmp_path, "tiny", method="bottleneck", compose="fuse",
                                      intermediates=["none", "mnli", "squad"], targets=["xnli", "tatoeba"])))
    fused = [c for c in fuse.cells if c.intermediate == "fusion"]
    assert len(fused) == 2 and len(fused[0].needs) == 2 and fused[1].blocked  # retrieval: no fusion layer
    assert "to run" in describe(fuse) and "blocked" in describe(fuse)
    merge = expand(load_recipe(_recipe(tmp_path, "tiny", compose="merge", intermediates=["mnli", "squad"])))
    assert [(c.intermediate, len(c.needs), bool(c.blocked)) for c in merge.cells] == [("merged", 2, False),
                                                                                       ("merged", 0, True)]


def test_training_settings_and_report_to_reach_the_train_config(tmp_path):
    recipe = load_recipe(_recipe(tmp_path, "tiny"), ["target.per_task.xnli.max_steps=3", "intermediate.lora_r=4"])
    plan = expand(recipe, report_to="wandb")
    cell = next(c for c in plan.cells if c.key == "mnli/xnli/seed0")
    config = target_config(plan, cell)
    assert (config.task, config.compose, config.intermediates, config.max_steps) == ("xnli", "stack", list(cell.needs), 3)
    assert config.report_to == "wandb" and config.data == "sample" and config.seed == 0
    inter = intermediate_config(plan, plan.job(cell.needs[0]))
    assert (inter.task, inter.lora_r, inter.max_steps, inter.compose) == ("mnli", 4, 2, "none")
    assert target_config(expand(recipe), cell).report_to == "none"  # the recipe's report_to
    assert expand(load_recipe(_recipe(tmp_path, "tiny", report_to="auto"))).report_to in ("tensorboard", "none")


def test_multitask_is_a_registry_lookup(tmp_path, monkeypatch):
    recipe = load_recipe(_recipe(tmp_path, "tiny", intermediates=["mnli", "multitask"], multitask_tasks=["mnli", "qqp"]))
    # the real multi-task trainer registers itself (adapterstilts.training.multitask is a grid plugin module)
    from adapterstilts.training.multitask import train_multitask  # noqa: F401

    assert "multitask" in INTERMEDIATE_TRAINERS
    calls = []

    @register_intermediate_trainer("multitask")
    def fake(config, *, tasks, log=print, **options):
        calls.append((config.task, tasks, options))
        Path(config.output).mkdir(parents=True)
        (Path(config.output) / MANIFEST).write_text(json.dumps({
            "task": "multitask", "method": config.method, "module_name": "default",
            "base_model": {"name": config.model, "config_hash": "x"}}))
        return Run.open(config.output)

    monkeypatch.setitem(INTERMEDIATE_TRAINERS, "multitask", fake)
    assert intermediate_trainer("multitask") is fake
    plan = expand(recipe)
    (job,) = [j for j in plan.intermediates if j.name == "multitask"]
    assert not job.blocked and not any(c.blocked for c in plan.cells)
    for _ in range(2):
        assert ensure_intermediate(plan, job).path == Path(job.path)
    # trained once, then reused; the recipe's sampling settings reach the trainer
    assert calls == [("multitask", ["mnli", "qqp"], {"sampling": "proportional", "temperature": 2.0})]
    assert json.loads((Path(job.path) / "recipe.json").read_text())["recipe"]["name"] == "grid-test"


def test_intermediate_trained_once_and_reused_by_every_target(tmp_path, tiny_model_dir, monkeypatch):
    import adapterstilts.training.pipeline as training

    trained = []
    real_train = training.train

    def counting_train(config, **kwargs):
        trained.append((config.task, config.output))
        return real_train(config, **kwargs)

    monkeypatch.setattr(training, "train", counting_train)
    recipe = load_recipe(_recipe(tmp_path, tiny_model_dir, intermediates=["mnli"], targets=["xnli", "pawsx", "tatoeba"],
                                 languages={"xnli": ["en"], "pawsx": ["en"], "tatoeba": ["de"]}))
    plan = expand(recipe)
    summary = run_grid(plan, log=lambda m: None)
    assert sorted(summary.done) == ["mnli/pawsx/seed0", "mnli/tatoeba/seed0", "mnli/xnli/seed0"]
    inter_path = str(tmp_path / "out" / "intermediate" / "mnli-lora-seed0")
    assert [t for t, _ in trained].count("mnli") == 1 and len(trained) == 3  # mnli once, xnli, pawsx
    assert {c.needs for c in plan.cells} == {(inter_path,)}
    for target in ("xnli", "pawsx"):
        run = Run.open(tmp_path / "out" / "targets" / "mnli" / f"{target}-seed0")
        assert run.manifest["intermediates"][0]["source"] == inter_path
        about = json.loads((run.path / "recipe.json").read_text())
        assert about["recipe"]["name"] == "grid-test" and about["intermediate_runs"] == [inter_path]
    tatoeba = json.loads((tmp_path / "out" / "results" / "mnli" / "tatoeba-seed0.json").read_text())
    assert tatoeba["run"] == inter_path  # retrieval scored from the intermediate run, no target training
    assert {r["cell"] for r in ResultsStore(plan.store).rows()} == set(summary.done)
    # a second run does nothing; a changed setting is named, and retrained only when asked
    assert run_grid(expand(recipe), log=lambda m: None).cached and len(trained) == 3
    changed = expand(load_recipe(_recipe(tmp_path, tiny_model_dir, intermediates=["mnli"], targets=["xnli"],
                                         languages={"xnli": ["en"]}), ["target.max_steps=3"]))
    assert cell_status(changed, changed.cells[0]) == "stale"
    with pytest.raises(UserError, match=r"max_steps: 2 -> 3.*--retrain-changed"):
        run_grid(changed, log=lambda m: None)
    changed.retrain_changed = True
    assert run_grid(changed, log=lambda m: None).done == ["mnli/xnli/seed0"] and len(trained) == 4


def test_killed_grid_resumes_without_losing_or_repeating_cells(tmp_path, tiny_model_dir):
    recipe = _recipe(tmp_path, tiny_model_dir)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "adapterstilts", "run", str(recipe)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 150
    try:
        while not list((out / "results").glob("*/*.json")):
            assert first.poll() is None, "the grid ended before any cell finished"
            assert time.time() < deadline, "no cell finished in time"
            time.sleep(0.1)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    finished = {p: p.stat().st_mtime_ns for p in (out / "results").glob("*/*.json")}
    assert 1 <= len(finished) < 4, "kill the grid in the middle"
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    assert all(p.stat().st_mtime_ns == t for p, t in finished.items())  # finished cells were not redone
    cells = ["none/xnli/seed0", "none/tatoeba/seed0", "mnli/xnli/seed0", "mnli/tatoeba/seed0"]
    rows = ResultsStore(out / "results.sqlite").rows()
    assert sorted({r["cell"] for r in rows}) == sorted(cells)
    keys = [(r["cell"], r["language"], r["metric"]) for r in rows]
    assert len(keys) == len(set(keys))  # no cell stored twice
    assert {(r["cell"], r["language"]) for r in rows if r["metric"] == "accuracy"} == {
        ("none/xnli/seed0", "en"), ("none/xnli/seed0", "de"), ("mnli/xnli/seed0", "en"), ("mnli/xnli/seed0", "de"),
        ("none/tatoeba/seed0", "de"), ("mnli/tatoeba/seed0", "de")}
    events = _events(out)
    for cell in cells:  # stored exactly once (done, or copied in after a kill between result file and store)
        assert sum(e["event"] in ("cell-done", "cell-synced") and e["cell"] == cell for e in events) == 1, cell
    for cell in ("none/xnli/seed0", "mnli/xnli/seed0"):  # a killed training restarts; a finished one is not redone
        assert sum(e["event"] == "train-target-done" and e["cell"] == cell for e in events) == 1, cell
    assert sum(e["event"] == "train-intermediate-done" for e in events) == 1
    assert not list(out.rglob("*.partial"))


def test_submitit_executor_path_runs_a_cell(tmp_path, tiny_model_dir):
    """The cluster path (array jobs of intermediates, then cells; the driver stores the results) through
    submitit's in-process DebugExecutor; the jobs' arguments must survive pickling, as on SLURM."""
    submitit = pytest.importorskip("submitit")
    plan = expand(load_recipe(_recipe(tmp_path, tiny_model_dir, languages={"xnli": ["en"], "tatoeba": ["de"]})),
                  ["intermediate=mnli", "target=tatoeba"])
    cloudpickle = pytest.importorskip("cloudpickle")
    assert cloudpickle.loads(cloudpickle.dumps(plan)).cells == plan.cells
    submitted = []
    real = submitit.AutoExecutor.map_array

    def spy(self, fn, *iterables):
        submitted.append(fn.__name__)
        return real(self, fn, *iterables)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(submitit.AutoExecutor, "map_array", spy)
        summary = run_grid(plan, ExecutorOptions(kind="submitit-debug", folder=str(tmp_path / "jobs" / "%j"),
                                                 timeout_min=10), log=lambda m: None)
    assert submitted == ["_intermediate_job", "_cell_job"]
    assert summary.done == ["mnli/tatoeba/seed0"] and not summary.failed
    assert {r["cell"] for r in ResultsStore(plan.store).rows()} == {"mnli/tatoeba/seed0"}
    assert (tmp_path / "out" / "intermediate" / "mnli-lora-seed0" / "recipe.json").is_file()


def test_slurm_without_slurm_is_a_clear_error(tmp_path, monkeypatch):
    pytest.importorskip("submitit")
    import adapterstilts.experiments.executors as grid_run

    monkeypatch.setattr(grid_run.shutil, "which", lambda name: None)
    plan = expand(load_recipe(_recipe(tmp_path, "tiny")))
    with pytest.raises(UserError, match="--executor slurm needs the SLURM commands"):
        run_grid(plan, ExecutorOptions(kind="slurm", partition="gpu"))
    assert not (tmp_path / "out" / "tiny-xlmr").exists()  # refused before building or training anything


def test_run_dry_run_lists_the_tiny_grid_without_side_effects(tmp_path):
    from typer.testing import CliRunner

    from adapterstilts.cli import app

    out = tmp_path / "tiny"
    result = CliRunner().invoke(app, ["run", "tiny", "--dry-run", "--set", f"output={out}"])
    assert result.exit_code == 0, result.output
    assert "cells (99:" in result.stdout and "none/tatoeba/seed0" in result.stdout and "ccg/udpos/seed0" in result.stdout
    assert "retrieval from the plain backbone" in result.stdout
    assert not out.exists()
    result = CliRunner().invoke(app, ["run", "tiny", "--dry-run", "--only", "target=xnlii"])
    assert result.exit_code == 2 and "--only target=xnlii" in result.output
