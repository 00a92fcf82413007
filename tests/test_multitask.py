"""Multi-task intermediate training: samplers and an end-to-end run whose module serves a target."""
import pytest

from adapterstilts.config import TrainConfig
from adapterstilts.errors import UserError
from adapterstilts.training.multitask import MultiTaskConfig, MultiTaskData, TaskBatchSampler, task_probabilities, train_multitask
from adapterstilts.training.pipeline import train


def test_sampling_probabilities_by_hand():
    sizes = {"a": 100, "b": 400}
    assert task_probabilities(sizes, "proportional") == pytest.approx({"a": 0.2, "b": 0.8})
    # T = 2: weights 10 and 20 -> 1/3, 2/3
    assert task_probabilities(sizes, "temperature", 2.0) == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    assert task_probabilities(sizes, "uniform") == pytest.approx({"a": 0.5, "b": 0.5})
    with pytest.raises(UserError, match="unknown --sampling"):
        task_probabilities(sizes, "annealed")


def test_batches_come_from_one_task_and_follow_the_probabilities():
    data = MultiTaskData({"a": list(range(30)), "b": list(range(90))})
    sampler = TaskBatchSampler(data, {"a": 0.25, "b": 0.75}, batch_size=4, seed=0)
    counts = {"a": 0, "b": 0}
    for epoch in range(40):
        sampler.set_epoch(epoch)
        for batch in sampler:
            tasks = {data[i][0] for i in batch}
            assert len(tasks) == 1 and len(batch) == 4
            counts[tasks.pop()] += 1
    share = counts["a"] / (counts["a"] + counts["b"])
    assert 0.2 < share < 0.3, counts


def test_multitask_run_serves_as_an_intermediate(tiny_model_dir, tmp_path):
    base = TrainConfig(task="mnli", output=str(tmp_path / "mt"), model=str(tiny_model_dir), data="sample",
                       method="lora", max_steps=4, batch_size=4, lr=1e-3, seed=0, progress=False)
    run = train_multitask(MultiTaskConfig(tasks=["mnli", "squad", "hellaswag"], base=base, sampling="uniform"),
                          log=lambda m: None)
    assert run.manifest["task"] == "multitask" and run.manifest["tasks"] == ["mnli", "squad", "hellaswag"]
    assert {p.name for p in (run.path / "heads").iterdir()} == {"mnli.safetensors", "squad.safetensors",
                                                                  "hellaswag.safetensors"}
    assert (run.module_dir / "adapter_model.safetensors").is_file()
    target = train(TrainConfig(task="xnli", output=str(tmp_path / "xnli"), model=str(tiny_model_dir), data="sample",
                               method="lora", compose="stack", intermediates=[str(run.path)], max_steps=2,
                               batch_size=4, progress=False), log=lambda m: None)
    assert target.manifest["intermediates"][0]["task"] == "multitask"


def test_multitask_refuses_target_tasks(tiny_model_dir, tmp_path):
    base = TrainConfig(task="mnli", output=str(tmp_path / "mt"), model=str(tiny_model_dir), data="sample")
    with pytest.raises(UserError, match="not an intermediate task"):
        train_multitask(MultiTaskConfig(tasks=["mnli", "xnli"], base=base), log=lambda m: None)


def test_a_multitask_run_evaluates_each_of_its_tasks(tiny_model_dir, tmp_path):
    from adapterstilts.evaluation.zero_shot import evaluate_run

    base = TrainConfig(task="mnli", output=str(tmp_path / "mt"), model=str(tiny_model_dir), data="sample",
                       method="bottleneck", max_steps=2, batch_size=4, seed=0, progress=False)
    run = train_multitask(MultiTaskConfig(tasks=["mnli", "squad"], base=base), log=lambda m: None)
    for task, key in (("mnli", "accuracy"), ("squad", "f1")):
        result = evaluate_run(run.path, task_name=task, split="validation", data="sample", log=lambda m: None)
        assert 0 <= result["languages"]["en"][key] <= 100
    with pytest.raises(UserError, match="heads for mnli, squad"):
        evaluate_run(run.path, data="sample", log=lambda m: None)
