"""Training options are declared once, as TrainConfig field metadata: every training command's --help
shows them with that help text and the intended defaults, and a bad value is one line, exit 2, before
any model or output folder is touched."""
import re
from dataclasses import fields

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from adapterstilts.cli import app
from adapterstilts.cli.options import TRAIN_COMMANDS, flag, offered
from adapterstilts.config import TrainConfig

runner = CliRunner()

# Today's options of each training command, in --help order (a change here is a change users see).
HEAD = ["--model", "--revision", "--method", "--output", "--data", "--seed", "--lr", "--batch-size", "--grad-accum",
        "--epochs", "--max-steps", "--max-length", "--max-train-examples"]
TAIL = ["--lora-r", "--lora-alpha", "--reduction-factor", "--load-in-8bit", "--load-in-4bit", "--bf16", "--fp16",
        "--gradient-checkpointing", "--report-to"]
SHARED = HEAD + TAIL
EXPECTED = {
    "train-intermediate": ["--intermediate", "--compose"] + HEAD + ["--qa-answer-text", "--tagging-label-piece", "--language-adapter"] + TAIL
                          + ["--save-steps", "--overwrite", "--eval-steps", "--patience"],
    "train-target": ["--intermediate", "--compose", "--merge-weights", "--merge-method", "--merge-density",
                     "--fusion-gate"] + HEAD + ["--qa-answer-text", "--tagging-label-piece", "--language-adapter"] + TAIL
                    + ["--save-steps", "--overwrite", "--eval-steps", "--patience", "--allow-pickle"],
    "train-multitask": ["--sampling", "--temperature"] + SHARED + ["--overwrite"],
}


def _compact(text: str) -> str:
    """--help without any whitespace, so that a help text matches however the terminal wraps it."""
    return re.sub(r"\s+", "", text)


def _params(command: str) -> dict:
    """The command's options by their long flag (typer.main.get_command: the command typer builds)."""
    cmd = get_command(app).commands[command]
    return {next(o for o in p.opts if o.startswith("--")): p for p in cmd.params if p.opts[0].startswith("-")}


def test_every_field_has_help_and_says_whether_it_is_an_option():
    for f in fields(TrainConfig):
        assert f.metadata.get("help"), f"TrainConfig.{f.name} has no help text in its metadata"
        if f.metadata.get("cli", True) is not False:
            assert any(f in offered(c) for c in TRAIN_COMMANDS), f"{f.name} is an option of no command"
            assert set(f.metadata.get("commands", TRAIN_COMMANDS)) <= set(TRAIN_COMMANDS)


@pytest.mark.parametrize("command", TRAIN_COMMANDS)
def test_help_lists_every_option_field_with_its_help_text(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    text = _compact(result.output)
    chosen = offered(command)
    assert chosen, "no TrainConfig field is an option"
    for f in chosen:
        assert _compact(f.metadata["help"]) in text, f"{command} --help lacks the help of {f.name}"
        assert flag(f) in text, f"{command} --help lacks {flag(f)}"
        assert f.metadata.get("short", "") in text
    listed = [o for o in re.findall(r"^  (?:-\w, )?(--[\w-]+)", result.output, re.M) if o != "--help"]
    assert {flag(f) for f in chosen} <= set(listed)
    assert listed == EXPECTED[command]  # nothing more, nothing less, in today's order


@pytest.mark.parametrize("command", TRAIN_COMMANDS)
def test_options_carry_the_field_help_and_default(command):
    params = _params(command)
    for f in offered(command):
        param = params[flag(f)]
        assert param.help == f.metadata["help"]
        if f.name not in ("epochs", "output", "intermediates"):
            assert param.default == f.default, f.name
    assert params["--output"].default is None and "-o" in params["--output"].opts


def test_epochs_default_differs_where_intended():
    assert TrainConfig(task="mnli", output="o").epochs == 3.0
    defaults = {c: _params(c)["--epochs"].default for c in TRAIN_COMMANDS}
    assert defaults == {"train-intermediate": 3.0, "train-target": 2.0, "train-multitask": 3.0}
    help_text = _compact(runner.invoke(app, ["train-target", "--help"]).output)
    assert re.search(r"--epochs\S*?Trainingepochs\.\[default:2\.0\]", help_text)
    help_text = _compact(runner.invoke(app, ["train-intermediate", "--help"]).output)
    assert re.search(r"--epochs\S*?Trainingepochs\.\[default:3\.0\]", help_text)


@pytest.mark.parametrize("args, keyword", [
    (["train-intermediate", "mnli", "--lora-r", "0"], "--lora-r must be at least 1"),
    (["train-intermediate", "mnli", "--reduction-factor", "0", "--method", "bottleneck"], "--reduction-factor"),
    (["train-intermediate", "mnli", "--max-train-examples", "0"], "--max-train-examples must be at least 1"),
    (["train-intermediate", "mnli", "--max-length", "2"], "--max-length must be at least 8"),
    (["train-intermediate", "mnli", "--max-steps", "0"], "leave it out to train --epochs"),
    (["train-intermediate", "mnli", "--max-steps", "-3"], "give --max-steps > 0"),
    (["train-intermediate", "mnli", "--epochs", "0"], "give --epochs > 0"),
    (["train-intermediate", "mnli", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["train-intermediate", "mnli", "--grad-accum", "0"], "--grad-accum must be at least 1"),
    (["train-intermediate", "mnli", "--lr", "0"], "--lr must be positive"),
    (["train-target", "xnli", "--lora-r", "0"], "--lora-r"),
    (["train-target", "xnli", "--max-steps", "0"], "--max-steps"),
    (["train-target", "xnli", "-i", "nowhere", "--compose", "merge", "--merge-weights", "a,b"], "--merge-weights"),
    (["train-multitask", "mnli,squad", "--max-length", "2"], "--max-length"),
    (["train-multitask", "mnli,squad", "--max-train-examples", "0"], "--max-train-examples"),
])
def test_bad_option_values_give_one_line_and_no_output(args, keyword, tiny_model_dir, tmp_path):
    out = tmp_path / "o"
    result = runner.invoke(app, args + ["--model", str(tiny_model_dir), "--data", "sample", "--output", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert keyword in lines[0]
    assert "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / ".o.partial").exists()


def test_score_help_lists_every_suite_and_each_default_qa_convention():
    """`score --help` names every registered suite and, per suite, the QA convention used when
    --qa-convention is left out (the suite's official one)."""
    from adapterstilts.suites import SUITES, get_suite

    params = _params("score")
    suites, qa = params["--suite"].help, _compact(params["--qa-convention"].help)
    for name, _ in SUITES.items():
        assert re.search(rf"(^|[\s:|]){re.escape(name)}(\s|\(|$)", suites), (name, suites)
        assert f"{name}{get_suite(name).official_qa}" in qa.replace(",", ""), (name, qa)
    assert "Default:" in params["--qa-convention"].help
