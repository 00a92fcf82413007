"""XGLUE WPR query groups, end to end: the task emits each row's query as the classification format's
optional ``group`` column, the format returns it as ``extras["groups"]`` aligned with the predictions,
and ``xglue_ndcg`` scores nDCG per query (XGLUE's scorer), not over one list of all rows."""
import json
from itertools import groupby

import numpy as np
import pytest
from datasets import Dataset

from adapterstilts.config import TrainConfig
from adapterstilts.data.loading import SAMPLES_DIR, load_examples
from adapterstilts.evaluation.predictions import score_predictions_file
from adapterstilts.evaluation.zero_shot import evaluate_run
from adapterstilts.formats import get_format
from adapterstilts.metrics import get_metric
from adapterstilts.tasks import get_task
from adapterstilts.training.pipeline import train


def raw_queries(language: str) -> list[str]:
    path = SAMPLES_DIR / "microsoft__xglue" / "wpr" / f"test.{language}.jsonl"
    return [json.loads(line)["query"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_wpr_examples_carry_the_query_as_group():
    rows = load_examples(get_task("xglue_wpr"), "test", "zh", "sample").to_list()
    assert [r["group"] for r in rows] == raw_queries("zh") == [r["text_a"] for r in rows]


def test_classification_postprocess_returns_groups_only_when_present():
    fmt = get_format("classification")
    features = Dataset.from_dict({"labels": [2, 0, 1], "example_index": [0, 1, 2]})
    logits = [np.eye(5)[i] for i in (2, 1, 1)]
    grouped = Dataset.from_dict({"text_a": ["q1", "q1", "q2"], "text_b": ["a", "b", "c"], "label": [2, 0, 1],
                                 "group": ["q1", "q1", "q2"]})
    predictions, references, extras = fmt.postprocess(grouped, features, logits, get_task("xglue_wpr"))
    assert predictions == [2, 1, 1] and references == [2, 0, 1] and extras == {"groups": ["q1", "q1", "q2"]}
    reordered = Dataset.from_dict({"labels": [1, 2], "example_index": [2, 0]})  # features follow example_index
    assert fmt.postprocess(grouped, reordered, logits[:2], get_task("xglue_wpr"))[2] == {"groups": ["q2", "q1"]}
    plain = grouped.remove_columns("group")
    assert fmt.postprocess(plain, features, logits, get_task("xnli"))[2] == {}  # other tasks: unchanged


@pytest.fixture(scope="module")
def wpr_run(tiny_model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("wpr") / "xglue_wpr"
    return train(TrainConfig(task="xglue_wpr", output=str(out), model=str(tiny_model_dir), data="sample", max_steps=2,
                             batch_size=4, max_length=128, progress=False), log=lambda m: None)


def test_wpr_ndcg_is_averaged_per_query_end_to_end(wpr_run, tmp_path):
    saved = tmp_path / "predictions.json"
    result = evaluate_run(wpr_run.path, languages="all", data="sample", save_predictions=str(saved), log=lambda m: None)
    content = json.loads(saved.read_text(encoding="utf-8"))
    metric = get_metric("xglue_ndcg")
    assert set(result["languages"]) == {"de", "en", "zh"}
    for lang, scores in result["languages"].items():
        queries = raw_queries(lang)
        runs = [len(list(g)) for _, g in groupby(queries)]
        assert len(runs) >= 2 and all(n >= 2 for n in runs)  # the sample holds several queries of several pages
        entry = content["languages"][lang]
        assert entry["extras"] == {"groups": queries}  # aligned with the predictions, row by row
        assert scores["queries"] == len(runs), (lang, scores)  # without groups all rows are one query
        per_query = metric(entry["predictions"], entry["references"], groups=queries)
        assert scores["ndcg"] == pytest.approx(per_query["ndcg"])
    rescored = score_predictions_file(saved, "xglue_wpr")  # the groups travel in the predictions file
    assert {lang: s["queries"] for lang, s in rescored["languages"].items()} == {"de": 2.0, "en": 2.0, "zh": 2.0}
