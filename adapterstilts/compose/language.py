"""Language adapters (MAD-X, Pfeiffer et al. 2020): a frozen bottleneck adapter of a language under the
task module(s), swapped for the target language's adapter at evaluation.

Training with ``--language-adapter REF`` (an ``adapters`` bottleneck adapter: a folder, a plain module
on the Hub, or an adapterstilts run) loads it frozen as ``language`` and puts it first in the active
composition: ``Stack(language, task)``, ``Stack(language, intermediate, task)`` or
``Stack(language, Fuse(...))``. Its copy goes into ``RUN/language_adapter/``, so the run is
self-contained. ``evaluate --language-adapters de=REF,zh=REF`` replaces it by each language's own
adapter; a language without one keeps the training adapter, and the output says so. Bottleneck
adapters only: the task module and the language adapter live in the same ``adapters`` model."""
from __future__ import annotations

import shutil
from pathlib import Path

from adapterstilts.errors import UserError

NAME = "language"
FOLDER = "language_adapter"


def resolve(ref: str, *, model: str | None = None, allow_pickle: bool = False, log=print) -> Path:
    """The folder of a language adapter reference (a bottleneck module: folder, Hub id or run)."""
    from adapterstilts.runs.refs import parse_hub_ref, resolve_run

    if not Path(ref).expanduser().exists() and parse_hub_ref(ref) is None:
        raise UserError(f"language adapter {ref!r} does not exist; pass an adapters bottleneck adapter folder "
                        "(adapter_config.json + weights) or a Hub id")
    run = resolve_run(ref, allow_pickle=allow_pickle, model=model, log=log)
    if run.method != "bottleneck":
        raise UserError(f"language adapter {ref!r} is a {run.method} module; a language adapter is an adapters "
                        "bottleneck adapter (e.g. AdapterHub's MAD-X adapters, or one trained with --method bottleneck)")
    return run.module_dir


def attach(encoder, folder: Path) -> None:
    """Load the language adapter frozen and put it under the active composition."""
    from adapters.composition import Stack

    current = encoder.active_adapters
    if NAME in encoder.adapters_config:
        encoder.delete_adapter(NAME)
    encoder.load_adapter(str(folder), load_as=NAME, set_active=False, use_safetensors=True)
    for param_name, param in encoder.named_parameters():
        if f".{NAME}." in param_name:
            param.requires_grad = False
    if current is None:
        raise UserError("a language adapter goes under a task module; none is active")
    children = list(current.children) if isinstance(current, Stack) else [current]
    children = [c for c in children if c != NAME]
    encoder.set_active_adapters(Stack(NAME, *children))


def swap(encoder, folder: Path) -> None:
    """Replace the loaded language adapter by the one in ``folder`` (the composition stays)."""
    current = encoder.active_adapters
    encoder.delete_adapter(NAME)
    encoder.load_adapter(str(folder), load_as=NAME, set_active=False, use_safetensors=True)
    encoder.set_active_adapters(current)


def save_copy(folder: Path, work: Path) -> Path:
    target = work / FOLDER
    shutil.copytree(folder, target)
    return target


def parse_mapping(text: str | None) -> dict[str, str]:
    """``"de=REF,zh=REF"`` -> {"de": REF, "zh": REF}."""
    out: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in (text or "").split(","))):
        lang, sep, ref = item.partition("=")
        if not sep or not lang.strip() or not ref.strip():
            raise UserError(f"--language-adapters {item!r}: expected LANG=REF, e.g. de=adapters/de,zh=adapters/zh")
        out[lang.strip()] = ref.strip()
    return out
