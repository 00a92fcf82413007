"""`adapterstilts train-intermediate | train-target | train-multitask`: thin wrappers over
adapterstilts.training. Their options come from TrainConfig's field metadata (see cli/options.py): a new
training setting is one field there, and every command that offers it gets the option."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.cli.options import train_options
from adapterstilts.errors import UserError


def _log(message: str) -> None:
    typer.echo(message, err=True)


def _config(task: str, options: dict, name: str):
    """The TrainConfig of a command's options; --output defaults to runs/<name>."""
    from adapterstilts.config import TrainConfig

    output = options.pop("output", None)
    return TrainConfig(task=task, output=str(output or Path("runs") / name), **options)


def _intermediate_tag(refs: list[str]) -> str:
    """'mnli+squad' for the default run name: the intermediates' tasks (local runs) or repo names."""
    parts = []
    for ref in refs:
        manifest = Path(ref) / "manifest.json"
        try:
            parts.append(json.loads(manifest.read_text())["task"])
        except (OSError, ValueError, KeyError):
            parts.append(Path(ref.split("@")[0].rstrip("/")).name or "module")
    return "+".join(parts)


def _check_not_target_runs(refs: list[str]) -> None:
    """-i takes intermediate-task runs. A target run (train-target) used as one would train a target on
    top of a target: refused, naming what to pass instead. Runs of a study's mixture of target-task data
    (recipe ``mixes``: ``train_data`` of kind "mix" in their manifest) are intermediates by design. Local
    folders are read here, before any model loads; a Hub id is not checked."""
    for ref in refs:
        try:
            manifest = json.loads((Path(ref) / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not a local run, or a damaged one: resolve_run names the problem
        if not isinstance(manifest, dict) or manifest.get("kind") != "target":
            continue
        if isinstance(manifest.get("train_data"), dict) and manifest["train_data"].get("kind") == "mix":
            continue
        below = [str(i.get("source") or i.get("module_name")) for i in manifest.get("intermediates") or []
                 if isinstance(i, dict)]
        fix = (f"pass its intermediates instead: {' '.join(f'-i {b}' for b in below)}" if below else
               "pass an intermediate-task run (made by train-intermediate, e.g. runs/mnli-lora-seed42)")
        raise UserError(f"-i {ref} is a target run ({manifest.get('task')}, made by train-target), not an "
                        f"intermediate module; {fix}")


@app.command("train-intermediate")
@user_errors
@train_options("train-intermediate")
def train_intermediate(
    task: Annotated[str, typer.Argument(help="Intermediate task, e.g. squad, mnli, hellaswag (see `tasks`).")],
    **options,
) -> None:
    """Train an intermediate-task module on a frozen backbone (or fully fine-tune with --method full).

    Examples:

    \b
      adapterstilts train-intermediate squad
      adapterstilts train-intermediate mnli --method bottleneck --bf16
      adapterstilts train-intermediate squad --load-in-8bit --gradient-checkpointing
      adapterstilts make-tiny-model tiny-xlmr      # offline: a tiny random XLM-R (or `quickstart`: demo-runs/tiny-xlmr)
      adapterstilts train-intermediate squad --model tiny-xlmr --data sample --max-steps 20
      adapterstilts train-intermediate squad -i runs/mnli-lora-seed42 --compose chain   # MNLI, then SQuAD
    """
    from adapterstilts.tasks import get_task
    from adapterstilts.training.pipeline import train

    if get_task(task).kind != "intermediate":
        raise UserError(f"{task!r} is a target task; use `adapterstilts train-target {task}`")
    intermediates = options["intermediates"] = list(options["intermediates"] or [])
    _check_not_target_runs(intermediates)
    if options["compose"] == "none" and intermediates:
        options["compose"] = "chain"
        _log("note: --intermediate without --compose: chaining (--compose chain), the module starts from the "
             "intermediate's")
    tag = f"after-{_intermediate_tag(intermediates)}-" if intermediates else ""
    train(_config(task, options, f"{task}-{tag}{options['method']}-seed{options['seed']}"), log=_log)


@app.command("train-target")
@user_errors
@train_options("train-target", epochs=2.0)
def train_target(
    task: Annotated[str, typer.Argument(help="XTREME target task, e.g. xnli, panx, xquad (see `tasks`).")],
    **options,
) -> None:
    """Train a target task on its English data, on top of intermediate modules.

    Examples:

    \b
      adapterstilts train-target xnli -i runs/mnli-lora-seed42 --compose stack
      adapterstilts train-target panx -i runs/mnli-bottleneck-seed42 -i runs/squad-bottleneck-seed42 --compose fuse --method bottleneck
      adapterstilts train-target xquad -i runs/squad-full-seed42 --compose continue --method full
      adapterstilts train-target xnli -i runs/mnli-lora-seed42 -i runs/squad-lora-seed42 --compose merge
    """
    from adapterstilts.tasks import get_task
    from adapterstilts.training.pipeline import train

    if get_task(task).format == "retrieval":
        raise UserError(f"{task!r} is evaluated without target training; run `adapterstilts evaluate RUN --task {task}`")
    if get_task(task).kind == "intermediate":
        raise UserError(f"{task!r} is an intermediate task; train it with `adapterstilts train-intermediate {task}`")
    intermediates = options["intermediates"] = list(options["intermediates"] or [])
    _check_not_target_runs(intermediates)
    method, compose = options["method"], options["compose"]
    if compose == "none" and intermediates:
        compose = options["compose"] = "continue" if method == "full" else "stack"
        _log(f"note: --intermediate without --compose: --compose {compose} (the default for --method {method})")
    tag = f"{compose}-{_intermediate_tag(intermediates)}-" if compose != "none" else ""
    if options.get("merge_method"):  # variants of one composition get their own default folder
        tag += f"{options['merge_method']}-"
    if options.get("fusion_gate", "layer") != "layer":
        tag += f"gate-{options['fusion_gate']}-"
    weights = options["merge_weights"]
    if weights is not None:
        try:
            options["merge_weights"] = [float(w) for w in weights.split(",")]
        except ValueError:
            raise UserError(f"--merge-weights {weights!r} is not a comma list of numbers, e.g. 0.5,0.5") from None
    train(_config(task, options, f"{task}-{tag}{method}-seed{options['seed']}"), log=_log)


@app.command("train-multitask")
@user_errors
@train_options("train-multitask")
def train_multitask_command(
    tasks: Annotated[str, typer.Argument(help="Comma list of intermediate tasks, e.g. mnli,squad,hellaswag.")],
    sampling: Annotated[str, typer.Option("--sampling", help="proportional | temperature | uniform.")] = "proportional",
    temperature: Annotated[float, typer.Option("--temperature", help="T for --sampling temperature (p ~ n^(1/T)).")] = 2.0,
    **options,
) -> None:
    """Multi-task intermediate training: one shared module, one head per task, task sampled per batch.

    Example: adapterstilts train-multitask mnli,squad,hellaswag --sampling temperature --temperature 2
    """
    from adapterstilts.training.multitask import MultiTaskConfig, train_multitask

    names = [t.strip() for t in tasks.split(",") if t.strip()]
    base = _config(names[0] if names else "", options,
                   f"multitask-{'+'.join(names)}-{options['method']}-seed{options['seed']}")
    train_multitask(MultiTaskConfig(tasks=names, base=base, sampling=sampling, temperature=temperature), log=_log)
