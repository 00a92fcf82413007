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
