"""`adapterstilts tasks | export-data | make-tiny-model | quickstart`: the task registry, data for
offline use, the tiny test model and the offline demo. Thin wrappers over the library."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.cli.options import option
from adapterstilts.errors import UserError

Data = option("data")
Overwrite = option("overwrite")


@app.command("tasks")
@user_errors
def tasks_command(
    kind: Annotated[Optional[str], typer.Option(help="intermediate | target")] = None,
    suite: Annotated[Optional[str], typer.Option("--suite", help="Only the tasks of this benchmark suite, with "
                                                 "their group, score and protocol (e.g. xtreme).")] = None,
) -> None:
    """List the registered tasks: name, kind, format, metric, languages.

    Examples:

    \b
      adapterstilts tasks --kind intermediate
      adapterstilts tasks --suite xtreme
    """
    from adapterstilts.tasks import TASKS

    if kind not in (None, "intermediate", "target"):
        raise UserError(f"unknown --kind {kind!r}; choose intermediate or target")
    if suite is not None:
        from adapterstilts.suites import get_suite

        the_suite = get_suite(suite)
        typer.echo(f"{the_suite.label}: {the_suite.description}")
        rows = []
        for task in the_suite.tasks:
            p = task.protocol
            train = f"train {p.train}, {p.epochs:g} epochs" if p.train and p.epochs else "no training"
            rows.append([task.name, task.label, task.group, task.score,
                         f"{train}; eval {p.eval_split}; {len(TASKS.get(task.name).languages)} languages"])
        for line in _aligned(rows):
            typer.echo(line)
        return
    rows = []
    for name, cls in TASKS.items():
        if kind and cls.kind != kind:
            continue
        langs = ",".join(cls.languages) if len(cls.languages) <= 6 else f"{len(cls.languages)} languages"
        rows.append([name, cls.kind, cls.format, cls.metric, langs, cls.description])
    for line in _aligned(rows):
        typer.echo(line)


def _aligned(rows: list[list[str]]) -> list[str]:
    """Columns as wide as their longest cell (long task names such as mnli_translated keep the columns
    aligned); the last column is left ragged."""
    if not rows:
        return []
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]) - 1)]
    return [" ".join([f"{str(cell):<{w}}" for cell, w in zip(row, widths)] + [str(row[-1])]).rstrip() for row in rows]


@app.command("export-data")
@user_errors
def export_data_command(
    task: Annotated[str, typer.Argument(help="Task whose data to export.")],
    out: Annotated[Path, typer.Argument(help="Directory to write (use later with --data DIR).")],
    languages: Annotated[str, typer.Option("--languages", help="'all' or a comma list.")] = "all",
    data: Data = "hub",
) -> None:
    """Download a task's data once (online) into a folder that --data DIR reads offline."""
    from adapterstilts.data.loading import export_task_data
    from adapterstilts.evaluation.zero_shot import parse_languages
    from adapterstilts.tasks import get_task

    from adapterstilts.runs.folder import check_output_place

    spec = get_task(task)
    langs = parse_languages(spec, languages)
    check_output_place(out, "OUT")  # a file on the way or a read-only folder: before any download
    if data == "hub":  # this command is the download step: say where to run it, not to run it
        from adapterstilts import network

        why = ("offline mode is on (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE / TRANSFORMERS_OFFLINE)" if network.offline()
               else "the Hugging Face Hub cannot be reached from here" if not network.hub_reachable() else None)
        if why:
            raise UserError(f"export-data downloads {task}'s data from the Hub, but {why}: run this same command on a "
                            f"machine with internet access and copy {out} here (then pass --data {out})"
                            + (", or unset the offline variable" if network.offline() else ""))
    for path in export_task_data(spec, sorted(set(langs) | {spec.train_language}), out, data=data):
        typer.echo(str(path))


@app.command("make-tiny-model")
@user_errors
def make_tiny_model_command(
    directory: Annotated[Path, typer.Argument(help="Folder to write the model and tokenizer to.")],
    layers: Annotated[int, typer.Option(help="Transformer layers.")] = 4,
    hidden: Annotated[int, typer.Option(help="Hidden size.")] = 64,
    seed: Annotated[int, typer.Option(help="Initialisation seed.")] = 0,
    overwrite: Overwrite = False,
) -> None:
    """Write a small random XLM-R with an offline-trained tokenizer (for the demo and tests).

    Example: adapterstilts make-tiny-model tiny-xlmr   (then: --model tiny-xlmr)
    """
    from adapterstilts.tiny_model import make_tiny_model

    path = make_tiny_model(directory, layers=layers, hidden=hidden, seed=seed, overwrite=overwrite)
    typer.echo(str(path))


@app.command("quickstart")
@user_errors
def quickstart_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for the tiny model, runs and results.")] = Path("demo-runs"),
    steps: Annotated[int, typer.Option("--steps", help="Training steps per run.")] = 120,
    overwrite: Overwrite = False,
) -> None:
    """Run the whole method offline on the bundled tiny model and samples (what `make demo` runs)."""
    from adapterstilts.quickstart import run_quickstart

    run_quickstart(output, steps=steps, overwrite=overwrite, log=lambda m: typer.echo(m, err=True))
