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
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from adapterstilts import __version__
from adapterstilts.config import TrainConfig
from adapterstilts.errors import UserError
from adapterstilts.data.features import build_features
from adapterstilts.formats.base import get_format
from adapterstilts.model.assemble import build_for_training, save_head
from adapterstilts.methods import trainable_parameters
from adapterstilts.model.backbone import load_tokenizer
from adapterstilts.runs import MODULE_DIR, TRAIN_LOG, Run, folder_size, library_versions
from adapterstilts.tasks.base import get_task
from adapterstilts.training.pipeline import (ModuleTrainer, _hyperparameters, _use_compact_logs, _write_log, finalize_run,
                                    partial_dir)

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
    if len(mt.tasks) < 2:
        raise UserError("multi-task training needs at least two tasks, as a comma list: mnli,squad,hellaswag")
    if len(set(mt.tasks)) != len(mt.tasks):
        raise UserError(f"a task is listed twice in {','.join(mt.tasks)}; list each task once")
    specs = [get_task(t) for t in mt.tasks]
    for spec in specs:
        if spec.kind != "intermediate":
            raise UserError(f"{spec.name!r} is not an intermediate task; multi-task training mixes intermediate tasks")
    config = replace(mt.base, task=specs[0].name, compose="none", intermediates=[])
    if Path(config.model).expanduser().is_dir():
        config = replace(config, model=str(Path(config.model).expanduser().resolve()))
    config.validate()
    if config.eval_steps > 0:
        raise UserError("multi-task training has no single dev set to select on; drop --eval-steps (the whole "
                        "budget is trained), or select per task on the targets")
    output = Path(config.output)
    if output.exists() and any(output.iterdir()) and not config.overwrite:
        raise UserError(f"output folder {output} is not empty; choose a new --output or pass --overwrite")
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
                                                stride=config.doc_stride or min(spec.doc_stride, (config.max_length or spec.max_length) // 3), train=True,
                                                limit=config.max_train_examples)
    model = MultiTaskModel(encoder, heads, formats, quantized=config.quantized)
    probabilities = task_probabilities({t: len(f) for t, f in features.items()}, mt.sampling, mt.temperature)
    trainable, total = trainable_parameters(model)
    if trainable == 0:
        raise UserError("nothing to train: the assembled model has no trainable parameter")
    log("multitask: " + ", ".join(f"{t} {len(features[t]):,} features p={p:.3f}" for t, p in probabilities.items()))
    log(f"multitask: {config.method}: trainable parameters {trainable:,} of {total:,} ({100 * trainable / total:.2f}%)")

    data = MultiTaskData(features)
    work = partial_dir(output)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)

    class _MultiTaskTrainer(ModuleTrainer):
        def get_train_dataloader(self):
            loader = torch.utils.data.DataLoader(
                data, batch_sampler=TaskBatchSampler(data, probabilities, config.batch_size, config.seed),
                collate_fn=lambda rows: {"task": rows[0][0], **formats[rows[0][0]].collate([r for _, r in rows], tokenizer)},
            )
            return self.accelerator.prepare(loader)

    from adapterstilts.training.pipeline import _make_trainer

    base_trainer = _make_trainer(config, model, formats[specs[0].name], tokenizer, data, work)
    base_trainer.args.label_names = sorted({k for f in formats.values() for k in f.label_keys})
    trainer = _MultiTaskTrainer(model=model, args=base_trainer.args, train_dataset=data,
                                data_collator=base_trainer.data_collator)
    _use_compact_logs(trainer)
    started = time.time()
    result = trainer.train()
    _write_log(trainer.state.log_history, work / TRAIN_LOG)
    name = assembled.module_name
    assembled.method.save(encoder, name, work / MODULE_DIR)
    if config.method == "full":
        tokenizer.save_pretrained(str(work / MODULE_DIR))
    (work / HEADS_DIR).mkdir()
    for task_name, head in heads.items():
        save_head(head, work / HEADS_DIR / f"{task_name}.safetensors")
    manifest = {
        "adapterstilts_version": __version__, "kind": "intermediate", "task": "multitask", "format": "multitask",
        "tasks": mt.tasks, "sampling": {"name": mt.sampling, "temperature": mt.temperature,
                                        "probabilities": probabilities},
        "method": config.method, "compose": "none", "module_name": name, "module_library": assembled.method.library,
        "base_model": {"name": config.model, "revision": config.revision, "config_hash": assembled.config_hash,
                       "architecture": assembled.architecture},
        "intermediates": [], "seed": config.seed,
        "hyperparameters": _hyperparameters(config, assembled.method.default_lr, config.max_length or 0,
                                            config.doc_stride or 0),
        "method_settings": config.method_settings(),
        "head": {"format": "multitask", "files": {t: f"{HEADS_DIR}/{t}.safetensors" for t in heads}},
        "trainable_parameters": trainable, "total_parameters": total,
        "module_size_bytes": folder_size(work / MODULE_DIR),
        "train": {"steps": result.global_step, "training_loss": result.training_loss,
                  "seconds": round(time.time() - started, 1), "features": {t: len(f) for t, f in features.items()},
                  "data": config.data},
        "versions": library_versions(),
    }
    run = finalize_run(work, output, manifest)
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
