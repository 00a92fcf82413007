"""Faults while a run works: kills (during training and during the final save), leftover ``.partial``
folders, a full disk or read-only file system, a module put on other weights of the same architecture,
and what the user sees meanwhile (one progress bar at a time, a repeated library warning once)."""
import errno
from pathlib import Path
import json
import os
import shutil
import warnings

import pytest
from typer.testing import CliRunner

from conftest import small_train_config


def _collect():
    lines = []
    return lines, lines.append


class _Killed(BaseException):
    """Stands in for the process dying (not an Exception: nothing on the way may catch it)."""


# --------------------------------------------------------------------------------- training loss on resume
@pytest.fixture(scope="module")
def straight(tiny_model_dir, tmp_path_factory):
    """An uninterrupted 4-step run with a checkpoint every 2 steps: the reference."""
    from adapterstilts.training.pipeline import train

    out = tmp_path_factory.mktemp("straight") / "run"
    return train(small_train_config(tiny_model_dir, out, max_steps=4, save_steps=2), log=lambda m: None)


def test_a_kill_during_the_final_save_resumes_with_the_real_training_loss(straight, tiny_model_dir, tmp_path,
                                                                          monkeypatch):
    """The state a kill during the final save leaves: a ``.partial`` folder whose last checkpoint is the
    last step, no manifest. The resume runs no step; its training loss is the run's, not 0.0."""
    import adapterstilts.training.pipeline as pipeline

    out = tmp_path / "run"

    def killed(*a, **k):
        raise _Killed

    monkeypatch.setattr(pipeline, "save_module", killed)
    with pytest.raises(_Killed):
        pipeline.train(small_train_config(tiny_model_dir, out, max_steps=4, save_steps=2), log=lambda m: None)
    assert not out.exists() and (tmp_path / ".run.partial" / "checkpoints" / "checkpoint-4").is_dir()
    monkeypatch.undo()
    lines, log = _collect()
    run = pipeline.train(small_train_config(tiny_model_dir, out, max_steps=4, save_steps=2), log=log)
    assert any("resuming the interrupted run" in m and "checkpoint-4 (step 4)" in m for m in lines), lines
    expected = straight.manifest["train"]["training_loss"]
    assert expected > 0.1
    assert run.manifest["train"]["steps"] == 4  # no step trained again
    assert run.manifest["train"]["training_loss"] == pytest.approx(expected, rel=1e-6)
    done = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines() if "train_loss" in line]
    assert done[-1]["train_loss"] == pytest.approx(expected, rel=1e-6)


def test_a_kill_mid_training_resumes_with_the_loss_of_every_step(straight, tiny_model_dir, tmp_path, monkeypatch):
    from transformers import TrainerCallback

    import adapterstilts.training.pipeline as pipeline

    class Crash(TrainerCallback):
        def on_step_begin(self, args, state, control, **k):
            if state.global_step == 2:
                raise _Killed

    make = pipeline._make_trainer
    monkeypatch.setattr(pipeline, "_make_trainer", lambda *a, **k: (t := make(*a, **k), t.add_callback(Crash()))[0])
    out = tmp_path / "run"
    with pytest.raises(_Killed):
        pipeline.train(small_train_config(tiny_model_dir, out, max_steps=4, save_steps=2), log=lambda m: None)
    monkeypatch.undo()
    run = pipeline.train(small_train_config(tiny_model_dir, out, max_steps=4, save_steps=2), log=lambda m: None)
    assert run.manifest["train"]["training_loss"] == pytest.approx(straight.manifest["train"]["training_loss"],
                                                                    rel=1e-6)


def test_a_checkpoint_without_its_loss_records_none_and_says_so(tiny_model_dir, tmp_path, monkeypatch):
    """A checkpoint written before the loss was saved with it: the loss is unknown, recorded as null."""
    import adapterstilts.training.pipeline as pipeline
    from adapterstilts.training.trainer import LOSS_FILE

    out = tmp_path / "run"
    monkeypatch.setattr(pipeline, "save_module", lambda *a, **k: (_ for _ in ()).throw(_Killed()))
    with pytest.raises(_Killed):
        pipeline.train(small_train_config(tiny_model_dir, out, max_steps=2, save_steps=2), log=lambda m: None)
    monkeypatch.undo()
    (tmp_path / ".run.partial" / "checkpoints" / "checkpoint-2" / LOSS_FILE).unlink()
    lines, log = _collect()
    run = pipeline.train(small_train_config(tiny_model_dir, out, max_steps=2, save_steps=2), log=log)
    assert run.manifest["train"]["training_loss"] is None
    assert any("training_loss is null" in m for m in lines), lines


def test_a_checkpoint_cut_short_is_passed_over_for_the_last_complete_one(tiny_model_dir, tmp_path):
    """A kill or a full disk while a checkpoint was written leaves it without its trainer state: the
    resume takes the checkpoint before it."""
    from adapterstilts.runs import write_json_atomic
    from adapterstilts.training.trainer import _resumable_checkpoint

    config = small_train_config(tiny_model_dir, tmp_path / "run", max_steps=4, save_steps=2)
    work = tmp_path / ".run.partial"
    write_json_atomic(work / "config.json", config.to_dict())
    for step, files in ((2, ("model.safetensors", "trainer_state.json")), (4, ("model.safetensors",))):
        folder = work / "checkpoints" / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        for name in files:
            (folder / name).write_text("{}")
    assert _resumable_checkpoint(work, config).name == "checkpoint-2"


# --------------------------------------------------------------------------------- leftover .partial folders
def test_a_leftover_partial_folder_that_cannot_resume_is_removed_and_said_so(tiny_model_dir, tmp_path):
    from adapterstilts.training.pipeline import train

    left = tmp_path / ".run.partial"
    (left / "module").mkdir(parents=True)
    (left / "module" / "half.safetensors").write_bytes(b"\0" * 10)
    lines, log = _collect()
    run = train(small_train_config(tiny_model_dir, tmp_path / "run", max_steps=1), log=log)
    said = [m for m in lines if ".run.partial" in m]
    assert len(said) == 1 and "removing" in said[0] and "no checkpoints" in said[0], lines
    assert not left.exists() and not (run.path / "module" / "half.safetensors").exists()


def test_a_leftover_partial_folder_of_other_settings_is_removed_and_said_so(tiny_model_dir, tmp_path, monkeypatch):
    import adapterstilts.training.pipeline as pipeline

    monkeypatch.setattr(pipeline, "save_module", lambda *a, **k: (_ for _ in ()).throw(_Killed()))
    with pytest.raises(_Killed):
        pipeline.train(small_train_config(tiny_model_dir, tmp_path / "run", max_steps=2, save_steps=2),
                       log=lambda m: None)
    monkeypatch.undo()
    lines, log = _collect()
    pipeline.train(small_train_config(tiny_model_dir, tmp_path / "run", max_steps=2, save_steps=2, lr=5e-4), log=log)
    said = [m for m in lines if ".run.partial" in m]
    assert len(said) == 1 and "other settings" in said[0] and "step 0" in said[0], lines


def test_a_kill_during_the_final_save_after_an_early_stop_trains_no_further(tiny_model_dir, tmp_path, monkeypatch):
    """Dev selection stopped early at a save step, then the process died while saving: the resume
    finishes from that checkpoint (the Trainer would not restore its stop flag and train on)."""
    import adapterstilts.training.pipeline as pipeline

    settings = dict(max_steps=12, save_steps=1, eval_steps=1, patience=1, lr=5e-2)
    straight = pipeline.train(small_train_config(tiny_model_dir, tmp_path / "straight", **settings), log=lambda m: None)
    assert straight.manifest["train"]["steps"] < 12  # it did stop early
    monkeypatch.setattr(pipeline, "save_module", lambda *a, **k: (_ for _ in ()).throw(_Killed()))
    with pytest.raises(_Killed):
        pipeline.train(small_train_config(tiny_model_dir, tmp_path / "run", **settings), log=lambda m: None)
    monkeypatch.undo()
    run = pipeline.train(small_train_config(tiny_model_dir, tmp_path / "run", **settings), log=lambda m: None)
    assert run.manifest["train"]["steps"] == straight.manifest["train"]["steps"]
    assert run.manifest["train"]["training_loss"] == pytest.approx(straight.manifest["train"]["training_loss"], rel=1e-6)


def test_a_multitask_leftover_of_other_tasks_or_sampling_is_not_resumed(tiny_model_dir, tmp_path, monkeypatch):
    import adapterstilts.training.pipeline as pipeline
    from adapterstilts.training.multitask import MultiTaskConfig, train_multitask

    base = small_train_config(tiny_model_dir, tmp_path / "mt", max_steps=2, save_steps=2)
    monkeypatch.setattr(pipeline, "save_module", lambda *a, **k: (_ for _ in ()).throw(_Killed()))
    with pytest.raises(_Killed):
        train_multitask(MultiTaskConfig(tasks=["mnli", "hellaswag"], base=base), log=lambda m: None)
    monkeypatch.undo()
    lines, log = _collect()
    run = train_multitask(MultiTaskConfig(tasks=["mnli", "hellaswag"], base=base, sampling="uniform"), log=log)
    said = [m for m in lines if ".mt.partial" in m]
    assert len(said) == 1 and said[0].startswith("multitask: removing") and "sampling" in said[0], lines
    assert run.manifest["train"]["steps"] == 2


# --------------------------------------------------------------------------------- another base checkpoint
@pytest.fixture(scope="module")
def other_weights(tiny_model_dir, tmp_path_factory):
    """The tiny model with weights of another seed: same architecture (config hash), other checkpoint."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    out = tmp_path_factory.mktemp("other") / "tiny-seed1"
    shutil.copytree(tiny_model_dir, out)
    torch.manual_seed(1)
    XLMRobertaModel(XLMRobertaConfig.from_pretrained(out), add_pooling_layer=False).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def mnli_run(tiny_model_dir, tmp_path_factory):
    from adapterstilts.training.pipeline import train

    return train(small_train_config(tiny_model_dir, tmp_path_factory.mktemp("mnli") / "mnli", max_steps=1),
                 log=lambda m: None)


def test_the_base_weights_fingerprint_is_recorded_and_tells_checkpoints_apart(mnli_run, tiny_model_dir,
                                                                              other_weights):
    from adapterstilts.model.backbone import config_fingerprint, load_config, weights_fingerprint

    recorded = mnli_run.manifest["base_model"]["weights_fingerprint"]
    assert recorded == weights_fingerprint(str(tiny_model_dir)) and len(recorded) == 16
    assert config_fingerprint(load_config(str(other_weights))) == mnli_run.config_hash  # same architecture
    assert weights_fingerprint(str(other_weights)) not in (None, recorded)


def test_stacking_on_another_checkpoint_warns_in_one_line(mnli_run, tiny_model_dir, other_weights, tmp_path):
    from adapterstilts.training.pipeline import train

    lines, log = _collect()
    train(small_train_config(other_weights, tmp_path / "other", task="xnli", compose="stack",
                             intermediates=[str(mnli_run.path)], max_steps=1), log=log)
    warned = [m for m in lines if "other weights" in m]
    assert len(warned) == 1 and "\n" not in warned[0] and str(mnli_run.path) in warned[0], lines
    lines, log = _collect()
    train(small_train_config(tiny_model_dir, tmp_path / "same", task="xnli", compose="stack",
                             intermediates=[str(mnli_run.path)], max_steps=1), log=log)
    assert not [m for m in lines if "other weights" in m], lines


def test_evaluating_on_another_checkpoint_warns_and_old_manifests_are_not_compared(mnli_run, other_weights,
                                                                                   tmp_path):
    from adapterstilts.model.assemble import load_run_encoder
    from adapterstilts.model.backbone import BackboneOptions
    from adapterstilts.runs import Run

    lines, log = _collect()
    load_run_encoder(mnli_run, BackboneOptions(model=str(other_weights)), log=log)
    assert len([m for m in lines if "other weights" in m]) == 1, lines
    old = tmp_path / "old"
    shutil.copytree(mnli_run.path, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["base_model"]["weights_fingerprint"]  # a run from before the field
    (old / "manifest.json").write_text(json.dumps(manifest))
    lines, log = _collect()
    load_run_encoder(Run.open(old), BackboneOptions(model=str(other_weights)), log=log)
    assert not [m for m in lines if "other weights" in m], lines


# --------------------------------------------------------------------------------- full disk, read-only disk
DISK = [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only")]


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("code,word", DISK)
def test_a_full_or_read_only_disk_while_a_run_saves(code, word, tiny_model_dir, tmp_path, monkeypatch):
    """The disk fails while the module is saved: one line naming the folder and the fix, exit 2, no run
    folder; once the disk is fine, the same command saves the run from its last checkpoint."""
    import adapterstilts.training.pipeline as pipeline
    from adapterstilts.cli import app

    def fails(*a, **k):
        raise OSError(code, os.strerror(code))  # as safetensors raises it: no file name

    monkeypatch.setattr(pipeline, "save_head", fails)
    out = tmp_path / "out"
    command = ["train-intermediate", "mnli", "--model", str(tiny_model_dir), "--data", "sample", "--max-steps", "2",
               "--batch-size", "4", "--save-steps", "2", "--output", str(out)]
    line = _one_line_error(CliRunner().invoke(app, command), word, ".out.partial", "re-run the same command")
    assert ("another --output" in line) == (code == errno.EROFS)
    assert not out.exists()
    monkeypatch.undo()
    again = CliRunner().invoke(app, command)
    assert again.exit_code == 0, again.output
    assert "checkpoint-2 is the last step" in again.output and (out / "manifest.json").is_file()


@pytest.mark.parametrize("code,word", DISK)
def test_a_full_or_read_only_disk_under_evaluate_output(code, word, mnli_run, tmp_path, monkeypatch):
    """evaluate -o on a failing disk: one line naming the file, exit 2, no half-written file (the write
    got half way), and the run's earlier metrics.json untouched."""
    import adapterstilts.runs.folder as folder
    from adapterstilts.cli import app

    run = tmp_path / "run"
    shutil.copytree(mnli_run.path, run)
    (run / "metrics.json").write_text('{"earlier": {"languages": {}}}\n')
    before = (run / "metrics.json").read_bytes()
    real = json.dump

    def half_then_fails(data, handle, **kw):
        handle.write(json.dumps(data)[:20])  # a part of the file reached the disk
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(folder, "json", type("json", (), {"dump": staticmethod(half_then_fails),
                                                          "loads": staticmethod(json.loads)}))
    target = tmp_path / "results" / "mnli.json"
    result = CliRunner().invoke(app, ["evaluate", str(run), "--data", "sample", "--split", "validation",
                                      "--max-examples", "4", "-o", str(target)])
    _one_line_error(result, word, str(target))
    assert not target.exists() and not [p.name for p in target.parent.iterdir()]  # no temp file left either
    assert (run / "metrics.json").read_bytes() == before and not list(run.glob(".*.tmp"))
    assert real is json.dump


def _store_recipe(tmp_path, model):
    import yaml

    data = {"name": "disk-test", "model": str(model), "data": "sample", "method": "lora", "compose": "stack",
            "seeds": [0], "intermediates": ["none"], "targets": ["tatoeba"], "languages": {"tatoeba": ["de"]},
            "evaluation": {"max_examples": 4, "batch_size": 8}, "output": str(tmp_path / "out"), "report_to": "none"}
    path = tmp_path / "disk-test.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("message,word", [("database or disk is full", "no space left"),
                                          ("attempt to write a readonly database", "read-only")])
def test_a_full_or_read_only_disk_under_the_grid_store(message, word, tiny_model_dir, tmp_path, monkeypatch):
    """The results store cannot be written: one line naming it, exit 2, no row half-written; the cell's
    result file is kept, and the next run copies it in without evaluating again."""
    import sqlite3

    from adapterstilts.cli import app
    from adapterstilts.experiments.store import ResultsStore

    connect = ResultsStore._connect

    class Failing:
        def __init__(self, conn):
            self.conn = conn

        def __getattr__(self, name):
            return getattr(self.conn, name)

        def executemany(self, *a):
            raise sqlite3.OperationalError(message)

    monkeypatch.setattr(ResultsStore, "_connect", lambda self, create: Failing(connect(self, create)))
    recipe = _store_recipe(tmp_path, tiny_model_dir)
    _one_line_error(CliRunner().invoke(app, ["run", str(recipe)]), word, "results.sqlite")
    out = tmp_path / "out"
    kept = out / "results" / "none" / "tatoeba-seed0.json"
    assert kept.is_file() and not list(out.rglob("*.tmp"))
    assert ResultsStore(out / "results.sqlite").rows() == []  # the transaction was rolled back
    monkeypatch.undo()
    stamp = kept.stat().st_mtime_ns
    again = CliRunner().invoke(app, ["run", str(recipe)])
    assert again.exit_code == 0, again.output
    assert kept.stat().st_mtime_ns == stamp and {r["cell"] for r in ResultsStore(out / "results.sqlite").rows()} == {
        "none/tatoeba/seed0"}


def test_a_corrupt_grid_store_is_rebuilt_from_its_cell_files(tiny_model_dir, tmp_path):
    """A results.sqlite that is no database: moved aside and rebuilt from results/ (one line), not an error."""
    from adapterstilts.cli import app
    from adapterstilts.experiments.store import ResultsStore

    recipe = _store_recipe(tmp_path, tiny_model_dir)
    assert CliRunner().invoke(app, ["run", str(recipe)]).exit_code == 0
    store = tmp_path / "out" / "results.sqlite"
    before = ResultsStore(store).rows()
    garbage = b"this is not a database" * 100
    store.write_bytes(garbage)
    result = CliRunner().invoke(app, ["report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    said = [line for line in result.stderr.splitlines() if "rebuilt it from the 1 cell files" in line]
    assert len(said) == 1 and "results.sqlite.corrupt" in said[0], result.stderr
    assert (tmp_path / "out" / "results.sqlite.corrupt").read_bytes() == garbage
    strip = lambda rows: [{k: v for k, v in r.items() if k != "recorded_at"} for r in rows]  # noqa: E731
    assert strip(ResultsStore(store).rows()) == strip(before)
    lone = tmp_path / "lone" / "results.sqlite"  # no cell files beside it: say what to do
    lone.parent.mkdir()
    lone.write_bytes(garbage)
    _one_line_error(CliRunner().invoke(app, ["report", str(lone)]), "no cell files to rebuild it from",
                    "move this file aside and re-run the grid")
    assert lone.read_bytes() == garbage


@pytest.mark.parametrize("message, words", [("database or disk is full", "no space left on the device"),
                                            ("unable to open database file", "must be a folder you can write to")])
def test_a_store_that_cannot_be_opened_names_the_disk_problem(message, words, tmp_path, monkeypatch):
    """Not "is not a readable results store" for a full disk or a read-only file system."""
    import sqlite3

    from adapterstilts.errors import UserError
    from adapterstilts.experiments.store import ResultsStore

    store = tmp_path / "results.sqlite"
    ResultsStore(store).replace_cell("r", "c", [])

    def failing(*args, **kwargs):
        raise sqlite3.OperationalError(message)

    monkeypatch.setattr(sqlite3, "connect", failing)
    for call in (lambda: ResultsStore(store).rows(), lambda: ResultsStore(store).replace_cell("r", "c", [])):
        with pytest.raises(UserError, match=words) as caught:
            call()
        assert "not a readable results store" not in str(caught.value)


# --------------------------------------------------------------------------------- report on single runs
def test_report_reads_a_folder_of_single_runs(mnli_run, tiny_model_dir, tmp_path):
    """Runs trained and evaluated one by one (no grid): `report FOLDER` reads each run's manifest.json and
    metrics.json and prints the table a grid's store gives for the same scores."""
    from adapterstilts.analysis.tables import make_report, rows_from_runs
    from adapterstilts.cli import app
    from adapterstilts.evaluation.zero_shot import evaluate_run
    from adapterstilts.experiments.store import ResultsStore
    from adapterstilts.training.pipeline import train

    folder = tmp_path / "my-runs"
    shutil.copytree(mnli_run.path, folder / "mnli")  # an intermediate run: its dev score is no column
    evaluate_run(folder / "mnli", languages="all", data="sample", split="validation", max_examples=4,
                 log=lambda m: None)
    for name, kw in (("base", {}), ("stack", {"compose": "stack", "intermediates": [str(folder / "mnli")]})):
        run = train(small_train_config(tiny_model_dir, folder / name, task="xnli", max_steps=1, **kw),
                    log=lambda m: None)
        evaluate_run(run.path, languages="en,de", data="sample", max_examples=4, log=lambda m: None)
    rows = rows_from_runs(folder)
    assert {(r["intermediate"], r["target"], r["language"]) for r in rows if r["metric"] == "accuracy"} == {
        ("none", "xnli", "en"), ("none", "xnli", "de"), ("mnli", "xnli", "en"), ("mnli", "xnli", "de")}
    result = CliRunner().invoke(app, ["report", str(folder)])
    assert result.exit_code == 0, result.output
    assert "baseline (none)" in result.output and "| mnli |" in result.output and "XNLI" in result.output
    store = ResultsStore(tmp_path / "store" / "results.sqlite")  # the same rows in a grid's store
    for cell in {r["cell"] for r in rows}:
        store.replace_cell(rows[0]["recipe"], cell, [r for r in rows if r["cell"] == cell])
    from adapterstilts.analysis.tables import CAVEAT

    table = make_report([folder])  # --max-examples 4 on the bundled sample: every cell marked, the note says why
    assert "the first 4 examples per language (--max-examples)" in table and "bundled sample" in table
    assert all(CAVEAT in line for line in table.splitlines() if line.startswith("| baseline") or
               line.startswith("| mnli"))
    import re

    unmarked = re.sub(f"; {CAVEAT} = partial: [^\n]*", "", table).replace(CAVEAT, "")
    assert unmarked == make_report([store.path])  # otherwise the very table a grid's store gives
    empty = tmp_path / "empty"
    (empty / "unevaluated").mkdir(parents=True)
    shutil.copy(mnli_run.path / "manifest.json", empty / "unevaluated" / "manifest.json")
    _one_line_error(CliRunner().invoke(app, ["report", str(empty)]), "no evaluated run", "evaluate RUN")


def _single_run(mnli_run, folder: Path, metrics, seed: int | None = None) -> Path:
    """A copy of the mnli run with the given metrics.json (and seed)."""
    shutil.copytree(mnli_run.path, folder)
    if seed is not None:
        manifest = json.loads((folder / "manifest.json").read_text())
        (folder / "manifest.json").write_text(json.dumps({**manifest, "seed": seed}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


TATOEBA = {"tatoeba": {"task": "tatoeba", "metric": "tatoeba_accuracy", "primary": "accuracy", "split": "validation",
                       "data": "hub", "languages": {"de": {"accuracy": 40.0}}, "average": {"accuracy": 40.0}}}


def test_report_refuses_a_result_that_is_not_an_object(mnli_run, tmp_path):
    from adapterstilts.cli import app

    _single_run(mnli_run, tmp_path / "runs" / "a", {"tatoeba": 5})
    _one_line_error(CliRunner().invoke(app, ["report", str(tmp_path / "runs")]), "metrics.json",
                    "the 'tatoeba' result has no per-language scores")


def test_report_refuses_two_runs_in_one_cell(mnli_run, tmp_path):
    """Two runs of the same row, target and seed are one cell: never averaged as if they were seeds."""
    from adapterstilts.cli import app

    _single_run(mnli_run, tmp_path / "runs" / "a", TATOEBA)
    _single_run(mnli_run, tmp_path / "runs" / "b", TATOEBA)
    _one_line_error(CliRunner().invoke(app, ["report", str(tmp_path / "runs")]), str(tmp_path / "runs" / "a"),
                    str(tmp_path / "runs" / "b"), "move one of them")
    _single_run(mnli_run, tmp_path / "seeds" / "a", TATOEBA, seed=1)  # two seeds: a mean and its spread
    _single_run(mnli_run, tmp_path / "seeds" / "b", {"tatoeba": {**TATOEBA["tatoeba"], "languages": {
        "de": {"accuracy": 50.0}}}}, seed=2)
    result = CliRunner().invoke(app, ["report", str(tmp_path / "seeds")])
    assert result.exit_code == 0 and "45.0 ± 7.1" in result.output and "2 seeds" in result.output, result.output


def test_report_marks_results_that_are_not_a_full_evaluation(mnli_run, tmp_path):
    from adapterstilts.analysis.tables import CAVEAT, make_report

    full = _single_run(mnli_run, tmp_path / "runs" / "full", TATOEBA, seed=1)
    assert CAVEAT not in make_report([full.parent])
    _single_run(mnli_run, tmp_path / "runs" / "dev", {"tatoeba": {**TATOEBA["tatoeba"], "split": "test"}}, seed=2)
    text = make_report([tmp_path / "runs"], per_language=True)
    assert "40.0 ± 0.0" + CAVEAT in text and "split test, not validation" in text and "not comparable" in text
    assert "$^\\dagger$" in make_report([tmp_path / "runs"], fmt="latex")


def test_report_says_when_runs_beside_a_store_are_not_read(mnli_run, tmp_path):
    from adapterstilts.analysis.tables import load_rows
    from adapterstilts.experiments.store import ResultsStore, rows_from_result

    folder = tmp_path / "grid"
    inside = _single_run(mnli_run, folder / "runs" / "kept", TATOEBA)
    _single_run(mnli_run, folder / "mine", TATOEBA, seed=3)
    ResultsStore(folder / "results.sqlite").replace_cell("g", "mnli/tatoeba/seed0", rows_from_result(
        TATOEBA["tatoeba"], recipe="g", intermediate="mnli", method="lora", compose="none", target="tatoeba", seed=0,
        run=str(inside)))
    said = []
    rows = load_rows([folder], log=said.append)
    assert {r["run"] for r in rows} == {str(inside)}
    assert len(said) == 1 and "1 evaluated run(s) beside it not read" in said[0] and "mine" in said[0], said
    said.clear()
    load_rows([folder / "results.sqlite"], log=said.append)
    assert not said
    shutil.rmtree(folder / "mine")  # a grid folder moved since: its runs are still the store's
    store = ResultsStore(folder / "results.sqlite")
    store.replace_cell("g", "mnli/tatoeba/seed0", [{**r, "run": "/elsewhere/grid/runs/kept"} for r in store.rows()])
    load_rows([folder], log=said.append)
    assert not said


# --------------------------------------------------------------------------------- what users see meanwhile
@pytest.fixture
def fresh_console(monkeypatch):
    """progress.console() installed anew for one test, and everything it changes put back after."""
    import logging

    from transformers.utils import logging as hf_logging

    import adapterstilts.progress as progress

    monkeypatch.setattr(progress, "_installed", False)
    monkeypatch.setattr(progress, "_seen", set())
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setattr(logging, "lastResort", logging.lastResort)
    progress.console()
    yield progress
    logging.getLogger("transformers").removeHandler(logging.lastResort)
    hf_logging.enable_default_handler()


def test_a_repeated_library_warning_is_printed_once(fresh_console, capsys):
    from transformers.utils import logging as hf_logging

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for i in range(3):  # the same text from three call sites (three trainings of a grid)
            warnings.warn_explicit("mtime may not be reliable on this filesystem", UserWarning, f"lib{i}.py", 10 + i)
        warnings.warn_explicit("another warning", FutureWarning, "lib.py", 1)
    for _ in range(3):
        hf_logging.get_logger("transformers.trainer").warning("a repeated transformers warning")
    err = capsys.readouterr().err
    assert err.count("mtime may not be reliable") == 1 and err.count("another warning") == 1, err
    assert err.count("a repeated transformers warning") == 1, err
    assert all(line.startswith("warning: ") for line in err.splitlines() if "reliable" in line or "another" in line)


def test_one_progress_bar_at_a_time_and_log_lines_beside_it(fresh_console, capsys, monkeypatch):
    import sys

    from tqdm.auto import tqdm

    monkeypatch.delenv("ADAPTERSTILTS_NO_PROGRESS", raising=False)
    monkeypatch.setenv("ADAPTERSTILTS_PROGRESS", "1")  # bars although the test's stderr is no terminal
    progress = fresh_console
    alone = progress.progress(range(2), desc="eval")
    assert isinstance(alone, tqdm)
    alone.close()
    with tqdm(range(3), file=sys.stderr) as training:  # the Trainer's bar
        inner = progress.progress(range(2), desc="dev")
        assert inner == range(2)  # no second bar under it
        progress.bar_safe(lambda m: print(m, file=sys.stderr))("selected step 2")
        training.update()
    err = capsys.readouterr().err
    assert "\rselected step 2\n" in err and "]selected step" not in err, repr(err)


def test_off_a_terminal_training_prints_log_lines_and_no_bar(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """A SLURM log or a pipe is no terminal: one line per log, no carriage-return bars."""
    from adapterstilts import progress
    from adapterstilts.training.pipeline import train

    monkeypatch.delenv("ADAPTERSTILTS_NO_PROGRESS", raising=False)
    monkeypatch.delenv("ADAPTERSTILTS_PROGRESS", raising=False)
    assert not progress.bars_enabled()  # pytest's captured stderr is no terminal
    assert progress.progress(range(2), desc="eval") == range(2)
    train(small_train_config(tiny_model_dir, tmp_path / "run", max_steps=4, logging_steps=2, progress=True),
          log=lambda m: None)
    err = capsys.readouterr().err
    assert "step 2/4  loss" in err and "step 4/4" in err and "\r" not in err, repr(err)
    monkeypatch.setenv("ADAPTERSTILTS_PROGRESS", "1")
    assert progress.bars_enabled() and not progress.bars_enabled(False)


def test_sigint_says_how_to_resume(tiny_model_dir, tmp_path, monkeypatch):
    import adapterstilts.training.pipeline as pipeline
    from adapterstilts.cli import app

    monkeypatch.setattr(pipeline, "save_module", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    result = CliRunner().invoke(app, ["train-intermediate", "mnli", "--model", str(tiny_model_dir), "--data",
                                      "sample", "--max-steps", "1", "--batch-size", "4", "--output",
                                      str(tmp_path / "out")])
    assert result.exit_code == 130 and "Traceback" not in result.output
    assert "interrupted" in result.output and "re-run the same command to resume" in result.output


def test_a_resumed_grid_says_where_it_picks_up(tiny_model_dir, tmp_path):
    import yaml

    from adapterstilts.experiments.executors import run_grid
    from adapterstilts.experiments.plan import expand
    from adapterstilts.experiments.recipe import load_recipe

    recipe = _store_recipe(tmp_path, tiny_model_dir)
    data = yaml.safe_load(recipe.read_text())
    data["seeds"] = [0, 1]
    recipe.write_text(yaml.safe_dump(data))
    run_grid(expand(load_recipe(str(recipe)), ["seed=0"]), log=lambda m: None)
    lines, log = _collect()
    run_grid(expand(load_recipe(str(recipe))), log=log)
    said = [m for m in lines if m.startswith("resuming the grid")]
    assert len(said) == 1 and "1 of 2 cells already done" in said[0] and "none/tatoeba/seed1" in said[0], lines


@pytest.mark.parametrize("code,word", DISK)
def test_a_disk_error_from_inside_a_library_is_one_line(code, word, capsys):
    """The CLI's last line of defence uses the same message as the writes the toolkit does itself."""
    import typer

    from adapterstilts.cli import user_errors

    @user_errors
    def command():
        raise OSError(code, os.strerror(code), "/data/run/model.safetensors")

    with pytest.raises(typer.Exit) as exit_:
        command()
    assert exit_.value.exit_code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: cannot write /data/run/model.safetensors") and word in err
