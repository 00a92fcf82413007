"""The command line, through typer's CliRunner: commands wire to the library, bad input gives one
clear line (no traceback) and exit code 2."""
import json

import pytest
from typer.testing import CliRunner

from adapterstilts.cli import app

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_tasks_lists_registered_tasks():
    result = _invoke("tasks")
    assert result.exit_code == 0
    names = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert {"mnli", "squad", "hellaswag", "xnli", "xquad", "panx"} <= names


def test_train_and_evaluate_through_the_cli(tiny_model_dir, tmp_path):
    out = tmp_path / "mnli"
    result = _invoke("train-intermediate", "mnli", "--model", tiny_model_dir, "--data", "sample", "--max-steps", 2,
                     "--batch-size", 4, "--output", out)
    assert result.exit_code == 0, result.output
    assert "trainable parameters" in result.output
    target = tmp_path / "xnli"
    result = _invoke("train-target", "xnli", "-i", out, "--compose", "stack", "--model", tiny_model_dir, "--data",
                     "sample", "--max-steps", 2, "--batch-size", 4, "--output", target)
    assert result.exit_code == 0, result.output
    res_file = tmp_path / "res.json"
    preds = tmp_path / "preds.json"
    result = _invoke("evaluate", target, "--data", "sample", "--languages", "all", "--output", res_file,
                     "--save-predictions", preds)
    assert result.exit_code == 0, result.output
    saved = json.loads(res_file.read_text())
    assert "average" in result.stdout and set(saved["languages"]) <= set(saved["languages"]) | {"en"}
    # the same metric recomputed from the predictions file alone
    again = _invoke("evaluate", "--task", "xnli", "--predictions", preds, "--output", tmp_path / "again.json")
    assert again.exit_code == 0, again.output
    assert json.loads((tmp_path / "again.json").read_text())["languages"] == saved["languages"]


@pytest.mark.parametrize("args, message", [
    (["train-intermediate", "no_such_task"], "unknown task 'no_such_task'"),
    (["train-intermediate", "xnli"], "is a target task"),
    (["train-target", "tatoeba"], "without target training"),
    (["evaluate", "/nonexistent/run"], "not a finished adapterstilts run"),
    (["evaluate", "--task", "xnli", "--predictions", "/nonexistent.json"], "does not exist"),
    (["train-intermediate", "mnli", "--data", "/no/such/dir"], "neither 'sample', 'hub' nor an existing directory"),
    (["evaluate", "/nonexistent/run", "--data", "/no/such/dir"], "neither 'sample', 'hub' nor an existing directory"),
])
def test_bad_input_gives_one_clear_line(args, message, tiny_model_dir, tmp_path):
    if "--data" in args:
        args = args + ["--model", str(tiny_model_dir), "--output", str(tmp_path / "o")]
    result = _invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len([line for line in result.output.splitlines() if line.startswith("error:")]) == 1


def test_offline_hub_data_gives_a_clear_error(tiny_model_dir, tmp_path):
    result = _invoke("train-intermediate", "mnli", "--model", tiny_model_dir, "--data", "hub", "--output",
                     tmp_path / "o", "--max-steps", 1)
    assert result.exit_code == 2, result.output
    assert "nyu-mll/glue" in result.output and "--data DIR" in result.output


def test_missing_model_gives_a_clear_error(tmp_path):
    result = _invoke("train-intermediate", "mnli", "--model", tmp_path / "no-model", "--data", "sample",
                     "--output", tmp_path / "o")
    assert result.exit_code == 2, result.output
    assert "make-tiny-model" in result.output or "--model" in result.output


def test_retrieval_from_the_plain_backbone(tiny_model_dir, tmp_path):
    out = tmp_path / "tatoeba.json"
    result = _invoke("evaluate", "--model", tiny_model_dir, "--task", "tatoeba", "--data", "sample", "--output", out)
    assert result.exit_code == 0, result.output
    saved = json.loads(out.read_text())
    assert saved["layer"] == 2 and saved["pooling"] == "mean" and len(saved["languages"]) >= 3
    bad = _invoke("evaluate", "--model", tiny_model_dir, "--task", "xnli", "--data", "sample")
    assert bad.exit_code == 2 and "needs a trained head" in bad.output


def test_unreachable_hub_fails_at_once_without_retries(monkeypatch, tmp_path):
    """No offline flag set and no network: one line, before any download attempt or retry loop."""
    import adapterstilts.network as network

    for var in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(network, "hub_reachable", lambda timeout=3.0: False)
    result = _invoke("train-intermediate", "squad", "--output", tmp_path / "o")
    assert result.exit_code == 2, result.output
    assert "cannot reach the Hugging Face Hub" in result.output and "FacebookAI/xlm-roberta-large" in result.output
    assert not (tmp_path / "o").exists()


def test_make_tiny_model_never_wipes_a_folder(tmp_path):
    folder = tmp_path / "precious"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep")
    result = _invoke("make-tiny-model", folder)
    assert result.exit_code == 2 and "--overwrite" in result.output
    again = _invoke("make-tiny-model", folder, "--overwrite")
    assert again.exit_code == 2 and "refusing to replace" in again.output
    assert (folder / "notes.txt").read_text() == "keep"
    assert _invoke("make-tiny-model", tmp_path / "t", "--hidden", 10).exit_code == 2


@pytest.mark.parametrize("args, message", [
    (["train-intermediate", "mnli", "--data", "sample", "--report-to", "wandb"], "needs the wandb package"),
    (["train-multitask", "mnli,mnli", "--data", "sample"], "listed twice"),
    (["tasks", "--kind", "foo"], "unknown --kind"),
])
def test_more_bad_input(args, message, tiny_model_dir, tmp_path):
    if args[0] != "tasks":
        args = args + ["--model", str(tiny_model_dir), "--output", str(tmp_path / "o")]
    result = _invoke(*args)
    assert result.exit_code == 2 and message in result.output, result.output
    assert not (tmp_path / "o").exists() and not (tmp_path / ".o.partial").exists()


def test_predictions_of_another_task_are_refused(tmp_path):
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"task": "xnli", "languages": {"en": {"predictions": [0], "references": [0]}}}))
    result = _invoke("evaluate", "--task", "panx", "--predictions", preds)
    assert result.exit_code == 2 and "use --task xnli" in result.output
    preds.write_text(json.dumps({"languages": {"en": {"predictions": [0], "references": [0]}}}))
    result = _invoke("evaluate", "--task", "panx", "--predictions", preds)
    assert result.exit_code == 2 and "do not have the form" in result.output
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    result = _invoke("evaluate", "--task", "xnli", "--predictions", tmp_path / "bin.json")
    assert result.exit_code == 2 and "Traceback" not in result.output
