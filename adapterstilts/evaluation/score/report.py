"""Plain-text tables for `adapterstilts score`: per language, per task, per group and overall, two
decimals; every table names its QA convention. The JSON output keeps full precision."""
from __future__ import annotations

from typing import Any, Mapping

from adapterstilts.evaluation.score.official import language_table


def _metric_rows(per_language: Mapping[str, Mapping[str, float]], average: Mapping[str, float]) -> list[str]:
    rows = []
    for metric, values in language_table(per_language).items():
        if metric not in average:
            continue
        cells = "  ".join(f"{lang} {value:.2f}" for lang, value in values.items())
        rows.append(f"  {metric:<12} avg {average[metric]:6.2f} | {cells}")
    return rows


def format_folder_table(result: Mapping[str, Any]) -> str:
    lines = [f"{result['suite_label']} scores ({result['qa_convention']}): {result['description']}"]
    for name, task in result["tasks"].items():
        lines.append(f"{task['label']} [{name}, {task['metric']}]: score {task['score']:.2f} "
                     f"({len(task['languages'])} languages)")
        lines.extend(_metric_rows(task["languages"], task["average"]))
    if not result["tasks"]:
        lines.append("no task scored: no task folder is in both the predictions and the labels folder")
    for key, value in result["groups"].items():
        lines.append(f"group {result['group_labels'][key]} ({key}): {value:.2f}")
    if result["overall"] is not None:
        lines.append(f"overall {result['suite_label']} score: {result['overall']:.2f}")
    else:
        lines.append(f"no overall {result['suite_label']} score (missing: {', '.join(result['missing'])})")
    if result.get("unsupported"):
        lines.append(f"not scored (no official-file reader for the metric yet): {', '.join(result['unsupported'])}")
    if result.get("ignored"):
        lines.append(f"ignored folders (not {result['suite_label']} tasks): {', '.join(result['ignored'])}")
    return "\n".join(lines)


def format_files_table(task: str, language: str | None, scores: Mapping[str, float]) -> str:
    where = f" ({language})" if language else ""
    body = "  ".join(f"{key} {value:.2f}" if isinstance(value, float) else f"{key} {value}"
                     for key, value in scores.items())
    line = f"{task}{where}: {body}"
    if "exact_match" in scores and "f1" in scores:  # a QA task: name both conventions of its task score
        line += (f"; task score {(scores['exact_match'] + scores['f1']) / 2:.2f} as (EM + F1) / 2 "
                 f"(XTREME's official convention), {scores['f1']:.2f} as F1 (the X-STILTs paper's)")
    return line
