"""Training one run (an intermediate task, or a target task on top of intermediates) with the
transformers Trainer, into a run folder that appears only when it is complete: everything is
written to ``.<name>.partial`` beside the output and renamed at the end."""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from transformers import Trainer

from adapterstilts import __version__
from adapterstilts.config import TrainConfig, resolve_report_to
from adapterstilts.errors import UserError
from adapterstilts.data.features import build_features
from adapterstilts.model.assemble import build_for_training, record_intermediates, save_head
from adapterstilts.methods import get_method, trainable_parameters
from adapterstilts.model.backbone import check_quantization_possible, load_tokenizer
from adapterstilts.progress import progress_enabled
from adapterstilts.tasks.base import SELECTION
from adapterstilts.runs import HEAD_FILE, MANIFEST, MODULE_DIR, TRAIN_LOG, Run, folder_size, library_versions, write_json_atomic


def resolve_intermediates(refs: list[str], *, model: str | None = None, allow_pickle: bool = False,
                          log=print) -> list[Run]:
    from adapterstilts.runs.refs import resolve_run

    return [resolve_run(ref, allow_pickle=allow_pickle, model=model, log=log) for ref in refs]


def _note_kbit_memory(config: TrainConfig, log) -> None:
    """k-bit loading shrinks the weights; at XLM-R Large shapes the activations are what decide whether
    training fits a consumer GPU (docs/benchmarks.md)."""
    if not config.backbone().quantized:
        return
    from adapterstilts.model.backbone import quantization_device

    if quantization_device() == "cpu":
        log("note: no CUDA GPU, so the backbone is quantised on the CPU (bitsandbytes' CPU backend): it works, "
            "slowly; meant for tests and small models")
    elif not config.gradient_checkpointing:
        log("note: with a k-bit backbone, activations dominate training memory; on an 8 GB GPU add "
            "--gradient-checkpointing, or lower --batch-size and raise --grad-accum")


def partial_dir(output: Path) -> Path:
    return output.parent / f".{output.name}.partial"


def train(config: TrainConfig, *, log=print, keep_model: bool = False) -> Run:
    """Train one run; returns the finished run folder (with the trained model when keep_model)."""
    config.validate()
    check_quantization_possible(config.backbone())  # before any download or data work
    if Path(config.model).expanduser().is_dir():  # record a local model by absolute path (runs move, cwd changes)
        config = replace(config, model=str(Path(config.model).expanduser().resolve()))
    intermediate_runs = resolve_intermediates(config.intermediates, model=config.model,
                                              allow_pickle=config.allow_pickle, log=log)
    output = Path(config.output)
    if output.exists() and any(output.iterdir()) and not config.overwrite:
        raise UserError(f"output folder {output} is not empty; choose a new --output or pass --overwrite")
    tokenizer = load_tokenizer(config.model, config.revision)
    assembled = build_for_training(config, intermediate_runs)
    task, fmt, model = assembled.task, assembled.fmt, assembled.model
    trainable, total = trainable_parameters(model)
    if trainable == 0:
        raise UserError("nothing to train: the assembled model has no trainable parameter")  # guards a silent no-op
    log(f"{task.name}: {config.method} / compose {config.compose}: trainable parameters {trainable:,} of "
        f"{total:,} ({100 * trainable / total:.2f}%)")
    _note_kbit_memory(config, log)

    max_length = config.max_length or task.max_length
    stride = config.doc_stride or min(task.doc_stride, max_length // 3)  # 384 -> 128; shorter windows scale
    _, features = build_features(task, fmt, tokenizer, split="train", language=task.train_language, data=config.data,
                                 max_length=max_length, stride=stride, train=True, limit=config.max_train_examples)
    log(f"{task.name}: {len(features):,} training features (max length {max_length})")

    work = partial_dir(output)
    resume = _resumable_checkpoint(work, config)
    if resume is None and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    write_json_atomic(work / "config.json", config.to_dict())

    trainer = _make_trainer(config, model, fmt, tokenizer, features, work)
    selection = None
    if config.eval_steps > 0:
        from adapterstilts.training.selection import DevSelection

        dev_examples, dev_features = build_features(task, fmt, tokenizer, split=SELECTION,
                                                    language=task.train_language, data=config.data,
                                                    max_length=max_length, stride=stride, train=False)
        selection = DevSelection(model=model, task=task, fmt=fmt, tokenizer=tokenizer, examples=dev_examples,
                                 features=dev_features, every=config.eval_steps, patience=config.patience, log=log)
        if resume is not None:
            selection.resume_from(resume)  # keep the best state and history from before the interruption
        trainer.add_callback(selection)
    started = time.time()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    if not trainer.is_world_process_zero():  # several GPUs (accelerate launch): only the main process writes
        return None  # type: ignore[return-value]
    _write_log(trainer.state.log_history, work / TRAIN_LOG)

    module_dir = work / MODULE_DIR
    if module_dir.exists():
        shutil.rmtree(module_dir)
    assembled.method.save(model.encoder, assembled.module_name, module_dir)
    if config.method == "full":
        tokenizer.save_pretrained(str(module_dir))
    save_head(model.head, work / HEAD_FILE)
    names = assembled.intermediate_names
    entries = record_intermediates(intermediate_runs, names, work, copy=config.compose in ("stack", "fuse", "merge"))
    manifest = {
        "adapterstilts_version": __version__,
        "kind": task.kind,
        "task": task.name,
        "format": task.format,
        "method": config.method,
        "compose": config.compose,
        "module_name": assembled.module_name,
        "module_library": assembled.method.library,
        "base_model": {"name": config.model, "revision": config.revision, "config_hash": assembled.config_hash,
                       "architecture": assembled.architecture},
        "intermediates": entries,
        "merge_weights": config.resolved_merge_weights() if config.compose == "merge" else None,
        "seed": config.seed,
        "hyperparameters": _hyperparameters(config, assembled.method.default_lr, max_length, stride),
        "method_settings": config.method_settings(),
        "head": {"format": fmt.name, "labels": list(task.labels), "file": HEAD_FILE},
        "trainable_parameters": trainable,
        "total_parameters": total,
        "module_size_bytes": folder_size(module_dir),
        "train": {"steps": result.global_step, "training_loss": result.training_loss,
                  "seconds": round(time.time() - started, 1), "features": len(features), "data": config.data},
        "versions": library_versions(),
    }
    if selection is not None:
        manifest["selection"] = selection.summary()
    run = finalize_run(work, output, manifest)
    log(f"{task.name}: saved run to {output} (module {manifest['module_size_bytes'] / 1e6:.2f} MB)")
    if keep_model:
        model.eval()
        run.model = model
    return run


def finalize_run(work: Path, output: Path, manifest: dict) -> Run:
    """Write the manifest last, drop checkpoints, and move the finished folder into place."""
    write_json_atomic(work / MANIFEST, manifest)
    shutil.rmtree(work / "checkpoints", ignore_errors=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    old = output.parent / f".{output.name}.old"
    if output.exists():  # move the old run aside first: a crash never leaves a half-deleted run in place
        shutil.rmtree(old, ignore_errors=True)
        os.replace(output, old)
    os.replace(work, output)
    shutil.rmtree(old, ignore_errors=True)
    return Run.open(output)


def _hyperparameters(config: TrainConfig, default_lr: float, max_length: int, stride: int) -> dict:
    return {"lr": config.lr or default_lr, "batch_size": config.batch_size, "grad_accum": config.grad_accum,
            "effective_batch_size": config.batch_size * config.grad_accum, "epochs": config.epochs,
            "max_steps": config.max_steps, "warmup_ratio": config.warmup_ratio, "weight_decay": config.weight_decay,
            "max_grad_norm": config.max_grad_norm, "adam_epsilon": config.adam_epsilon, "max_length": max_length,
            "doc_stride": stride, "max_train_examples": config.max_train_examples,
            "precision": "bf16" if config.bf16 else "fp16" if config.fp16 else "fp32",
            "quantization": "8bit" if config.load_in_8bit else "4bit" if config.load_in_4bit else None,
            "gradient_checkpointing": config.gradient_checkpointing}


def _resumable_checkpoint(work: Path, config: TrainConfig) -> Path | None:
    """The last checkpoint of an interrupted run with the same configuration, if any."""
    saved = work / "config.json"
    if config.save_steps <= 0 or not saved.is_file():
        return None
    volatile = {"progress", "report_to", "overwrite", "logging_steps"}
    before = {k: v for k, v in json.loads(saved.read_text()).items() if k not in volatile}
    now = {k: v for k, v in json.loads(json.dumps(config.to_dict())).items() if k not in volatile}
    if before != now:
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
