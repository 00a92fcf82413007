"""`adapterstilts score`: prediction files in the official XTREME layout (or one pair of files)
scored as the official scripts score them. A thin wrapper over adapterstilts.evaluation.score."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.errors import UserError

FORMATS = ("table", "json")


@app.command("score")
@user_errors
def score_command(
    predictions_dir: Annotated[Optional[Path], typer.Argument(
        help="Folder of <task>/test-<lang>.{tsv,json,jsonl} prediction files (the official layout; XGLUE: "
        "<TASK>/<lang>.prediction).")] = None,
    labels: Annotated[Optional[Path], typer.Option("--labels", help="Folder of gold files in the same layout.")] = None,
    suite: Annotated[str, typer.Option("--suite", help="Benchmark suite: xtreme | xtreme-r | xglue (its tasks, "
                                       "official language lists, groups and overall score).")] = "xtreme",
    split: Annotated[Optional[str], typer.Option("--split", help="With --suite xglue: the ground-truth files to "
                                                 "read, dev or test (xglue_evaluate.py --split).")] = None,
    qa_convention: Annotated[Optional[str], typer.Option(
        "--qa-convention", help="em_f1_mean (QA task score (EM + F1) / 2) or f1 (as the X-STILTs paper reports "
        "QA). Default: the suite's official one: xtreme em_f1_mean, xtreme-r em_f1_mean, xglue f1.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    task: Annotated[Optional[str], typer.Option("--task", help="Score one pair of files: the task (e.g. xquad).")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="With --task: the prediction file.")] = None,
    gold: Annotated[Optional[Path], typer.Option("--gold", help="With --task: the gold (label) file.")] = None,
    language: Annotated[Optional[str], typer.Option(
        "--language", help="With --task: the language (MLQA needs it; default: from a test-<lang>.* file name).")] = None,
    na_probs: Annotated[Optional[Path], typer.Option(
        "--na-probs", help="With --task squad_v2: {question id: no-answer score} JSON.")] = None,
    na_prob_thresh: Annotated[Optional[float], typer.Option(
        "--na-prob-thresh", help="With --task squad_v2: no-answer threshold (official default 1.0 with --na-probs).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the JSON result here.")] = None,
) -> None:
    """Score predictions with the numbers of the official scripts (google-research/xtreme evaluate.py,
    microsoft/XGLUE xglue_evaluate.py):
    per language, per task, per group and overall; the overall score only when every task is there.

    Examples:

    \b
      adapterstilts score predictions/ --labels labels/ --suite xtreme
      adapterstilts score predictions/ --labels labels/ --qa-convention f1 --format json
      adapterstilts score xglue_predictions/ --labels xglue_full_dataset/ --suite xglue --split dev
      adapterstilts score --task xquad --predictions pred.json --gold test-de.json
      adapterstilts score --task panx --predictions test-de.tsv --gold gold/test-de.tsv
      adapterstilts score --task squad_v2 --predictions pred.json --gold dev-v2.0.json --na-probs na.json
    """
    from adapterstilts.evaluation.score import format_files_table, format_folder_table, score_files, score_folder
    from adapterstilts.runs import write_json_atomic

    if output_format not in FORMATS:
        raise UserError(f"unknown --format {output_format!r}; choose one of: {', '.join(FORMATS)}")
    if output is not None:
        from adapterstilts.runs.folder import check_output_place

        check_output_place(output, file=True)
    if task is not None:
        if predictions_dir is not None or labels is not None:
            raise UserError("give either PREDICTIONS_DIR --labels DIR, or --task with --predictions and --gold, not both")
        if predictions is None or gold is None:
            raise UserError("--task scores one pair of files: add --predictions FILE and --gold FILE")
        if split is not None:
            raise UserError(f"--split {split} picks the ground-truth files of a folder (--suite xglue --labels DIR); "
                            "with --task the --gold file is the split: drop --split")
        xglue_folder = _xglue_folder(task)
        if xglue_folder is not None:  # XGLUE's own files, read by xglue_evaluate.py's rules
            scores = _score_xglue_files(task, xglue_folder, predictions, gold, language, na_probs, na_prob_thresh)
            language = language or _xglue_language(predictions)
        else:
            if language is None and gold.name.startswith("test-"):
                language = gold.name[len("test-"):].split(".")[0] or None
            options = {"na_probs": na_probs, "na_prob_thresh": na_prob_thresh}
            scores = score_files(task, predictions, gold, language, **options)
        result = {"task": task, "language": language, "scores": scores,
                  "predictions": str(predictions), "gold": str(gold)}
        text = format_files_table(task, language, scores)
    else:
        if predictions_dir is None or labels is None:
            raise UserError("give PREDICTIONS_DIR and --labels DIR (or --task with --predictions and --gold)")
        if predictions is not None or gold is not None or na_probs is not None:
            raise UserError("--predictions, --gold and --na-probs go with --task (one pair of files)")
        result = score_folder(predictions_dir, labels, suite=suite, qa_convention=qa_convention, split=split or "test")
        text = format_folder_table(result)
    if output is not None:
        write_json_atomic(output, result)
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False) if output_format == "json" else text)


def _xglue_folder(task: str) -> str | None:
    """The XGLUE folder (NER, NC, WPR, ...) of a task only XGLUE has, whose files XGLUE's rules read; None
    for XTREME's tasks (xnli, mlqa: their single files are read as XTREME lays them out)."""
    from adapterstilts.evaluation.score.xglue import FOLDERS
    from adapterstilts.tasks import get_task

    name = get_task(task).name
    return FOLDERS[name] if name in FOLDERS and name.startswith("xglue_") else None


def _xglue_language(predictions: Path) -> str | None:
    return predictions.name[:-len(".prediction")] or None if predictions.name.endswith(".prediction") else None


def _score_xglue_files(task: str, folder: str, predictions: Path, gold: Path, language, na_probs, na_prob_thresh):
    from adapterstilts.evaluation.score.xglue import score_language

    if na_probs is not None or na_prob_thresh is not None:
        raise UserError("--na-probs and --na-prob-thresh go with --task squad_v2; drop them")
    for path, what in ((predictions, "predictions"), (gold, "gold")):
        if not path.is_file():
            raise UserError(f"{what} file {path} does not exist")
    return dict(score_language(folder, predictions, gold, language or _xglue_language(predictions) or ""))
