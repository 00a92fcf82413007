"""XGLUE's own scores, as its official ``evaluation/xglue_evaluate.py`` (microsoft/XGLUE) computes them.

POS (``xglue_pos``). The XGLUE paper and leaderboard call the POS score "accuracy", but the scorer
computes ``seqeval.metrics.precision_score(labels, preds)`` over the tag sequences: the share of
*predicted chunks* that are gold chunks, with seqeval's chunking applied to UPOS labels (see
``metrics/seqeval.py``: the tag is a label's first character, so a run of equal labels such as
"NOUN NOUN" is one chunk while S-initial labels (SCONJ, SYM) are one chunk per word). That number is
reported as ``accuracy`` (it is what XGLUE publishes under that name and what its average uses);
``token_accuracy`` is the plain share of correctly tagged words, for reference. The chunk rule is
seqeval 0.0.12's (the version current when the scorer was written, May 2020; the scorer pins none),
checked equal to seqeval 0.0.12's ``precision_score`` on random UPOS sequences. seqeval >= 1.0 reads a
label's type as the text after its first character: CCONJ and SCONJ become one type ("CONJ"), so
confusing them counts as correct, and X gets the type "_" of the "O" padding, so an X that ends a
sentence is never a chunk; on sequences without CCONJ/SCONJ pairs or X the two versions agree.

WPR (``xglue_ndcg``). ``simple_ndcg``: rows are grouped into queries by runs of consecutive rows
with the same query (the scorer starts a new group whenever the query string differs from the row
before); each query with at least two rows is scored with ``sklearn.metrics.ndcg_score`` of
(gold relevance, predicted relevance) at its defaults, and the queries' scores are averaged (every
query weighs the same). sklearn's definition, reimplemented here: gain = the gold relevance itself
(linear, not 2^rel - 1), discount 1 / log2(rank + 1) over the whole list (no cut-off), pages with
equal predicted scores share the average gain of their tie group over the ranks they occupy
(``ignore_ties=False``), normalised by the DCG of the gold order; a query whose gold relevances are
all 0 scores 0. Reported in percent (the official script prints fractions).

The classification format passes the query of each row as ``groups`` when the task gives a ``group``
column (xglue_wpr does). Without ``groups`` all rows are one query; ``queries`` says how many query
lists were scored, so such a number is recognisable.
"""
from __future__ import annotations

import math
from typing import Hashable, Sequence

from adapterstilts.errors import UserError
from adapterstilts.metrics.base import register_metric
from adapterstilts.metrics.classification import check_inputs, check_sequence_pairs
from adapterstilts.metrics.seqeval import _check_labels, extract_chunks


def seqeval_precision(predictions: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> float:
    """seqeval's micro precision (a fraction): |predicted chunks that are gold| / |predicted chunks|,
    0 when nothing is predicted."""
    predicted = set(extract_chunks(predictions))
    gold = set(extract_chunks(references))
    return len(predicted & gold) / len(predicted) if predicted else 0.0


@register_metric("xglue_pos", primary="accuracy")
def xglue_pos(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """predictions / references: list[list[str]] UPOS labels -> XGLUE's POS score (``accuracy``, the
    scorer's seqeval precision) and ``token_accuracy``, in percent."""
    check_sequence_pairs(predictions, references, "xglue_pos")
    _check_labels(predictions, "predicted")
    _check_labels(references, "reference")
    total = sum(len(r) for r in references)
    if total == 0:
        raise UserError("metric 'xglue_pos': every sequence is empty, no words to score")
    correct = sum(int(p == r) for pred, ref in zip(predictions, references) for p, r in zip(pred, ref))
    return {"accuracy": 100.0 * seqeval_precision(predictions, references), "token_accuracy": 100.0 * correct / total}


# ----------------------------------------------------------------------------------------- nDCG
def _discounts(n: int) -> list[float]:
    return [1.0 / math.log2(rank + 2) for rank in range(n)]  # rank 0 -> 1 / log2(2)


def dcg(gold: Sequence[float], scores: Sequence[float]) -> float:
    """sklearn's ``_dcg_sample_scores`` for one list with ``ignore_ties=False``: pages are ranked by
    decreasing score; a tie group of size m occupying ranks r..r+m-1 contributes
    mean(gold of the group) * sum(discounts of r..r+m-1)."""
    discounts = _discounts(len(gold))
    groups: dict[float, list[float]] = {}
    for g, s in zip(gold, scores):
        groups.setdefault(float(s), []).append(float(g))
    total, rank = 0.0, 0
    for score in sorted(groups, reverse=True):
        members = groups[score]
        total += sum(members) / len(members) * sum(discounts[rank:rank + len(members)])
        rank += len(members)
    return total


def ndcg(gold: Sequence[float], scores: Sequence[float]) -> float:
    """``sklearn.metrics.ndcg_score([gold], [scores])`` (k=None, ignore_ties=False) as a fraction."""
    if len(gold) != len(scores):
        raise UserError(f"nDCG: {len(scores)} scores for {len(gold)} gold relevances")
    if any(float(g) < 0 for g in gold):
        raise UserError("nDCG: gold relevances must be non-negative (XGLUE WPR uses 0..4)")
    ideal = sorted((float(g) for g in gold), reverse=True)
    best = sum(g * d for g, d in zip(ideal, _discounts(len(ideal))))
    return 0.0 if best == 0 else dcg(gold, scores) / best


def query_runs(groups: Sequence[Hashable]) -> list[list[int]]:
    """Row indices per query, a new query whenever the group differs from the row before (XGLUE's
    ``load_data`` for WPR); a query that reappears later is a new query, as there."""
    runs: list[list[int]] = []
    previous: object = object()
    for index, group in enumerate(groups):
        if not runs or group != previous:
            runs.append([])
        runs[-1].append(index)
        previous = group
    return runs


def _relevance(value, side: str, index: int) -> float:
    if value is None or isinstance(value, (str, bytes)) or isinstance(value, bool):
        raise UserError(f"metric 'xglue_ndcg': {side}[{index}] is {value!r}, expected a relevance number (0..4)")
    return float(value)


@register_metric("xglue_ndcg", primary="ndcg")
def xglue_ndcg(predictions, references, *, language=None, groups=None, **extras) -> dict[str, float]:
    """predictions: predicted relevance per row (a label 0..4, or any score); references: gold
    relevance per row; ``groups``: the query (string or id) of each row, rows of a query adjacent.
    -> mean nDCG over queries with at least two rows, in percent, and the number of those queries."""
    check_inputs(predictions, references, "xglue_ndcg")
    scores = [_relevance(p, "predictions", i) for i, p in enumerate(predictions)]
    gold = [_relevance(r, "references", i) for i, r in enumerate(references)]
    if groups is None:
        runs = [list(range(len(gold)))]
    else:
        if isinstance(groups, (str, bytes)) or len(groups) != len(gold):
            raise UserError(f"metric 'xglue_ndcg': give one query group per row ({len(gold)} rows)")
        runs = query_runs(list(groups))
    scored = [ndcg([gold[i] for i in run], [scores[i] for i in run]) for run in runs if len(run) >= 2]
    if not scored:
        raise UserError("metric 'xglue_ndcg': no query has two or more pages; nDCG ranks the pages of a query")
    return {"ndcg": 100.0 * sum(scored) / len(scored), "queries": float(len(scored))}
