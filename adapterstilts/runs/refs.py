"""Resolving a module reference to a Run.

A reference is, in this order:

1. a local folder: an adapterstilts run folder (``manifest.json``), or a plain module folder that
   someone else published: a peft LoRA adapter or an ``adapters`` bottleneck adapter
   (``adapter_config.json`` + weights, no manifest);
2. a Hub id ``user/repo`` or ``user/repo@revision`` (branch, tag or commit): the repo is fetched with
   ``huggingface_hub.snapshot_download`` into the usual HF cache, so a machine with a populated cache
   works offline (``HF_HUB_OFFLINE=1``). The repo holds either of the two folder kinds above.

Loading refuses pickle weights (``*.bin``, ``*.pt``, ``*.pkl``, ``*.pth``) unless ``allow_pickle=True``
(or ``ADAPTERSTILTS_ALLOW_PICKLE=1``); nothing here runs code from a module folder.

For a plain module the Run is synthesised (``ExternalRun``): method, task (``external``) and base
model are inferred from ``adapter_config.json``, the config hash from the base model's config, and
every assumption is returned (``run.assumptions``) and logged, one line each. Its ``module_dir`` is
the module folder itself; its ``path`` is a small folder in the adapterstilts cache that holds only
the synthesised ``manifest.json``, so code that reads ``run.path / "manifest.json"`` works the same
for every run."""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

from adapterstilts.errors import UserError
from adapterstilts.runs import INTERMEDIATES_DIR, MANIFEST, MODULE_DIR, Run, folder_size, write_json_atomic

logger = logging.getLogger("adapterstilts.runs.refs")

PICKLE_SUFFIXES = (".bin", ".pt", ".pkl", ".pth", ".pickle")
PICKLE_PATTERNS = [f"*{s}" for s in PICKLE_SUFFIXES]
ALLOW_PICKLE_ENV = "ADAPTERSTILTS_ALLOW_PICKLE"
EXTERNAL_TASK = "external"
ADAPTER_CONFIG = "adapter_config.json"
FUSION_CONFIG = "adapter_fusion_config.json"
_HUB_REF = re.compile(r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+)(?:@(?P<rev>[A-Za-z0-9_./-]+))?$")


@dataclass
class HubRun(Run):
    """An adapterstilts run folder fetched from the Hub (a snapshot in the HF cache: read-only)."""

    repo_id: str = ""
    revision: str | None = None
    commit: str = ""
    read_only: ClassVar[bool] = True

    @property
    def ref(self) -> str:
        return f"{self.repo_id}@{self.commit}"


@dataclass
class ExternalRun(Run):
    """A plain peft / adapters module published without an adapterstilts manifest."""

    folder: Path = Path(".")
    assumptions: list[str] = field(default_factory=list)
    read_only: ClassVar[bool] = True

    @property
    def module_dir(self) -> Path:
        return self.folder


def pickle_allowed(allow_pickle: bool | None = None) -> bool:
    if allow_pickle is not None:
        return allow_pickle
    return os.environ.get(ALLOW_PICKLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def parse_hub_ref(ref: str) -> tuple[str, str | None] | None:
    """``user/repo[@revision]`` -> (repo_id, revision); None when ``ref`` is not shaped like one."""
    match = _HUB_REF.match(ref.strip())
    if not match or ".." in match["repo"] or match["repo"].endswith((".", "-")):
        return None
    return match["repo"], match["rev"]


def resolve_run(ref: str | os.PathLike, *, allow_pickle: bool | None = None, model: str | None = None,
                log: Callable[[str], None] | None = None) -> Run:
    """A local run/module folder or a Hub id (``user/repo[@revision]``) -> Run.

    ``model``: the base model the caller will use; only consulted for a plain module whose own base
    model config cannot be read (then assumed, and said so)."""
    ref = str(ref)
    allow = pickle_allowed(allow_pickle)
    local = Path(ref).expanduser()
    if local.exists():
        run = open_folder(local, ref=ref, source=None, model=model)
    else:
        hub = parse_hub_ref(ref)
        parent = local.parent
        if hub is not None and str(parent) not in ("", ".") and parent.is_dir():  # runs/missing: a local path
            raise UserError(f"{ref!r} does not exist (there is no such folder in {parent}); pass the --output folder "
                            "of a finished run")
        if hub is None:
            return Run.open(local)  # raises the usual "not a finished run" error
        repo_id, revision = hub
        folder = download(repo_id, revision, ref=ref, allow_pickle=allow)
        run = open_folder(folder, ref=ref, source=f"{repo_id}@{folder.name}", model=model,
                          hub=(repo_id, revision, folder.name))
    check_weights(run, ref, allow_pickle=allow, from_hub=not local.exists())
    say = log or logger.warning
    for line in getattr(run, "assumptions", []):
        say(f"{ref}: assumed {line}")
    return run


def download(repo_id: str, revision: str | None, *, ref: str, allow_pickle: bool) -> Path:
    """The repo's snapshot folder in the HF cache (downloaded when online and missing)."""
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import (GatedRepoError, HfHubHTTPError, HFValidationError, LocalEntryNotFoundError,
                                        RepositoryNotFoundError, RevisionNotFoundError)

    from adapterstilts import __version__

    at = f"@{revision}" if revision else ""
    try:
        folder = snapshot_download(repo_id, revision=revision, library_name="adapterstilts",
                                   library_version=__version__,
                                   ignore_patterns=None if allow_pickle else PICKLE_PATTERNS)
    except GatedRepoError as exc:
        raise UserError(f"Hub repo {repo_id} is gated: accept its terms on huggingface.co, then log in "
                        "(`huggingface-cli login` or HF_TOKEN)") from exc
    except RevisionNotFoundError as exc:
        raise UserError(f"revision {revision!r} does not exist in Hub repo {repo_id}; check the branch, tag or "
                        f"commit after '@' in {ref!r}") from exc
    except RepositoryNotFoundError as exc:
        raise UserError(f"{ref!r} is not a local folder, and Hub repo {repo_id} does not exist or is private; check "
                        "the path or id, or log in (`huggingface-cli login` or HF_TOKEN) for a private repo") from exc
    except LocalEntryNotFoundError as exc:
        offline = constants.HF_HUB_OFFLINE or os.environ.get("HF_HUB_OFFLINE", "") in ("1", "true", "TRUE", "ON")
        why = "HF_HUB_OFFLINE=1 forbids downloading it" if offline else "the Hub cannot be reached"
        raise UserError(f"{ref!r} is not a local folder, and Hub repo {repo_id}{at} is not in the Hugging Face cache "
                        f"({constants.HF_HUB_CACHE}) while {why}; run `adapterstilts pull {ref}` once online "
                        "(HF_HUB_OFFLINE unset) to cache it, or pass a local run folder") from exc
    except HFValidationError as exc:
        raise UserError(f"{ref!r} is neither an existing folder nor a valid Hub id (user/repo[@revision])") from exc
    except HfHubHTTPError as exc:
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UserError(f"could not fetch Hub repo {repo_id}{at} ({first}); retry, or pass a local run folder") from exc
    return Path(folder)


def open_folder(folder: Path, *, ref: str, source: str | None, model: str | None = None,
                hub: tuple[str, str | None, str] | None = None) -> Run:
    """A Run for a folder holding an adapterstilts run or a plain peft / adapters module."""
    if (folder / MANIFEST).is_file():
        run = Run.open(folder)
        if hub is None:
            return run
        manifest = dict(run.manifest)
        manifest["source"] = source  # recorded by runs that build on it, instead of a cache path
        repo_id, revision, commit = hub
        return HubRun(folder, manifest, repo_id=repo_id, revision=revision, commit=commit)
    for candidate in (folder, folder / MODULE_DIR):
        if (candidate / ADAPTER_CONFIG).is_file() or (candidate / FUSION_CONFIG).is_file():
            return synthesise_run(candidate, ref=ref, source=source or str(folder), model=model)
    where = "Hub repo" if hub else "folder"
    raise UserError(f"{where} {ref!r} holds neither an adapterstilts run ({MANIFEST} missing: still running or "
                    f"interrupted?) nor a peft / adapters module ({ADAPTER_CONFIG} missing); pass the --output "
                    "folder of a completed run, or a module folder")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} cannot be read as JSON ({type(exc).__name__}); re-download or re-save "
                        "the module") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path} is not a JSON object; re-download or re-save the module")
    return data


def infer_method(folder: Path, ref: str) -> tuple[str, str, str | None, str | None, str, list[str]]:
    """(method, library, base model, base revision, module name, assumptions) of a plain module."""
    if (folder / FUSION_CONFIG).is_file() and not (folder / ADAPTER_CONFIG).is_file():
        raise UserError(f"{ref!r} is an AdapterFusion layer, which needs the adapters it fuses; use the adapterstilts "
                        "run it came from, or the fused adapters themselves as --intermediate")
    cfg = _read_json(folder / ADAPTER_CONFIG)
    if "peft_type" in cfg:
        kind = str(cfg.get("peft_type"))
        if kind != "LORA":
            raise UserError(f"{ref!r} is a peft {kind} module; adapterstilts composes peft LoRA modules (and adapters "
                            "bottleneck adapters) only")
        notes = ["method lora (adapter_config.json has peft_type LORA, loaded with peft)"]
        if cfg.get("modules_to_save") or cfg.get("task_type"):
            notes.append(f"only its LoRA weights on the encoder are used (task_type {cfg.get('task_type')}, "
                         f"modules_to_save {cfg.get('modules_to_save')} are ignored)")
        return "lora", "peft", cfg.get("base_model_name_or_path"), cfg.get("revision"), "default", notes
    inner = cfg.get("config")
    if isinstance(inner, dict) and ("reduction_factor" in inner or "architecture" in inner):
        arch = inner.get("architecture")
        if arch not in (None, "bottleneck"):
            raise UserError(f"{ref!r} is an adapters {arch!r} module; adapterstilts composes adapters bottleneck "
                            "adapters (and peft LoRA modules) only")
        notes = [f"method bottleneck (adapters bottleneck adapter, reduction factor {inner.get('reduction_factor')})"]
        return "bottleneck", "adapters", cfg.get("model_name"), None, str(cfg.get("name") or EXTERNAL_TASK), notes
    raise UserError(f"{folder / ADAPTER_CONFIG} is neither a peft config (no peft_type) nor an adapters config (no "
                    "config.architecture / reduction_factor); pass a peft LoRA or adapters bottleneck module folder")


def _base_config(base: str | None, revision: str | None, model: str | None, ref: str, notes: list[str]):
    from adapterstilts.model.backbone import load_config

    reason = "names no base model"
    if base:
        try:
            config = load_config(base, revision)
            notes.append(f"base model {base!r} (named by its adapter_config.json; config read from it)")
            return base, config
        except (UserError, ValueError, OSError):  # ValueError: an id the Hub client rejects
            reason = f"names base model {base!r}, whose config cannot be read here"
    if model:
        config = load_config(model)
        notes.append(f"base model {model!r}, the model given for this run (the module {reason})")
        return model, config
    raise UserError(f"cannot tell which base model {ref!r} was trained on: it {reason}; download that model once "
                    "(online), or pass the model it was trained on")


def synthesise_run(folder: Path, *, ref: str, source: str, model: str | None = None) -> ExternalRun:
    from adapterstilts.methods import get_method
    from adapterstilts.model.backbone import architecture, config_fingerprint

    method, library, base, revision, module_name, notes = infer_method(folder, ref)
    notes.append(f"task {EXTERNAL_TASK!r} (a plain module records no task)")
    base_name, config = _base_config(base, revision, model, ref, notes)
    expected = _read_json(folder / ADAPTER_CONFIG).get("hidden_size")
    if expected is not None and expected != getattr(config, "hidden_size", expected):
        raise UserError(f"{ref!r} was made for hidden size {expected} but base model {base_name!r} has "
                        f"{config.hidden_size}; use the base model it was trained on")
    config_hash = config_fingerprint(config)
    notes.append(f"config hash {config_hash} (from {base_name!r}'s config)")
    manifest = {
        "kind": EXTERNAL_TASK,
        "task": EXTERNAL_TASK,
        "method": method,
        "compose": "none",
        "module_name": module_name,
        "module_library": library,
        "base_model": {"name": base_name, "revision": revision, "config_hash": config_hash,
                       "architecture": architecture(config)},
        "intermediates": [],
        "method_settings": get_method(method).settings_of(folder),
        "module_size_bytes": folder_size(folder),
        "source": source,
        "assumptions": list(notes),
    }
    path = _staging_folder(folder, manifest)
    write_json_atomic(path / MANIFEST, manifest)
    return ExternalRun(path, manifest, folder=folder, assumptions=list(notes))


def _staging_folder(folder: Path, manifest: dict) -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "adapterstilts"
    root = Path(os.environ.get("ADAPTERSTILTS_CACHE", default)) / "external"
    key = hashlib.sha256(f"{folder.resolve()}\n{json.dumps(manifest, sort_keys=True)}".encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", manifest["source"].split("/")[-1].split("@")[0])[:40] or "module"
    return root / f"{slug}-{key}"


def module_folders(run: Run) -> list[Path]:
    """Every module folder a run loads: its own module and the intermediates copied into it."""
    folders = [run.module_dir]
    from adapterstilts.compose import get_composition

    if get_composition(run.compose).copies_intermediates:
        for entry in run.manifest.get("intermediates", []) or []:
            folders.append(run.path / INTERMEDIATES_DIR / str(entry.get("module_name", "")) / MODULE_DIR)
    return folders


def check_weights(run: Run, ref: str, *, allow_pickle: bool, from_hub: bool = False) -> None:
    """Refuse module folders whose weights exist only as pickle files (unless allowed), or not at all."""
    for folder in module_folders(run):
        if not folder.is_dir():
            where = folder.relative_to(run.path).as_posix() if run.path in folder.parents else folder.name
            raise UserError(f"{ref!r} has no {where}/ folder; the run is incomplete: re-run or re-push it")
        files = [f for f in folder.rglob("*") if f.is_file()]
        pickles = [f for f in files if f.suffix.lower() in PICKLE_SUFFIXES]
        safe = [f for f in files if f.suffix == ".safetensors"]
        if pickles and not safe and not allow_pickle:
            raise UserError(f"{ref!r}: {pickles[0].name} holds pickle weights, which can run code when loaded; "
                            "convert them to safetensors, or pass --allow-pickle if you trust the source")
        if not pickles and not safe:
            hint = (" (pickle weights are not downloaded without --allow-pickle)" if from_hub and not allow_pickle
                    else "")
            raise UserError(f"{ref!r}: module folder {folder.name}/ holds no weights (*.safetensors){hint}; "
                            "re-save the module, or pass --allow-pickle for a pickle-only module you trust")
        for f in files:
            _check_readable(f, run, ref)
    head = run.path / "head.safetensors"
    if head.is_file():
        _check_readable(head, run, ref)


def _check_readable(path: Path, run: Run, ref: str) -> None:
    """A truncated or foreign safetensors file, or a broken JSON config, named in one line before any
    library reads it."""
    where = path.relative_to(run.path).as_posix() if run.path in path.parents else path.name
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                handle.keys()
        except Exception as exc:  # SafetensorError and friends: a header that does not parse
            first = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
            raise UserError(f"{ref!r}: {where} is not a readable safetensors file ({first}); it is truncated or "
                            "not safetensors: re-run the training, or re-download the run") from None
    elif path.suffix == ".json":
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise UserError(f"{ref!r}: {where} is not valid JSON ({type(exc).__name__}); re-run the training, or "
                            "re-download the run") from None
