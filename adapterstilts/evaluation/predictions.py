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


def score_predictions_file(path: str | Path, task_name: str, output: str | Path | None = None,
                           languages: str | list[str] = "all") -> dict[str, Any]:
    """Score a predictions file; ``languages`` ('all' or a list / comma list) picks the languages scored
    (each must be in the file). Classification predictions are label ids or the task's label names,
    tagging predictions its tag names: anything else is refused, never scored as wrong."""
    from adapterstilts.evaluation.zero_shot import parse_languages, summarise

    path = Path(path)
    if not path.is_file():
        raise UserError(f"predictions file {path} does not exist")
    if output:
        from adapterstilts.runs.folder import check_output_place

        check_output_place(output, file=True)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"predictions file {path} is not UTF-8 text; give the JSON that --save-predictions writes") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"predictions file {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    requested = languages
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
    if isinstance(requested, str) and requested.strip() == "all":
        for lang in languages:
            try:
                task.check_language(lang)
            except UserError as exc:
                raise UserError(f"predictions file {path}: {exc}") from None
    else:
        wanted = parse_languages(task, requested)
        missing = [lang for lang in wanted if lang not in languages]
        if missing:
            raise UserError(f"--languages {','.join(missing)}: not in predictions file {path}, which holds "
                            f"{', '.join(languages)}")
        languages = {lang: languages[lang] for lang in wanted}
    per_language = {}
    for lang, entry in languages.items():
        if not isinstance(entry, dict) or "predictions" not in entry or "references" not in entry:
            raise UserError(f"predictions file {path}: language {lang!r} lacks 'predictions' or 'references'")
        entry = _checked_labels(entry, task, f"predictions file {path}, language {lang!r}")
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


def _checked_labels(entry: dict, task, where: str) -> dict:
    """Classification: label ids, or label names turned into ids; tagging: tag names. A value outside the
    task's labels (a string id, label 7 of 3, a bool) is refused: it would be scored as a wrong answer."""
    labels = list(task.labels)
    if not labels or task.format not in ("classification", "tagging"):
        return entry
    shown = ", ".join(f"{i}={name}" for i, name in enumerate(labels)) if task.format == "classification" else \
        ", ".join(labels[:12]) + (", ..." if len(labels) > 12 else "")

    def one(value, kind: str, index: str):
        if task.format == "classification":
            if isinstance(value, str) and value in labels:
                return labels.index(value)
            if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(labels):
                return value
        elif isinstance(value, str) and value in labels:
            return value
        raise UserError(f"{where}: {kind} {index} is {value!r}, not one of {task.name}'s labels ({shown})")

    out = dict(entry)
    for kind in ("predictions", "references"):
        values = entry[kind]
        if not isinstance(values, list):
            raise UserError(f"{where}: the entries do not have the form the {task.metric} metric takes ({kind!r} is "
                            "not a list)")
        if kind == "predictions" and task.metric == "xglue_ndcg":  # a ranking score: any number, not only a label
            for i, v in enumerate(values):
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    raise UserError(f"{where}: prediction #{i + 1} is {v!r}; {task.name} predictions are relevance "
                                    "scores (a label 0..4, or any number)")
            continue
        if task.format == "classification":
            out[kind] = [one(v, kind[:-1], f"#{i + 1}") for i, v in enumerate(values)]
        else:
            rows = []
            for i, row in enumerate(values):
                if not isinstance(row, list):
                    raise UserError(f"{where}: the entries do not have the form the {task.metric} metric takes "
                                    f"({kind[:-1]} #{i + 1} is not a list of tags)")
                rows.append([one(v, kind[:-1], f"#{i + 1}, word {j + 1},") for j, v in enumerate(row)])
            out[kind] = rows
    return out
