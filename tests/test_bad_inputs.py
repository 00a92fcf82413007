"""The bad-input battery: one row per mistake a user makes (command, the word the message must hold).
Each must exit 2 with one `error:` line, no traceback, and leave nothing half-written at the output."""
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from adapterstilts.cli import app

RUN = "@RUN"  # a finished mnli LoRA run
MODEL = "@MODEL"  # the tiny model
OUT = "@OUT"  # an output path that must not appear


def _files(root: Path) -> dict[str, str]:
    mnli = root / "nyu-mll__glue" / "mnli"
    return {
        "empty": "",
        "notjson": '{"premise":"a","hypothesis":"b","label":0,"idx":0}\nnot json\n',
        "badlabel": '{"premise":"a","hypothesis":"b","label":0,"idx":0}\n{"premise":"a","hypothesis":"b","label":7,"idx":1}\n',
        "negative": '{"premise":"a","hypothesis":"b","label":-1,"idx":0}\n',
        "strlabel": '{"premise":"a","hypothesis":"b","label":"entailment","idx":0}\n',
        "nocol": '{"premise":"a","hyp":"b","label":0,"idx":0}\n',
        "array": '[1, 2]\n',
    }, mnli


CASES = [
    # training settings
    (["train-intermediate", "mnli", "--lora-r", "0"], "--lora-r must be at least 1"),
    (["train-intermediate", "mnli", "--max-steps", "0"], "--max-steps"),
    (["train-intermediate", "mnli", "--max-length", "2"], "--max-length must be at least 8"),
    (["train-intermediate", "mnli", "--lr", "0"], "--lr must be positive"),
    (["train-intermediate", "xnli"], "is a target task"),
    (["train-intermediate", "nope"], "unknown task 'nope'"),
    (["train-intermediate", "mnli", "--method", "bogus"], "unknown method 'bogus'"),
    (["train-target", "tatoeba"], "evaluated without target training"),
    (["train-target", "xnli", "-i", RUN, "--compose", "fuse", "--method", "full"], "not available with --method full"),
    (["train-target", "xnli", "-i", RUN, "--compose", "fuse"], "at least 2"),
    (["train-target", "xnli", "-i", RUN, "-i", RUN, "--compose", "stack"], "given twice"),
    (["train-target", "xnli", "-i", RUN, "--compose", "chain"], "not for target tasks"),
    (["train-target", "xnli", "-i", RUN, "-i", RUN + "x", "--compose", "merge", "--merge-method", "ties"],
     "--merge-density"),
    (["train-target", "xnli", "-i", RUN, "--compose", "stack", "--merge-method", "ties"], "go with --compose merge"),
    (["train-target", "xnli", "-i", RUN, "--compose", "stack", "--fusion-gate", "input"], "--fusion-gate goes with"),
    (["train-target", "xnli", "-i", RUN, "--compose", "stack", "--language-adapter", RUN], "use --method bottleneck"),
    (["train-target", "xnli", "-i", "@ROOT/runs/not-there", "--compose", "stack"], "does not exist"),
    (["train-target", "xnli", "--qa-answer-text", "chars"], "--qa-answer-text"),
    (["train-intermediate", "mnli", "--model", "/nonexistent/model"], "does not exist"),
    (["train-intermediate", "mnli", "--output", "@FILE"], "is a file"),
    (["train-target", "xnli", "--method", "bottleneck", "--language-adapter", "nope"], "language adapter 'nope' does not exist"),
    # data folders: checked before any model loads, naming file / line / row / column
    (["train-intermediate", "mnli", "--data", "@DATA:empty"], "is empty"),
    (["train-intermediate", "mnli", "--data", "@DATA:notjson"], ":2: not a JSON line"),
    (["train-intermediate", "mnli", "--data", "@DATA:badlabel"], "row 2: label 7"),
    (["train-intermediate", "mnli", "--data", "@DATA:negative"], "label -1"),
    (["train-intermediate", "mnli", "--data", "@DATA:strlabel"], "does not fit"),
    (["train-intermediate", "mnli", "--data", "@DATA:nocol"], "no column 'hypothesis'"),
    (["train-intermediate", "mnli", "--data", "@DATA:array"], "not an object"),
    # evaluation, scoring, selection
    (["evaluate", RUN, "--language-adapters", "de"], "expected LANG=REF"),
    (["evaluate", RUN, "--language-adapters", "de=" + RUN], "trained without --language-adapter"),
    (["evaluate", RUN, "--task", "nope"], "unknown task"),
    (["evaluate"], "give a RUN folder"),
    (["evaluate", RUN, "--languages", ""], "--languages is empty"),
    (["push", RUN, "not a repo", "--dry-run"], "is not a Hub repo id"),
    (["run", "@EMPTY_RECIPE", "--dry-run"], "is empty"),
    (["tasks", "--suite", "nope"], "unknown suite 'nope'"),
    (["select", "xnli", "-i", RUN], "two"),
    # grids and reports
    (["run", "tiny", "--dry-run", "--only", "size=1000"], "no such axis"),
    (["run", "tiny", "--dry-run", "--only", "colour=red"], "unknown key 'colour'"),
    (["run", "tiny", "--dry-run", "--set", "sizes=[0]"], "sizes"),
    (["run", "tiny", "--dry-run", "--set", "orders=[[mnli, xnli]]"], "not an intermediate task"),
    (["run", "tiny", "--dry-run", "--executor", "bogus"], "--executor"),
    (["report", "@STORE", "--by", "colour"], "--by colour"),
    (["report", "@STORE", "--by", "size"], "no size axis"),
]


@pytest.fixture(scope="module")
def places(tiny_model_dir, tmp_path_factory):
    from adapterstilts.training.pipeline import train
    from conftest import quiet, small_train_config

    root = tmp_path_factory.mktemp("bad")
    run = train(small_train_config(tiny_model_dir, root / "mnli-run", max_steps=1), log=quiet)
    data = {}
    files, _ = _files(root)
    for name, text in files.items():
        folder = root / f"data-{name}" / "nyu-mll__glue" / "mnli"
        folder.mkdir(parents=True)
        (folder / "train.jsonl").write_text(text, encoding="utf-8")
        data[name] = str(root / f"data-{name}")
    store = root / "store" / "results.sqlite"
    from adapterstilts.experiments.store import ResultsStore

    ResultsStore(store).replace_cell("r", "mnli/xnli/seed0", [
        {"recipe": "r", "cell": "mnli/xnli/seed0", "intermediate": "mnli", "method": "lora", "compose": "stack",
         "target": "xnli", "language": "en", "metric": "accuracy", "seed": 0, "value": 50.0, "run": None}])
    (root / "runs").mkdir()
    (root / "empty.yaml").write_text("# nothing yet\n")
    (root / "a-file").write_text("not a folder\n")
    return {"run": str(run.path), "model": str(tiny_model_dir), "data": data, "root": root, "store": str(store),
            "empty_recipe": str(root / "empty.yaml"), "file": str(root / "a-file")}


def _resolve(args, places, out):
    resolved = []
    for a in args:
        a = a.replace(RUN, places["run"]).replace(MODEL, places["model"]).replace("@STORE", places["store"])
        a = a.replace("@EMPTY_RECIPE", places["empty_recipe"]).replace("@ROOT", str(places["root"]))
        a = a.replace("@FILE", places["file"])
        if a.startswith("@DATA:"):
            a = places["data"][a.split(":", 1)[1]]
        resolved.append(a)
    command = resolved[0]
    if command.startswith("train-"):
        if "--model" not in resolved:
            resolved += ["--model", places["model"]]
        if "--data" not in resolved:
            resolved += ["--data", "sample"]
        if "--output" not in resolved:
            resolved += ["--output", str(out)]
        resolved += ["--max-train-examples", "4"] if "--max-train-examples" not in resolved else []
    if command in ("select",):
        resolved += ["--data", "sample"]
    return resolved


@pytest.mark.parametrize("args, words", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_bad_input_is_one_clear_line(places, tmp_path, args, words):
    out = tmp_path / "out"
    result = CliRunner().invoke(app, _resolve(args, places, out))
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, text
    assert words in errors[0], errors[0]
    assert not out.exists() and not list(tmp_path.glob(".out.partial"))  # nothing half-written


def _truncate(path: Path):
    path.write_bytes(path.read_bytes()[:100])


CORRUPT = [
    ("module/adapter_model.safetensors", _truncate, "not a readable safetensors file"),
    ("head.safetensors", lambda p: p.write_bytes(b""), "head.safetensors is not a readable safetensors file"),
    ("module/adapter_config.json", lambda p: p.write_text("{garbage"), "adapter_config.json is not valid JSON"),
    ("module/adapter_model.safetensors", lambda p: p.write_bytes(__import__("pickle").dumps({"a": 1})),
     "not a readable safetensors file"),
    ("manifest.json", lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "seed": "42"})),
     "seed must be an integer"),
    ("manifest.json", lambda p: p.write_text("[1]"), "not a JSON object"),
]


@pytest.mark.parametrize("name, damage, words", CORRUPT, ids=[f"{n}:{w[:20]}" for n, _, w in CORRUPT])
def test_a_corrupt_run_folder_is_one_line(places, tmp_path, name, damage, words):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(places["run"], run)
    damage(run / name)
    result = CliRunner().invoke(app, ["evaluate", str(run), "--data", "sample", "--languages", "en"])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert words in result.output


def test_a_corrupt_metrics_file_never_loses_the_result(places, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(places["run"], run)
    (run / "metrics.json").write_text("{bad")
    result = CliRunner().invoke(app, ["evaluate", str(run), "--data", "sample", "--languages", "en"])
    assert result.exit_code == 0, result.output
    assert "mnli" in json.loads((run / "metrics.json").read_text())
    assert (run / "metrics.json.corrupt").read_text() == "{bad"


def test_evaluating_one_language_keeps_the_others_in_the_run(places, tmp_path):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(places["run"], run)
    for languages in ("en", "en"):
        assert CliRunner().invoke(app, ["evaluate", str(run), "--data", "sample", "--languages", languages]).exit_code == 0
    recorded = json.loads((run / "metrics.json").read_text())["mnli"]
    assert list(recorded["languages"]) == ["en"]
    recorded["languages"]["xx"] = {"accuracy": 0.0}  # as if another language had been evaluated before
    (run / "metrics.json").write_text(json.dumps({"mnli": recorded}))
    CliRunner().invoke(app, ["evaluate", str(run), "--data", "sample", "--languages", "en"])
    merged = json.loads((run / "metrics.json").read_text())["mnli"]
    assert set(merged["languages"]) == {"en", "xx"}
    assert merged["average"]["accuracy"] == (merged["languages"]["en"]["accuracy"] + 0.0) / 2
