"""`adapterstilts studies | study`: the research questions as one-command studies (recipes under
recipes/studies/, run through the ordinary grid, reported by adapterstilts.analysis.studies)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.cli.grid import Sets

StepTime = Annotated[Optional[float], typer.Option(
    "--step-time", help="Seconds per 32x256-token full fine-tune step on your GPU (LoRA x 2/3). Default: --bench, "
                        "else docs/bench-results.md of a checkout, else a derived assumption (each said when used).")]
Bench = Annotated[Optional[Path], typer.Option(
    "--bench", help="Output of scripts/bench_memory.py run on your GPU (`| tee FILE` or its --out table): the "
                    "measured fp32 full fine-tune and bf16 LoRA step times.")]


def _cost_line(plan, times) -> str:
    from adapterstilts.analysis.studies.cost import estimate

    return estimate(plan, times).text()


@app.command("studies")
@user_errors
def studies_command(step_time: StepTime = None, bench: Bench = None) -> None:
    """The studies, one line each, with their cost on XLM-R Large (LoRA and full fine-tune).

    Examples:

    \b
      adapterstilts studies
      adapterstilts studies --step-time 0.3
      adapterstilts studies --bench bench-h100.txt
    """
    from adapterstilts.analysis.studies import STUDIES, load_study_recipe
    from adapterstilts.analysis.studies.cost import step_time as resolve_step_time
    from adapterstilts.experiments.plan import expand

    times = resolve_step_time(step_time, bench)
    for name, spec in STUDIES.items():
        plan = expand(load_study_recipe(name))
        typer.echo(f"{name:<9} {spec.question} | {_cost_line(plan, times)}")
    typer.echo(f"step time: {times.source}", err=True)


@app.command("study")
@user_errors
def study_command(
    name: Annotated[str, typer.Argument(help="scaling | fewshot | distance | order | mixed (see `studies`).")],
    tiny: Annotated[bool, typer.Option("--tiny", help="The tiny offline twin: proves the machinery, not the "
                                                      "science (minutes on a CPU).")] = False,
    set_: Sets = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the cells, what is done, and the cost.")] = False,
    executor: Annotated[str, typer.Option(
        "--executor", help="local | slurm | submitit-local | submitit-debug (as `run`).")] = "local",
    partition: Annotated[Optional[str], typer.Option("--partition", help="SLURM partition.")] = None,
    gpus_per_node: Annotated[Optional[int], typer.Option("--gpus-per-node", help="GPUs per job.")] = None,
    timeout_min: Annotated[Optional[int], typer.Option("--timeout-min", help="Time limit per job (minutes).")] = None,
    array_parallelism: Annotated[Optional[int], typer.Option("--array-parallelism", help="SLURM: jobs at once.")] = None,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Local: go on when a cell fails.")] = False,
    from_: Annotated[Optional[Path], typer.Option(
        "--from", help="distance only: analyse a finished grid (its output folder or results.sqlite) instead of "
                       "training; the report goes to GRID/study-distance/.")] = None,
    qa_convention: Annotated[str, typer.Option("--qa-convention", help="f1 | em_f1_mean.")] = "f1",
    step_time: StepTime = None,
    bench: Bench = None,
) -> None:
    """Run a study: its recipe through the grid (finished work reused, resumable), then its report
    (OUTPUT/report.md with tables, plots as PNG and PDF, and statistics).

    Examples:

    \b
      adapterstilts study scaling --tiny
      adapterstilts study order --dry-run
      adapterstilts study fewshot --set seeds=[1,2,3,4,5] --executor slurm --partition gpu --gpus-per-node 1
      adapterstilts study distance --from runs/paper-full
    """
    from adapterstilts.analysis.studies import TINY_NOTE, get_study, load_study_recipe, mark
    from adapterstilts.analysis.studies.report import write_report
    from adapterstilts.errors import UserError
    from adapterstilts.experiments.executors import ExecutorOptions, run_grid
    from adapterstilts.experiments.plan import describe, expand

    from adapterstilts.analysis.studies.cost import step_time as resolve_step_time

    get_study(name)
    times = resolve_step_time(step_time, bench)  # --step-time / --bench checked before any work, dry run or not
    if from_ is not None:
        if name != "distance":
            raise UserError(f"--from analyses a finished grid for the distance study only, not {name!r}")
        from adapterstilts.analysis.studies.report import load_frame

        folder = from_.parent if from_.is_file() else from_
        frame = load_frame(from_, qa_convention)
        out = folder / "study-distance"
        out.mkdir(parents=True, exist_ok=True)
        path = write_report(out, study="distance", tiny=False, qa_convention=qa_convention, frame=frame,
                            extra={"source": str(from_)})
        typer.echo(f"wrote {path}")
        return
    plan = expand(load_study_recipe(name, tiny=tiny, overrides=set_))
    if tiny:
        typer.echo(f"note: {TINY_NOTE}", err=True)
    if dry_run:
        typer.echo(describe(plan))
        typer.echo(f"cost on XLM-R Large at this recipe's steps: {_cost_line(plan, times)}")
        typer.echo(f"step time: {times.source}")
        return
    mark(plan.root, name, tiny)
    options = ExecutorOptions(kind=executor, partition=partition, gpus_per_node=gpus_per_node, timeout_min=timeout_min,
                              array_parallelism=array_parallelism)
    run_grid(plan, options, keep_going=keep_going, log=lambda m: typer.echo(m, err=True))
    path = write_report(plan.root, study=name, tiny=tiny, qa_convention=qa_convention)
    typer.echo(f"wrote {path}; again from the store: adapterstilts report {plan.root}")
    if tiny:
        typer.echo(f"note: {TINY_NOTE}")
