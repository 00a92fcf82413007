"""`adapterstilts select`: rank intermediate modules for a target without training the target grid
(LogME or task-embedding similarity), or measure how well that ranking would have chosen on a
finished grid (regret@k). A thin wrapper over adapterstilts.analysis.transferability."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.errors import UserError

FORMATS = ("table", "json")


@app.command("select")
@user_errors
def select_command(
    target: Annotated[Optional[str], typer.Argument(
        help="Target task to choose an intermediate for (e.g. xnli).")] = None,
    intermediates: Annotated[Optional[List[str]], typer.Option(
        "--intermediate", "-i", help="An intermediate run folder or Hub id; give two or more.")] = None,
    method: Annotated[Optional[str], typer.Option(
        "--method", help="logme (LogME of the target's features with each module active) | embedding (cosine "
        "of task embeddings under the plain backbone). Default: logme; with --evaluate: both.")] = None,
    evaluate: Annotated[Optional[Path], typer.Option(
        "--evaluate", help="A finished grid's output folder: report regret@1 / regret@3 of the methods against "
        "its trained results instead of ranking.")] = None,
    data: Annotated[Optional[str], typer.Option(
        "--data", help="sample | hub | DIR: where the training examples come from (default hub; with "
        "--evaluate: the grid's).")] = None,
    max_examples: Annotated[int, typer.Option(
        "--max-examples", help="First N English training examples of each task (0 = all).")] = 1000,
    model: Annotated[Optional[str], typer.Option("--model", help="Base model override (default: the runs').")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 32,
    output_format: Annotated[str, typer.Option("--format", help="table | json")] = "table",
    allow_pickle: Annotated[bool, typer.Option(
        "--allow-pickle", help="Load modules that ship only pickle weights (trusted sources only).")] = False,
) -> None:
    """Rank intermediate modules for a target task without training it, with the time it took.

    Examples:

    \b
      adapterstilts select xnli -i runs/mnli-lora-seed42 -i runs/squad-lora-seed42 -i runs/ccg-lora-seed42
      adapterstilts select panx -i runs/mnli-lora-seed42 -i runs/ccg-lora-seed42 --method embedding --format json
      adapterstilts select --evaluate runs/tiny              # regret@1 / @3 of both methods on a finished grid
    """
    from adapterstilts.analysis import transferability as tr

    if output_format not in FORMATS:
        raise UserError(f"unknown --format {output_format!r}; choose one of: {', '.join(FORMATS)}")
    if max_examples < 0 or batch_size < 1:
        raise UserError("--max-examples must be >= 0 (0 = all) and --batch-size >= 1")
    limit = max_examples or None

    def log(message: str) -> None:
        typer.echo(message, err=True)

    if evaluate is not None:
        if target or intermediates:
            raise UserError("--evaluate GRID reads the grid's own targets and intermediate runs; drop TARGET and -i")
        methods = [method] if method else list(tr.METHODS)
        study = _study_results(evaluate)
        try:
            result = tr.evaluate_selection(evaluate, methods, data=data, max_examples=limit, model=model,
                                           batch_size=batch_size, log=log)
        except UserError as exc:
            if study:
                raise UserError(f"{exc} (its {study}: --evaluate ranks only full-size, English-trained cells)") from None
            raise
        if study:
            result["skipped_study"] = study
            log(f"note: skipped the grid's {study}; --evaluate ranks only full-size, English-trained cells "
                "(the study cells' modules differ from the plain runs)")
        typer.echo(json.dumps(result, indent=2) if output_format == "json" else tr.format_evaluation(result))
        return
    if not target:
        raise UserError("give a TARGET task and two or more -i RUN, or --evaluate GRID")
    from adapterstilts.tasks import get_task

    if get_task(target).kind == "intermediate":
        raise UserError(f"{target!r} is an intermediate task; select ranks intermediates for a target task "
                        "(see `adapterstilts tasks --kind target`), e.g. select xnli -i RUN -i RUN")
    ranking = tr.select_intermediates(target, intermediates or [], method or "logme", data=data or "hub",
                                      max_examples=limit, model=model, batch_size=batch_size,
                                      allow_pickle=allow_pickle or None, log=log)
    typer.echo(json.dumps(ranking.to_dict(), indent=2) if output_format == "json" else tr.format_ranking(ranking))


def _study_results(grid: Path) -> str | None:
    """'12 results of study cells (size 4, 8) and 2 sized intermediate runs (mnli-lora-seed0-size4, ...)', or
    None: what `--evaluate` leaves out (size / shots cells), so a scaling or few-shot grid is not mistaken
    for a plain one."""
    from adapterstilts.experiments.store import ResultsStore, expand_axes, find_stores

    if not grid.is_dir():
        return None
    try:
        stores = find_stores(grid)
    except UserError:  # no store: evaluate_selection says what the grid lacks, in its own words
        return None
    counts: dict[str, set[str]] = {}
    n = 0
    for store in stores:
        try:
            rows = [expand_axes(r) for r in ResultsStore(store).rows()]
        except UserError:  # a damaged store is evaluate_selection's to report
            continue
        for row in rows:
            axes = {k: row.get(k) for k in ("size", "shots") if row.get(k) is not None}
            if axes:
                n += 1
                for key, value in axes.items():
                    counts.setdefault(key, set()).add(str(value))
    try:
        folder = Path(json.loads((grid / "recipe.json").read_text(encoding="utf-8")).get("intermediate_output")
                      or grid / "intermediate")
    except (OSError, ValueError, AttributeError):
        folder = grid / "intermediate"
    runs = sorted(p.name for p in folder.glob("*-size*") if p.is_dir() and not p.name.startswith("."))
    if not n and not runs:
        return None
    parts = []
    if n:
        axes = "; ".join(f"{k} {', '.join(sorted(v, key=lambda x: (len(x), x)))}" for k, v in counts.items())
        parts.append(f"{n} results of study cells ({axes})")
    if runs:
        parts.append(f"{len(runs)} sized intermediate runs ({', '.join(runs[:3])}{', ...' if len(runs) > 3 else ''})")
    return " and ".join(parts)
