"""Multi-task intermediate training: one shared module (LoRA / bottleneck / full encoder) and one
head per task, trained on batches that each come from a single task, the task drawn per step by a
sampler (as jiant's multi-task samplers):

- ``proportional``: p_i ~ n_i (the number of training features of task i);
- ``temperature``:  p_i ~ n_i ** (1 / T) (T = 1 is proportional, large T tends to uniform);
- ``uniform``:      p_i = 1 / k.

The run folder is an intermediate run like any other (``task = "multitask"``), so targets stack on,
fuse or continue from its module; the heads are kept in ``heads/TASK.safetensors``."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from adapterstilts.config import TrainConfig
from adapterstilts.errors import UserError
from adapterstilts.data.features import build_features
from adapterstilts.formats.base import get_format
from adapterstilts.model.assemble import build_for_training, save_head
from adapterstilts.model.backbone import load_tokenizer
from adapterstilts.runs import TRAIN_LOG, Run
from adapterstilts.tasks.base import get_task
from adapterstilts.training.trainer import ModuleTrainer, _use_compact_logs, _write_log

SAMPLINGS = ("proportional", "temperature", "uniform")
HEADS_DIR = "heads"


def task_probabilities(sizes: dict[str, int], sampling: str, temperature: float = 2.0) -> dict[str, float]:
    if sampling not in SAMPLINGS:
        raise UserError(f"unknown --sampling {sampling!r}; choose one of: {', '.join(SAMPLINGS)}")
    if sampling == "temperature" and not temperature > 0:
        raise UserError(f"--temperature must be positive, got {temperature}")
    exponent = {"proportional": 1.0, "temperature": 1.0 / temperature, "uniform": 0.0}[sampling]
    weights = {t: float(n) ** exponent for t, n in sizes.items()}
    total = sum(weights.values())
    return {t: w / total for t, w in weights.items()}


class MultiTaskData(Dataset):
    """Features of several tasks behind one index: item i is (task, row)."""

    def __init__(self, features: dict[str, object]):
        self.tasks = list(features)
        self.features = features
        self.offsets = np.cumsum([0] + [len(features[t]) for t in self.tasks])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, index: int):
        k = int(np.searchsorted(self.offsets, index, side="right") - 1)
        task = self.tasks[k]
        return task, self.features[task][int(index - self.offsets[k])]


class TaskBatchSampler(torch.utils.data.Sampler):
    """Yields batches of indices from one task at a time; the task drawn with ``probabilities``.
    One epoch = as many batches as the data holds in total."""

    def __init__(self, data: MultiTaskData, probabilities: dict[str, float], batch_size: int, seed: int):
        self.data, self.batch_size, self.seed, self.epoch = data, batch_size, seed, 0
        self.p = np.array([probabilities[t] for t in data.tasks])

    def __len__(self) -> int:
        return max(1, math.ceil(len(self.data) / self.batch_size))

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        rng = np.random.default_rng(self.seed + self.epoch)
        orders = {k: rng.permutation(len(self.data.features[t])) for k, t in enumerate(self.data.tasks)}
        cursor = {k: 0 for k in orders}
        for _ in range(len(self)):
            k = int(rng.choice(len(self.p), p=self.p))
            order, start = orders[k], cursor[k]
            if start + self.batch_size > len(order):
                orders[k], start = rng.permutation(len(order)), 0
                order = orders[k]
            cursor[k] = start + self.batch_size
            base = int(self.data.offsets[k])
            yield [base + int(i) for i in order[start:start + self.batch_size]]


class MultiTaskModel(nn.Module):
    accepts_loss_kwargs = False  # mean losses: the Trainer scales them for gradient accumulation
    _keys_to_ignore_on_save = None

    def __init__(self, encoder: nn.Module, heads: dict[str, nn.Module], formats: dict[str, object],
                 quantized: bool = False):
        super().__init__()
        self.encoder = encoder
        self.heads = nn.ModuleDict(heads)
        self.formats = formats
        if quantized:  # tells the Trainer not to .to() a bitsandbytes model
            self.quantization_method = "bitsandbytes"

    def forward(self, task: str, **batch):
        return self.formats[task].forward(self.encoder, self.heads[task], batch)


@dataclass
class MultiTaskConfig:
    tasks: list[str]
    base: TrainConfig  # model, method, optimisation settings; base.task is ignored
    sampling: str = "proportional"
    temperature: float = 2.0
    extra: dict = field(default_factory=dict)


def train_multitask(mt: MultiTaskConfig, *, log=print) -> Run:
    """Multi-task intermediate training through the same pipeline steps as a single task (pipeline.py:
    checks, output folder, resume, module saving, manifest); what differs is the data (one feature set
    and head per task) and the batch sampler."""
    from adapterstilts.progress import bar_safe, console
    from adapterstilts.training import pipeline

    console()
    with pipeline.disk_errors(mt.base):
        return _train_multitask(mt, log=bar_safe(log))


def _train_multitask(mt: MultiTaskConfig, *, log=print) -> Run:
    from adapterstilts.training import pipeline

    if len(mt.tasks) < 2:
        raise UserError("multi-task training needs at least two tasks, as a comma list: mnli,squad,hellaswag")
    if len(set(mt.tasks)) != len(mt.tasks):
        raise UserError(f"a task is listed twice in {','.join(mt.tasks)}; list each task once")
    specs = [get_task(t) for t in mt.tasks]
    for spec in specs:
        if spec.kind != "intermediate":
            raise UserError(f"{spec.name!r} is not an intermediate task; multi-task training mixes intermediate tasks")
    if mt.base.eval_steps > 0:
        raise UserError("multi-task training has no single dev set to select on; drop --eval-steps (the whole "
                        "budget is trained), or select per task on the targets")
    task_probabilities({t: 1 for t in mt.tasks}, mt.sampling, mt.temperature)  # a bad --sampling: before any work
    config = replace(mt.base, task=specs[0].name, compose="none", intermediates=[], init_from=None, train_data=None)
    config, output, _, _ = pipeline.prepare(config, log)
    tokenizer = load_tokenizer(config.model, config.revision)
    assembled = build_for_training(config, [], module_name="multitask")
    encoder = assembled.model.encoder
    heads, formats, features = {}, {}, {}
    for spec in specs:
        fmt = get_format(spec.format)
        formats[spec.name] = fmt
        heads[spec.name] = fmt.build_head(encoder.config.hidden_size, spec).to(next(encoder.parameters()).device)
        max_length = config.max_length or spec.max_length
        _, features[spec.name] = build_features(spec, fmt, tokenizer, split="train", language=spec.train_language,
                                                data=config.data, max_length=max_length,
                                                stride=config.doc_stride or min(spec.doc_stride, max_length // 3),
                                                train=True, limit=config.max_train_examples)
    model = MultiTaskModel(encoder, heads, formats, quantized=config.quantized)
    assembled.model = model
    probabilities = task_probabilities({t: len(f) for t, f in features.items()}, mt.sampling, mt.temperature)
    log("multitask: " + ", ".join(f"{t} {len(features[t]):,} features p={p:.3f}" for t, p in probabilities.items()))
    trainable, total = pipeline.check_trainable(model, config, "multitask", log)

    data = MultiTaskData(features)
    work, resume = pipeline.open_work(output, config, log, name="multitask", extra={
        "tasks": list(mt.tasks), "sampling": mt.sampling, "temperature": mt.temperature})

    class _MultiTaskTrainer(ModuleTrainer):
        def get_train_dataloader(self):
            loader = torch.utils.data.DataLoader(
                data, batch_sampler=TaskBatchSampler(data, probabilities, config.batch_size, config.seed),
                collate_fn=lambda rows: {"task": rows[0][0], **formats[rows[0][0]].collate([r for _, r in rows], tokenizer)},
            )
            return self.accelerator.prepare(loader)

    base_trainer = pipeline._make_trainer(config, model, formats[specs[0].name], tokenizer, data, work)
    base_trainer.args.label_names = sorted({k for f in formats.values() for k in f.label_keys})
    trainer = _MultiTaskTrainer(model=model, args=base_trainer.args, train_dataset=data,
                                data_collator=base_trainer.data_collator)
    trainer.adapterstilts_progress = config.progress
    _use_compact_logs(trainer)
    started = time.time()
    result = pipeline.run_training(trainer, resume, "multitask", log)
    if not trainer.is_world_process_zero():
        return None  # type: ignore[return-value]
    _write_log(trainer.state.log_history, work / TRAIN_LOG)
    module_dir = pipeline.save_module(work, assembled, tokenizer, config)
    (work / HEADS_DIR).mkdir(exist_ok=True)
    for task_name, head in heads.items():
        save_head(head, work / HEADS_DIR / f"{task_name}.safetensors")
    manifest = pipeline.manifest_of(
        config, assembled, kind="intermediate", task="multitask", fmt="multitask", result=result, started=started,
        features={t: len(f) for t, f in features.items()}, module_dir=module_dir, trainable=trainable, total=total,
        max_length=config.max_length or 0, stride=config.doc_stride or 0,
        head={"format": "multitask", "files": {t: f"{HEADS_DIR}/{t}.safetensors" for t in heads}}, intermediates=[],
        tasks=mt.tasks, sampling={"name": mt.sampling, "temperature": mt.temperature, "probabilities": probabilities})
    run = pipeline.finalize_run(work, output, manifest)
    log(f"multitask: saved run to {output}")
    return run


def _register_with_the_grid() -> None:
    from adapterstilts.experiments.plan import register_intermediate_trainer

    @register_intermediate_trainer("multitask")
    def grid_multitask(config: TrainConfig, *, tasks, log=print, sampling: str = "proportional",
                       temperature: float = 2.0) -> Run:
        return train_multitask(MultiTaskConfig(tasks=list(tasks), base=config, sampling=sampling,
                                               temperature=temperature), log=log)


_register_with_the_grid()
