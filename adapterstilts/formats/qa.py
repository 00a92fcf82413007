"""Extractive question answering (SQuAD, XQuAD, MLQA, TyDiQA-GoldP): a start and an end logit per
token, contexts longer than the window split into overlapping windows.

Features (one row per window):
- always: ``input_ids``, ``attention_mask``, ``example_index`` (row of the example it came from);
- train: ``start_positions`` / ``end_positions``, token indices of the first answer inside this
  window, or 0 (the ``<s>`` token) when the window does not hold the whole answer or the question
  has none;
- eval: ``offset_mapping``, one ``[char_start, char_end]`` pair per token into the example's
  context; tokens outside the context (``<s>``, the question, separators) hold ``[-1, -1]``
  (``NO_OFFSET``) rather than None, so the Arrow column is a plain list of int pairs that survives
  caching and any ``with_format``.

Windows: the question (leading whitespace stripped, cut to ``MAX_QUESTION_TOKENS`` tokens) is
repeated in every window; the context is cut with ``truncation="only_second"`` and consecutive
windows share ``stride`` context tokens (the tokenizer's ``stride``, i.e. the task's doc stride).

Postprocessing keeps, per window, the ``N_BEST`` highest start and end logits over context tokens,
scores every valid pair (end >= start, at most ``MAX_ANSWER_TOKENS`` tokens) as start + end logit
and takes the best span over all windows of the example. The answer is the exact slice of the
original context between the span's character offsets (whitespace at either end trimmed: XLM-R's
"▁" tokens may carry the preceding space in their offsets), so scripts without spaces (Chinese)
or with unusual splits (Arabic, Hindi) come back verbatim. With ``task.no_answer`` the null score
is the minimum over windows of start[0] + end[0]; "" is predicted when null - best span >
``task.null_score_threshold``, and the per-example difference goes to ``extras["na_probs"]``.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch import nn

from adapterstilts.errors import UserError
from adapterstilts.formats.base import Format, encode, pad_sequences, register_format

NO_OFFSET = (-1, -1)  # offset_mapping entry of tokens outside the context
MAX_QUESTION_TOKENS = 64  # as the original BERT SQuAD code's max_query_length
N_BEST = 20
MAX_ANSWER_TOKENS = 30
NO_SPAN_NA_PROB = 1e6  # na_probs value when an example has no valid span at all (empty context)


def _column(rows, name: str) -> list:
    """A column of a ``datasets.Dataset`` or of a list of dicts."""
    if hasattr(rows, "column_names"):
        return rows[name]
    return [row[name] for row in rows]


def question_budget(tokenizer, max_length: int) -> tuple[int, int]:
    """(most question tokens kept, fewest context tokens a window then still has)."""
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    cap = min(MAX_QUESTION_TOKENS, max(1, (max_length - specials) // 2))
    return cap, max_length - specials - cap


def _cut_questions(questions: list[str], tokenizer, cap: int) -> list[str]:
    """Strip leading whitespace and cut each question to at most ``cap`` tokens (at a token's
    character end, so the kept part tokenizes as before)."""
    questions = [q.lstrip() for q in questions]
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for question, ids, offsets in zip(questions, enc["input_ids"], enc["offset_mapping"]):
        keep = cap
        while len(ids) > cap and keep > 0:  # re-tokenizing a prefix rarely adds a token: re-check
            question = question[: offsets[keep - 1][1]]
            ids = tokenizer(question, add_special_tokens=False)["input_ids"]
            keep -= 1
        out.append(question)
    return out


def answer_token_span(offsets, sequence_ids, start_char: int, end_char: int) -> tuple[int, int]:
    """Token indices (start, end) of the characters [start_char, end_char) of the context inside
    one window, or (0, 0) when the window does not hold all of them."""
    context = [i for i, s in enumerate(sequence_ids) if s == 1]
    if not context or end_char <= start_char:
        return 0, 0
    first, last = context[0], context[-1]
    if offsets[first][0] > start_char or offsets[last][1] < end_char:
        return 0, 0
    start = next(i for i in context if offsets[i][1] > start_char)
    end = max((i for i in context if offsets[i][0] < end_char), default=start)
    return (start, end) if end >= start else (0, 0)


@register_format
class ExtractiveQA(Format):
    name = "qa"
    preprocess_version = 1
    label_keys = ("start_positions", "end_positions")

    # ----------------------------------------------------------------------------- preprocess
    def preprocess(self, examples, tokenizer, task, *, max_length: int, stride: int, train: bool):
        if not getattr(tokenizer, "is_fast", False):
            raise UserError("extractive QA needs a fast tokenizer (character offsets); load it with use_fast=True")
        cap, room = question_budget(tokenizer, max_length)
        if not 0 <= stride < room:
            raise UserError(
                f"QA doc stride {stride} must be at least 0 and smaller than {room} (max length {max_length} "
                f"minus up to {cap} question tokens and the special tokens); lower the stride or raise the max length"
            )

        def tokenize(batch, indices):
            questions = _cut_questions(batch["question"], tokenizer, cap)
            enc = tokenizer(
                questions, batch["context"], truncation="only_second", max_length=max_length, stride=stride,
                return_overflowing_tokens=True, return_offsets_mapping=True, padding=False,
            )
            out: dict[str, list] = {"input_ids": [], "attention_mask": [], "example_index": []}
            if train:
                out["start_positions"], out["end_positions"] = [], []
            else:
                out["offset_mapping"] = []
            for i, row in enumerate(enc["overflow_to_sample_mapping"]):
                offsets, seq_ids = enc["offset_mapping"][i], enc.sequence_ids(i)
                out["input_ids"].append(enc["input_ids"][i])
                out["attention_mask"].append(enc["attention_mask"][i])
                out["example_index"].append(indices[row])
                if train:
                    answers = batch["answers"][row]
                    start, end = 0, 0
                    if answers and answers["text"]:
                        start_char = int(answers["answer_start"][0])
                        end_char = start_char + len(answers["text"][0])
                        start, end = answer_token_span(offsets, seq_ids, start_char, end_char)
                    out["start_positions"].append(start)
                    out["end_positions"].append(end)
                else:
                    out["offset_mapping"].append(
                        [list(o) if s == 1 else list(NO_OFFSET) for o, s in zip(offsets, seq_ids)]
                    )
            return out

        return examples.map(
            tokenize, batched=True, with_indices=True, remove_columns=examples.column_names, desc="tokenize"
        )

    # ----------------------------------------------------------------------------- batching
    def collate(self, features: list[dict[str, Any]], tokenizer) -> dict[str, torch.Tensor]:
        batch = {
            "input_ids": pad_sequences([f["input_ids"] for f in features], tokenizer.pad_token_id),
            "attention_mask": pad_sequences([f["attention_mask"] for f in features], 0),
        }
        for key in self.label_keys:
            if features[0].get(key) is not None:
                batch[key] = torch.tensor([f[key] for f in features], dtype=torch.long)
        return batch

    # ----------------------------------------------------------------------------- model
    def build_head(self, hidden_size: int, task) -> nn.Module:
        return nn.Linear(hidden_size, 2)

    def forward(self, encoder, head, batch):
        logits = head(encode(encoder, batch))  # (B, L, 2): start, end
        out = {"logits": logits}
        if "start_positions" in batch and "end_positions" in batch:
            start_loss = nn.functional.cross_entropy(logits[..., 0].float(), batch["start_positions"])
            end_loss = nn.functional.cross_entropy(logits[..., 1].float(), batch["end_positions"])
            out["loss"] = (start_loss + end_loss) / 2
        return out

    # ----------------------------------------------------------------------------- postprocess
    def postprocess(self, examples, features, logits, task):
        contexts = _column(examples, "context")
        answers = _column(examples, "answers")
        example_index = _column(features, "example_index")
        offset_mapping = _column(features, "offset_mapping")
        if len(logits) != len(example_index):
            raise ValueError(f"got logits for {len(logits)} features, expected {len(example_index)}")
        by_example: dict[int, list[int]] = defaultdict(list)
        for feature, row in enumerate(example_index):
            by_example[int(row)].append(feature)

        no_answer = bool(getattr(task, "no_answer", False))
        threshold = float(getattr(task, "null_score_threshold", 0.0))
        predictions: list[str] = []
        na_probs: list[float] = []
        for row, context in enumerate(contexts):
            best_score, best_text, null_score = -np.inf, "", np.inf
            for feature in by_example.get(row, []):
                offsets = np.asarray(offset_mapping[feature], dtype=np.int64).reshape(-1, 2)
                scores = np.asarray(logits[feature], dtype=np.float64)[: len(offsets)]
                null_score = min(null_score, float(scores[0, 0] + scores[0, 1]))
                span = _best_span(scores, offsets)
                if span is not None and span[0] > best_score:
                    best_score = span[0]
                    best_text = context[offsets[span[1], 0] : offsets[span[2], 1]].strip()
            if no_answer:
                if np.isfinite(best_score):
                    diff = null_score - best_score
                else:
                    diff = NO_SPAN_NA_PROB
                na_probs.append(float(diff))
                predictions.append("" if diff > threshold else best_text)
            else:
                predictions.append(best_text)
        references = [list(a["text"]) if a else [] for a in answers]
        extras = {"na_probs": na_probs} if no_answer else {}
        return predictions, references, extras


def _best_span(scores: np.ndarray, offsets: np.ndarray) -> tuple[float, int, int] | None:
    """(score, start token, end token) of the best valid span in one window, or None."""
    in_context = offsets[:, 0] >= 0
    if not in_context.any():
        return None
    start_logits = np.where(in_context, scores[:, 0], -np.inf)
    end_logits = np.where(in_context, scores[:, 1], -np.inf)
    k = min(N_BEST, int(in_context.sum()))
    starts = np.argsort(-start_logits, kind="stable")[:k]
    ends = np.argsort(-end_logits, kind="stable")[:k]
    pair = start_logits[starts][:, None] + end_logits[ends][None, :]
    length = ends[None, :] - starts[:, None] + 1
    pair = np.where((length >= 1) & (length <= MAX_ANSWER_TOKENS), pair, -np.inf)
    i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
    if not np.isfinite(pair[i, j]):
        return None
    return float(pair[i, j]), int(starts[i]), int(ends[j])
