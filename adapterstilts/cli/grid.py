"""`adapterstilts recipes | run | report`: the intermediate x target grid from a recipe, and its table.
Thin wrappers over adapterstilts.experiments (recipe, plan, executors) and adapterstilts.analysis.tables."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.errors import UserError

Sets = Annotated[Optional[list[str]], typer.Option(
    "--set", help="Override a recipe key: --set target.per_task.xnli.epochs=3 (dotted key, YAML value; repeatable).")]


def _echo_err(message: str) -> None:
    typer.echo(message, err=True)


@app.command("recipes")
@user_errors
def recipes_command(
    recipe: Annotated[Optional[str], typer.Argument(help="Show this recipe fully resolved (name or YAML path).")] = None,
    set_: Sets = None,
) -> None:
    """List the bundled recipes (one line each), or print one resolved (defaults <- file <- --set).

    Examples:

    \b
      adapterstilts recipes
      adapterstilts recipes tiny --set seeds=[1,2]
    """
    import yaml

    from adapterstilts.experiments.recipe import bundled_recipes, load_recipe, read_yaml

    if recipe is None:
        for name, path in bundled_recipes().items():
            typer.echo(f"{name:<18} {read_yaml(path).get('description', '')}")
        return
    typer.echo(yaml.safe_dump(load_recipe(recipe, set_).to_json(), sort_keys=False, allow_unicode=True).rstrip())


@app.command("run")
@user_errors
def run_command(
    recipe: Annotated[str, typer.Argument(help="Bundled recipe name (see `recipes`) or a YAML file.")],
    only: Annotated[Optional[list[str]], typer.Option(
        "--only", help="Run part of the grid on any axis: intermediate=squad,mnli,target=xnli,seed=42, size=1000 "
                       "(size=full: all the data, written full or null in a recipe's sizes), shots=5, language=de, order=mnli>squad, "
                       "mix=NAME (repeatable).")] = None,
    set_: Sets = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the cells and what is already done; run nothing.")] = False,
    executor: Annotated[str, typer.Option(
        "--executor", help="local (one cell after another, default) | slurm | submitit-local | submitit-debug.")] = "local",
    partition: Annotated[Optional[str], typer.Option("--partition", help="SLURM partition.")] = None,
    gpus_per_node: Annotated[Optional[int], typer.Option("--gpus-per-node", help="GPUs per job.")] = None,
    cpus_per_task: Annotated[Optional[int], typer.Option("--cpus-per-task", help="CPUs per job.")] = None,
    mem_gb: Annotated[Optional[int], typer.Option("--mem-gb", help="Memory per job (GB).")] = None,
    timeout_min: Annotated[Optional[int], typer.Option("--timeout-min", help="Time limit per job (minutes).")] = None,
    array_parallelism: Annotated[Optional[int], typer.Option(
        "--array-parallelism", help="SLURM: at most N jobs of an array at once.")] = None,
    report_to: Annotated[Optional[str], typer.Option(
        "--report-to", help="Training curves: tensorboard | wandb | mlflow | none (default: recipe's; auto = "
                            "tensorboard when installed).")] = None,
    keep_going: Annotated[bool, typer.Option("--keep-going", help="Local: go on with other cells when one fails.")] = False,
    wait: Annotated[bool, typer.Option("--wait", help="If another `run` holds this output folder, wait for it "
                                       "instead of stopping.")] = False,
    retrain_changed: Annotated[bool, typer.Option(
        "--retrain-changed", help="Retrain finished runs whose settings differ from the recipe's (default: stop "
                                  "with an error naming the change).")] = False,
) -> None:
    """Run a recipe's grid: each intermediate module trained once, every target on top of it, zero-shot
    evaluation, rows in the results store. Finished cells are skipped: re-run the same command to resume.

    On SLURM the grid submits one job per intermediate module, then one per cell (give each one GPU).
    Several GPUs for one training are the Trainer's own (accelerate); the grid driver is one process.

    Examples:

    \b
      adapterstilts run tiny
      adapterstilts run lora-stack --only intermediate=squad,target=xnli --dry-run
      adapterstilts run paper-full --set seeds=[1,2,3] --executor slurm --partition gpu --gpus-per-node 1 --timeout-min 720
    """
    from adapterstilts.experiments.plan import describe, expand
    from adapterstilts.experiments.executors import ExecutorOptions, run_grid
    from adapterstilts.experiments.recipe import REPORT_TO, load_recipe

    if report_to is not None and report_to not in REPORT_TO:
        raise UserError(f"unknown --report-to {report_to!r}; choose one of: {', '.join(REPORT_TO)}")
    from adapterstilts.experiments.executors import EXECUTORS

    if executor not in EXECUTORS:  # also with --dry-run: a typo is named before anything is planned
        raise UserError(f"unknown --executor {executor!r}; choose one of: {', '.join(EXECUTORS)}")
    loaded = load_recipe(recipe, set_)
    plan = expand(loaded, only, report_to=report_to)
    if only and not plan.cells:
        raise UserError(_selects_nothing(only, expand(loaded, None, report_to=report_to).cells))
    plan.retrain_changed = retrain_changed
    if dry_run:
        typer.echo(describe(plan))
        return
    options = ExecutorOptions(kind=executor, partition=partition, gpus_per_node=gpus_per_node,
                              cpus_per_task=cpus_per_task, mem_gb=mem_gb, timeout_min=timeout_min,
                              array_parallelism=array_parallelism)
    run_grid(plan, options, keep_going=keep_going, wait=wait, log=_echo_err)
    typer.echo(f"results in {plan.store}; table: adapterstilts report {plan.store}")


def _selects_nothing(only: list[str], cells) -> str:
    """Each --only value exists, but not together: say which combinations of those axes the grid has."""
    from adapterstilts.experiments.axes import parse_only, value_text

    keys = list(parse_only(only))
    combos = []
    for cell in cells:
        values = {"intermediate": cell.intermediate, "target": cell.target, "seed": cell.seed, **cell.axis}
        combo = ",".join(f"{k}={value_text(values[k]) if k in values else '-'}" for k in keys)
        if combo not in combos:
            combos.append(combo)
    shown = "; ".join(combos[:12]) + (f"; ... ({len(combos)} in all)" if len(combos) > 12 else "")
    return (f"--only {' '.join(only)} selects no cell (each value exists, but not together); the grid has: "
            f"{shown} ('-': the axis does not apply to that cell)")


@app.command("report")
@user_errors
def report_command(
    results: Annotated[Optional[list[Path]], typer.Argument(
        help="results.sqlite file(s) or folders holding them, or folders of single runs evaluated with "
             "`evaluate RUN` (their manifest.json + metrics.json) (default: runs).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="markdown | csv | latex.")] = "markdown",
    per_language: Annotated[bool, typer.Option("--per-language", help="Also one table per target and language.")] = False,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Write an intermediate x target heatmap of deltas (PNG).")] = None,
    qa_convention: Annotated[str, typer.Option(
        "--qa-convention", help="QA score in the average: f1 (the paper) | em_f1_mean (XTREME's evaluate.py).")] = "f1",
    recipe: Annotated[Optional[str], typer.Option("--recipe", help="Only this recipe's results.")] = None,
    baseline: Annotated[Optional[str], typer.Option(
        "--baseline", help="Take the baseline row from this recipe's 'none' results (e.g. baseline).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the table to this file.")] = None,
    by: Annotated[Optional[list[str]], typer.Option(
        "--by", help="Study axes that split table rows, besides the intermediate (repeatable): size, shots, order, "
                     "mix (default: every axis the results vary; --by intermediate alone pools the axes).")] = None,
    suite: Annotated[str, typer.Option("--suite", help="Benchmark suite of the columns and the average.")] = "xtreme",
) -> None:
    """The paper-style table: rows = baseline, intermediate tasks, multi-task; columns = the XTREME
    targets and their average, with deltas against the baseline and mean ± std over seeds.

    Examples:

    \b
      adapterstilts report runs/tiny
      adapterstilts report runs --recipe lora-stack --baseline baseline --format latex
      adapterstilts report runs/paper-full --per-language --plot heatmap.png --qa-convention em_f1_mean
      adapterstilts report runs/scaling --by size          # one row per intermediate training size
      adapterstilts report my-runs                         # single runs (train-target + evaluate), no grid
    """
    from adapterstilts.analysis.tables import make_report
    from adapterstilts.runs.folder import check_output_place

    for place, option in ((output, "--output"), (plot, "--plot")):  # before reading anything
        if place is not None:
            check_output_place(place, option, file=True)
    text = make_report(list(results or [Path("runs")]), fmt=fmt, per_language=per_language,
                       qa_convention=qa_convention, plot=plot, recipe=recipe, baseline=baseline, suite=suite,
                       by=[b.strip() for item in by or [] for b in item.split(",") if b.strip()] or None)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        _echo_err(f"wrote {output}")
    else:
        typer.echo(text.rstrip())
    if plot:
        _echo_err(f"wrote {plot}")
