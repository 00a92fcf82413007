"""The transformers Trainer as the pipeline uses it: arguments from a TrainConfig, checkpoints that
hold only what trains, one readable log line per step, resumable checkpoints of an interrupted run."""
from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

from transformers import Trainer

from adapterstilts.config import TrainConfig, resolve_report_to
from adapterstilts.methods import get_method
from adapterstilts.progress import progress_enabled


def _hyperparameters(config: TrainConfig, default_lr: float, max_length: int, stride: int) -> dict:
    return {"lr": config.lr or default_lr, "batch_size": config.batch_size, "grad_accum": config.grad_accum,
            "effective_batch_size": config.batch_size * config.grad_accum, "epochs": config.epochs,
            "max_steps": config.max_steps, "warmup_ratio": config.warmup_ratio, "weight_decay": config.weight_decay,
            "max_grad_norm": config.max_grad_norm, "adam_epsilon": config.adam_epsilon, "max_length": max_length,
            "doc_stride": stride, "max_train_examples": config.max_train_examples,
            "precision": "bf16" if config.bf16 else "fp16" if config.fp16 else "fp32",
            "quantization": "8bit" if config.load_in_8bit else "4bit" if config.load_in_4bit else None,
            "gradient_checkpointing": config.gradient_checkpointing,
            "qa_answer_text": config.qa_answer_text, "tagging_label_piece": config.tagging_label_piece}


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
    return checkpoints[-1] if checkpoints else None


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
        disable_tqdm=not progress_enabled(config.progress),
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
        log_level="warning",
    )
    trainer = ModuleTrainer(model=model, args=args, train_dataset=features, data_collator=partial(_collate, fmt, tokenizer))
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
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    class CompactProgress(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and self.training_bar is not None and logs:
                self.training_bar.write(format_log(state.global_step, state.max_steps, logs))

    had_progress = any(isinstance(cb, ProgressCallback) for cb in trainer.callback_handler.callbacks)
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if had_progress:
        trainer.add_callback(CompactProgress)


def _trainable_state(model) -> dict:
    return {n: p.detach().contiguous().cpu() for n, p in model.named_parameters() if p.requires_grad}


class ModuleTrainer(Trainer):
    """Checkpoints hold only what trains (module + head), not the frozen backbone: a LoRA checkpoint of
    XLM-R Large is MBs, not GBs, and tied tensors of the frozen model are never serialised."""

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


def _collate(fmt, tokenizer, rows):
    return fmt.collate(rows, tokenizer)


def _write_log(history: list[dict], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        for row in history:
            handle.write(json.dumps(row) + "\n")
    os.replace(tmp, path)
