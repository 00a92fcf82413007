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
        result = tr.evaluate_selection(evaluate, methods, data=data, max_examples=limit, model=model,
                                       batch_size=batch_size, log=log)
        typer.echo(json.dumps(result, indent=2) if output_format == "json" else tr.format_evaluation(result))
        return
    if not target:
        raise UserError("give a TARGET task and two or more -i RUN, or --evaluate GRID")
    ranking = tr.select_intermediates(target, intermediates or [], method or "logme", data=data or "hub",
                                      max_examples=limit, model=model, batch_size=batch_size,
                                      allow_pickle=allow_pickle or None, log=log)
    typer.echo(json.dumps(ranking.to_dict(), indent=2) if output_format == "json" else tr.format_ranking(ranking))
