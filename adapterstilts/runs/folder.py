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

import errno
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


class DiskError(UserError, OSError):
    """A write that failed on the disk (full, over quota, read-only): one line naming the path and the fix.
    Still an OSError, so code that tolerates a failed write (a read-only run's metrics.json) goes on."""

    def __init__(self, code: int, path: str | os.PathLike, message: str):
        OSError.__init__(self, code, message, str(path))
        self.message = message

    def __str__(self) -> str:
        return self.message


DISK_REASONS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "the disk quota is exceeded",
                errno.EROFS: "the file system is read-only"}


def disk_error(exc: BaseException, path: str | os.PathLike, *, resume: str = "re-run the same command "
               "(finished work is kept)") -> DiskError | None:
    """The one-line error for ``exc`` when it is a full disk or a read-only file system (else None):
    the path it failed on (its own, or ``path``), why, and what to do."""
    if isinstance(exc, DiskError):
        return exc
    if not isinstance(exc, OSError) or exc.errno not in DISK_REASONS:
        return None
    where = exc.filename or path
    if exc.errno == errno.EROFS:
        fix = "write to a folder on a writable disk (another --output)"
    else:
        fix = "free some space there (or write to another disk)"
    return DiskError(exc.errno, where, f"cannot write {where}: {DISK_REASONS[exc.errno]}; {fix}, then {resume}")


def user_mode(path: str | os.PathLike, directory: bool = False) -> None:
    """Give a file made by ``tempfile`` (0600, folders 0700) the mode the user's umask gives new files,
    so a group on a shared cluster can read results and models."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, (0o777 if directory else 0o666) & ~mask)


def user_modes(folder: str | os.PathLike) -> None:
    """``user_mode`` for a folder and everything in it (safetensors writes its files 0600 whatever the
    umask): called on a finished run or model folder just before it is moved into place."""
    for path in [Path(folder), *Path(folder).rglob("*")]:
        if not path.is_symlink():
            user_mode(path, directory=path.is_dir())


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
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)  # never a half-written file: the old one, or none
        problem = disk_error(exc, path)
        if problem is not None and problem is not exc:
            raise problem from exc
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


def check_output_place(path: str | os.PathLike, option: str = "--output", *, file: bool = False) -> Path:
    """Before any model loads: ``path`` (a folder to create, or with ``file=True`` a file to write) can be
    written. Its first existing ancestor must be a folder this user can write to; a file there, or a
    read-only folder, is one line naming it now, not an error after the work is done."""
    path = Path(path).expanduser()
    if file and path.is_dir():
        raise UserError(f"{option} {path} is a folder; give a file name, e.g. {path / 'results.json'}")
    if not file and path.exists() and not path.is_dir():
        raise UserError(f"{option} {path} is a file; give a folder"
                        + (" (a new one, or pass --overwrite for a finished run)" if option == "--output" else ""))
    existing = path.absolute().parent  # a run is written beside its folder (.partial), then renamed
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        article = "an" if option[:1] in "-aeiouAEIOU" else "a"
        raise UserError(f"{option} {path}: {existing} is a file, not a folder; choose {article} {option} outside it")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{option} {path}: cannot write to {existing} (a read-only file system, or no "
                        f"permission); choose an {option} in a folder you can write to")
    return path


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
