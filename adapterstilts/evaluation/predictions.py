"""Predictions files: what `evaluate --save-predictions` writes and `evaluate --predictions` scores,
so a metric can be recomputed without a model.

    {"task": "xquad", "languages": {"de": {"predictions": [...], "references": [...], "extras": {...}}}}

Predictions and references take the form of the task's metric (see adapterstilts/metrics)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError
from adapterstilts.metrics.base import get_metric
from adapterstilts.runs import write_json_atomic
from adapterstilts.tasks.base import get_task


def save_predictions(path: str | Path, task: str, per_language: dict[str, dict[str, Any]]) -> None:
    write_json_atomic(path, {"task": task, "languages": per_language})


def score_predictions_file(path: str | Path, task_name: str, output: str | Path | None = None) -> dict[str, Any]:
    from adapterstilts.evaluation.zero_shot import summarise

    path = Path(path)
    if not path.is_file():
        raise UserError(f"predictions file {path} does not exist")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"predictions file {path} is not UTF-8 text; give the JSON that --save-predictions writes") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"predictions file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    languages = content.get("languages") if isinstance(content, dict) else None
    if not isinstance(languages, dict) or not languages:
        raise UserError(f"predictions file {path} needs {{\"languages\": {{LANG: {{\"predictions\": [...], "
                        "\"references\": [...]}}}} (as `evaluate --save-predictions` writes it)")
    task = get_task(task_name)
    saved_task = content.get("task")
    if saved_task and saved_task != task.name:
        raise UserError(f"predictions file {path} holds {saved_task!r} predictions, not {task.name!r}; "
                        f"use --task {saved_task}")
    metric = get_metric(task.metric)
    per_language = {}
    for lang, entry in languages.items():
        if not isinstance(entry, dict) or "predictions" not in entry or "references" not in entry:
            raise UserError(f"predictions file {path}: language {lang!r} lacks 'predictions' or 'references'")
        extras = entry.get("extras") or {}
        if not isinstance(extras, dict):
            raise UserError(f"predictions file {path}: language {lang!r} has 'extras' that are not an object")
        if task.metric == "bucc_f1":
            entry = {**entry, "predictions": [tuple(p) for p in entry["predictions"]],
                     "references": [tuple(r) for r in entry["references"]]}
        try:
            per_language[lang] = metric(entry["predictions"], entry["references"], language=lang, **extras)
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise UserError(f"predictions file {path}, language {lang!r}: the entries do not have the form the "
                            f"{task.metric} metric takes ({type(exc).__name__}: {exc})") from None
    result = summarise(task, per_language)
    result.update({"task": task.name, "predictions_file": str(path)})
    if output:
        write_json_atomic(output, result)
    return result
