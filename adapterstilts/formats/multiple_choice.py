"""Multiple choice (HellaSwag, CosmosQA, CommonsenseQA): pick one of N candidate answers.

Each choice is encoded as the pair (question, choice), where ``question`` is the first segment the
task builds (a context, a question, or both). Each pair is scored separately: the ``<s>`` hidden
state goes through dropout and a ``Linear(hidden, 1)``, and the per-choice scores are a softmax over
the choices. When a pair is too long, the first segment is truncated ("only_first"), so the choice
itself stays whole. Only when the choice alone does not fit is it cut too ("longest_first").

One feature per example: ``input_ids`` / ``attention_mask`` are lists with one sequence per choice,
``labels`` is the gold choice (-100 when unknown, e.g. an unlabelled test split), ``example_index``
is the row of the example. Examples may have different numbers of choices. ``collate`` pads those
to the batch's largest count and sends a ``choice_mask``, so padded choices can never win and
never take probability mass.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from adapterstilts.errors import UserError
from adapterstilts.formats.base import Format, register_format
from adapterstilts.formats.first_token import first_token_encode

IGNORE_INDEX = -100


class ChoiceHead(nn.Module):
    def __init__(self, hidden_size: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.scorer = nn.Linear(hidden_size, 1)

    def forward(self, first_token: torch.Tensor) -> torch.Tensor:
        return self.scorer(self.dropout(first_token)).squeeze(-1)


def _encode_pairs(tokenizer, first: str, choices: list[str], max_length: int) -> tuple[list, list]:
    """(input_ids, attention_mask) per choice for the pairs (first, choice)."""
    try:
        enc = tokenizer([first] * len(choices), choices, truncation="only_first", max_length=max_length)
        return enc["input_ids"], enc["attention_mask"]
    except Exception:  # a choice alone is too long for "only_first" (the tokenizers error has no type of its own)
        ids, masks = [], []
        for choice in choices:
            try:
                enc = tokenizer(first, choice, truncation="only_first", max_length=max_length)
            except Exception:
                enc = tokenizer(first, choice, truncation="longest_first", max_length=max_length)
            ids.append(enc["input_ids"])
            masks.append(enc["attention_mask"])
        return ids, masks


@register_format
class MultipleChoice(Format):
    name = "multiple_choice"
    preprocess_version = 1

    def preprocess(self, examples, tokenizer, task, *, max_length: int, stride: int, train: bool):
        from datasets import Dataset, Features, Sequence, Value

        def tokenize(batch, indices):
            out: dict[str, list] = {"input_ids": [], "attention_mask": [], "labels": [], "example_index": []}
            gold = batch["label"] if "label" in batch else [None] * len(indices)
            for question, choices, label, example_index in zip(batch["question"], batch["choices"], gold, indices):
                if not choices:
                    raise UserError(f"example {example_index} has no choices; check the task's canonicalize")
                label = IGNORE_INDEX if label is None or not 0 <= int(label) < len(choices) else int(label)
                ids, masks = _encode_pairs(tokenizer, question or "", [c or "" for c in choices], max_length)
                out["input_ids"].append(ids)
                out["attention_mask"].append(masks)
                out["labels"].append(label)
                out["example_index"].append(example_index)
            return out

        features = Features({
            "input_ids": Sequence(Sequence(Value("int32"))),
            "attention_mask": Sequence(Sequence(Value("int8"))),
            "labels": Value("int64"),
            "example_index": Value("int64"),
        })
        if len(examples) == 0:
            return Dataset.from_dict({k: [] for k in features}, features=features)
        return examples.map(
            tokenize, batched=True, with_indices=True, remove_columns=examples.column_names,
            features=features, desc="tokenize",
        )

    def collate(self, features: list[dict[str, Any]], tokenizer) -> dict[str, torch.Tensor]:
        batch_size = len(features)
        n_choices = max(len(f["input_ids"]) for f in features)
        length = max(len(seq) for f in features for seq in f["input_ids"])
        input_ids = torch.full((batch_size, n_choices, length), tokenizer.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((batch_size, n_choices, length), dtype=torch.long)
        # Padded choices still attend to their first token so the encoder never sees an all-masked row.
        attention_mask[:, :, 0] = 1
        choice_mask = torch.zeros((batch_size, n_choices), dtype=torch.bool)
        for b, f in enumerate(features):
            for c, (ids, mask) in enumerate(zip(f["input_ids"], f["attention_mask"])):
                input_ids[b, c, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
                attention_mask[b, c, : len(mask)] = torch.as_tensor(mask, dtype=torch.long)
                choice_mask[b, c] = True
        batch = {"input_ids": input_ids, "attention_mask": attention_mask, "choice_mask": choice_mask}
        if features[0].get("labels") is not None:
            batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.long)
        return batch

    def build_head(self, hidden_size: int, task) -> nn.Module:
        return ChoiceHead(hidden_size)

    def forward(self, encoder, head, batch):
        batch_size, n_choices, length = batch["input_ids"].shape
        flat = {k: batch[k].reshape(batch_size * n_choices, length) for k in ("input_ids", "attention_mask") if k in batch}
        # the head reads <s> only: the last layer runs at <s> only (formats/first_token.py, same values)
        logits = head(first_token_encode(encoder, flat)).reshape(batch_size, n_choices)
        if "choice_mask" in batch:
            logits = logits.masked_fill(~batch["choice_mask"], torch.finfo(logits.dtype).min)
        out = {"logits": logits}
        if "labels" in batch:
            labels = batch["labels"]
            if bool((labels != IGNORE_INDEX).any()):
                out["loss"] = nn.functional.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX)
            else:
                out["loss"] = (logits.float() * 0.0).sum()
        return out

    def postprocess(self, examples, features, logits, task):
        if isinstance(features, list):
            rows, labels = [f["example_index"] for f in features], [f["labels"] for f in features]
        else:
            rows, labels = list(features["example_index"]), list(features["labels"])
        choices = [e["choices"] for e in examples] if isinstance(examples, list) else examples["choices"]
        counts = [len(choices[i]) for i in rows]
        predictions = [int(np.argmax(np.asarray(row)[:n])) for row, n in zip(logits, counts)]
        return predictions, [int(label) for label in labels], {}
