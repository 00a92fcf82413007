"""Retrieval metrics: Tatoeba top-1 accuracy and BUCC 2018 bitext-mining F1.

Pure functions of predictions and references, so they are testable without a model;
``adapterstilts.evaluation.retrieval`` produces the predictions (nearest neighbours, mined candidates).

- ``tatoeba_accuracy``: predictions are predicted indices, references the gold indices; the score is the
  share of exact matches, in percent (XTREME ``evaluate.py`` ``accuracy``).
- ``bucc_f1``: predictions are mined candidates ``(source, target, score)``, references the gold
  ``(source, target)`` pairs. The threshold is chosen to maximise F1 on the gold pairs, then every
  candidate scoring at least the threshold is extracted and scored against the gold set, as
  ``bucc_optimize`` / ``bucc_extract`` / ``bucc_eval`` in google-research/xtreme
  ``third_party/utils_retrieve.py`` do it (inherited from LASER ``tasks/bucc/bucc.py``):

  1. candidates are keyed by pair; a pair seen twice keeps its highest score;
  2. candidates are sorted by decreasing score (stable: ties keep their input order);
  3. walking down the list, precision = correct so far / extracted so far, recall = correct so far /
     number of gold pairs; whenever F1 strictly improves, the threshold becomes the midpoint between the
     current score and the next one;
  4. the pairs scoring ``>= threshold`` are extracted and precision, recall and F1 are computed on them
     (so ties at the threshold are all extracted, exactly as the reference does).

  One deliberate difference: when the best F1 is reached at the very last candidate the reference
  indexes past the end of the list (IndexError); here the threshold is then the last score itself,
  which extracts every candidate.

  Pairs are keyed by sentence *ids*, as the reference keys them: ``sentence_ids`` is its
  ``read_sent2id`` (a text that occurs under more than one id gets no id at all) and
  ``candidates_by_id`` its ``read_candidate2score`` (a mined pair whose source or target text has no
  id is dropped, while the gold pairs still count in recall).
- ``bucc_f1`` with ``extracted=True`` scores pairs that were already extracted (a
  ``test-<lang>.tsv`` prediction file of ``source-id<TAB>target-id`` lines) as the leaderboard's
  ``evaluate.py`` ``bucc_f1`` does: both sides are *sets* of lines split on tabs, so a pair given
  twice counts once and every blank line together counts as one (never correct) predicted pair.
"""
from __future__ import annotations

from typing import Hashable, Iterable, Sequence

from adapterstilts.metrics.base import register_metric

Pair = tuple[Hashable, Hashable]


# --------------------------------------------------------------------------------------------- Tatoeba
def top1_accuracy(predictions: Sequence[int], references: Sequence[int]) -> float:
    """Share of predictions equal to their reference, in percent (0.0 for no examples)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    if not predictions:
        return 0.0
    correct = sum(int(p) == int(r) for p, r in zip(predictions, references))
    return 100.0 * correct / len(predictions)


@register_metric("tatoeba_accuracy", primary="accuracy")
def tatoeba_accuracy_metric(predictions, references, *, language=None, **extras) -> dict[str, float]:
    return {"accuracy": top1_accuracy(predictions, references)}


# ------------------------------------------------------------------------------------------------ BUCC
def candidate_scores(candidates: Iterable[tuple[Hashable, Hashable, float]]) -> dict[Pair, float]:
    """``(source, target, score)`` triples -> {(source, target): score}, keeping the highest score of a
    pair given more than once; first-seen order is kept (it breaks ties in the sort that follows)."""
    scores: dict[Pair, float] = {}
    for src, tgt, score in candidates:
        key = (src, tgt)
        score = float(score)
        scores[key] = max(score, scores.get(key, score))
    return scores


def sentence_ids(ids: Iterable[str], sentences: Iterable[str]) -> dict[str, str]:
    """{sentence: id} from parallel id and sentence lists (one entry per line of the reference's
    ``.id`` and ``.txt`` files, zipped, so the shorter list wins), as ``read_sent2id``: both sides
    stripped, and a sentence seen on more than one line is left out entirely."""
    mapping: dict[str, str] = {}
    repeated: set[str] = set()
    for sid, sentence in zip(ids, sentences):
        sid, sentence = str(sid).strip(), str(sentence).strip()
        if sentence in mapping:
            repeated.add(sentence)
        else:
            mapping[sentence] = sid
    for sentence in repeated:
        del mapping[sentence]
    return mapping


def candidates_by_id(candidates: Iterable[tuple[str, str, float]], source_ids: dict[str, str],
                     target_ids: dict[str, str]) -> list[tuple[str, str, float]]:
    """Mined ``(source text, target text, score)`` -> ``(source id, target id, score)``, in order,
    dropping candidates whose (stripped) source or target text has no id (``read_candidate2score``)."""
    out = []
    for src, tgt, score in candidates:
        src, tgt = str(src).strip(), str(tgt).strip()
        if src in source_ids and tgt in target_ids:
            out.append((source_ids[src], target_ids[tgt], float(score)))
    return out


def extracted_pair_scores(predicted: Iterable[tuple], gold: Iterable[tuple]) -> dict[str, float]:
    """Precision, recall and F1 (percent) of already-extracted pairs, as XTREME ``evaluate.py``
    ``bucc_f1``: over the *sets* of predicted and gold tuples (a blank line is the tuple ``("",)``);
    all three are 0 when nothing is correct."""
    predicted_set, gold_set = {tuple(p) for p in predicted}, {tuple(g) for g in gold}
    correct = len(gold_set & predicted_set)
    if correct > 0:
        precision, recall = correct / len(predicted_set), correct / len(gold_set)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0
    return {"f1": 100.0 * f1, "precision": 100.0 * precision, "recall": 100.0 * recall}


def optimal_threshold(scores: dict[Pair, float], gold: set[Pair]) -> float:
    """The threshold maximising F1 of the extracted pairs against ``gold`` (see the module docstring)."""
    items = sorted(scores.items(), key=lambda item: -item[1])
    n_gold = len(gold)
    extracted = correct = 0
    best_f1 = 0.0
    threshold = 0.0
    for i, (pair, score) in enumerate(items):
        extracted += 1
        if pair in gold:
            correct += 1
        if correct == 0:
            continue
        precision, recall = correct / extracted, correct / n_gold
        f1 = 2 * precision * recall / (precision + recall)
        if f1 > best_f1:
            best_f1 = f1
            # Midpoint with the next score; past the end the reference crashes: keep everything.
            threshold = (score + items[i + 1][1]) / 2 if i + 1 < len(items) else score
    return threshold


def extract_pairs(scores: dict[Pair, float], threshold: float) -> list[Pair]:
    """Candidate pairs scoring at least ``threshold``."""
    return [pair for pair, score in scores.items() if score >= threshold]


def bucc_scores(candidates: Iterable[tuple[Hashable, Hashable, float]], gold: Iterable[Pair],
                threshold: float | None = None) -> dict[str, float]:
    """Precision, recall and F1 (percent) of the candidates at ``threshold`` (chosen on ``gold`` by
    :func:`optimal_threshold` when None), plus the threshold used (a raw margin score)."""
    gold_set = {tuple(pair) for pair in gold}
    scores = candidate_scores(candidates)
    if threshold is None:
        threshold = optimal_threshold(scores, gold_set)
    extracted = extract_pairs(scores, threshold)
    correct = len(gold_set.intersection(extracted))
    if correct > 0:
        precision, recall = correct / len(extracted), correct / len(gold_set)
        f1 = 2 * precision * recall / (precision + recall)
    else:
        precision = recall = f1 = 0.0
    return {"f1": 100.0 * f1, "precision": 100.0 * precision, "recall": 100.0 * recall, "threshold": float(threshold)}


@register_metric("bucc_f1", primary="f1")
def bucc_f1_metric(predictions, references, *, language=None, threshold: float | None = None,
                   extracted: bool = False, **extras) -> dict[str, float]:
    """predictions: ``(source, target, score)`` candidates; references: gold ``(source, target)`` pairs.
    ``threshold`` fixes the threshold instead of optimising it on the references. ``extracted=True``:
    predictions are already-extracted pairs (no scores), scored as sets (:func:`extracted_pair_scores`)."""
    if extracted:
        return extracted_pair_scores(predictions, references)
    return bucc_scores(predictions, references, threshold=threshold)
