"""The `adapterstilts` command: thin typer commands over library functions, one module per command group
(data, train, evaluate, grid, hub), each registering its commands on `app` when imported. Training
options are declared once, as TrainConfig field metadata (cli/options.py turns them into options)."""
from __future__ import annotations

import functools
import logging
import os

import typer

from adapterstilts.errors import NothingToDo, UserError

# datasets' per-call bars (map / filter / save) drown our own progress; our training and evaluation
# bars stay. Set HF_DATASETS_DISABLE_PROGRESS_BARS=0 to see them.
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
# bitsandbytes' CPU backend warns at import (peft imports it) that an optional kernel could not be
# fetched from the Hub; it changes nothing we do.
logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="English intermediate-task training (STILTs) with LoRA / bottleneck modules on XLM-R, "
                       "for zero-shot cross-lingual transfer (XTREME).")


def user_errors(fn):
    """Print UserError as one line (no traceback) and exit 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NothingToDo as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(0) from None
        except UserError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            typer.echo("interrupted; finished work is kept: re-run the same command to resume", err=True)
            raise typer.Exit(130) from None
        except OSError as exc:  # a full disk, a read-only file system: where, and what to do
            from adapterstilts.runs.folder import disk_error

            problem = disk_error(exc, exc.filename or "the output folder")
            if problem is None:
                raise
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(2) from None

    return wrapper


# The command modules register themselves on `app` when imported; this order is the order of `--help`.
from adapterstilts.cli import data, train, evaluate, grid, hub  # noqa: E402,F401
from adapterstilts.cli import score  # noqa: E402,F401  (`adapterstilts score`)
from adapterstilts.cli import select  # noqa: E402,F401  (`adapterstilts select`)
from adapterstilts.cli import study  # noqa: E402,F401  (`adapterstilts studies | study`)


def main() -> None:  # console script entry point
    app()


if __name__ == "__main__":
    main()
