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
TARGET = "@TARGET"  # a finished xnli run stacked on RUN
SCALING = "@SCALING"  # the bundled tiny scaling study recipe (sizes 4, 8, 16)
PREDICTIONS = {  # evaluate --predictions files
    "good": {"task": "xnli", "languages": {"en": {"predictions": [0, "neutral"], "references": [0, 1]},
                                           "de": {"predictions": [1, 2], "references": [1, 1]}}},
    "label7": {"task": "xnli", "languages": {"en": {"predictions": [0, 7], "references": [0, 1]}}},
    "string": {"task": "xnli", "languages": {"en": {"predictions": ["yes", "no"], "references": [0, 1]}}},
    "tag": {"task": "panx", "languages": {"en": {"predictions": [["O", "B-PER"]], "references": [["O", "B-XYZ"]]}}},
}


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
    (["train-target", "mnli"], "'mnli' is an intermediate task; train it with `adapterstilts train-intermediate mnli`"),
    # a typo gets the nearest name, once for every registry (tasks, methods, compositions)
    (["train-intermediate", "mnlii"], "unknown task 'mnlii'; did you mean 'mnli'?"),
    (["train-intermediate", "mnli", "--method", "lroa"], "did you mean 'lora'?"),
    (["train-target", "xnli", "-i", RUN, "--compose", "stak"], "unknown --compose 'stak'; did you mean 'stack'?"),
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
    # an output under an existing file: named before any model loads, never after the work
    (["train-intermediate", "mnli", "--output", "@FILE/run"], "a-file is a file, not a folder"),
    (["train-target", "xnli", "--output", "@FILE/deeper/run"], "a-file is a file, not a folder"),
    (["evaluate", RUN, "--data", "sample", "--languages", "en", "-o", "@FILE/x.json"], "a-file is a file, not a folder"),
    (["evaluate", RUN, "--data", "sample", "--languages", "en", "--save-predictions", "@FILE/p.json"],
     "a-file is a file, not a folder"),
    (["evaluate", "--task", "xnli", "--predictions", "@PREDS:good", "-o", "@FILE/x.json"], "is a file, not a folder"),
    (["export-data", "mnli", "@FILE/data"], "a-file is a file, not a folder"),
    (["make-tiny-model", "@FILE/tm"], "a-file is a file, not a folder"),
    (["report", "@STORE", "--plot", "@FILE/heat.png"], "a-file is a file, not a folder"),
    (["report", "@STORE", "-o", "@FILE/t.md"], "a-file is a file, not a folder"),
    (["run", "tiny", "--set", "output=@FILE/grid"], "a-file is a file, not a folder"),
    (["run", "tiny", "--set", "intermediate_output=@FILE/inter"], "intermediate_output"),
    # a truncated download or copy of the model: named before it loads, not a SafetensorError traceback
    (["train-target", "xnli", "--model", "@TRUNCATED_MODEL"],
     "truncated-model/model.safetensors is not a readable safetensors file (truncated or corrupt); download"),
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
    (["run", "tiny", "--dry-run", "--only", "size=1000"], "the recipe has no size axis; drop --only size="),
    (["run", "tiny", "--dry-run", "--only", "language=fr"], "the recipe's cells have no language axis"),
    (["run", "tiny", "--dry-run", "--only", "colour=red"], "unknown key 'colour'"),
    (["run", "tiny", "--dry-run", "--set", "sizes=[0]"], "sizes"),
    (["run", "tiny", "--dry-run", "--set", "orders=[[mnli, xnli]]"], "not an intermediate task"),
    (["run", "tiny", "--dry-run", "--executor", "bogus"], "--executor"),
    (["report", "@STORE", "--by", "colour"], "--by colour"),
    (["report", "@STORE", "--by", "size"], "no size axis"),
    # --only values that exist, but not together; the spelling of "all the data" on the size axis
    (["run", SCALING, "--dry-run", "--set", "intermediates=[none,mnli]", "--only", "intermediate=none,size=4"],
     "selects no cell"),
    (["run", SCALING, "--dry-run", "--set", "sizes=[4,null]", "--only", "size=all"], "choose from: 4, full"),
    (["run", SCALING, "--dry-run", "--set", "sizes=[4,all]"], "integer or null"),
    # a target run where an intermediate run belongs; an intermediate task where a target belongs
    (["train-target", "pawsx", "-i", TARGET, "--compose", "stack"], "is a target run (xnli"),
    (["train-target", "pawsx", "-i", TARGET], "pass its intermediates instead: -i "),
    (["train-intermediate", "squad", "-i", TARGET, "--compose", "chain"], "is a target run"),
    (["select", "mnli", "-i", RUN, "-i", TARGET], "is an intermediate task"),
    # evaluate: an option that would do nothing is refused
    (["evaluate", RUN, "--qa-answer-text", "offsets"], "--qa-answer-text applies to QA tasks"),
    (["evaluate", RUN, "--layer", "2"], "--layer chooses the hidden layer of retrieval"),
    (["evaluate", RUN, "--task", "tatoeba", "--max-examples", "3"], "--max-examples does not apply to tatoeba"),
    (["evaluate", RUN, "--task", "tatoeba", "--bf16"], "--bf16 applies to tasks scored by a head"),
    (["evaluate", RUN, "--task", "xnli", "--predictions", "@PREDS:good"], "not both"),
    (["evaluate", "--task", "xnli", "--predictions", "@PREDS:good", "--max-examples", "3"],
     "--max-examples would be ignored"),
    (["evaluate", "--model", MODEL, "--task", "tatoeba", "--save-predictions", OUT], "--save-predictions would be"),
    # --predictions: labels outside the set, strings that are no label, --languages honoured
    (["evaluate", "--task", "xnli", "--predictions", "@PREDS:label7"], "prediction #2 is 7, not one of xnli's labels"),
    (["evaluate", "--task", "xnli", "--predictions", "@PREDS:string"], "'yes', not one of xnli's labels"),
    (["evaluate", "--task", "xnli", "--predictions", "@PREDS:good", "--languages", "fr"], "not in predictions file"),
    (["evaluate", "--task", "panx", "--predictions", "@PREDS:tag"], "word 2, is 'B-XYZ'"),
    # export-data is the download step: offline, it says where to run it (not "run export-data")
    (["export-data", "mnli", OUT], "on a machine with internet access"),
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
    target = train(small_train_config(tiny_model_dir, root / "xnli-run", task="xnli", compose="stack", max_steps=1,
                                      intermediates=[str(run.path)]), log=quiet)
    preds = {}
    for name, content in PREDICTIONS.items():
        preds[name] = root / f"preds-{name}.json"
        preds[name].write_text(json.dumps(content))
    (root / "runs").mkdir()
    (root / "empty.yaml").write_text("# nothing yet\n")
    (root / "a-file").write_text("not a folder\n")
    import shutil

    shutil.copytree(tiny_model_dir, root / "truncated-model")
    _truncate(root / "truncated-model" / "model.safetensors")
    return {"run": str(run.path), "model": str(tiny_model_dir), "data": data, "root": root, "store": str(store),
            "empty_recipe": str(root / "empty.yaml"), "file": str(root / "a-file"), "target": str(target.path),
            "preds": {k: str(v) for k, v in preds.items()},
            "scaling": str(Path(__file__).resolve().parents[1] / "recipes" / "studies" / "scaling-tiny.yaml")}


def _resolve(args, places, out):
    resolved = []
    for a in args:
        a = a.replace(RUN, places["run"]).replace(MODEL, places["model"]).replace("@STORE", places["store"])
        a = a.replace("@EMPTY_RECIPE", places["empty_recipe"]).replace("@ROOT", str(places["root"]))
        a = a.replace("@FILE", places["file"]).replace(TARGET, places["target"]).replace(SCALING, places["scaling"])
        a = a.replace("@TRUNCATED_MODEL", str(places["root"] / "truncated-model")).replace(OUT, str(out))
        if a.startswith("@DATA:"):
            a = places["data"][a.split(":", 1)[1]]
        if a.startswith("@PREDS:"):
            a = places["preds"][a.split(":", 1)[1]]
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


@pytest.fixture(scope="module")
def written_under_umask(places, tmp_path_factory):
    """Under umask 007: a run trained and evaluated through the CLI (--output, --save-predictions), a
    report written with -o, and a tiny model. Returns (root, {relative path: mode})."""
    import os

    from adapterstilts.tiny_model import make_tiny_model

    root = tmp_path_factory.mktemp("umask")
    old = os.umask(0o007)
    try:
        run = root / "run"
        result = CliRunner().invoke(app, ["train-intermediate", "mnli", "--model", places["model"], "--data", "sample",
                                          "--max-steps", "1", "--batch-size", "4", "--output", str(run)])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(app, ["evaluate", str(run), "--data", "sample", "--languages", "en",
                                          "-o", str(root / "results" / "r.json"),
                                          "--save-predictions", str(root / "results" / "p.json")])
        assert result.exit_code == 0, result.output
        report = CliRunner().invoke(app, ["report", places["store"], "-o", str(root / "results" / "table.md")])
        assert report.exit_code == 0, report.output
        make_tiny_model(root / "tiny", layers=1, hidden=16, heads=2, intermediate=16)
    finally:
        os.umask(old)
    return root, {str(p.relative_to(root)): p.stat().st_mode & 0o777 for p in root.rglob("*")}


def _not_user_mode(modes: dict, root: Path) -> dict:
    return {name: oct(mode) for name, mode in modes.items()
            if mode != (0o770 if (root / name).is_dir() else 0o660)}


def test_results_and_folders_follow_the_users_umask(written_under_umask):
    """A group on a shared cluster reads results: never tempfile's 0600 files / 0700 folders."""
    root, modes = written_under_umask
    assert {"run/manifest.json", "run/metrics.json", "results/r.json", "results/p.json", "results/table.md",
            "tiny/config.json", "tiny/tokenizer.json"} <= set(modes)
    wrong = _not_user_mode({k: v for k, v in modes.items() if not k.endswith(".safetensors")}, root)
    assert not wrong, wrong


def test_safetensors_files_follow_the_users_umask(written_under_umask):
    root, modes = written_under_umask
    weights = {k: v for k, v in modes.items() if k.endswith(".safetensors")}
    assert {"run/head.safetensors", "run/module/adapter_model.safetensors", "tiny/model.safetensors"} <= set(weights)
    wrong = _not_user_mode(weights, root)
    assert not wrong, wrong


def test_evaluate_records_the_result_in_the_run_before_writing_output(places, tmp_path, monkeypatch):
    """Should writing -o fail after the evaluation, the result is already in RUN/metrics.json."""
    import shutil

    from adapterstilts.evaluation import zero_shot

    run = tmp_path / "run"
    shutil.copytree(places["run"], run)
    (run / "metrics.json").unlink(missing_ok=True)
    monkeypatch.setattr(zero_shot, "check_output_place", lambda *a, **k: None)  # as if the place broke later
    result = CliRunner().invoke(app, ["evaluate", str(run), "--data", "sample", "--languages", "en",
                                      "-o", places["file"] + "/x.json"])
    assert result.exit_code != 0
    assert "mnli" in json.loads((run / "metrics.json").read_text())


def test_training_the_same_finished_run_again_is_nothing_to_do(places, tmp_path):
    """The same command twice: the second says the run is there (exit 0, as the grid keeps a done cell);
    other settings into the same folder keep the "not empty" error."""
    out = tmp_path / "run"
    command = ["train-intermediate", "mnli", "--model", places["model"], "--data", "sample", "--max-steps", "1",
               "--max-train-examples", "4", "--output", str(out)]
    assert CliRunner().invoke(app, command).exit_code == 0
    before = (out / "manifest.json").read_text()
    again = CliRunner().invoke(app, command)
    assert again.exit_code == 0 and "Traceback" not in again.output, again.output
    assert f"{out} already holds this finished run (same settings); nothing to do" in again.output
    assert "error:" not in again.output and (out / "manifest.json").read_text() == before
    other = CliRunner().invoke(app, command[:-2] + ["--lr", "0.01", "--output", str(out)])
    assert other.exit_code == 2 and "is not empty; choose a new --output or pass --overwrite" in other.output


def test_score_warns_on_word_and_tag_lines(tmp_path):
    """`word<TAB>tag` lines are not the official one-tag-per-line format; evaluate.py's read_tag takes the
    whole line as the tag, so score reads it the same way, with a warning naming the file and line."""
    predictions, gold = tmp_path / "p.txt", tmp_path / "g.txt"
    predictions.write_text("EU\tB-ORG\nrejects\tO\n\nPeter\tB-PER\n")
    gold.write_text("B-ORG\nO\n\nB-PER\n")
    result = CliRunner().invoke(app, ["score", "--task", "panx", "--predictions", str(predictions), "--gold", str(gold)])
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    warning = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and f"{predictions}:1:" in warning[0] and "one tag per line" in warning[0], result.output
    clean = CliRunner().invoke(app, ["score", "--task", "panx", "--predictions", str(gold), "--gold", str(gold)])
    assert clean.exit_code == 0 and "warning:" not in clean.output


def test_select_says_how_many_examples_it_read():
    """--max-examples 1000 on a 32-example sample: the line says 32, not "first 1000"."""
    from adapterstilts.analysis.transferability import Ranking, format_ranking

    line = format_ranking(Ranking("xnli", "logme", [("a", 1.0), ("b", 0.5)], 1.0, 1000, {"xnli": 32})).splitlines()[-1]
    assert "32 training examples per task" in line and "first 1000" not in line, line
    assert "first 16 training examples" in format_ranking(Ranking("xnli", "logme", [("a", 1.0)], 1.0, 16, {"xnli": 16}))


def test_tasks_columns_are_aligned_for_long_names():
    result = CliRunner().invoke(app, ["tasks"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any(line.startswith("squad_translated ") for line in lines)
    for column in (1, 2, 3):  # kind, format and metric start at one offset on every line
        starts = set()
        for line in lines:
            cells, offset = line.split(), 0
            for cell in cells[:column]:
                offset = line.index(cell, offset) + len(cell)
            starts.add(line.index(cells[column], offset))
        assert len(starts) == 1, (column, starts)


def test_help_examples_build_the_local_model_they_use():
    """A --model folder in an example is one the help shows how to make (README: make-tiny-model tiny-xlmr)."""
    import re

    text = CliRunner().invoke(app, ["train-intermediate", "--help"], terminal_width=200).output
    examples = [line for line in text.splitlines() if "adapterstilts train-intermediate" in line]
    models = [m for line in examples for m in re.findall(r"--model (\S+)", line)]
    assert models
    for model in models:
        hub_id = re.fullmatch(r"[\w-]+/[\w.-]+", model) is not None
        assert hub_id or f"make-tiny-model {model}" in text, f"--model {model}: a folder a new user does not have"
