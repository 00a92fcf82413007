"""Run folders: one folder per training run, with inspectable files and nothing pickled.

    RUN/
      manifest.json        what was trained, on what, how (task, method, compose, base model and its
                           config hash, seed, hyperparameters, library versions, sizes)
      module/              the trained module in its library's own format
      intermediates/NAME/  copies of the frozen intermediate modules a stack / fuse run builds on
                           (module/ + manifest.json), so the folder is self-contained
      head.safetensors     the task head
      metrics.json         evaluation results (written by `evaluate`)
      train_log.jsonl      the training log (loss, learning rate, step)
All JSON is written atomically (temp file, then rename)."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError

MANIFEST = "manifest.json"
MODULE_DIR = "module"
HEAD_FILE = "head.safetensors"
METRICS_FILE = "metrics.json"
TRAIN_LOG = "train_log.jsonl"
INTERMEDIATES_DIR = "intermediates"


def user_mode(path: str | os.PathLike, directory: bool = False) -> None:
    """Give a file made by ``tempfile`` (0600, folders 0700) the mode the user's umask gives new files,
    so a group on a shared cluster can read results and models."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if directory else 0o666) & ~mask)


def write_json_atomic(path: str | os.PathLike, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, ensure_ascii=False, sort_keys=False, default=_jsonable)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        user_mode(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _jsonable(value: Any) -> Any:
    """numpy scalars/arrays and tuples in results become plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("adapterstilts", "torch", "transformers", "peft", "adapters", "datasets", "accelerate", "bitsandbytes"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def folder_size(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


@dataclass
class Run:
    """A finished run folder (read side)."""

    path: Path
    manifest: dict[str, Any]
    model: Any = None  # the trained TaskModel, when train(..., keep_model=True) returned this run

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Run":
        path = Path(path)
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            hint = "it is still running or was interrupted" if path.is_dir() else "the folder does not exist"
            raise UserError(f"{path} is not a finished adapterstilts run ({MANIFEST} missing: {hint}); "
                            "pass the --output folder of a completed train-intermediate / train-target run")
        from adapterstilts.runs.manifest import Manifest

        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"{manifest_path} is not valid JSON ({exc.msg}); re-run the training") from exc
        except (UnicodeDecodeError, OSError) as exc:
            raise UserError(f"{manifest_path} cannot be read ({type(exc).__name__}); re-run the training") from exc
        return cls(path, Manifest.from_dict(data, manifest_path).to_dict())

    @property
    def module_dir(self) -> Path:
        return self.path / MODULE_DIR

    @property
    def head_file(self) -> Path:
        return self.path / HEAD_FILE

    @property
    def task(self) -> str:
        return self.manifest["task"]

    @property
    def method(self) -> str:
        return self.manifest["method"]

    @property
    def compose(self) -> str:
        return self.manifest.get("compose", "none")

    @property
    def module_name(self) -> str:
        return self.manifest["module_name"]

    @property
    def config_hash(self) -> str:
        return self.manifest["base_model"]["config_hash"]

    @property
    def base_model(self) -> str:
        return self.manifest["base_model"]["name"]

    def intermediates(self) -> list["Run"]:
        return [Run.open(self.path / INTERMEDIATES_DIR / i["module_name"]) for i in self.manifest.get("intermediates", [])]


def prepare_output(path: str | os.PathLike, overwrite: bool) -> Path:
    """The output folder must be new or empty, or --overwrite given."""
    import shutil

    path = Path(path)
    if path.exists() and any(path.iterdir()):
        if not overwrite:
            raise UserError(f"output folder {path} is not empty; choose a new --output or pass --overwrite")
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    return path
