"""Sentence(-pair) classification: NLI, paraphrase (QQP, PAWS-X). Head as in RoBERTa's
classification head: <s> hidden state -> dropout -> dense -> tanh -> dropout -> out_proj.

Canonical examples may carry an optional ``group`` column (str): the list a row belongs to when the
metric scores lists of rows rather than rows (XGLUE WPR: the query, for nDCG per query). It is not
tokenized; ``postprocess`` returns it as ``extras["groups"]``, one entry per prediction, in the
predictions' order, and only when the column is present (other tasks' extras stay empty)."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from adapterstilts.formats.base import Format, pad_sequences, register_format
from adapterstilts.formats.first_token import first_token_encode


class ClassificationHead(nn.Module):
    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.dense = nn.Linear(hidden_size, hidden_size)
        self.out_proj = nn.Linear(hidden_size, num_labels)

    def forward(self, first_token: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.dense(self.dropout(first_token)))
        return self.out_proj(self.dropout(x))


@register_format
class Classification(Format):
    name = "classification"
    preprocess_version = 1

    def preprocess(self, examples, tokenizer, task, *, max_length: int, stride: int, train: bool):
        def tokenize(batch):
            pairs = batch["text_b"] if "text_b" in batch else None
            if pairs is not None and all(p is None for p in pairs):
                pairs = None
            enc = tokenizer(batch["text_a"], pairs, truncation=True, max_length=max_length)
            return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": batch["label"]}

        features = examples.map(tokenize, batched=True, remove_columns=examples.column_names, desc="tokenize")
        return features.add_column("example_index", list(range(len(features))))

    def collate(self, features, tokenizer):
        batch = {
            "input_ids": pad_sequences([f["input_ids"] for f in features], tokenizer.pad_token_id),
            "attention_mask": pad_sequences([f["attention_mask"] for f in features], 0),
        }
        if "labels" in features[0] and features[0]["labels"] is not None:
            batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch

    def build_head(self, hidden_size: int, task) -> nn.Module:
        return ClassificationHead(hidden_size, task.num_labels)

    def forward(self, encoder, head, batch):
        # the head reads <s> only: the last layer runs at <s> only (formats/first_token.py, same values)
        logits = head(first_token_encode(encoder, batch))
        out = {"logits": logits}
        if "labels" in batch:
            out["loss"] = nn.functional.cross_entropy(logits.float(), batch["labels"])
        return out

    def postprocess(self, examples, features, logits, task):
        predictions = [int(np.argmax(row)) for row in logits]
        references = [int(label) for label in features["labels"]]
        groups = _groups(examples, features)
        return predictions, references, ({} if groups is None else {"groups": groups})


def _groups(examples, features) -> list | None:
    """The ``group`` of the example behind each feature row, or None when the examples have no group."""
    if examples is None:
        return None
    if isinstance(examples, list):
        if not examples or "group" not in examples[0]:
            return None
        column = [row["group"] for row in examples]
    else:
        if "group" not in (examples.column_names or ()):
            return None
        column = examples["group"]
    try:
        index = list(features["example_index"])
    except KeyError:  # one feature per example, in order
        index = range(len(column))
    return [column[int(i)] for i in index]
