"""Summaries of metric scores: a task's mean over languages and the XTREME average over tasks.

The rules live with the suites (``adapterstilts.suites``): XTREME's official ``evaluate.py`` averages
each task's per-language scores, scores a QA task (XQuAD, MLQA, TyDiQA-GoldP) by (EM + F1) / 2 and
every other task by its declared metric (F1 for tagging and BUCC, accuracy otherwise), then averages
the tasks with equal weight, and only when all nine are there. Many papers (X-STILTs included) report
QA by F1 instead, so the functions here take the QA convention as an argument and their descriptions
name it. These are thin wrappers over the XTREME suite, kept for the report and older callers; for
group scores and the official overall use ``get_suite("xtreme").aggregate``.
"""
from __future__ import annotations

from typing import Mapping

from adapterstilts.errors import UserError
from adapterstilts.suites import QA_CONVENTIONS, XTREME, score_by_rule, score_rule
from adapterstilts.suites.base import task_average

QA_TASKS = tuple(t.name for t in XTREME.tasks if t.score == "qa")
XTREME_TASKS = XTREME.names

__all__ = ["QA_CONVENTIONS", "QA_TASKS", "XTREME_TASKS", "primary_score", "task_average", "task_score",
           "xtreme_average"]


def primary_score(metric_name: str, scores: Mapping[str, float]) -> float:
    """The score a metric declares as primary (e.g. "f1" for "squad")."""
    from adapterstilts.metrics.base import get_metric

    key = get_metric(metric_name).primary
    if key not in scores:
        raise UserError(
            f"scores of metric {metric_name!r} lack its primary score {key!r}; got: {', '.join(sorted(scores)) or 'none'}"
        )
    return float(scores[key])


def task_score(task: str, scores: Mapping[str, float], qa_convention: str = "f1") -> float:
    """One number per task from its language-averaged scores: by the rule of the suite that declares
    the task (QA by the convention, XTREME tagging / BUCC by F1, XNLI / PAWS-X / Tatoeba by accuracy);
    a task no suite declares by F1 when present, else accuracy."""
    return score_by_rule(score_rule(task), task, scores, qa_convention)


def xtreme_average(task_scores: Mapping[str, Mapping[str, float]], qa_convention: str = "f1") -> tuple[float, str]:
    """(mean over the given tasks of ``task_score``, a description naming the tasks and the QA
    convention). ``task_scores`` maps a target task name to its language-averaged scores. The mean is
    taken over whatever tasks are given (a report's row mean); the description says when fewer than
    the nine XTREME tasks are present, since the official overall score needs all nine."""
    return XTREME.mean_over(task_scores, qa_convention)
