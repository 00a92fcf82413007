"""Token tagging (UD POS, PAN-X NER, CCG supertags): one label per *word*.

Label alignment (as XTREME's tagging code does it, ``third_party/utils_tag.py``
``convert_examples_to_features``: the label id on a word's first sub-word, the padding label on the
rest): a word's label sits on its first sub-word; its other sub-words and the special tokens get
-100 and are never scored. A word that tokenises to nothing (stray control or zero-width
characters, or an empty string) is given one ``<unk>`` token, so every gold word gets exactly one
prediction and predictions stay aligned with the gold tags.

Which sub-word carries the label is the format's ``label_piece`` setting
(``TokenTagging(label_piece=...)``):

- ``"first"`` (default, the reference): the first sub-word, whatever it is. With XLM-R a word that
  starts with a character SentencePiece does not glue to "▁" (most Chinese and Japanese
  characters, some Arabic words) tokenises to a bare "▁" piece and then the character(s), so the
  label sits on that "▁", which is the same token for every such word. Kept as the default so
  scores stay comparable with XTREME's.
- ``"first_non_space"``: the first sub-word that is not a bare "▁" (the first one when all are),
  so the label sits on a piece that carries the word's own text.

The setting changes the features, so it is part of ``preprocess_version`` (and so of the feature
cache key); training and evaluation must use the same setting.

Long sentences are never truncated. They are cut into windows of whole words, each at most
``max_length`` tokens including the special tokens. Consecutive windows share at most ``stride``
sub-word tokens (the ``stride`` convention used for QA: overlap, not step; 0 = no overlap). Each
word is scored by exactly one window. Where two windows overlap, the earlier window scores the
first half of the shared words and the later window scores the second half (the later window takes
the middle word when the count is odd). That way every scored word keeps context on both sides.
A single word longer than a whole window keeps only its first sub-words (its label on the one
``label_piece`` picks among them). Training and evaluation use the same windows (``train`` does not change the output).

Feature columns: ``input_ids``, ``attention_mask``, ``labels`` (when the examples have ``tags``;
gold ids on the label-carrying sub-words of the words this window scores, -100 everywhere else, so in
training each gold word is counted once too), ``example_index``, ``scored_words`` (word indices
this window scores, in order) and ``label_positions`` (the token position of the sub-word that
carries each of those words' label).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from adapterstilts.errors import UserError
from adapterstilts.formats.base import Format, encode, pad_sequences, register_format

IGNORE_INDEX = -100
LABEL_PIECES = ("first", "first_non_space")
DEFAULT_LABEL_PIECE = "first"  # XTREME's rule (utils_tag.py)
BARE_SPACE = "▁"  # SentencePiece's word-start marker as a piece of its own


class TaggingHead(nn.Module):
    def __init__(self, hidden_size: int, num_labels: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(hidden_size, num_labels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(hidden))


def special_frame(tokenizer) -> tuple[list[int], list[int]]:
    """The special tokens the tokenizer puts before and after a single sequence (``<s>`` and
    ``</s>`` for XLM-R), read off a real encoding so that it follows the tokenizer's own
    post-processor."""
    enc = tokenizer(["a"], is_split_into_words=True, add_special_tokens=True)
    ids, word_ids = enc["input_ids"], enc.word_ids()
    content = [i for i, w in enumerate(word_ids) if w is not None]
    return list(ids[: content[0]]), list(ids[content[-1] + 1 :])


def word_pieces(tokenizer, batch_tokens: list[list[str]]) -> list[list[list[int]]]:
    """Sub-word ids of every word of every sentence, from one ``is_split_into_words`` call.
    Words that produce no token get ``[unk]``."""
    if not tokenizer.is_fast:
        raise UserError("token tagging needs a fast tokenizer (word_ids); load the model's tokenizer.json")
    # An empty sentence cannot be encoded as split words; it simply has no pieces.
    present = [i for i, words in enumerate(batch_tokens) if len(words)]
    pieces: list[list[list[int]]] = [[] for _ in batch_tokens]
    if not present:
        return pieces
    enc = tokenizer([list(batch_tokens[i]) for i in present], is_split_into_words=True, add_special_tokens=False)
    for row, i in enumerate(present):
        per_word: list[list[int]] = [[] for _ in batch_tokens[i]]
        for token_id, word in zip(enc["input_ids"][row], enc.word_ids(row)):
            if word is not None:
                per_word[word].append(token_id)
        pieces[i] = [p if p else [tokenizer.unk_token_id] for p in per_word]
    return pieces


def plan_windows(lengths: list[int], budget: int, stride: int) -> list[tuple[int, int, int, int]]:
    """Cut words with the given token ``lengths`` into windows of whole words.

    Returns ``(start, end, score_start, score_end)`` word ranges per window. Windows hold at most
    ``budget`` tokens (each length must be <= budget), consecutive windows share at most ``stride``
    tokens, and the scored ranges partition ``range(len(lengths))``, with the boundary in the middle
    of each overlap."""
    n = len(lengths)
    if n == 0:
        return [(0, 0, 0, 0)]
    spans: list[tuple[int, int]] = []
    start = 0
    while True:
        end, used = start, 0
        while end < n and used + lengths[end] <= budget:
            used += lengths[end]
            end += 1
        end = max(end, start + 1)
        spans.append((start, end))
        if end >= n:
            break
        # Next start: the earliest word after ``start`` such that the overlap [next, end) holds at
        # most ``stride`` tokens and the next window can still reach past ``end`` (progress).
        nxt = start + 1
        while nxt < end and (sum(lengths[nxt:end]) > stride or sum(lengths[nxt : end + 1]) > budget):
            nxt += 1
        start = nxt
    bounds = [0] + [(spans[k + 1][0] + spans[k][1]) // 2 for k in range(len(spans) - 1)] + [n]
    return [(s, e, bounds[k], bounds[k + 1]) for k, (s, e) in enumerate(spans)]


def _has_column(rows, key: str) -> bool:
    if isinstance(rows, list):
        return bool(rows) and key in rows[0]
    return key in rows.column_names if hasattr(rows, "column_names") else key in rows


def _column(rows, key: str) -> list:
    """A column of a ``datasets.Dataset`` (or dict of lists), or a key of a list of dicts."""
    if isinstance(rows, list):
        return [r[key] for r in rows]
    return list(rows[key])


def label_offset(piece_ids: list[int], bare_space_id: int | None, label_piece: str) -> int:
    """Index, within a word's pieces, of the piece that carries the word's label."""
    if label_piece == "first_non_space" and bare_space_id is not None:
        for i, piece in enumerate(piece_ids):
            if piece != bare_space_id:
                return i
    return 0


def bare_space_id(tokenizer) -> int | None:
    """Id of the bare "▁" piece in the tokenizer's vocabulary, None when it has none."""
    found = tokenizer.convert_tokens_to_ids(BARE_SPACE)
    return None if found is None or found == tokenizer.unk_token_id else int(found)


@register_format
class TokenTagging(Format):
    name = "tagging"
    preprocess_version = 1

    def __init__(self, label_piece: str = DEFAULT_LABEL_PIECE):
        if label_piece not in LABEL_PIECES:
            raise UserError(f"unknown tagging label piece {label_piece!r}; use one of {', '.join(LABEL_PIECES)}")
        self.label_piece = label_piece
        if label_piece != DEFAULT_LABEL_PIECE:  # other features: another feature-cache entry
            self.preprocess_version = f"{type(self).preprocess_version}+{label_piece}"

    def preprocess(self, examples, tokenizer, task, *, max_length: int, stride: int, train: bool):
        from datasets import Dataset, Features, Sequence, Value

        prefix, suffix = special_frame(tokenizer)
        space_id = bare_space_id(tokenizer)
        budget = max_length - len(prefix) - len(suffix)
        if budget < 1:
            raise UserError(f"max_length {max_length} leaves no room for words; use a larger max_length")
        stride = max(0, int(stride))
        has_tags = _has_column(examples, "tags")

        def windows(batch, indices):
            out: dict[str, list] = {k: [] for k in self._columns(has_tags)}
            all_pieces = word_pieces(tokenizer, batch["tokens"])
            for row, (pieces, example_index) in enumerate(zip(all_pieces, indices)):
                pieces = [p[:budget] for p in pieces]
                tags = batch["tags"][row] if has_tags else None
                if tags is not None and len(tags) != len(pieces):
                    raise UserError(
                        f"example {example_index} has {len(pieces)} tokens but {len(tags)} tags; "
                        "check the task's canonicalize"
                    )
                for start, end, score_start, score_end in plan_windows([len(p) for p in pieces], budget, stride):
                    ids, labels, positions = list(prefix), [IGNORE_INDEX] * len(prefix), []
                    for word in range(start, end):
                        word_labels = [IGNORE_INDEX] * len(pieces[word])
                        if score_start <= word < score_end:
                            at = label_offset(pieces[word], space_id, self.label_piece)
                            positions.append(len(ids) + at)
                            word_labels[at] = int(tags[word]) if tags is not None else IGNORE_INDEX
                        labels.extend(word_labels)
                        ids.extend(pieces[word])
                    ids.extend(suffix)
                    labels.extend([IGNORE_INDEX] * len(suffix))
                    out["input_ids"].append(ids)
                    out["attention_mask"].append([1] * len(ids))
                    out["example_index"].append(example_index)
                    out["scored_words"].append(list(range(score_start, score_end)))
                    out["label_positions"].append(positions)
                    if has_tags:
                        out["labels"].append(labels)
            return out

        schema = {
            "input_ids": Sequence(Value("int32")),
            "attention_mask": Sequence(Value("int8")),
            "labels": Sequence(Value("int64")),
            "example_index": Value("int64"),
            "scored_words": Sequence(Value("int64")),
            "label_positions": Sequence(Value("int64")),
        }
        features = Features({k: schema[k] for k in self._columns(has_tags)})
        if len(examples) == 0:
            return Dataset.from_dict({k: [] for k in features}, features=features)
        return examples.map(
            windows, batched=True, with_indices=True, remove_columns=examples.column_names,
            features=features, desc="tokenize",
        )

    @staticmethod
    def _columns(has_tags: bool) -> list[str]:
        cols = ["input_ids", "attention_mask", "example_index", "scored_words", "label_positions"]
        return cols + (["labels"] if has_tags else [])

    def collate(self, features: list[dict[str, Any]], tokenizer) -> dict[str, torch.Tensor]:
        batch = {
            "input_ids": pad_sequences([f["input_ids"] for f in features], tokenizer.pad_token_id),
            "attention_mask": pad_sequences([f["attention_mask"] for f in features], 0),
        }
        if features[0].get("labels") is not None:
            batch["labels"] = pad_sequences([f["labels"] for f in features], IGNORE_INDEX)
        return batch

    def build_head(self, hidden_size: int, task) -> nn.Module:
        if task.num_labels < 1:
            raise UserError(f"task {task.name!r} declares no labels; a tagging task needs its label names")
        return TaggingHead(hidden_size, task.num_labels)

    def forward(self, encoder, head, batch):
        logits = head(encode(encoder, batch))
        out = {"logits": logits}
        if "labels" in batch:
            labels = batch["labels"]
            flat = logits.float().reshape(-1, logits.shape[-1])
            if bool((labels != IGNORE_INDEX).any()):
                out["loss"] = nn.functional.cross_entropy(flat, labels.reshape(-1), ignore_index=IGNORE_INDEX)
            else:  # a batch of windows that score nothing: zero loss, still attached to the graph
                out["loss"] = (flat * 0.0).sum()
        return out

    def postprocess(self, examples, features, logits, task):
        tokens = _column(examples, "tokens")
        has_tags = _has_column(examples, "tags")
        predicted: list[list[str | None]] = [[None] * len(words) for words in tokens]
        rows = zip(
            _column(features, "example_index"), _column(features, "scored_words"),
            _column(features, "label_positions"), logits,
        )
        for example_index, words, positions, row_logits in rows:
            best = np.asarray(row_logits).argmax(-1)
            for word, position in zip(words, positions):
                if predicted[example_index][word] is not None:
                    raise RuntimeError(f"word {word} of example {example_index} is scored by two windows")
                predicted[example_index][word] = task.labels[int(best[position])]
        for example_index, words in enumerate(predicted):
            missing = [w for w, p in enumerate(words) if p is None]
            if missing:
                raise RuntimeError(f"example {example_index}: words {missing[:5]} have no prediction")
        references = [[task.labels[int(t)] for t in tags] for tags in _column(examples, "tags")] if has_tags else []
        return predicted, references, {}
