"""A run's identity: the settings that change what is trained, listed explicitly, with a version.

The grid reuses a finished run when its identity is unchanged. Only the fields below count, and a
field counts only when it differs from its default, so

- adding a field to ``TrainConfig`` (with a default that keeps today's behaviour) never turns a
  finished run stale; list it here when its non-default values change training;
- a LoRA option left in a bottleneck recipe changes nothing (method settings count for their method);
- where things are written (output, logs, progress, report_to) and which folder the intermediates are
  read from (they count by their own identity) never count;
- local paths inside a grid's output folder count relative to it, so a moved grid still resumes.

Changing a default, or what a field means, needs ``IDENTITY_VERSION`` raised: every run then reads as
changed once."""
from __future__ import annotations

import hashlib
import json
from dataclasses import fields
from pathlib import Path
from typing import Any

IDENTITY_VERSION = 2  # 1: the whole config hashed (before study axes); 2: the fields below

# what every run's training depends on
COMMON = ("task", "model", "revision", "method", "compose", "merge_weights", "merge_method", "merge_density",
          "fusion_gate", "data", "seed", "lr", "batch_size", "grad_accum", "epochs", "max_steps", "warmup_ratio",
          "weight_decay", "max_grad_norm", "adam_epsilon", "max_length", "doc_stride", "max_train_examples",
          "train_data", "load_in_8bit", "load_in_4bit", "bf16", "fp16", "gradient_checkpointing", "eval_steps",
          "patience", "init_from", "language_adapter", "qa_answer_text", "tagging_label_piece", "length_grouping")
# what only one method's training depends on
PER_METHOD = {"lora": ("lora_r", "lora_alpha", "lora_dropout", "lora_target_modules"),
              "bottleneck": ("adapter_config", "reduction_factor"), "full": ()}
PATH_FIELDS = ("model", "data", "init_from", "language_adapter", "qa_answer_text", "tagging_label_piece",
          "length_grouping")  # relative to the grid's root when inside it


def identity_fields(method: str) -> tuple[str, ...]:
    return COMMON + PER_METHOD.get(method, ())


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def identity(config, root: str | Path | None = None) -> dict[str, Any]:
    """The identity-bearing settings of ``config`` (a TrainConfig, or its saved config.json as a dict)
    that differ from their defaults."""
    from dataclasses import MISSING

    from adapterstilts.config.train import TrainConfig

    values = config if isinstance(config, dict) else {f.name: getattr(config, f.name) for f in fields(config)}
    defaults = {f.name: (f.default_factory() if f.default_factory is not MISSING else f.default)
                for f in fields(TrainConfig)}
    out: dict[str, Any] = {}
    values = {**values, "lr": effective_lr(values)}  # a changed default learning rate is a changed run
    for name in identity_fields(values.get("method", "lora")):
        if name not in values:
            continue
        value = _plain(values[name])
        if value == _plain(defaults.get(name)) and name not in ("task", "method"):
            continue
        if name in PATH_FIELDS and isinstance(value, str) and root is not None:
            value = relative_to_root(value, root)
        out[name] = value
    return out


def effective_lr(values: dict[str, Any]) -> float | None:
    """The learning rate a run trains with: its own, else its method's default (methods/*.py)."""
    if values.get("lr") is not None:
        return values["lr"]
    from adapterstilts.methods import METHODS

    name = values.get("method", "lora")
    return METHODS.get(name).default_lr if name in METHODS else None


def relative_to_root(value: str, root: str | Path) -> str:
    """``@root/...`` for a path inside the grid's folder (so a moved folder keeps its identity). Only
    absolute paths count: "hub", "sample" and Hub ids are never paths, whatever the working folder."""
    if not Path(value).expanduser().is_absolute():
        return value
    try:
        inside = Path(value).resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError):
        return value
    return f"@root/{inside.as_posix()}"


def fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps({"identity_version": IDENTITY_VERSION, "data": data}, sort_keys=True,
                                     default=str).encode()).hexdigest()[:16]


def changes(before: dict[str, Any], now: dict[str, Any]) -> list[str]:
    """"key: old -> new" for each identity field that differs (a missing key is the default)."""
    keys = sorted(set(before) | set(now))
    from adapterstilts.config.train import TrainConfig

    defaults = {f.name: f.default for f in fields(TrainConfig)}

    def shown(side: dict, key: str):
        return side[key] if key in side else defaults.get(key)

    return [f"{k}: {shown(before, k)!r} -> {shown(now, k)!r}" for k in keys if before.get(k) != now.get(k)]
