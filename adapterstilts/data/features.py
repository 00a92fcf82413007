"""Tokenised features, computed once and cached on disk.

The cache key covers everything that changes the features: task, split, language, the raw data's
fingerprint, the tokenizer (name, revision and a hash of its full definition), max length, stride,
the format and its preprocessing version, and train/eval mode. A change in any of them makes a new
entry; nothing stale is ever reused."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from adapterstilts.data.loading import load_examples
from adapterstilts.formats.base import Format
from adapterstilts.tasks.base import Task


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "adapterstilts"
    return Path(os.environ.get("ADAPTERSTILTS_CACHE", default)) / "features"


def tokenizer_fingerprint(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:  # drop the call-time state (truncation / padding) a previous call left behind
        spec = json.loads(backend.to_str())
        spec.pop("truncation", None)
        spec.pop("padding", None)
    else:
        spec = {"vocab": tokenizer.get_vocab()}
    spec["sides"] = [getattr(tokenizer, "truncation_side", None), getattr(tokenizer, "padding_side", None)]
    body = json.dumps(spec, sort_keys=True)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]


def cache_key(*, task: str, split: str, language: str, data_fingerprint: str, tokenizer, max_length: int,
              stride: int, fmt: Format, train: bool, derived: str | None = None) -> str:
    parts = {
        "task": task, "split": split, "language": language, "data": data_fingerprint,
        # the tokenizer by content (not by name or path: the same tokenizer saved elsewhere reuses the cache)
        "tokenizer": tokenizer_fingerprint(tokenizer), "max_length": max_length, "stride": stride,
        "format": fmt.name, "preprocess_version": fmt.preprocess_version, "train": train,
    }
    if derived is not None:  # derived training data (tasks/derived.py) or an evaluation split less held-out rows
        parts["derived"] = derived
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def build_features(task: Task, fmt: Format, tokenizer, *, split: str, language: str, data: str,
                   max_length: int, stride: int, train: bool, limit: int | None = None, use_cache: bool = True,
                   examples=None, derived: str | None = None):
    """(examples, features) for one split and language; features come from the cache when present.
    ``limit`` keeps the first N examples (a quick run on part of the data). ``examples`` replaces the
    loaded split (derived training data, an evaluation split less held-out rows); ``derived`` then
    names how they were derived (a fingerprint) for the cache key."""
    from datasets import load_from_disk

    if examples is None:
        examples = load_examples(task, split, language, data)
    if limit is not None and limit < len(examples):
        examples = examples.select(range(limit))
    key = cache_key(task=task.name, split=split, language=language, data_fingerprint=examples._fingerprint,
                    tokenizer=tokenizer, max_length=max_length, stride=stride, fmt=fmt, train=train, derived=derived)
    folder = cache_root() / f"{task.name}-{split}-{language}-{key}"
    if use_cache and folder.is_dir():
        return examples, load_from_disk(str(folder))
    features = fmt.preprocess(examples, tokenizer, task, max_length=max_length, stride=stride, train=train)
    if use_cache:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        from adapterstilts.runs.folder import user_mode

        user_mode(tmp, directory=True)
        features.save_to_disk(str(tmp))
        try:
            os.replace(tmp, folder)
        except OSError:  # another process (another GPU rank, another grid job) wrote it first
            shutil.rmtree(tmp, ignore_errors=True)
        features = load_from_disk(str(folder))
    return examples, features
