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


# ---- a target run: its model card's adapterstilts code, and -i refusing it ------------------------
@pytest.fixture(scope="module")
def target_run(tiny_model_dir, tmp_path_factory):
    """An xnli run stacked on a 1-step mnli run (both 1 step, the tiny model)."""
    from adapterstilts.training.pipeline import train
    from conftest import quiet, small_train_config

    root = tmp_path_factory.mktemp("target")
    mnli = train(small_train_config(tiny_model_dir, root / "mnli", max_steps=1, lr=3e-2), log=quiet)
    return train(small_train_config(tiny_model_dir, root / "xnli", task="xnli", compose="stack", max_steps=1,
                                    lr=3e-2, intermediates=[str(mnli.path)]), log=quiet)


@pytest.mark.parametrize("hub_base", [True, False], ids=["hub-base", "local-base"])
def test_card_code_loads_a_pushed_target_run_with_its_head(target_run, tiny_model_dir, tmp_path, tiny_tokenizer,
                                                           hub_base):
    """The card's adapterstilts block rebuilds the pushed target run: the same encoder and the same head."""
    import re
    from pathlib import Path

    import torch

    from adapterstilts.model.assemble import load_run_model
    from adapterstilts.runs.hub import stage_run
    from test_hub import hidden, put_in_cache

    repo_id = f"user/xnli-card-{'hub' if hub_base else 'local'}"
    put_in_cache("user/tiny-xlmr", Path(tiny_model_dir))
    staged = tmp_path / "staged"
    stage_run(target_run, staged, repo_id, base_model="user/tiny-xlmr" if hub_base else None, log=lambda m: None)
    put_in_cache(repo_id, staged)
    card = (staged / "README.md").read_text()
    assert "a target run: see" not in card
    assert f"adapterstilts evaluate {repo_id}" + ("" if hub_base else " --model BASE_MODEL") in card
    code = re.search(r"### The whole model, with its head \(adapterstilts\)\n\n```python\n(.*?)```", card, re.S).group(1)
    assert ("BASE_MODEL" in code) is not hub_base
    scope: dict = {}
    exec(compile(code.replace("BASE_MODEL", str(tiny_model_dir)), f"{repo_id}/README.md", "exec"), scope)
    expected, task, _ = load_run_model(target_run, log=lambda m: None)
    assert scope["task"].name == task.name == "xnli"
    assert torch.allclose(hidden(scope["encoder"], tiny_tokenizer), hidden(expected.encoder, tiny_tokenizer), atol=1e-5)
    got, want = scope["task_model"].head.state_dict(), expected.head.state_dict()
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in got)


# ---- what an evaluation records: a partial one says so, and which language adapters it used --------
def test_max_examples_is_recorded_and_never_merged_with_a_full_evaluation(target_run, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(target_run.path, run)
    out = tmp_path / "partial.json"
    result = _invoke("evaluate", run, "--data", "sample", "--languages", "en", "--max-examples", 2, "--output", out)
    assert result.exit_code == 0, result.output
    assert "partial: the first 2 examples per language" in result.stdout
    saved = json.loads(out.read_text())
    assert saved["max_examples"] == 2 and saved["examples"] == {"en": 2}
    recorded = json.loads((run / "metrics.json").read_text())["xnli"]
    assert recorded["max_examples"] == 2 and recorded["examples"] == {"en": 2}
    full = _invoke("evaluate", run, "--data", "sample", "--languages", "de")
    assert full.exit_code == 0, full.output
    assert "partial" not in full.stdout
    recorded = json.loads((run / "metrics.json").read_text())["xnli"]
    assert "max_examples" not in recorded and "examples" not in recorded
    assert list(recorded["languages"]) == ["de"]  # the partial en score is not averaged with a full de one


def test_language_adapters_used_are_recorded(tiny_model_dir, tmp_path):
    from adapterstilts.training.pipeline import train
    from conftest import quiet, small_train_config
    from test_language_adapters import _language_adapter

    en = _language_adapter(tiny_model_dir, tmp_path / "lang-en", 1)
    de = _language_adapter(tiny_model_dir, tmp_path / "lang-de", 2)
    run = train(small_train_config(tiny_model_dir, tmp_path / "xnli", task="xnli", method="bottleneck", max_steps=1,
                                   language_adapter=str(en)), log=quiet)
    out = tmp_path / "r.json"
    result = _invoke("evaluate", run.path, "--data", "sample", "--languages", "en,de", "--language-adapters",
                     f"de={de}", "--output", out)
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["language_adapters"] == {"en": "training", "de": str(de)}
    assert f"language adapters: en=training, de={de}" in result.stdout
    again = _invoke("evaluate", run.path, "--data", "sample", "--languages", "en")  # en again, the training adapter
    assert again.exit_code == 0, again.output
    recorded = json.loads((run.path / "metrics.json").read_text())["xnli"]
    assert set(recorded["languages"]) == {"en", "de"} and recorded["language_adapters"] == {"de": str(de)}


def test_model_card_marks_a_partial_evaluation_and_its_language_adapters():
    from adapterstilts.runs.model_card import results

    result = {"metric": "accuracy", "primary": "accuracy", "split": "test", "data": "sample",
              "languages": {"de": {"accuracy": 50.0}}, "average": {"accuracy": 50.0}}
    assert "Partial" not in results({"xnli": result})
    text = results({"xnli": {**result, "max_examples": 8, "language_adapters": {"de": "user/lang-de"}}})
    assert "Partial: the first 8 examples per language" in text and "Language adapters: de user/lang-de" in text


def test_predictions_are_scored_on_the_languages_asked_for_with_label_names(tmp_path):
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"task": "xnli", "languages": {
        "en": {"predictions": ["entailment", "neutral", 2], "references": [0, 1, 0]},
        "de": {"predictions": [1], "references": [0]}}}))
    result = _invoke("evaluate", "--task", "xnli", "--predictions", preds, "--languages", "en", "-o", tmp_path / "o.json")
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "o.json").read_text())
    assert list(saved["languages"]) == ["en"]
    assert saved["languages"]["en"]["accuracy"] == pytest.approx(200 / 3)  # names mapped to ids, not scored as wrong


def test_a_mixture_run_of_target_data_is_an_intermediate_but_a_few_shot_run_is_not(target_run, tmp_path):
    """-i refuses target runs, except a study's mixture of target-task data (trained as an intermediate)."""
    import shutil

    from adapterstilts.cli.train import _check_not_target_runs
    from adapterstilts.errors import UserError

    for kind in ("mix", "fewshot"):
        run = tmp_path / kind
        shutil.copytree(target_run.path, run)
        manifest = json.loads((run / "manifest.json").read_text())
        manifest.update(intermediates=[], train_data={"kind": kind, "seed": 0})
        (run / "manifest.json").write_text(json.dumps(manifest))
        if kind == "mix":
            _check_not_target_runs([str(run)])
        else:
            with pytest.raises(UserError, match="is a target run .*pass an intermediate-task run"):
                _check_not_target_runs([str(run)])
