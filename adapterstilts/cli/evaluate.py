"""`adapterstilts evaluate`: zero-shot evaluation of a run, a plain backbone or a predictions file.
A thin wrapper over adapterstilts.evaluation."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.cli.options import option
from adapterstilts.errors import UserError

AllowPickle = option("allow_pickle")


@app.command("evaluate")
@user_errors
def evaluate_command(
    run: Annotated[Optional[str], typer.Argument(help="Run folder (or Hub id) to evaluate.")] = None,
    task: Annotated[Optional[str], typer.Option("--task", help="Task to evaluate on (default: the run's).")] = None,
    languages: Annotated[str, typer.Option("--languages", help="'all' or a comma list, e.g. de,zh.")] = "all",
    split: Annotated[Optional[str], typer.Option("--split", help="train | validation | test (default: task's).")] = None,
    data: Annotated[Optional[str], typer.Option(
        "--data", help="'hub', 'sample' (bundled, offline) or a local DIR (default: the run's own data source "
                       "when it was 'sample' or a folder, else the Hub).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write results JSON here (atomically).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    max_examples: Annotated[Optional[int], typer.Option("--max-examples", help="First N examples per language.")] = None,
    layer: Annotated[Optional[str], typer.Option("--layer", help="Retrieval: hidden layer (default 14 of 24, scaled), "
                                                 "or 'all': every layer in one pass.")] = None,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Score a predictions file instead of a model.")] = None,
    save_predictions: Annotated[Optional[Path], typer.Option("--save-predictions", help="Also write predictions + references here.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Base model override for RUN; without RUN: a plain backbone (retrieval).")] = None,
    allow_pickle: AllowPickle = False,
    bf16: Annotated[bool, typer.Option("--bf16", help="bf16 autocast on a GPU (faster; fp32 otherwise).")] = False,
    qa_answer_text: Annotated[Optional[str], typer.Option(
        "--qa-answer-text", help="QA: words (XTREME's run_squad, jiant) | offsets (exact piece characters); "
                                 "default: the run's setting.")] = None,
    language_adapters: Annotated[Optional[str], typer.Option(
        "--language-adapters", help="A run trained with --language-adapter: each language's own adapter, "
                                    "de=REF,zh=REF (others keep the training one).")] = None,
) -> None:
    """Zero-shot evaluation on every language of a task: per-language table, average, JSON.

    Examples:

    \b
      adapterstilts evaluate runs/xnli-stack-mnli-lora-seed42 --languages all --output results/xnli.json
      adapterstilts evaluate runs/mnli-lora-seed42 --task tatoeba
      adapterstilts evaluate --task xquad --predictions preds.json
      adapterstilts evaluate --model FacebookAI/xlm-roberta-large --task bucc2018   # plain-backbone baseline
      adapterstilts evaluate runs/xnli-madx --language-adapters de=adapters/de,zh=adapters/zh   # MAD-X
    """
    from adapterstilts.evaluation.zero_shot import evaluate_run, format_layers, format_table

    def log(message: str) -> None:
        typer.echo(message, err=True)

    if layer is not None and layer != "all":
        try:
            layer = int(layer)
        except ValueError:
            raise UserError(f"--layer {layer!r}: give a layer number or 'all'") from None
    model_options = {"--model": model, "--max-examples": max_examples, "--layer": layer, "--split": split,
                     "--data": data, "--save-predictions": save_predictions, "--qa-answer-text": qa_answer_text,
                     "--language-adapters": language_adapters, "--bf16": bf16 or None,
                     "--allow-pickle": allow_pickle or None, "--batch-size": None if batch_size == 64 else batch_size}
    if predictions is not None:
        from adapterstilts.evaluation.predictions import score_predictions_file

        if run:
            raise UserError(f"give either a RUN to evaluate or --predictions FILE to score, not both (RUN {run} "
                            "would be ignored)")
        _refuse("--predictions scores a file without a model", model_options)
        if not task:
            raise UserError("--predictions needs --task (which metric to apply)")
        result = score_predictions_file(predictions, task, output=output, languages=languages)
    elif model and not run:
        from adapterstilts.evaluation.zero_shot import evaluate_backbone

        if not task:
            raise UserError("--model without a RUN evaluates retrieval: add --task bucc2018 or --task tatoeba")
        _refuse("--model without a RUN scores retrieval from the plain encoder",
                {k: v for k, v in model_options.items() if k in ("--max-examples", "--save-predictions",
                 "--qa-answer-text", "--language-adapters", "--bf16", "--allow-pickle", "--batch-size")})
        result = evaluate_backbone(model, task_name=task, languages=languages, split=split, data=data or "hub",
                                   layer=layer,
                                   output=output, log=log)
    else:
        if not run:
            raise UserError("give a RUN folder to evaluate, or --predictions FILE with --task")
        from adapterstilts.compose.language import parse_mapping

        mapping = parse_mapping(language_adapters)
        result = evaluate_run(run, task_name=task, languages=languages, split=split, data=data, batch_size=batch_size,
                              max_examples=max_examples, output=output, layer=layer,
                              save_predictions=save_predictions, model=model, allow_pickle=allow_pickle, bf16=bf16,
                              language_adapters=mapping or None, qa_answer_text=qa_answer_text, log=log)
    typer.echo(format_table(result))
    if result.get("layer") is not None:
        log(f"layer {result['layer']} (mean pooling): the hidden layer the retrieval scores come from")
    if result.get("by_layer"):
        typer.echo(format_layers(result))
    if output:
        log(f"wrote {output}")


def _refuse(what: str, given: dict) -> None:
    """Options that would be silently ignored on this path are an error naming them."""
    ignored = [name for name, value in given.items() if value is not None]
    if ignored:
        raise UserError(f"{what}, so {', '.join(ignored)} would be ignored; drop "
                        f"{'it' if len(ignored) == 1 else 'them'}")
