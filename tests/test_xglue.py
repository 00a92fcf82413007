"""XGLUE: the two new metrics against hand computations (WPR nDCG as sklearn's ndcg_score per query,
POS as XGLUE's scorer: seqeval precision), the tasks' Hub sources and samples in the microsoft/xglue
schema, every understanding task training 2 steps and evaluating on the tiny model, the generation
tasks refused in one line, and the XGLUE-Understanding aggregate on a small hand table."""
from __future__ import annotations

import json
import math

import pytest
from pytest import approx
from typer.testing import CliRunner

from adapterstilts.config import TrainConfig
from adapterstilts.data.loading import SAMPLES_DIR, load_examples
from adapterstilts.errors import UserError
from adapterstilts.metrics.base import get_metric
from adapterstilts.metrics.xglue import dcg, ndcg, query_runs
from adapterstilts.suites import get_suite, suites_of
from adapterstilts.tasks import TASKS, Source, get_task
from adapterstilts.tasks.xglue import GENERATION_TASKS, NC_CATEGORIES, NER_TAGS
from adapterstilts.tasks.xtreme import UPOS

XGLUE_TASKS = ("xglue_ner", "xglue_pos", "xglue_nc", "xglue_pawsx", "xglue_qadsm", "xglue_wpr", "xglue_qam")
L2, L3 = 1.0, math.log2(3)  # discounts of ranks 1..4: 1/log2(2), 1/log2(3), 1/log2(4), 1/log2(5)


# ------------------------------------------------------------------------------------------ nDCG
def test_ndcg_without_ties_by_hand():
    # ranked by score: gold 3, 1, 2 -> DCG 3/1 + 1/log2(3) + 2/2; ideal 3, 2, 1 -> 3 + 2/log2(3) + 1/2
    expected = (3 + 1 / L3 + 1) / (3 + 2 / L3 + 0.5)
    assert ndcg([3, 1, 2], [0.9, 0.8, 0.1]) == approx(expected)
    assert ndcg([3, 1, 2], [0.9, 0.8, 0.1]) == approx(0.9725045, abs=1e-7)  # sklearn 1.9.1 ndcg_score: 0.97250449...


def test_ndcg_ties_share_the_average_gain_as_sklearn():
    # gold 2 and 0 tie at score 1 over ranks 1-2: mean gain 1 x (1 + 1/log2 3); gold 1 at rank 3: 1/2
    assert dcg([2, 0, 1], [1, 1, 0]) == approx(1 + 1 / L3 + 0.5)
    assert ndcg([2, 0, 1], [1, 1, 0]) == approx((1 + 1 / L3 + 0.5) / (2 + 1 / L3))
    assert ndcg([4, 4, 0], [2, 2, 2]) == approx((8 / 3) * (1 + 1 / L3 + 0.5) / (4 + 4 / L3))
    assert ndcg([0, 0, 0], [1, 2, 3]) == 0.0  # every page irrelevant: 0, as sklearn
    assert ndcg([1, 2], [2, 1]) == approx((1 + 2 / L3) / (2 + 1 / L3))  # a wrong order: below 1


def test_wpr_metric_groups_runs_of_the_same_query_and_skips_single_pages():
    assert query_runs(["a", "a", "b", "b", "b", "c", "a", "a"]) == [[0, 1], [2, 3, 4], [5], [6, 7]]
    gold = [4, 0, 2, 1, 0, 3, 1, 2]
    pred = [4, 1, 0, 1, 2, 0, 2, 2]
    groups = ["a", "a", "b", "b", "b", "c", "a", "a"]
    # query 1 (a): gold 4, 0 ranked right -> 1; query 2 (b): scores 0,1,2 -> gold order 0,1,2 ->
    # (0 + 1/log2 3 + 2/2) / (2 + 1/log2 3 + 0); c: one page, skipped; the second run of a (gold 1, 2)
    # is a tie at score 2: mean gain 1.5 over ranks 1-2 -> 1.5 (1 + 1/log2 3) / (2 + 1/log2 3)
    b = (1 / L3 + 1) / (2 + 1 / L3)
    a2 = 1.5 * (1 + 1 / L3) / (2 + 1 / L3)
    expected = 100 * (1 + b + a2) / 3
    scores = get_metric("xglue_ndcg")(pred, gold, language="en", groups=groups)
    assert scores["ndcg"] == approx(expected) and scores["queries"] == 3
    assert get_metric("xglue_ndcg").primary == "ndcg"
    # without query groups the whole list is one query, and says so
    one = get_metric("xglue_ndcg")(pred, gold, language="en")
    assert one["queries"] == 1 and one["ndcg"] == approx(100 * ndcg(gold, pred))


def test_wpr_metric_rejects_bad_input_in_one_line():
    metric = get_metric("xglue_ndcg")
    for args, kw, needle in [(([1], [1]), {}, "two or more pages"), (([1, 2], [1, 2]), {"groups": ["a"]}, "one query group"),
                             ((["x", 1], [1, 2]), {}, "relevance number"), (([1, 2], [-1, 2]), {}, "non-negative")]:
        with pytest.raises(UserError) as err:
            metric(*args, **kw)
        assert needle in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------- POS
def test_pos_score_is_seqeval_precision_over_tag_chunks_as_xglue_scores_it():
    metric = get_metric("xglue_pos")
    # gold chunks DET(0) NOUN(1-2) VERB(3); predicted DET(0) NOUN(1) VERB(2-3): 1 of 3 predicted is gold
    scores = metric([["DET", "NOUN", "VERB", "VERB"]], [["DET", "NOUN", "NOUN", "VERB"]])
    assert scores["accuracy"] == approx(100 / 3) and scores["token_accuracy"] == approx(75.0)
    # S-initial labels are one chunk per word: SCONJ SCONJ = two chunks, both right; PUNCT vs X wrong -> 2/3
    scores = metric([["SCONJ", "SCONJ", "X"], ["NOUN"]], [["SCONJ", "SCONJ", "PUNCT"], ["NOUN"]])
    assert scores["accuracy"] == approx(100 * 3 / 4) and scores["token_accuracy"] == approx(100 * 3 / 4)
    scores = metric([["SCONJ", "SCONJ", "X"]], [["SCONJ", "SCONJ", "PUNCT"]])
    assert scores["accuracy"] == approx(200 / 3)
    # a sentence boundary ends a chunk: NOUN | NOUN is two chunks
    assert metric([["NOUN"], ["NOUN"]], [["NOUN"], ["NOUN"]])["accuracy"] == 100.0
    with pytest.raises(UserError, match="1 predicted labels but 2"):
        metric([["NOUN"]], [["NOUN", "VERB"]])


# --------------------------------------------------------------------------------- tasks and data
@pytest.mark.parametrize("name, split, language, expected", [
    ("xglue_ner", "train", "en", Source("microsoft/xglue", "ner", "train")),
    ("xglue_pos", "test", "zh", Source("microsoft/xglue", "pos", "test.zh")),
    ("xglue_nc", "validation", "ru", Source("microsoft/xglue", "nc", "validation.ru")),
    ("xglue_pawsx", "test", "es", Source("microsoft/xglue", "paws-x", "test.es")),
    ("xglue_qadsm", "validation", "en", Source("microsoft/xglue", "qadsm", "validation.en")),
    ("xglue_wpr", "test", "pt", Source("microsoft/xglue", "wpr", "test.pt")),
    ("xglue_qam", "test", "de", Source("microsoft/xglue", "qam", "test.de")),
])
def test_sources_name_the_xglue_config_and_per_language_split(name, split, language, expected):
    assert get_task(name).sources(split, language) == [expected]


def test_training_is_english_only_and_languages_are_xglues():
    with pytest.raises(UserError, match="only in English"):
        get_task("xglue_nc").sources("train", "de")
    with pytest.raises(UserError, match="no language 'ja'"):
        get_task("xglue_pawsx").sources("test", "ja")  # XGLUE keeps 4 of PAWS-X's 7 languages
    assert get_task("xglue_ner").languages == ("de", "en", "es", "nl")
    assert len(get_task("xglue_pos").languages) == 17 and "pt" not in get_task("xglue_pos").languages
    assert get_task("xglue_ner").labels == NER_TAGS and get_task("xglue_pos").labels == UPOS
    assert get_task("xglue_nc").labels[:3] == ("foodanddrink", "sports", "travel") and len(NC_CATEGORIES) == 10
    assert get_task("xglue_wpr").labels == ("Bad", "Fair", "Good", "Excellent", "Perfect")


S, I = "string", "int"
XGLUE_SCHEMA = {  # config -> column -> type, as the microsoft/xglue loading script declares them
    "ner": {"words": [S], "ner": [I]}, "pos": {"words": [S], "pos": [I]},
    "nc": {"news_title": S, "news_body": S, "news_category": I},
    "paws-x": {"sentence1": S, "sentence2": S, "label": I},
    "qadsm": {"query": S, "ad_title": S, "ad_description": S, "relevance_label": I},
    "wpr": {"query": S, "web_page_title": S, "web_page_snippet": S, "relavance_label": I},
    "qam": {"question": S, "answer": S, "label": I},
}


def _conforms(value, kind) -> bool:
    if isinstance(kind, list):
        return isinstance(value, list) and all(_conforms(v, kind[0]) for v in value)
    return isinstance(value, str) if kind == S else type(value) is int


def test_samples_have_the_hub_schema_and_at_least_three_evaluation_languages():
    root = SAMPLES_DIR / "microsoft__xglue"
    assert {p.name for p in root.iterdir()} == set(XGLUE_SCHEMA)
    for config, schema in XGLUE_SCHEMA.items():
        names = {p.stem for p in (root / config).glob("*.jsonl")}
        assert {"train", "validation.en"} <= names, config
        assert len([n for n in names if n.startswith("test.")]) >= 3, config
        for path in (root / config).glob("*.jsonl"):
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            assert 4 <= len(rows) <= 64 and all(set(r) == set(schema) for r in rows), path
            assert all(_conforms(r[k], kind) for r in rows for k, kind in schema.items()), path
    non_latin = {"nc": "ru", "pos": "zh", "wpr": "zh"}  # the configs XGLUE gives a non-Latin language
    for config, lang in non_latin.items():
        assert (root / config / f"test.{lang}.jsonl").is_file()


def test_wpr_rows_keep_the_pages_of_a_query_together_and_map_to_pairs():
    rows = load_examples(get_task("xglue_wpr"), "test", "zh", "sample").to_list()
    raw = [json.loads(line) for line in (SAMPLES_DIR / "microsoft__xglue/wpr/test.zh.jsonl").read_text("utf-8").splitlines()]
    assert [r["text_a"] for r in rows] == [r["query"] for r in raw]
    assert [r["label"] for r in rows] == [r["relavance_label"] for r in raw]
    assert rows[0]["text_b"] == f"{raw[0]['web_page_title']} {raw[0]['web_page_snippet']}"
    assert len(query_runs([r["query"] for r in raw])) == len({r["query"] for r in raw})


@pytest.mark.parametrize("task", XGLUE_TASKS)
def test_task_trains_two_steps_and_evaluates_on_its_sample(task, sample_run):
    run, result = sample_run(task)  # the run tests/test_all_tasks.py checks too: trained once
    primary = get_metric(get_task(task).metric).primary
    assert len(result["languages"]) >= 3
    for lang, scores in result["languages"].items():
        assert 0.0 <= scores[primary] <= 100.0, (task, lang, scores)
    if task == "xglue_pos":
        assert all("token_accuracy" in s for s in result["languages"].values())


# -------------------------------------------------------------------------------------- generation
@pytest.mark.parametrize("name", GENERATION_TASKS)
def test_generation_tasks_are_listed_but_refused_in_one_line(name, tiny_model_dir, tmp_path):
    assert name in TASKS and TASKS.get(name).kind == "target"
    with pytest.raises(UserError) as err:
        get_task(name)
    assert "sequence-to-sequence" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UserError, match="sequence-to-sequence"):
        TrainConfig(task=name, output=str(tmp_path / "out"), model=str(tiny_model_dir), data="sample").validate()


def test_cli_lists_the_xglue_suite_with_its_generation_tasks():
    from adapterstilts.cli import app

    result = CliRunner().invoke(app, ["tasks", "--suite", "xglue"])
    assert result.exit_code == 0, result.output
    for name in (*XGLUE_TASKS, "mlqa", "xnli", *GENERATION_TASKS):
        assert name in result.output
    result = CliRunner().invoke(app, ["train-target", "xglue_ntg", "--data", "sample"])
    assert result.exit_code == 2 and "sequence-to-sequence" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


# ------------------------------------------------------------------------------------------- suite
PER_LANGUAGE = {  # task -> language -> metrics; each task's macro average in the comment
    "xglue_ner": {"en": {"f1": 90.0}, "de": {"f1": 70.0}},  # 80
    "xglue_pos": {"en": {"accuracy": 95.0, "token_accuracy": 1.0}, "zh": {"accuracy": 65.0, "token_accuracy": 1.0}},  # 80
    "xglue_nc": {"en": {"accuracy": 90.0}, "ru": {"accuracy": 78.0}, "de": {"accuracy": 84.0}},  # 84
    "mlqa": {"en": {"f1": 80.0, "exact_match": 60.0}, "zh": {"f1": 60.0, "exact_match": 40.0}},  # f1 70, em 50
    "xnli": {"en": {"accuracy": 85.0}, "sw": {"accuracy": 65.0}},  # 75
    "xglue_pawsx": {"en": {"accuracy": 94.0}, "de": {"accuracy": 86.0}},  # 90
    "xglue_qadsm": {"en": {"accuracy": 70.0}, "fr": {"accuracy": 64.0}},  # 67
    "xglue_wpr": {"en": {"ndcg": 78.0, "queries": 5.0}, "zh": {"ndcg": 62.0, "queries": 3.0}},  # 70
    "xglue_qam": {"en": {"accuracy": 71.0}, "de": {"accuracy": 67.0}},  # 69
}


def test_xglue_understanding_score_equals_hand_computation():
    suite = get_suite("xglue")
    result = suite.aggregate(PER_LANGUAGE)  # the suite's own convention: MLQA by F1
    assert result.qa_convention == "f1"
    assert result.tasks == approx({"xglue_ner": 80.0, "xglue_pos": 80.0, "xglue_nc": 84.0, "mlqa": 70.0, "xnli": 75.0,
                                   "xglue_pawsx": 90.0, "xglue_qadsm": 67.0, "xglue_wpr": 70.0, "xglue_qam": 69.0})
    # single-input (80 + 80 + 84) / 3 = 81.333; pair-input (70 + 75 + 90 + 67 + 70 + 69) / 6 = 73.5
    assert result.groups == approx({"single_input": 244 / 3, "pair_input": 73.5})
    assert result.overall == approx(685 / 9) and result.missing == ()
    assert "XGLUE-Understanding score" in result.description
    partial = suite.aggregate({t: PER_LANGUAGE[t] for t in ("xglue_ner", "xglue_pos", "xglue_nc", "xnli")})
    assert partial.overall is None and set(partial.groups) == {"single_input"}
    with pytest.raises(UserError, match="'ndcg'"):
        suite.aggregate({"xglue_wpr": {"en": {"accuracy": 50.0}}})


def test_suite_membership_and_protocol():
    suite = get_suite("xglue")
    assert suite.names == ("xglue_ner", "xglue_pos", "xglue_nc", "mlqa", "xnli", "xglue_pawsx", "xglue_qadsm",
                           "xglue_wpr", "xglue_qam")
    assert suites_of("xnli") == ("xglue", "xtreme") or set(suites_of("xnli")) >= {"xglue", "xtreme"}
    assert not any(t in suite for t in GENERATION_TASKS) and all(t in suite.description for t in GENERATION_TASKS)
    for t in suite.tasks:
        assert t.protocol.eval_split == get_task(t.name).eval_split == "test"
    assert suite.recipe_per_task(8, 4)["xglue_ner"] == {"epochs": 10.0}


# --------------------------------------------------------------- `score` on XGLUE's official layout
def _put(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


CLASSES = {"NC": ["sports", "news", "autos"], "QADSM": ["Good", "Bad", "Good"], "QAM": ["1", "0", "1"],
           "XNLI": ["entailment", "neutral", "contradiction"], "PAWSX": ["1", "0", "0"]}
NER_GOLD = "-DOCSTART- O\n\nAnna B-PER\nBerg I-PER\nlives O\nin O\nOslo B-LOC\n\nBayern B-ORG\nwon O\n"
NER_BAD = "B-PER\nI-PER\nO\nO\n\nB-ORG\nO\n"  # the first sentence one tag short: padded with O, LOC missed
POS_GOLD = "The\tDET\ncat\tNOUN\nsleeps\tVERB\n\nRun\tVERB\n"
POS_BAD = "DET\nNOUN\nNOUN\n\nVERB\n"  # NOUN NOUN is one chunk NOUN(1,2): 2 of 3 predicted chunks are gold
WPR_GOLD = [("q1", 2), ("q1", 0), ("q1", 1), ("q2", 0), ("q2", 3), ("q3", 4)]
WPR_BAD = [0, 2, 1, 1, 1, 0]
MLQA_DATA = {"data": [{"paragraphs": [{"context": "c", "qas": [
    {"id": "a", "question": "?", "answers": [{"text": "1989", "answer_start": 0}]},
    {"id": "b", "question": "?", "answers": [{"text": "42 km", "answer_start": 0}]}]}]}], "version": "1.0"}


def _wpr_bad_ndcg() -> float:
    inv = 1 / math.log2(3)
    q1 = (0 + inv + 2 / 2) / (2 + inv + 0)  # ranked by score: gold 0, 1, 2; ideal 2, 1, 0
    q2 = (1.5 * (1 + inv)) / 3  # tied scores share the mean gain 1.5 over ranks 1-2; ideal 3, 0; q3 (one page) skipped
    return 100 * (q1 + q2) / 2


def build_xglue_folder(root, split="test", folders=None):
    """Predictions and ground truth in xglue_evaluate.py's layout for every official language; even-
    numbered languages all right, odd ones with the hand-scored mistakes above. Returns {task: average}."""
    from adapterstilts.evaluation.score.xglue import TASK2LG, label_file

    pred_root, gold_root = root / "pred", root / "gold"
    expected = {}
    for folder in folders or TASK2LG:
        values = []
        for i, lang in enumerate(TASK2LG[folder].split()):
            right, gold_path, pred_path = i % 2 == 0, label_file(gold_root, folder, lang, split), pred_root / folder / f"{lang}.prediction"
            if folder in CLASSES:
                labels = CLASSES[folder]
                rows = "".join(f"text {n}\tmore\t{label}\n" for n, label in enumerate(labels))
                _put(gold_path, ("id\ts1\ts2\tlabel\n" + rows + "\n") if folder == "PAWSX" else rows)
                guess = labels if right else [labels[0], "unknown-label", labels[2] + " "]  # 2 of 3 ("x " strips)
                _put(pred_path, "\n".join(guess) + "\n")
                values.append(100.0 if right else 200 / 3)
            elif folder == "NER":
                _put(gold_path, NER_GOLD)
                _put(pred_path, "B-PER\nI-PER\nO\nO\nB-LOC\n\nB-ORG\nO\n" if right else NER_BAD)
                values.append(100.0 if right else 100 * 2 * 1 * (2 / 3) / (1 + 2 / 3))  # P 1, R 2/3 -> F1 0.8
            elif folder == "POS":
                _put(gold_path, POS_GOLD)
                _put(pred_path, "DET\nNOUN\nVERB\n\nVERB\n" if right else POS_BAD)
                values.append(100.0 if right else 200 / 3)
            elif folder == "WPR":
                _put(gold_path, "".join(f"{q}\ttitle\tsnippet\t{g}\n" for q, g in WPR_GOLD))
                _put(pred_path, "\n".join(str(g) for _, g in WPR_GOLD) + "\n" if right else "\n".join(map(str, WPR_BAD)) + "\n")
                values.append(100.0 if right else _wpr_bad_ndcg())
            else:  # MLQA: F1 alone; unanswered "a" scores 0, "42" vs "42 km" P 1 R 1/2
                _put(gold_path, json.dumps(MLQA_DATA))
                _put(pred_path, json.dumps({"a": "1989", "b": "42 km"} if right else {"b": "42"}))
                values.append(100.0 if right else 100 * (2 / 3) / 2)
        expected[folder] = _mean(values)
    return pred_root, gold_root, expected


def test_score_xglue_folder_equals_the_official_formulas(tmp_path):
    from adapterstilts.evaluation.score import score_folder
    from adapterstilts.evaluation.score.xglue import FOLDERS

    pred, gold, expected = build_xglue_folder(tmp_path)
    (pred / "QG").mkdir()
    (gold / "QG").mkdir()
    result = score_folder(pred, gold, suite="xglue")
    metric = {"NER": "f1", "WPR": "ndcg", "MLQA": "f1"}
    for task, folder in FOLDERS.items():
        got = result["tasks"][task]
        assert got["average"][metric.get(folder, "accuracy")] == approx(expected[folder], abs=1e-9), folder
        assert got["score"] == approx(expected[folder], abs=1e-9)
    assert len(result["tasks"]["xglue_pos"]["languages"]) == 18  # task2lg's POS list has pl and pt
    assert result["overall"] == approx(_mean(expected.values()), abs=1e-9)  # the XGLUE-Understanding score
    assert result["groups"]["single_input"] == approx(_mean(expected[f] for f in ("NER", "POS", "NC")), abs=1e-9)
    assert result["unsupported"] and result["unsupported"][0].startswith("QG")


def test_score_xglue_dev_split_partial_folder_and_cli(tmp_path):
    from adapterstilts.cli import app
    from adapterstilts.evaluation.score import score_folder

    pred, gold, expected = build_xglue_folder(tmp_path, split="dev", folders=["NC", "WPR"])
    result = score_folder(pred, gold, suite="xglue", split="dev")
    assert result["overall"] is None and set(result["tasks"]) == {"xglue_nc", "xglue_wpr"}
    assert result["tasks"]["xglue_wpr"]["average"]["ndcg"] == approx(expected["WPR"], abs=1e-9)
    with pytest.raises(UserError, match=r"xglue\.nc\.de\.test is not available"):
        score_folder(pred, gold, suite="xglue")  # the test files are not there
    out = CliRunner().invoke(app, ["score", str(pred), "--labels", str(gold), "--suite", "xglue", "--split", "dev",
                                   "--format", "json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["tasks"]["xglue_nc"]["average"]["accuracy"] == approx(expected["NC"], abs=1e-9)


@pytest.mark.parametrize("folder, text, message", [
    ("NER", "B-PER\n\n\nO\n", "a blank line with no open sentence"),
    ("NER", "B-PER\nI-PER\nO\nO\nB-LOC\n", "1 predicted sentences but"),
    ("NC", "sports\nnews\n", "2 prediction lines but"),
    ("WPR", "2\nhigh\n1\n0\n3\n4\n", "row 2 holds 'high'"),
])
def test_score_xglue_malformed_predictions_are_one_line(tmp_path, folder, text, message):
    from adapterstilts.evaluation.score import score_folder

    pred, gold, _ = build_xglue_folder(tmp_path, folders=[folder])
    _put(pred / folder / "de.prediction", text)
    with pytest.raises(UserError) as err:
        score_folder(pred, gold, suite="xglue")
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("task, folder, key", [("xglue_nc", "NC", "accuracy"), ("xglue_ner", "NER", "f1"),
                                               ("xglue_pos", "POS", "accuracy"), ("xglue_wpr", "WPR", "ndcg"),
                                               ("xglue_qam", "QAM", "accuracy")])
def test_score_task_reads_single_xglue_files_by_xglue_rules(tmp_path, task, folder, key):
    """`score --task xglue_*` on one pair of XGLUE files scores as the folder does (never a silent 0)."""
    import json as _json

    from adapterstilts.cli import app
    from adapterstilts.evaluation.score import score_folder
    from adapterstilts.evaluation.score.xglue import TASK2LG, label_file

    pred, gold, _ = build_xglue_folder(tmp_path, folders=[folder])
    lang = TASK2LG[folder].split()[1]  # the odd language: hand-made mistakes, a score strictly between 0 and 100
    expected = score_folder(pred, gold, suite="xglue")["tasks"][task]["languages"][lang][key]
    assert 0 < expected < 100
    out = CliRunner().invoke(app, ["score", "--task", task, "--predictions", str(pred / folder / f"{lang}.prediction"),
                                   "--gold", str(label_file(gold, folder, lang, "test")), "--format", "json"])
    assert out.exit_code == 0, out.output
    result = _json.loads(out.output)
    assert result["scores"][key] == approx(expected, abs=1e-9) and result["language"] == lang


def test_wpr_predictions_file_takes_float_scores(tmp_path):
    """`evaluate --predictions` for xglue_wpr: relevance scores are any numbers (xglue_ndcg ranks them)."""
    from adapterstilts.evaluation.predictions import score_predictions_file

    entry = {"predictions": [0.9, 0.1, 2.5, 0.3], "references": [4, 0, 1, 3], "extras": {"groups": ["q", "q", "r", "r"]}}
    path = tmp_path / "wpr.json"
    path.write_text(json.dumps({"task": "xglue_wpr", "languages": {"de": entry}}))
    result = score_predictions_file(path, "xglue_wpr")
    assert result["languages"]["de"]["ndcg"] == approx(100 * (1 + ndcg([1, 3], [2.5, 0.3])) / 2)
    path.write_text(json.dumps({"task": "xglue_wpr", "languages": {"de": {**entry, "predictions": ["x", 1, 2, 3]}}}))
    with pytest.raises(UserError, match="prediction #1 is 'x'"):
        score_predictions_file(path, "xglue_wpr")
