"""The transformers Trainer as the pipeline uses it: arguments from a TrainConfig, checkpoints that
hold only what trains, one readable log line per step, resumable checkpoints of an interrupted run,
and training batches of similar lengths (:class:`LengthGroupedBatches`), so that dynamic padding
pads little: on NLI-like length distributions a random batch of 16 is padded to about 2.25x its real
tokens, a length-grouped one to about 1.05x (docs/benchmarks.md, scripts/bench_train.py)."""
from __future__ import annotations

import json
import os
import sys
from functools import partial
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback

from adapterstilts.config import TrainConfig, resolve_report_to
from adapterstilts.formats.first_token import enabled as first_token_enabled
from adapterstilts.methods import get_method
from adapterstilts.progress import bars_enabled, progress_enabled


def _hyperparameters(config: TrainConfig, default_lr: float, max_length: int, stride: int) -> dict:
    return {"lr": config.lr or default_lr, "batch_size": config.batch_size, "grad_accum": config.grad_accum,
            "effective_batch_size": config.batch_size * config.grad_accum, "epochs": config.epochs,
            "max_steps": config.max_steps, "warmup_ratio": config.warmup_ratio, "weight_decay": config.weight_decay,
            "max_grad_norm": config.max_grad_norm, "adam_epsilon": config.adam_epsilon, "max_length": max_length,
            "doc_stride": stride, "max_train_examples": config.max_train_examples,
            "precision": "bf16" if config.bf16 else "fp16" if config.fp16 else "fp32",
            "quantization": "8bit" if config.load_in_8bit else "4bit" if config.load_in_4bit else None,
            "gradient_checkpointing": config.gradient_checkpointing,
            "length_grouping": getattr(config, "length_grouping", True),
            "qa_answer_text": config.qa_answer_text, "tagging_label_piece": config.tagging_label_piece,
            # the <s>-only last layer (formats/first_token.py): the same maths, but in training mode it draws
            # fewer dropout numbers, so a seed's trajectory differs with ADAPTERSTILTS_FULL_LAST_LAYER=1
            "last_layer_at_first_token": first_token_enabled()}


def _resumable_checkpoint(work: Path, config: TrainConfig) -> Path | None:
    """The last checkpoint of an interrupted run with the same identity (config/identity.py), if any."""
    from adapterstilts.config.identity import identity

    saved = work / "config.json"
    if config.save_steps <= 0 or not saved.is_file():
        return None
    try:
        before = json.loads(saved.read_text())
    except ValueError:
        return None
    if not isinstance(before, dict) or identity(before) != identity(config):
        return None
    checkpoints = sorted((work / "checkpoints").glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    # a checkpoint cut short (a kill or a full disk while it was written) lacks the state written last
    # (with dev selection, its history and best state too: the Trainer deletes the older checkpoint before
    # the callbacks write them)
    needed = ["trainer_state.json", "model.safetensors"] + (["dev_selection.json"] if config.eval_steps > 0 else [])
    complete = [c for c in checkpoints if all((c / name).is_file() for name in needed)]
    return complete[-1] if complete else None


def _make_trainer(config: TrainConfig, model, fmt, tokenizer, features, work: Path):
    import torch
    from transformers import TrainingArguments

    lr = config.lr or get_method(config.method).default_lr
    args = TrainingArguments(
        output_dir=str(work / "checkpoints"),
        logging_dir=str(work / "logs"),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps > 0 else -1,
        warmup_ratio=config.warmup_ratio,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        adam_epsilon=config.adam_epsilon,
        lr_scheduler_type="linear",
        logging_steps=config.logging_steps,
        save_strategy="steps" if config.save_steps > 0 else "no",
        save_steps=config.save_steps if config.save_steps > 0 else 500,
        save_total_limit=1,
        save_safetensors=True,
        report_to=[] if resolve_report_to(config.report_to) == "none" else [resolve_report_to(config.report_to)],
        seed=config.seed,
        data_seed=config.seed,
        bf16=config.bf16,
        fp16=config.fp16,
        remove_unused_columns=False,
        label_names=list(fmt.label_keys),
        disable_tqdm=not bars_enabled(config.progress),
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        log_level="warning",
        # the stock filter checks every step's loss for nan/inf on the host: one device sync per step
        logging_nan_inf_filter=False,
    )
    trainer = ModuleTrainer(model=model, args=args, train_dataset=features, data_collator=partial(_collate, fmt, tokenizer))
    trainer.length_grouping = getattr(config, "length_grouping", True)
    trainer.adapterstilts_progress = config.progress
    _use_compact_logs(trainer)
    return trainer


def format_log(step: int, max_steps: int, logs: dict) -> str:
    """One readable line per logging step (the full record goes to train_log.jsonl)."""
    if "train_runtime" in logs:
        return (f"done: {step} steps in {logs['train_runtime']:.1f}s "
                f"({logs.get('train_samples_per_second', 0):.1f} examples/s), mean loss {logs.get('train_loss', 0):.4f}")
    parts = [f"step {step}/{max_steps}"]
    for key, label, fmt in (("loss", "loss", ".4f"), ("learning_rate", "lr", ".2e"), ("grad_norm", "grad norm", ".3f"),
                            ("epoch", "epoch", ".2f")):
        if key in logs:
            parts.append(f"{label} {logs[key]:{fmt}}")
    return "  ".join(parts)


def _use_compact_logs(trainer) -> None:
    """The Trainer prints raw dicts; print one line per log instead (nothing when progress is off)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback, TrainerCallback

    class CompactProgress(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and self.training_bar is not None and logs:
                self.training_bar.write(format_log(state.global_step, state.max_steps, logs))

    class CompactLines(TrainerCallback):
        """Off a terminal (no bar): the same one line per log, printed as it comes."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs:
                print(format_log(state.global_step, state.max_steps, logs), file=sys.stderr, flush=True)

    had_progress = any(isinstance(cb, ProgressCallback) for cb in trainer.callback_handler.callbacks)
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if had_progress:
        trainer.add_callback(CompactProgress)
    elif progress_enabled(getattr(trainer, "adapterstilts_progress", True)):
        trainer.add_callback(CompactLines)


def _trainable_state(model) -> dict:
    return {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}


def feature_lengths(features):
    """Tokens per feature row (the length of ``input_ids``), read from the Arrow column without decoding
    any row; None when ``features`` is not a ``datasets.Dataset`` with ``input_ids``."""
    column = getattr(features, "column_names", None)
    if not column or "input_ids" not in column or not hasattr(features, "with_format"):
        return None
    import pyarrow.compute as pc

    table = features.select_columns(["input_ids"]).with_format("arrow")[:]  # honours select/shuffle indices
    return pc.list_value_length(table.column("input_ids")).to_numpy(zero_copy_only=False).tolist()


class LengthGroupedBatches(torch.utils.data.Sampler):
    """Row indices whose consecutive ``batch_size`` slices (one optimizer step's rows: the Trainer's micro-
    batches are slices of them) have similar lengths, random in every other way:
    all rows are shuffled, cut into megabatches of ``megabatch`` batches, each megabatch is sorted by
    length and cut into batches, and the batches of all megabatches are shuffled together (the stock
    ``group_by_length`` keeps them in descending length order inside each megabatch, a sawtooth in what
    the model sees). Each epoch draws a new order from ``seed`` and the epoch (``set_epoch``, which the
    Trainer calls), so an interrupted run resumes on the same batches."""

    def __init__(self, lengths, batch_size: int, seed: int, megabatch: int = 50):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        # at least 4 megabatches on a small dataset, as the stock sampler: grouping never sorts the whole set
        self.megabatch = max(1, min(megabatch, len(self.lengths) // (batch_size * 4)))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        self.epoch += 1  # a loop that does not call set_epoch still gets a new order each epoch
        order = torch.randperm(len(self.lengths), generator=generator).tolist()
        size = self.megabatch * self.batch_size
        batches = []
        for start in range(0, len(order), size):
            group = sorted(order[start:start + size], key=self.lengths.__getitem__)
            batches.extend(group[i:i + self.batch_size] for i in range(0, len(group), self.batch_size))
        full = [b for b in batches if len(b) == self.batch_size]
        short = [b for b in batches if len(b) < self.batch_size]  # at most one per megabatch; kept last
        for i in torch.randperm(len(full), generator=generator).tolist():
            yield from full[i]
        for batch in short:
            yield from batch


class ModuleTrainer(Trainer):
    """Checkpoints hold only what trains (module + head), not the frozen backbone: a LoRA checkpoint of
    XLM-R Large is MBs, not GBs, and tied tensors of the frozen model are never serialised. Training
    batches are length-grouped (:class:`LengthGroupedBatches`) unless ``length_grouping`` is off."""

    length_grouping = False  # set by _make_trainer from the config

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        lengths = feature_lengths(dataset) if self.length_grouping else None
        if not lengths:
            return super()._get_train_sampler(train_dataset) if train_dataset is not None else super()._get_train_sampler()
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        # grouped by optimizer step: batch 8 and batch 4 x accumulation 2 see the same rows in each step
        return LengthGroupedBatches(lengths, self.args.train_batch_size * self.args.gradient_accumulation_steps, seed)

    def train(self, *args, **kwargs):
        import gc

        resume = kwargs.get("resume_from_checkpoint")
        # the loss summed over the steps before an interruption (the Trainer counts only the steps it runs)
        self.loss_before_resume = saved_loss_sum(resume) if resume else 0.0
        if not any(isinstance(cb, _CarriedLoss) for cb in self.callback_handler.callbacks):
            self.add_callback(_CarriedLoss(self))
        # the imports (transformers, peft, torch) leave ~500,000 objects behind; moving them out of
        # the collector's reach makes the Trainer's gc.collect() at start and every later full collection cheap
        gc.freeze()
        try:
            output = super().train(*args, **kwargs)
        finally:
            gc.unfreeze()
        if self.loss_before_resume is None:  # resumed from a checkpoint that did not record it: unknown, not 0.0
            output = output._replace(training_loss=None, metrics={**output.metrics, "train_loss": None})
            for row in reversed(self.state.log_history):
                if "train_loss" in row:
                    row["train_loss"] = None
                    break
        return output

    def _maybe_log_save_evaluate(self, tr_loss, *args, **kwargs):
        self._unlogged_loss = tr_loss  # the loss summed since the last log line (a checkpoint records it)
        return super()._maybe_log_save_evaluate(tr_loss, *args, **kwargs)

    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        folder = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
        if self.args.should_save and folder.is_dir():
            unlogged = getattr(self, "_unlogged_loss", None)
            total = self._total_loss_scalar + (float(unlogged.item()) if unlogged is not None else 0.0)
            tmp = folder / f".{LOSS_FILE}.tmp"
            tmp.write_text(json.dumps({"global_step": self.state.global_step, "loss_sum": total}))
            os.replace(tmp, folder / LOSS_FILE)

    def _save(self, output_dir=None, state_dict=None):
        from safetensors.torch import save_file

        out = Path(output_dir or self.args.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        save_file(_trainable_state(self.model), str(out / "model.safetensors"), metadata={"format": "pt"})

    def _issue_warnings_after_load(self, load_result):
        # checkpoints leave out the frozen weights on purpose; only a missing trainable one is a problem
        trainable = {n for n, p in self.model.named_parameters() if p.requires_grad}
        missing = [k for k in load_result.missing_keys if k in trainable]
        if missing:
            raise RuntimeError(f"checkpoint lacks trainable weights: {missing[:5]}")


LOSS_FILE = "loss_sum.json"  # in each checkpoint: the training loss summed over its steps


def saved_loss_sum(checkpoint) -> float | None:
    """The loss summed over the steps of ``checkpoint`` (what a resumed run adds to its own steps' sum),
    or None when the checkpoint did not record it (written by an older adapterstilts, or cut short)."""
    try:
        saved = json.loads((Path(checkpoint) / LOSS_FILE).read_text(encoding="utf-8"))
        return float(saved["loss_sum"])
    except (OSError, ValueError, TypeError, KeyError):
        return None


def completed_checkpoint(checkpoint) -> bool:
    """Whether ``checkpoint`` is of the last training step (the run died while saving its results): the
    step budget is spent, or training had been told to stop there (dev selection's early stop; the
    Trainer does not restore that flag on resume, so it would train on)."""
    try:
        state = json.loads((Path(checkpoint) / "trainer_state.json").read_text(encoding="utf-8"))
        if 0 < int(state["max_steps"]) <= int(state["global_step"]):
            return True
        control = (state.get("stateful_callbacks") or {}).get("TrainerControl") or {}
        return bool((control.get("args") or {}).get("should_training_stop"))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return False


def finish_from_checkpoint(trainer, checkpoint):
    """The result of a run whose checkpoint is its last step, without running a step again (the Trainer,
    resumed there, runs one more): the checkpoint's trainable weights, its log and its loss."""
    from safetensors.torch import load_file
    from transformers.trainer_callback import TrainerState
    from transformers.trainer_utils import TrainOutput

    checkpoint = Path(checkpoint)
    state = TrainerState.load_from_json(str(checkpoint / "trainer_state.json"))
    saved = load_file(str(checkpoint / "model.safetensors"))
    params = {n: p for n, p in trainer.model.named_parameters() if p.requires_grad}
    missing = sorted(set(params) - set(saved))
    if missing:
        raise RuntimeError(f"checkpoint lacks trainable weights: {missing[:5]}")
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(saved[name].to(param.device, param.dtype))
    loss_sum = saved_loss_sum(checkpoint)
    loss = loss_sum / state.global_step if loss_sum is not None and state.global_step else None
    state.log_history.append({"train_loss": loss, "epoch": state.epoch, "step": state.global_step})
    trainer.state = state
    return TrainOutput(state.global_step, loss, {"train_loss": loss})


class _CarriedLoss(TrainerCallback):
    """Adds the loss of the steps before a resume to the Trainer's running sum once it has reset it at
    the start of training, so the mean training loss it reports covers every step, not only those run
    after the resume (a resume after a kill during the final save ran none: 0.0)."""

    def __init__(self, trainer):
        self.trainer = trainer

    def on_train_begin(self, args, state, control, **kwargs):
        self.trainer._total_loss_scalar += self.trainer.loss_before_resume or 0.0


def _collate(fmt, tokenizer, rows):
    return fmt.collate(rows, tokenizer)


def _write_log(history: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in history:
            handle.write(json.dumps(row) + "\n")
    os.replace(tmp, path)
