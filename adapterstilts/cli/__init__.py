"""The `adapterstilts` command: thin typer commands over library functions. Options shared by
several commands are declared once below."""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from adapterstilts.errors import UserError

# datasets' per-call bars (map / filter / save) drown our own progress; our training and evaluation
# bars stay. Set HF_DATASETS_DISABLE_PROGRESS_BARS=0 to see them.
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
# bitsandbytes' CPU backend warns at import (peft imports it) that an optional kernel could not be
# fetched from the Hub; it changes nothing we do.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="English intermediate-task training (STILTs) with LoRA / bottleneck modules on XLM-R, "
                       "for zero-shot cross-lingual transfer (XTREME).")

# ---- options declared once -------------------------------------------------------------------
Model = Annotated[str, typer.Option("--model", help="Base model id or local folder (see make-tiny-model).")]
Revision = Annotated[Optional[str], typer.Option("--revision", help="Base model revision on the Hub.")]
Data = Annotated[str, typer.Option("--data", help="'hub', 'sample' (bundled, offline) or a local DIR.")]
Method = Annotated[str, typer.Option("--method", help="lora (peft) | bottleneck (adapters) | full.")]
Output = Annotated[Optional[Path], typer.Option("--output", "-o", help="Run folder to write (default runs/...).")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (set before any module is created).")]
Lr = Annotated[Optional[float], typer.Option("--lr", help="Learning rate (default: 1e-4 lora/bottleneck, 1e-5 full).")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Per-device batch size.")]
GradAccum = Annotated[int, typer.Option("--grad-accum", help="Gradient accumulation steps.")]
Epochs = Annotated[float, typer.Option("--epochs", help="Training epochs.")]
MaxSteps = Annotated[int, typer.Option("--max-steps", help="Stop after N optimizer steps (overrides --epochs).")]
MaxLength = Annotated[Optional[int], typer.Option("--max-length", help="Max tokens (default: task's, QA 384).")]
MaxTrain = Annotated[Optional[int], typer.Option("--max-train-examples", help="Use only the first N examples.")]
LoraR = Annotated[int, typer.Option("--lora-r", help="LoRA rank.")]
LoraAlpha = Annotated[int, typer.Option("--lora-alpha", help="LoRA alpha.")]
Reduction = Annotated[int, typer.Option("--reduction-factor", help="Bottleneck adapter reduction factor.")]
In8bit = Annotated[bool, typer.Option("--load-in-8bit", help="Load the frozen backbone in 8 bit (bitsandbytes).")]
In4bit = Annotated[bool, typer.Option("--load-in-4bit", help="Load the frozen backbone in 4 bit NF4 (bitsandbytes).")]
Bf16 = Annotated[bool, typer.Option("--bf16", help="bf16 mixed precision.")]
Fp16 = Annotated[bool, typer.Option("--fp16", help="fp16 mixed precision.")]
GradCkpt = Annotated[bool, typer.Option("--gradient-checkpointing", help="Trade compute for activation memory.")]
ReportTo = Annotated[str, typer.Option("--report-to", help="auto (TensorBoard when installed) | none | tensorboard | wandb | mlflow.")]
SaveSteps = Annotated[int, typer.Option("--save-steps", help="Keep a resumable checkpoint every N steps (0: off).")]
Overwrite = Annotated[bool, typer.Option("--overwrite", help="Replace a non-empty output folder.")]
EvalSteps = Annotated[int, typer.Option("--eval-steps", help="Score English dev every N steps, keep the best (0: off).")]
AllowPickle = Annotated[bool, typer.Option("--allow-pickle", help="Accept pickle weights (*.bin, *.pt) in modules: trusted sources only.")]
Patience = Annotated[int, typer.Option("--patience", help="Stop after N dev evaluations without gain (0: never).")]


def user_errors(fn):
    """Print UserError as one line (no traceback) and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def _train_options(values: dict) -> dict:
    """The TrainConfig fields among a command's parameters (task, output and intermediates excepted)."""
    from dataclasses import fields

    from adapterstilts.config import TrainConfig

    names = {f.name for f in fields(TrainConfig)} - {"output", "intermediates"}
    return {k: v for k, v in values.items() if k in names}


def _intermediate_tag(refs: list[str]) -> str:
    """'mnli+squad' for the default run name: the intermediates' tasks (local runs) or repo names."""
    import json

    parts = []
    for ref in refs:
        manifest = Path(ref) / "manifest.json"
        try:
            parts.append(json.loads(manifest.read_text())["task"])
        except (OSError, ValueError, KeyError):
            parts.append(Path(ref.split("@")[0].rstrip("/")).name or "module")
    return "+".join(parts)


def _train(**kwargs) -> None:
    from adapterstilts.config import TrainConfig
    from adapterstilts.training.pipeline import train

    train(TrainConfig(**kwargs), log=lambda m: typer.echo(m, err=True))


@app.command("tasks")
@user_errors
def tasks_command(kind: Annotated[Optional[str], typer.Option(help="intermediate | target")] = None) -> None:
    """List the registered tasks: name, kind, format, metric, languages."""
    from adapterstilts.tasks import TASKS

    if kind not in (None, "intermediate", "target"):
        raise UserError(f"unknown --kind {kind!r}; choose intermediate or target")
    for name, cls in TASKS.items():
        if kind and cls.kind != kind:
            continue
        langs = ",".join(cls.languages) if len(cls.languages) <= 6 else f"{len(cls.languages)} languages"
        typer.echo(f"{name:<14} {cls.kind:<12} {cls.format:<16} {cls.metric:<16} {langs:<18} {cls.description}")


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

    Example: adapterstilts make-tiny-model .cache/tiny-xlmr
    """
    from adapterstilts.tiny_model import make_tiny_model

    path = make_tiny_model(directory, layers=layers, hidden=hidden, seed=seed, overwrite=overwrite)
    typer.echo(str(path))


@app.command("train-intermediate")
@user_errors
def train_intermediate(
    task: Annotated[str, typer.Argument(help="Intermediate task, e.g. squad, mnli, hellaswag (see `tasks`).")],
    model: Model = "FacebookAI/xlm-roberta-large", revision: Revision = None, method: Method = "lora",
    output: Output = None, data: Data = "hub", seed: Seed = 42, lr: Lr = None, batch_size: BatchSize = 32,
    grad_accum: GradAccum = 1, epochs: Epochs = 3.0, max_steps: MaxSteps = -1, max_length: MaxLength = None,
    max_train_examples: MaxTrain = None, lora_r: LoraR = 8, lora_alpha: LoraAlpha = 16,
    reduction_factor: Reduction = 16, load_in_8bit: In8bit = False, load_in_4bit: In4bit = False,
    bf16: Bf16 = False, fp16: Fp16 = False, gradient_checkpointing: GradCkpt = False, report_to: ReportTo = "auto",
    save_steps: SaveSteps = 0, overwrite: Overwrite = False, eval_steps: EvalSteps = 0, patience: Patience = 0,
) -> None:
    """Train an intermediate-task module on a frozen backbone (or fully fine-tune with --method full).

    Examples:

    \b
      adapterstilts train-intermediate squad
      adapterstilts train-intermediate mnli --method bottleneck --bf16
      adapterstilts train-intermediate squad --load-in-8bit --gradient-checkpointing
      adapterstilts train-intermediate squad --model .cache/tiny-xlmr --data sample --max-steps 20
    """
    from adapterstilts.tasks import get_task

    if get_task(task).kind != "intermediate":
        raise UserError(f"{task!r} is a target task; use `adapterstilts train-target {task}`")
    _train(**_train_options(locals()), output=str(output or Path("runs") / f"{task}-{method}-seed{seed}"))


@app.command("train-target")
@user_errors
def train_target(
    task: Annotated[str, typer.Argument(help="XTREME target task, e.g. xnli, panx, xquad (see `tasks`).")],
    intermediate: Annotated[Optional[list[str]], typer.Option("--intermediate", "-i", help="Intermediate run folder (repeatable).")] = None,
    compose: Annotated[str, typer.Option("--compose", help="none | stack | fuse | merge | continue.")] = "none",
    merge_weights: Annotated[Optional[str], typer.Option("--merge-weights", help="--compose merge: comma list, one weight per intermediate (default 1/k).")] = None,
    model: Model = "FacebookAI/xlm-roberta-large", revision: Revision = None, method: Method = "lora",
    output: Output = None, data: Data = "hub", seed: Seed = 42, lr: Lr = None, batch_size: BatchSize = 32,
    grad_accum: GradAccum = 1, epochs: Epochs = 2.0, max_steps: MaxSteps = -1, max_length: MaxLength = None,
    max_train_examples: MaxTrain = None, lora_r: LoraR = 8, lora_alpha: LoraAlpha = 16,
    reduction_factor: Reduction = 16, load_in_8bit: In8bit = False, load_in_4bit: In4bit = False,
    bf16: Bf16 = False, fp16: Fp16 = False, gradient_checkpointing: GradCkpt = False, report_to: ReportTo = "auto",
    save_steps: SaveSteps = 0, overwrite: Overwrite = False, eval_steps: EvalSteps = 0, patience: Patience = 0,
    allow_pickle: AllowPickle = False,
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

    if get_task(task).format == "retrieval":
        raise UserError(f"{task!r} is evaluated without target training; run `adapterstilts evaluate RUN --task {task}`")
    intermediates = list(intermediate or [])
    if compose == "none" and intermediates:
        compose = "continue" if method == "full" else "stack"
    tag = f"{compose}-{_intermediate_tag(intermediates)}-" if compose != "none" else ""
    if merge_weights is not None:
        try:
            merge_weights = [float(w) for w in merge_weights.split(",")]
        except ValueError:
            raise UserError(f"--merge-weights {merge_weights!r} is not a comma list of numbers, e.g. 0.5,0.5") from None
    _train(**_train_options(locals()), intermediates=intermediates,
           output=str(output or Path("runs") / f"{task}-{tag}{method}-seed{seed}"))


@app.command("train-multitask")
@user_errors
def train_multitask_command(
    tasks: Annotated[str, typer.Argument(help="Comma list of intermediate tasks, e.g. mnli,squad,hellaswag.")],
    sampling: Annotated[str, typer.Option("--sampling", help="proportional | temperature | uniform.")] = "proportional",
    temperature: Annotated[float, typer.Option("--temperature", help="T for --sampling temperature (p ~ n^(1/T)).")] = 2.0,
    model: Model = "FacebookAI/xlm-roberta-large", revision: Revision = None, method: Method = "lora",
    output: Output = None, data: Data = "hub", seed: Seed = 42, lr: Lr = None, batch_size: BatchSize = 32,
    grad_accum: GradAccum = 1, epochs: Epochs = 3.0, max_steps: MaxSteps = -1, max_length: MaxLength = None,
    max_train_examples: MaxTrain = None, lora_r: LoraR = 8, lora_alpha: LoraAlpha = 16,
    reduction_factor: Reduction = 16, load_in_8bit: In8bit = False, load_in_4bit: In4bit = False,
    bf16: Bf16 = False, fp16: Fp16 = False, gradient_checkpointing: GradCkpt = False, report_to: ReportTo = "auto",
    overwrite: Overwrite = False,
) -> None:
    """Multi-task intermediate training: one shared module, one head per task, task sampled per batch.

    Example: adapterstilts train-multitask mnli,squad,hellaswag --sampling temperature --temperature 2
    """
    from adapterstilts.config import TrainConfig
    from adapterstilts.training.multitask import MultiTaskConfig, train_multitask

    names = [t.strip() for t in tasks.split(",") if t.strip()]
    options = _train_options(locals())
    base = TrainConfig(**options, task=names[0] if names else "",
                       output=str(output or Path("runs") / f"multitask-{'+'.join(names)}-{method}-seed{seed}"))
    train_multitask(MultiTaskConfig(tasks=names, base=base, sampling=sampling, temperature=temperature),
                    log=lambda m: typer.echo(m, err=True))


@app.command("evaluate")
@user_errors
def evaluate_command(
    run: Annotated[Optional[str], typer.Argument(help="Run folder (or Hub id) to evaluate.")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Task to evaluate on (default: the run's).")] = None,
    languages: Annotated[str, typer.Option("--languages", help="'all' or a comma list, e.g. de,zh.")] = "all",
    split: Annotated[Optional[str], typer.Option("--split", help="train | validation | test (default: task's).")] = None,
    data: Data = "hub",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write results JSON here (atomically).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    max_examples: Annotated[Optional[int], typer.Option("--max-examples", help="First N examples per language.")] = None,
    layer: Annotated[Optional[int], typer.Option("--layer", help="Retrieval: hidden layer (default 14/24, scaled).")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Score a predictions file instead of a model.")] = None,
    save_predictions: Annotated[Optional[Path], typer.Option("--save-predictions", help="Also write predictions + references here.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Base model override for RUN; without RUN: a plain backbone (retrieval).")] = None,
    allow_pickle: AllowPickle = False,
    bf16: Annotated[bool, typer.Option("--bf16", help="bf16 autocast on a GPU (faster; fp32 otherwise).")] = False,
) -> None:
    """Zero-shot evaluation on every language of a task: per-language table, average, JSON.

    Examples:

    \b
      adapterstilts evaluate runs/xnli-stack-mnli-lora-seed42 --languages all --output results/xnli.json
      adapterstilts evaluate runs/mnli-lora-seed42 --task tatoeba
      adapterstilts evaluate --task xquad --predictions preds.json
      adapterstilts evaluate --model FacebookAI/xlm-roberta-large --task bucc2018   # plain-backbone baseline
    """
    from adapterstilts.evaluation.zero_shot import evaluate_run, format_table

    if predictions is not None:
        from adapterstilts.evaluation.predictions import score_predictions_file

        if not task:
            raise UserError("--predictions needs --task (which metric to apply)")
        result = score_predictions_file(predictions, task, output=output)
    elif model and not run:
        from adapterstilts.evaluation.zero_shot import evaluate_backbone

        if not task:
            raise UserError("--model without a RUN evaluates retrieval: add --task bucc2018 or --task tatoeba")
        result = evaluate_backbone(model, task_name=task, languages=languages, split=split, data=data, layer=layer,
                                   output=output, log=lambda m: typer.echo(m, err=True))
    else:
        if not run:
            raise UserError("give a RUN folder to evaluate, or --predictions FILE with --task")
        result = evaluate_run(run, task_name=task, languages=languages, split=split, data=data, batch_size=batch_size,
                              max_examples=max_examples, output=output, layer=layer,
                              save_predictions=save_predictions, model=model, allow_pickle=allow_pickle, bf16=bf16,
                              log=lambda m: typer.echo(m, err=True))
    typer.echo(format_table(result))
    if output:
        typer.echo(f"wrote {output}", err=True)


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

    spec = get_task(task)
    langs = parse_languages(spec, languages)
    for path in export_task_data(spec, sorted(set(langs) | {spec.train_language}), out, data=data):
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


# Commands defined in their own modules register themselves on `app` when imported.
from adapterstilts.cli import grid, hub  # noqa: E402,F401


def main() -> None:  # console script entry point
    app()


if __name__ == "__main__":
    main()
