"""`adapterstilts push` and `adapterstilts pull`: sharing run folders on the Hugging Face Hub.
Thin wrappers over adapterstilts.runs.hub and adapterstilts.runs.refs; registered on the main app on import."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from adapterstilts.cli import app, user_errors
from adapterstilts.errors import UserError


@app.command("push")
@user_errors
def push_command(
    run_dir: Annotated[Path, typer.Argument(help="Finished run folder (the --output of a training run).")],
    repo_id: Annotated[str, typer.Argument(help="Hub repo to push to, user/name (created if missing).")],
    private: Annotated[bool, typer.Option("--private", help="Create the repo as private.")] = False,
    revision: Annotated[Optional[str], typer.Option(
        "--revision", help="Branch to push to (created if missing).")] = None,
    commit_message: Annotated[Optional[str], typer.Option("--commit-message", "-m", help="Commit message.")] = None,
    base_model: Annotated[Optional[str], typer.Option(
        "--base-model", help="Hub id of the base model, when the run used a local model folder.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the files and model card; upload nothing.")] = False,
) -> None:
    """Upload a run folder to the Hugging Face Hub, with a model card rendered from its manifest.

    Local paths are replaced, checkpoints and pickle files left out; the token comes from HF_TOKEN or
    `huggingface-cli login` and is never written anywhere.

    Examples:

    \b
      adapterstilts push runs/mnli-lora-seed42 me/xlmr-large-mnli-lora
      adapterstilts push runs/mnli-lora-seed42 me/xlmr-large-mnli-lora --revision seed42 --private
      adapterstilts push runs/tiny-mnli me/tiny-mnli --base-model me/tiny-xlmr --dry-run
    """
    from adapterstilts.runs.hub import dry_run as stage_only
    from adapterstilts.runs.hub import push_run

    def log(message: str) -> None:
        typer.echo(message, err=True)

    from adapterstilts.runs.model_card import is_hub_id

    if not is_hub_id(repo_id.split("@")[0]):  # checked before staging, with or without --dry-run
        raise UserError(f"{repo_id!r} is not a Hub repo id; give USER/NAME (letters, digits, '-', '_', '.')")
    if dry_run:
        files, card = stage_only(run_dir, repo_id, base_model=base_model, log=log)
        typer.echo("\n".join(files))
        typer.echo("")
        typer.echo(card)
        return
    result = push_run(run_dir, repo_id, private=private, revision=revision, commit_message=commit_message,
                      base_model=base_model, log=log)
    pinned = f"{result.repo_id}@{result.commit}" if result.commit else result.repo_id
    typer.echo(f"pushed {len(result.files)} files to https://huggingface.co/{result.repo_id}"
               f"{' (branch ' + result.revision + ')' if result.revision else ''}")
    if result.url:
        typer.echo(f"commit: {result.url}")
    typer.echo(f"use it with: --intermediate {pinned}")


@app.command("pull")
@user_errors
def pull_command(
    ref: Annotated[str, typer.Argument(help="Hub id user/repo or user/repo@revision (or a local folder).")],
    allow_pickle: Annotated[bool, typer.Option(
        "--allow-pickle", help="Accept pickle weights (*.bin, *.pt): only for sources you trust.")] = False,
    model: Annotated[Optional[str], typer.Option(
        "--model", help="Base model to assume for a plain module that names none readable here.")] = None,
) -> None:
    """Fetch a run (or a plain peft / adapters module) into the Hugging Face cache and describe it.

    Once pulled, `--intermediate user/repo` and `evaluate user/repo` work offline (HF_HUB_OFFLINE=1).

    Examples:

    \b
      adapterstilts pull me/xlmr-large-mnli-lora
      adapterstilts pull someone/xlmr-lora-squad@v1 --model FacebookAI/xlm-roberta-large
    """
    from adapterstilts.runs.refs import resolve_run

    run = resolve_run(ref, allow_pickle=allow_pickle, model=model, log=lambda m: typer.echo(m, err=True))
    typer.echo(f"folder:     {run.module_dir if getattr(run, 'assumptions', None) else run.path}")
    typer.echo(f"task:       {run.task}")
    typer.echo(f"method:     {run.method} (compose {run.compose})")
    typer.echo(f"base model: {run.base_model} (config {run.config_hash})")
    source = run.manifest.get("source")
    if source:
        typer.echo(f"source:     {source}")
