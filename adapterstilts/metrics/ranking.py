"""Ranking metrics for trained retrieval (XTREME-R's Mewsli-X and LAReQA): mean average precision at k.

Implemented from the official definitions in google-research/xtreme:

- ``third_party/utils_lareqa.py`` ``average_precision_at_k(targets, ranked_predictions, k)``: walk the
  top-k ranked predictions; at each position i (1-based) holding a relevant item not seen earlier in the
  list, ``hits += 1`` and ``score += hits / i``; AP@k = score / min(len(targets), k). LAReQA's
  ``mean_avg_prec_at_k`` averages AP@20 over *all* questions (every question has 11 relevant answers,
  one per language, in a pool of every language's candidate sentences).
- ``third_party/utils_mewslix.py`` ``evaluate(gold, predictions, k=20)`` (``evaluate.py`` reports it as
  ``map@20``): mean reciprocal rank of the single gold entity among the top-20 predictions, 0 when it is
  not there, and 0 for an example with no predictions. With one relevant item AP@k equals the
  reciprocal rank, so one function serves both (asserted in tests/test_xtreme_r.py).

Scores are in percent, as ``evaluate.py`` prints them (``mrr * 100``). An example whose gold list is
empty has no relevant item; the official LAReQA formula would divide by zero there, so it is an error
here (LAReQA skips such questions when it builds the question set)."""
from __future__ import annotations

from typing import Hashable, Sequence

from adapterstilts.errors import UserError
from adapterstilts.metrics.base import register_metric

TOP_K = 20  # utils_mewslix.TOP_K; LAReQA's evaluate_retrieval.py calls mean_avg_prec_at_k(k=20)


def average_precision_at_k(targets: Sequence[Hashable], ranked: Sequence[Hashable], k: int | None = TOP_K) -> float:
    """AP@k in [0, 1] of one ranked list against its relevant items (utils_lareqa semantics: a
    repeated prediction counts once, the divisor is min(#relevant, k); ``k=None`` uses the whole list)."""
    relevant = set(targets)
    if not relevant:
        raise UserError("average precision needs at least one relevant item per query; drop queries without gold")
    ranked = list(ranked[:k]) if k else list(ranked)
    score, hits, seen = 0.0, 0, set()
    for i, item in enumerate(ranked):
        if item in relevant and item not in seen:
            hits += 1
            score += hits / (i + 1.0)
        seen.add(item)
    return score / (min(len(relevant), k) if k else len(relevant))


def mean_average_precision_at_k(predictions: Sequence[Sequence[Hashable]], references: Sequence[Sequence[Hashable]],
                                k: int = TOP_K) -> float:
    """Mean AP@k over queries, in percent. ``predictions[i]``: ranked candidate ids of query i;
    ``references[i]``: its relevant candidate ids. 0.0 for no queries (as utils_mewslix)."""
    if len(predictions) != len(references):
        raise UserError(f"{len(predictions)} ranked lists for {len(references)} queries")
    if not references:
        return 0.0
    return 100.0 * sum(average_precision_at_k(r, p, k) for p, r in zip(predictions, references)) / len(references)


@register_metric("map_at_20", primary="map@20")
def map_at_20_metric(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """``{"map@20": ...}`` (the key XTREME-R's ``evaluate.py`` uses), plus the number of queries."""
    return {"map@20": mean_average_precision_at_k(predictions, references, TOP_K), "num_queries": len(references)}
