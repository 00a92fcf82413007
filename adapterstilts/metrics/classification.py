"""Label-level metrics: accuracy (XNLI, PAWS-X, MNLI, multiple choice), accuracy + F1 of the positive
class (QQP, as GLUE reports it) and token accuracy (CCG supertagging, as jiant scores it).

Also holds ``check_inputs``, the shared validation every metric module runs first.
"""
from __future__ import annotations

from typing import Any, Sequence

from adapterstilts.errors import UserError
from adapterstilts.metrics.base import register_metric


def check_inputs(predictions: Sequence, references: Sequence, metric: str) -> None:
    """Both sides are lists of the same, non-zero length; otherwise a one-line UserError."""
    for side, value in (("predictions", predictions), ("references", references)):
        if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
            raise UserError(f"metric {metric!r}: {side} must be a list, got {type(value).__name__}")
    if len(predictions) != len(references):
        raise UserError(
            f"metric {metric!r}: got {len(predictions)} predictions but {len(references)} references; "
            "pass one prediction per reference"
        )
    if len(predictions) == 0:
        raise UserError(f"metric {metric!r}: no predictions and no references to score")


def check_sequence_pairs(predictions: Sequence, references: Sequence, metric: str) -> None:
    """For per-token metrics: every predicted sequence is as long as its reference sequence."""
    check_inputs(predictions, references, metric)
    for index, (pred, ref) in enumerate(zip(predictions, references)):
        if isinstance(pred, str) or isinstance(ref, str):
            raise UserError(f"metric {metric!r}: sequence {index} must be a list of labels, not a string")
        if len(pred) != len(ref):
            raise UserError(
                f"metric {metric!r}: sequence {index} has {len(pred)} predicted labels but "
                f"{len(ref)} reference labels"
            )


def _as_label(value: Any, side: str, index: int, metric: str):
    # numpy integers compare fine; reject floats/None that would silently never match
    if value is None or isinstance(value, float):
        raise UserError(f"metric {metric!r}: {side}[{index}] is {value!r}, expected a class id")
    return value


@register_metric("accuracy", primary="accuracy")
def accuracy(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """Share of exact label matches, in percent."""
    check_inputs(predictions, references, "accuracy")
    correct = 0
    for i, (pred, ref) in enumerate(zip(predictions, references)):
        correct += int(_as_label(pred, "predictions", i, "accuracy") == _as_label(ref, "references", i, "accuracy"))
    return {"accuracy": 100.0 * correct / len(references)}


def positive_class_f1(predictions, references, positive=1) -> float:
    """Binary F1 of ``positive`` as a fraction (sklearn's ``f1_score`` default): 2TP / (2TP + FP + FN),
    0.0 when neither side has a positive (sklearn's zero_division default)."""
    tp = fp = fn = 0
    for pred, ref in zip(predictions, references):
        if pred == positive and ref == positive:
            tp += 1
        elif pred == positive:
            fp += 1
        elif ref == positive:
            fn += 1
    denominator = 2 * tp + fp + fn
    return 2 * tp / denominator if denominator else 0.0


@register_metric("accuracy_f1", primary="acc_and_f1")
def accuracy_f1(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """QQP: accuracy, F1 of class 1 ("duplicate") and their mean ``acc_and_f1``.

    GLUE reports QQP as F1/accuracy and its benchmark score averages the two; jiant (which the
    X-STILTs paper used) selects on the same mean. The primary score is therefore ``acc_and_f1``."""
    acc = accuracy(predictions, references)["accuracy"]
    f1 = 100.0 * positive_class_f1(predictions, references, positive=1)
    return {"accuracy": acc, "f1": f1, "acc_and_f1": (acc + f1) / 2}


@register_metric("token_accuracy", primary="accuracy")
def token_accuracy(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """Share of tokens whose predicted label equals the reference, pooled over all sequences (not a
    mean of per-sentence accuracies), in percent. CCG supertagging as jiant scores it."""
    check_sequence_pairs(predictions, references, "token_accuracy")
    correct = total = 0
    for pred, ref in zip(predictions, references):
        total += len(ref)
        correct += sum(int(p == r) for p, r in zip(pred, ref))
    if total == 0:
        raise UserError("metric 'token_accuracy': every sequence is empty, no tokens to score")
    return {"accuracy": 100.0 * correct / total}
