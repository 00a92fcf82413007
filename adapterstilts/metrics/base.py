"""Metric registry. A metric takes the predictions and references a format's ``postprocess``
returns and gives a flat dict of scores in percent (0-100), like the official scripts print.

``primary`` names the score used for model selection and task averages (for QA this is F1; the
XTREME overall score averages (EM+F1)/2 and is named as such wherever it is used)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from adapterstilts.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    primary: str
    compute: Callable[..., dict[str, float]]  # (predictions, references, *, language=None, **extras)

    def __call__(self, predictions: list, references: list, *, language: str | None = None, **extras: Any) -> dict[str, float]:
        return self.compute(predictions, references, language=language, **extras)


METRICS: Registry[Metric] = Registry("metric")


def register_metric(name: str, primary: str):
    def decorator(fn: Callable[..., dict[str, float]]):
        METRICS.register(name)(Metric(name, primary, fn))
        return fn

    return decorator


def get_metric(name: str) -> Metric:
    from adapterstilts import metrics  # noqa: F401  (registration)

    return METRICS.get(name)
