"""Summaries of metric scores: a task's mean over languages and the XTREME average over tasks.

XTREME's official ``evaluate.py`` averages each task's per-language scores, scores a QA task
(XQuAD, MLQA, TyDiQA-GoldP) by (EM + F1) / 2 and every other task by its F1 when it has one, else
its accuracy, then averages the tasks with equal weight. Many papers (X-STILTs included) report QA
by F1 instead, so ``xtreme_average`` takes the QA convention as an argument and says in its
description which one it used.
"""
from __future__ import annotations

from typing import Mapping

from adapterstilts.errors import UserError

QA_TASKS = ("xquad", "mlqa", "tydiqa")
QA_CONVENTIONS = {
    "f1": "QA tasks scored by F1",
    "em_f1_mean": "QA tasks scored by (EM + F1) / 2 as XTREME's official evaluate.py",
}
XTREME_TASKS = ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba")


def primary_score(metric_name: str, scores: Mapping[str, float]) -> float:
    """The score a metric declares as primary (e.g. "f1" for "squad")."""
    from adapterstilts.metrics.base import get_metric

    key = get_metric(metric_name).primary
    if key not in scores:
        raise UserError(
            f"scores of metric {metric_name!r} lack its primary score {key!r}; got: {', '.join(sorted(scores)) or 'none'}"
        )
    return float(scores[key])


def task_average(per_language: Mapping[str, Mapping[str, float]], key: str) -> float:
    """Unweighted mean of ``per_language[lang][key]`` over the languages given."""
    if not per_language:
        raise UserError(f"no languages to average {key!r} over")
    missing = [lang for lang, scores in per_language.items() if key not in scores]
    if missing:
        raise UserError(f"score {key!r} is missing for language(s): {', '.join(missing)}")
    return sum(float(scores[key]) for scores in per_language.values()) / len(per_language)


def _exact_match(task: str, scores: Mapping[str, float]) -> float:
    for key in ("exact_match", "exact"):  # squad / mlqa name it exact_match, squad_v2 exact
        if key in scores:
            return float(scores[key])
    raise UserError(f"task {task!r}: the (EM + F1) / 2 convention needs an 'exact_match' score")


def task_score(task: str, scores: Mapping[str, float], qa_convention: str = "f1") -> float:
    """One number per task: QA by the convention; other tasks by F1 when present, else accuracy
    (the primary of every non-QA XTREME metric: seqeval / BUCC F1, XNLI / PAWS-X / Tatoeba accuracy)."""
    if qa_convention not in QA_CONVENTIONS:
        raise UserError(f"unknown QA convention {qa_convention!r}; choose one of: {', '.join(QA_CONVENTIONS)}")
    if task in QA_TASKS:
        if "f1" not in scores:
            raise UserError(f"task {task!r}: QA scores need an 'f1'; got: {', '.join(sorted(scores)) or 'none'}")
        if qa_convention == "em_f1_mean":
            return (_exact_match(task, scores) + float(scores["f1"])) / 2
        return float(scores["f1"])
    for key in ("f1", "accuracy"):
        if key in scores:
            return float(scores[key])
    raise UserError(f"task {task!r}: no 'f1' or 'accuracy' score to average; got: {', '.join(sorted(scores)) or 'none'}")


def xtreme_average(task_scores: Mapping[str, Mapping[str, float]], qa_convention: str = "f1") -> tuple[float, str]:
    """(mean over tasks of ``task_score``, a description naming the tasks and the QA convention).
    ``task_scores`` maps a target task name to its language-averaged scores. The description says
    when fewer than the nine XTREME tasks are present (the official overall score needs all nine)."""
    if qa_convention not in QA_CONVENTIONS:
        raise UserError(f"unknown QA convention {qa_convention!r}; choose one of: {', '.join(QA_CONVENTIONS)}")
    if not task_scores:
        raise UserError("no task scores to average")
    values = [task_score(task, scores, qa_convention) for task, scores in task_scores.items()]
    value = sum(values) / len(values)
    tasks = list(task_scores)
    covered = sum(1 for task in XTREME_TASKS if task in task_scores)
    scope = "all 9 XTREME tasks" if covered == len(XTREME_TASKS) and len(tasks) == covered else (
        f"{len(tasks)} task(s) ({covered} of the 9 XTREME tasks)"
    )
    description = (
        f"mean over {scope}: {', '.join(tasks)}; {QA_CONVENTIONS[qa_convention]}; "
        "other tasks by F1 when reported, else accuracy"
    )
    return value, description
