"""SQuAD-style answer scoring.

``squad`` follows the official SQuAD v1.1 evaluation script, which XTREME runs unchanged for XQuAD
and TyDiQA-GoldP (its ``third_party/evaluate_squad.py`` is that script):

- normalisation, in this order: lowercase; drop every character of Python's ``string.punctuation``
  (ASCII only: "。", "«", "،" stay); replace the words a / an / the (regex ``\\b(a|an|the)\\b``) by a
  space; collapse whitespace (``str.split`` then join with one space);
- exact match: normalised strings equal; F1: bag-of-tokens overlap of the normalised strings split
  on whitespace, so a Chinese answer without spaces is a single token; F1 is 0 when nothing
  overlaps (also when both sides normalise to "", whose exact match is nevertheless 1);
- per question the maximum over its gold answers; corpus scores are means, times 100;
- a question without a prediction (``None`` in ``predictions``) scores 0 for both exact match and F1
  and still counts in the denominator ("Unanswered question ... will receive score 0" in the official
  v1.1 script, and in MLQA's); an empty string is a prediction like any other.

``squad_v2`` follows the official SQuAD v2.0 script: gold answers that normalise to "" are dropped
and an unanswerable question's only gold answer is ""; F1 is 1 when prediction and gold are both
empty and 0 when only one is; HasAns/NoAns splits are reported when the split is non-empty (as the
script does, which omits an empty split's keys); with ``na_probs`` the best exact/F1 over
no-answer thresholds (``best_*``, ``best_*_thresh``) are searched exactly as the script's
``find_best_thresh``, including its handling of ties in ``na_probs`` (ties walk in the order of
the questions given: pass them in the order of the na_prob file's keys, as the script sorts that
dict). With ``na_probs`` and no ``na_prob_thresh`` the script's default ``--na-prob-thresh 1.0``
applies (it matters for unbounded no-answer scores such as logit differences: a question whose
score exceeds 1.0 counts as answered "no answer"). The v2.0 script skips a question without a
prediction and then fails on the HasAns/NoAns split, so a missing (``None``) prediction is a
UserError here.
"""
from __future__ import annotations

import re
import string
from collections import Counter
from typing import Sequence

from adapterstilts.errors import UserError
from adapterstilts.metrics.base import register_metric
from adapterstilts.metrics.classification import check_inputs

ASCII_PUNCTUATION = frozenset(string.punctuation)
DEFAULT_NA_PROB_THRESH = 1.0  # evaluate-v2.0.py ``--na-prob-thresh`` default
_ENGLISH_ARTICLES = re.compile(r"\b(?:a|an|the)\b")


def normalize_squad(text: str) -> str:
    """The official SQuAD (v1.1 and v2.0) answer normalisation."""
    lowered = text.lower()
    no_punctuation = "".join(ch for ch in lowered if ch not in ASCII_PUNCTUATION)
    no_articles = _ENGLISH_ARTICLES.sub(" ", no_punctuation)
    return " ".join(no_articles.split())


def overlap_f1(prediction_tokens: Sequence[str], gold_tokens: Sequence[str]) -> float:
    """Token-overlap F1 (a multiset intersection) as a fraction; 0 when no token is shared.
    Same arithmetic (precision, recall, then their harmonic mean) as the official scripts."""
    shared = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if shared == 0:
        return 0.0
    precision = 1.0 * shared / len(prediction_tokens)
    recall = 1.0 * shared / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def check_answers(predictions, references, metric: str, *, allow_unanswerable: bool) -> None:
    check_inputs(predictions, references, metric)
    for index, (pred, golds) in enumerate(zip(predictions, references)):
        if pred is None and not allow_unanswerable:
            pass  # unanswered: scores 0 (v1.1 / MLQA)
        elif not isinstance(pred, str):
            raise UserError(f"metric {metric!r}: prediction {index} is {type(pred).__name__}, expected a string")
        if isinstance(golds, str):
            raise UserError(
                f"metric {metric!r}: reference {index} is a string; pass the list of all gold answer texts"
            )
        if not allow_unanswerable and len(golds) == 0 and pred is not None:
            raise UserError(
                f"metric {metric!r}: reference {index} has no gold answer; SQuAD v1.1-style scoring "
                "needs at least one (use 'squad_v2' for unanswerable questions)"
            )
        for gold in golds:
            if not isinstance(gold, str):
                raise UserError(f"metric {metric!r}: reference {index} holds {type(gold).__name__}, expected strings")


def score_max_over_golds(predictions, references, normalize) -> dict[str, float]:
    """v1.1-style corpus scores for any normaliser: per question the best exact match and F1 over
    its gold answers, summed in order and divided by the number of questions, in percent. A ``None``
    prediction (no answer given) adds 0 to both sums."""
    exact_total = 0
    f1_total = 0.0
    for prediction, golds in zip(predictions, references):
        if prediction is None:
            continue
        normalized_prediction = normalize(prediction)
        prediction_tokens = normalized_prediction.split()
        best_exact = 0
        best_f1 = 0.0
        for gold in golds:
            normalized_gold = normalize(gold)
            best_exact = max(best_exact, int(normalized_prediction == normalized_gold))
            best_f1 = max(best_f1, overlap_f1(prediction_tokens, normalized_gold.split()))
        exact_total += best_exact
        f1_total += best_f1
    count = len(references)
    return {"exact_match": 100.0 * exact_total / count, "f1": 100.0 * f1_total / count}


@register_metric("squad", primary="f1")
def squad(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """SQuAD v1.1 / XQuAD / TyDiQA-GoldP: predictions list[str | None] (None: unanswered, scores 0),
    references list[list[str]]."""
    check_answers(predictions, references, "squad", allow_unanswerable=False)
    return score_max_over_golds(predictions, references, normalize_squad)


# ----------------------------------------------------------------------------------- SQuAD v2.0
def _v2_f1(gold: str, prediction: str) -> float:
    gold_tokens = normalize_squad(gold).split()
    prediction_tokens = normalize_squad(prediction).split()
    if not gold_tokens or not prediction_tokens:
        return float(gold_tokens == prediction_tokens)
    return overlap_f1(prediction_tokens, gold_tokens)


def _v2_raw_scores(predictions, references) -> tuple[list[int], list[float]]:
    exact, f1 = [], []
    for prediction, golds in zip(predictions, references):
        kept = [gold for gold in golds if normalize_squad(gold)] or [""]
        normalized_prediction = normalize_squad(prediction)
        exact.append(max(int(normalize_squad(gold) == normalized_prediction) for gold in kept))
        f1.append(max(_v2_f1(gold, prediction) for gold in kept))
    return exact, f1


def _split_scores(exact: list[float], f1: list[float], rows: list[int]) -> tuple[float, float, int]:
    total = len(rows)
    return 100.0 * sum(exact[i] for i in rows) / total, 100.0 * sum(f1[i] for i in rows) / total, total


def best_threshold(
    predictions: Sequence[str], raw_scores: Sequence[float], na_probs: Sequence[float], has_answer: Sequence[bool]
) -> tuple[float, float]:
    """The official ``find_best_thresh``: start from "abstain everywhere" (one point per
    unanswerable question), walk questions by increasing ``na_probs`` (ties in input order) and
    switch each one to answering: + its raw score when it has an answer, - 1 when it has none and
    the prediction is non-empty. The best running total (strictly better only) and the ``na_prob``
    where it was reached are returned as (percent of all questions, threshold)."""
    running = sum(1 for answerable in has_answer if not answerable)
    best, threshold = running, 0.0
    for i in sorted(range(len(na_probs)), key=lambda k: na_probs[k]):
        if has_answer[i]:
            running += raw_scores[i]
        elif predictions[i]:
            running -= 1
        if running > best:
            best, threshold = running, na_probs[i]
    return 100.0 * best / len(raw_scores), threshold


@register_metric("squad_v2", primary="f1")
def squad_v2(predictions, references, *, language=None, na_probs=None, na_prob_thresh=None, **extras) -> dict[str, float]:
    """SQuAD v2.0: predictions list[str] ("" = no answer), references list[list[str]] ([] =
    unanswerable). Optional extras: ``na_probs`` (one no-answer score per question: enables the
    ``best_*`` keys) and ``na_prob_thresh`` (questions with na_prob > threshold count as answered
    "no answer", as the official ``--na-prob-thresh``; with ``na_probs`` it defaults to the script's
    1.0, which changes nothing for probabilities but does for unbounded scores)."""
    for index, prediction in enumerate(predictions if isinstance(predictions, (list, tuple)) else ()):
        if prediction is None:
            raise UserError(f"metric 'squad_v2': question {index} has no prediction; the official SQuAD v2.0 "
                            "script cannot score a missing prediction either: predict \"\" for no answer")
    check_answers(predictions, references, "squad_v2", allow_unanswerable=True)
    count = len(references)
    if na_probs is not None:
        na_probs = [float(p) for p in na_probs]
        if len(na_probs) != count:
            raise UserError(
                f"metric 'squad_v2': got {len(na_probs)} na_probs for {count} predictions; pass one per question"
            )
    has_answer = [bool(golds) for golds in references]
    exact_raw, f1_raw = _v2_raw_scores(predictions, references)

    exact: list[float] = list(exact_raw)
    f1: list[float] = list(f1_raw)
    if na_prob_thresh is None and na_probs is not None:
        na_prob_thresh = DEFAULT_NA_PROB_THRESH
    if na_prob_thresh is not None:
        probabilities = na_probs if na_probs is not None else [0.0] * count
        for i, probability in enumerate(probabilities):
            if probability > float(na_prob_thresh):
                exact[i] = f1[i] = float(not has_answer[i])

    everything = list(range(count))
    scores: dict[str, float] = {}
    scores["exact"], scores["f1"], scores["total"] = _split_scores(exact, f1, everything)
    answerable = [i for i in everything if has_answer[i]]
    unanswerable = [i for i in everything if not has_answer[i]]
    if answerable:
        scores["HasAns_exact"], scores["HasAns_f1"], scores["HasAns_total"] = _split_scores(exact, f1, answerable)
    if unanswerable:
        scores["NoAns_exact"], scores["NoAns_f1"], scores["NoAns_total"] = _split_scores(exact, f1, unanswerable)
    if na_probs is not None:
        scores["best_exact"], scores["best_exact_thresh"] = best_threshold(predictions, exact_raw, na_probs, has_answer)
        scores["best_f1"], scores["best_f1_thresh"] = best_threshold(predictions, f1_raw, na_probs, has_answer)
    return scores
