"""Every registered task runs end to end on its bundled sample and the tiny model: load, preprocess,
train a few steps (LoRA), evaluate zero-shot on every sampled language with its official metric."""
import pytest

from adapterstilts.config import TrainConfig
from adapterstilts.evaluation.zero_shot import evaluate_run
from adapterstilts.metrics.base import get_metric
from adapterstilts.tasks import TASKS
from adapterstilts.training.pipeline import train

TRAINABLE = [name for name, cls in TASKS.items() if cls.format != "retrieval" and not cls.unsupported]
RETRIEVAL = [name for name, cls in TASKS.items() if cls.format == "retrieval" and not cls.unsupported]


@pytest.fixture(scope="module")
def mnli_run(tiny_model_dir, tmp_path_factory):
    return train(TrainConfig(task="mnli", output=str(tmp_path_factory.mktemp("m") / "mnli"), model=str(tiny_model_dir),
                             data="sample", max_steps=2, batch_size=4, progress=False), log=lambda m: None)


@pytest.mark.parametrize("task", TRAINABLE)
def test_task_trains_and_evaluates(task, sample_run):
    _, result = sample_run(task)
    primary = get_metric(TASKS.get(task).metric).primary
    assert result["languages"], task
    for lang, scores in result["languages"].items():
        assert 0.0 <= scores[primary] <= 100.0, (task, lang, scores)
    if TASKS.get(task).kind == "target":
        assert len(result["languages"]) >= 3, "targets ship samples in at least three languages"


@pytest.mark.parametrize("task", RETRIEVAL)
def test_retrieval_task_evaluates_from_an_intermediate_run(task, mnli_run):
    result = evaluate_run(mnli_run.path, task_name=task, languages="all", data="sample", log=lambda m: None)
    assert len(result["languages"]) >= 3
    assert result["layer"] == 2 and result["pooling"] == "mean"  # 14/24 of the tiny model's 4 layers, recorded
