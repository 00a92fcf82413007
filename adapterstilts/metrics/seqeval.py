"""Chunk-based micro precision / recall / F1 for PAN-X (NER) and UD-POS, as XTREME computes them.

XTREME (``third_party/run_tag.py`` and the leaderboard ``evaluate.py``) and jiant (whose
``requirements`` pin ``seqeval==0.0.12``) score both tasks with ``seqeval.metrics`` at default
settings (prefix mode, no scheme). This module reimplements that version's definition:

- label -> (tag, type): the tag is the label's FIRST CHARACTER and the type is the text after the
  LAST "-" (the whole label when it has none): "B-PER" -> ("B", "PER"), "I-ARGM-LOC" -> ("I", "LOC"),
  "O" -> ("O", "O"), and a POS label "NOUN" -> ("N", "NOUN"), "SCONJ" -> ("S", "SCONJ"),
  "INTJ" -> ("I", "INTJ"). (seqeval changed the type to the text after the first "-", with "_" for
  none, in July 2020 (chakki-works/seqeval#38), after XTREME's results; for UD labels, which hold
  no "-", both rules give the same chunks.)
- the sentences are concatenated with an "O" after each one (chunks never cross a sentence) and a
  final "O"; scanning left to right with (prev_tag, prev_type) starting at ("O", ""):
  a chunk ENDS before the current label when prev_tag is E or S; or prev_tag is B or I and the tag
  is B, S or O; or prev_tag is neither "O" nor "." and the type changes.
  a chunk STARTS at the current label when the tag is B or S; or the tag is E or I and prev_tag is
  E, S or O; or the tag is neither "O" nor "." and the type changes.
  An ending chunk is recorded as (prev_type, start, previous position).
- so an I- after O opens a chunk, an I- of another type closes the open chunk and opens one, and
  a run of equal POS labels ("NOUN NOUN") is ONE chunk, while S-initial ones ("SCONJ", "SYM") are
  single-token chunks each;
- precision = |pred ∩ gold| / |pred|, recall = |pred ∩ gold| / |gold| over the sets of
  (type, start, end) chunks, each 0 when its denominator is 0; F1 = 2PR/(P+R), 0 when P+R = 0;
  reported in percent as XTREME's ``evaluate.py`` does.

Unlike seqeval, which concatenates predictions and references independently, every predicted
sentence must be as long as its reference (else positions would silently shift): a UserError.
"""
from __future__ import annotations

from typing import Sequence

from adapterstilts.errors import UserError
from adapterstilts.metrics.base import register_metric
from adapterstilts.metrics.classification import check_sequence_pairs

Chunk = tuple[str, int, int]  # (type, first position, last position) in the concatenated labels

_OUTSIDE = ("O", ".")


def split_label(label: str) -> tuple[str, str]:
    """(tag, type) as seqeval 0.0.12 reads a label in prefix mode."""
    return label[0], label.split("-")[-1]


def _chunk_ends(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag not in _OUTSIDE and prev_type != type_


def _chunk_starts(prev_tag: str, tag: str, prev_type: str, type_: str) -> bool:
    if tag in ("B", "S"):
        return True
    if tag in ("E", "I") and prev_tag in ("E", "S", "O"):
        return True
    return tag not in _OUTSIDE and prev_type != type_


def extract_chunks(sentences: Sequence[Sequence[str]]) -> list[Chunk]:
    """All chunks of a list of label sequences, positions counted in the concatenation where each
    sentence is followed by one "O" (sentence k starts at sum of (len + 1) of the ones before)."""
    labels: list[str] = []
    for sentence in sentences:
        labels.extend(sentence)
        labels.append("O")
    labels.append("O")
    chunks: list[Chunk] = []
    prev_tag, prev_type, start = "O", "", 0
    for position, label in enumerate(labels):
        tag, type_ = split_label(label)
        if _chunk_ends(prev_tag, tag, prev_type, type_):
            chunks.append((prev_type, start, position - 1))
        if _chunk_starts(prev_tag, tag, prev_type, type_):
            start = position
        prev_tag, prev_type = tag, type_
    return chunks


def _check_labels(sequences, side: str) -> None:
    for index, sequence in enumerate(sequences):
        for label in sequence:
            if not isinstance(label, str) or not label:
                raise UserError(
                    f"metric 'seqeval_f1': {side} sequence {index} holds {label!r}; labels must be "
                    "non-empty strings such as 'B-PER' or 'NOUN'"
                )


@register_metric("seqeval_f1", primary="f1")
def seqeval_f1(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """predictions / references: list[list[str]] label strings -> chunk micro f1, precision, recall."""
    check_sequence_pairs(predictions, references, "seqeval_f1")
    _check_labels(predictions, "predicted")
    _check_labels(references, "reference")
    gold = set(extract_chunks(references))
    predicted = set(extract_chunks(predictions))
    correct = len(gold & predicted)
    precision = correct / len(predicted) if predicted else 0
    recall = correct / len(gold) if gold else 0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0
    return {"f1": f1 * 100, "precision": precision * 100, "recall": recall * 100}
