"""Command-line options generated from the config dataclasses, so each training option is declared once.

A :class:`~adapterstilts.config.TrainConfig` field is an option unless its ``metadata`` says
``"cli": False``. Its metadata holds ``help`` and ``flag`` (default ``--field-name``) and, where needed,
``short`` (``-o``), ``commands`` (the training commands that offer it; default all of them),
``cli_type`` and ``cli_default`` (when the command-line value differs from the field's: ``--output``
is an optional path the command fills in). :func:`train_options` appends these options to a command's
own parameters; the command receives them as keyword arguments named after the fields.

Only typer's public API (``typer.Option`` in ``Annotated``) and :mod:`inspect` are used: typer reads a
command's parameters from ``inspect.signature``, which honours ``__signature__``."""
from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import MISSING, Field, fields
from typing import Annotated, Any, Callable

import typer

from adapterstilts.config import TrainConfig

TRAIN_COMMANDS = ("train-intermediate", "train-target", "train-multitask")


@functools.lru_cache(maxsize=None)
def _types(config: type) -> dict[str, Any]:
    return typing.get_type_hints(config)


def flag(f: Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def is_option(f: Field) -> bool:
    return f.metadata.get("cli", True) is not False


def offered(command: str, config: type = TrainConfig) -> list[Field]:
    """The fields of ``config`` that ``command`` offers as options, in declaration (= --help) order."""
    return [f for f in fields(config) if is_option(f) and command in f.metadata.get("commands", TRAIN_COMMANDS)]


def annotation(f: Field, config: type = TrainConfig) -> Any:
    """``Annotated[type, typer.Option(flag, short, help=...)]`` for one field."""
    if "help" not in f.metadata:
        raise TypeError(f"{config.__name__}.{f.name} is a command-line option without help text: give it "
                        f'metadata={{"help": ...}}, or {{"cli": False}} if it is not an option')
    cli_type = f.metadata.get("cli_type") or _types(config)[f.name]
    decls = [flag(f)] + ([f.metadata["short"]] if "short" in f.metadata else [])
    return Annotated[cli_type, typer.Option(*decls, help=f.metadata["help"])]


def default(f: Field) -> Any:
    if "cli_default" in f.metadata:
        return f.metadata["cli_default"]
    return None if f.default is MISSING else f.default


def option(name: str, config: type = TrainConfig) -> Any:
    """The option of one config field, for a command that declares its own parameters
    (``data: option("data") = "hub"`` is spelled ``Data = option("data")`` at module level)."""
    by_name = {f.name: f for f in fields(config)}
    return annotation(by_name[name], config)


def train_options(command: str, **defaults: Any) -> Callable:
    """Give ``command`` (a function taking ``**options``) one option per TrainConfig field it offers,
    after its own parameters; ``defaults`` overrides a field's default for this command
    (``@train_options("train-target", epochs=2.0)``)."""

    def decorate(fn: Callable) -> Callable:
        chosen = offered(command)
        unknown = set(defaults) - {f.name for f in chosen}
        if unknown:
            raise TypeError(f"{command}: default given for {sorted(unknown)}, which it does not offer")
        signature = inspect.signature(fn, eval_str=True)
        own = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        taken = {p.name for p in own} & {f.name for f in chosen}
        if taken:
            raise TypeError(f"{command}: {sorted(taken)} declared by the command and by TrainConfig")
        generated = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation(f),
                                       default=defaults.get(f.name, default(f))) for f in chosen]
        fn.__signature__ = signature.replace(parameters=own + generated)
        return fn

    return decorate
