"""What a format is. Formats, not tasks, own preprocessing, batching, the head, the forward pass and
postprocessing. A task only maps its raw rows onto its format's canonical columns.

Canonical example columns, per format:
- ``classification``: ``text_a`` str, ``text_b`` str or None, ``label`` int
- ``qa``: ``id`` str, ``question`` str, ``context`` str,
  ``answers`` {"text": [str], "answer_start": [int]} (empty lists: unanswerable)
- ``multiple_choice``: ``id`` str, ``question`` str (first segment), ``choices`` [str], ``label`` int
- ``tagging``: ``tokens`` [str], ``tags`` [int] (ids into ``task.labels``)
- ``retrieval``: ``source_sentence`` str, ``target_sentence`` str (aligned pairs)

Every feature row produced by ``preprocess`` carries ``example_index`` (the row of the example it
came from), so formats that split one example into several windows (QA, long tagging sequences)
can put the pieces back together in ``postprocess``.
"""
from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from adapterstilts.registry import Registry


class Format:
    name: ClassVar[str]
    preprocess_version: ClassVar[int] = 1  # bump when preprocess output changes (cache key)
    label_keys: ClassVar[tuple[str, ...]] = ("labels",)

    def preprocess(self, examples, tokenizer, task, *, max_length: int, stride: int, train: bool):
        """Canonical examples (a ``datasets.Dataset``) -> features (a ``datasets.Dataset``)."""
        raise NotImplementedError

    def collate(self, features: list[dict[str, Any]], tokenizer) -> dict[str, torch.Tensor]:
        """Dynamic padding of a list of feature rows into model inputs (+ labels when present)."""
        raise NotImplementedError

    def build_head(self, hidden_size: int, task) -> nn.Module:
        raise NotImplementedError

    def forward(self, encoder: nn.Module, head: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Run encoder + head. Returns {"logits": ..., "loss": ... (when labels are in batch)}."""
        raise NotImplementedError

    def postprocess(self, examples, features, logits: list, task) -> tuple[list, list, dict]:
        """Per-feature logits (numpy, one array per feature row, possibly padded) ->
        (predictions, references, extras) in the form the task's metric takes."""
        raise NotImplementedError


def encode(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Last hidden state of the encoder for the standard inputs in ``batch``."""
    kwargs = {k: batch[k] for k in ("input_ids", "attention_mask") if k in batch}
    return encoder(**kwargs).last_hidden_state


def pad_sequences(rows: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [value] * (width - len(r)) for r in rows], dtype=torch.long)


FORMATS: Registry[type[Format]] = Registry("format")


def register_format(cls: type[Format]) -> type[Format]:
    return FORMATS.register(cls.name)(cls)


FORMAT_OPTIONS = {"qa_answer_text": "answer_text", "tagging_label_piece": "label_piece"}  # setting -> format argument


def get_format(name: str, **settings) -> Format:
    """The format ``name``, with the settings it takes (``qa_answer_text`` for QA, ``tagging_label_piece``
    for tagging; the others are ignored, so callers pass a run's settings whatever its format)."""
    import inspect

    from adapterstilts import formats  # noqa: F401  (registration)

    cls = FORMATS.get(name)
    accepted = inspect.signature(cls.__init__).parameters
    kwargs = {FORMAT_OPTIONS[k]: v for k, v in settings.items()
              if k in FORMAT_OPTIONS and v is not None and FORMAT_OPTIONS[k] in accepted}
    return cls(**kwargs)


def format_settings(source) -> dict:
    """The format settings of a TrainConfig or of a run's recorded hyperparameters (a dict)."""
    get = source.get if isinstance(source, dict) else (lambda k, d=None: getattr(source, k, d))
    return {k: get(k) for k in FORMAT_OPTIONS if get(k) is not None}
