"""Sharing run folders on the Hugging Face Hub.

``push_run`` uploads a finished run folder with ``huggingface_hub`` (``HfApi.create_repo`` +
``upload_folder``): a sanitised copy is staged first, so what is uploaded is exactly what was checked:

- checkpoints, partial/temporary/hidden files and pickle files are left out;
- every JSON file (manifests, adapter configs, metrics, the training config) has its local paths
  replaced (``/home/me/models/xlmr`` -> ``<local:xlmr>``, or the Hub id given as ``base_model``),
  which also turns the intermediates' ``source`` fields into something shareable;
- a README.md model card is rendered from the sanitised manifest (``adapterstilts.runs.model_card``);
- the staged files are scanned for the Hugging Face token and for local paths before anything is
  sent; a hit stops the push.

The token is read by huggingface_hub from its usual places (HF_TOKEN, the login cache); this module
never reads, prints or stores it, except to make sure it is not in the upload.
Loading a pushed run back is ``adapterstilts.runs.refs.resolve_run("user/repo[@revision]")``."""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from adapterstilts.errors import UserError
from adapterstilts.runs.model_card import is_hub_id, render_card
from adapterstilts.runs.refs import PICKLE_SUFFIXES
from adapterstilts.runs import MANIFEST, METRICS_FILE, Run

CARD = "README.md"
EXCLUDED_DIRS = {"checkpoints", "__pycache__"}
EXCLUDED_SUFFIXES = (".tmp", ".partial", ".lock", ".pyc")
# remote files of an earlier push that this layout owns (a re-push must not leave stale modules behind);
# other files in the repo (a LICENSE, say) are kept. .gitattributes is never deleted by huggingface_hub.
OWNED_PATTERNS = ["module/*", "intermediates/*", "*.json", "*.jsonl", "*.safetensors", CARD]
_WIN_ABS = re.compile(r"^[A-Za-z]:[\\/]")


@dataclass
class PushResult:
    repo_id: str
    revision: str | None
    commit: str | None
    url: str | None
    files: list[str]


def looks_local(value: str) -> bool:
    """Is this string a local filesystem path (absolute, home-relative, or existing here)?"""
    v = value.strip()
    if not v or len(v) > 1024 or "\n" in v or v.startswith(("http://", "https://")):
        return False
    if v.startswith(("/", "~", "./", "../", ".\\", "..\\", "\\\\", "file:")) or _WIN_ABS.match(v):
        return True
    if "/" in v or "\\" in v:
        try:
            return Path(v).exists()
        except (OSError, ValueError):
            return False
    return False


def placeholder(path: str) -> str:
    name = re.split(r"[\\/]", path.rstrip("/\\"))[-1] or "path"
    return f"<local:{name}>"


@dataclass
class Sanitizer:
    """Replaces local paths in JSON values; remembers what it replaced (for the final leak scan)."""

    replacements: dict[str, str] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)

    def text(self, value: str) -> str:
        if value in self.replacements:
            self.replaced.add(value)
            return self.replacements[value]
        if looks_local(value):
            self.replaced.add(value)
            return placeholder(value)
        return value

    def walk(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, list):
            return [self.walk(v) for v in obj]
        if isinstance(obj, dict):
            return {k: self.walk(v) for k, v in obj.items()}
        return obj

    def free_text(self, text: str) -> str:
        for old in sorted(self.replaced | set(self.replacements), key=len, reverse=True):
            if len(old) >= 2:
                text = text.replace(old, self.replacements.get(old) or placeholder(old))
        return text


def open_local_run(run_dir: str | os.PathLike) -> Run:
    path = Path(run_dir).expanduser()
    if not path.is_dir():
        raise UserError(f"{run_dir} is not a local folder; push takes the --output folder of a finished run")
    if path.name.endswith(".partial") or path.name.startswith("."):
        raise UserError(f"{path} is an unfinished training folder; push the finished --output folder instead")
    run = Run.open(path)
    if not run.module_dir.is_dir():
        raise UserError(f"{path} has no {run.module_dir.name}/ folder; the run is incomplete: re-run the training")
    return run


def _base_replacements(run: Run, base_model: str | None, log: Callable[[str], None]) -> dict[str, str]:
    """Map the run's base model name (and its absolute form) to what the upload should say."""
    name = run.base_model
    if base_model:
        _check_base_model(run, base_model, log)
        target = base_model
    elif looks_local(name) or not is_hub_id(name):
        target = placeholder(name)
        log(f"note: the base model {target} is a local folder; pass --base-model USER/NAME (its Hub id) so the card "
            "and the adapter configs name a model others can load")
    else:
        return {}
    out = {name: target}
    try:
        out[str(Path(name).expanduser().resolve())] = target
    except (OSError, RuntimeError):
        pass
    return out


def _check_base_model(run: Run, base_model: str, log: Callable[[str], None]) -> None:
    from adapterstilts.model.backbone import config_fingerprint, load_config

    if not is_hub_id(base_model):
        raise UserError(f"--base-model {base_model!r} is not a Hub id; pass the base model's id, e.g. "
                        "FacebookAI/xlm-roberta-large")
    try:
        config = load_config(base_model)
    except UserError:
        log(f"note: could not read {base_model}'s config here, so its match with the run's base model is unchecked")
        return
    if config_fingerprint(config) != run.config_hash:
        raise UserError(f"--base-model {base_model} (config {config_fingerprint(config)}) is not the model this run "
                        f"was trained on (config {run.config_hash}); pass the base model it was trained on")


def _included(rel: Path) -> bool:
    parts = rel.parts
    if any(p.startswith(".") for p in parts) or any(p in EXCLUDED_DIRS for p in parts):
        return False
    name = parts[-1]
    return not name.endswith(EXCLUDED_SUFFIXES) and name != CARD


def stage_run(run: Run, dest: Path, repo_id: str, *, base_model: str | None = None,
              log: Callable[[str], None] = print) -> list[str]:
    """Write the sanitised copy of ``run`` plus its model card into ``dest``; return the relative files."""
    sanitizer = Sanitizer(_base_replacements(run, base_model, log))
    sanitizer.replacements.setdefault(str(run.path), placeholder(str(run.path)))
    sanitizer.replacements.setdefault(str(run.path.resolve()), placeholder(str(run.path)))
    files: list[str] = []
    for src in sorted(run.path.rglob("*")):
        rel = src.relative_to(run.path)
        if not src.is_file() or not _included(rel):
            continue
        if src.suffix.lower() in PICKLE_SUFFIXES:
            log(f"note: left out {rel.as_posix()} (pickle weights are never uploaded; save as safetensors)")
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.suffix == ".json":
            data = sanitizer.walk(_load_json(src))
            target.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        elif src.suffix == ".jsonl":
            lines = [json.dumps(sanitizer.walk(json.loads(line)), ensure_ascii=False)
                     for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
            target.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
        elif src.suffix in (".md", ".txt", ".yaml", ".yml", ".csv", ".tsv"):
            target.write_text(sanitizer.free_text(src.read_text(encoding="utf-8", errors="replace")), encoding="utf-8")
        else:
            _link_or_copy(src, target)
        files.append(rel.as_posix())
    manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    metrics_path = dest / METRICS_FILE
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else None
    (dest / CARD).write_text(render_card(manifest, metrics, repo_id), encoding="utf-8")
    files.append(CARD)
    scan_for_leaks(dest, _forbidden(run, sanitizer))
    return sorted(files)


def _link_or_copy(src: Path, target: Path) -> None:
    """Weights are staged as hard links where possible (a full fine-tune is gigabytes), else copied;
    symlinks are resolved either way, so the upload holds real files."""
    try:
        os.link(src.resolve(), target)
    except OSError:
        shutil.copyfile(src, target)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({type(exc).__name__}); fix or remove it before pushing") from exc


def _forbidden(run: Run, sanitizer: Sanitizer) -> dict[str, str]:
    """Strings that must not appear in the upload -> how to name them in an error (never the token)."""
    out = {s: f"the local path {s!r}" for s in sanitizer.replaced if len(s) >= 4 and ("/" in s or "\\" in s)}
    for path in (str(run.path.resolve()), str(Path.home())):
        if len(path) >= 4:
            out[path] = f"the local path {path!r}"
    token = _token()
    if token and len(token) >= 8:
        out[token] = "your Hugging Face token"
    return out


def _token() -> str | None:
    try:
        from huggingface_hub import get_token

        return get_token()
    except Exception:  # no token anywhere, or an unreadable token file: nothing to look for
        return os.environ.get("HF_TOKEN") or None


def scan_for_leaks(folder: Path, forbidden: dict[str, str]) -> None:
    """Refuse an upload whose text files (or safetensors headers) contain a forbidden string."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        data = _safetensors_header(path) if path.suffix == ".safetensors" else path.read_bytes()
        text = data.decode("utf-8", errors="ignore")
        for needle, what in forbidden.items():
            if needle in text:
                raise UserError(f"refusing to push: {path.relative_to(folder).as_posix()} contains {what}; remove it "
                                "from the run folder and push again")


def _safetensors_header(path: Path) -> bytes:
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return b""
        (size,) = struct.unpack("<Q", head)
        return handle.read(min(size, 100_000_000))


def push_run(run_dir: str | os.PathLike, repo_id: str, *, private: bool = False, revision: str | None = None,
             commit_message: str | None = None, base_model: str | None = None,
             log: Callable[[str], None] = print) -> PushResult:
    """Upload a finished run folder to the Hub repo ``repo_id`` (created if missing)."""
    import requests
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled

    from adapterstilts import __version__

    run = open_local_run(run_dir)
    if "@" in repo_id:
        raise UserError(f"{repo_id!r}: give the branch with --revision, not after '@'")
    message = commit_message or f"adapterstilts: {run.task} {run.method} module (compose {run.compose})"
    api = HfApi(library_name="adapterstilts", library_version=__version__)
    try:
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        full_id = getattr(url, "repo_id", None) or repo_id
        if revision:
            api.create_branch(full_id, branch=revision, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="adapterstilts-push-") as tmp:
            files = stage_run(run, Path(tmp), full_id, base_model=base_model, log=log)
            info = api.upload_folder(repo_id=full_id, folder_path=tmp, commit_message=message, revision=revision,
                                     delete_patterns=OWNED_PATTERNS)
    except OfflineModeIsEnabled as exc:
        raise UserError("pushing needs the network, but HF_HUB_OFFLINE=1 is set; unset it to push") from exc
    except HFValidationError as exc:
        raise UserError(f"{repo_id!r} is not a valid Hub repo id; use user/name") from exc
    except HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise UserError(f"the Hub refused to write to {repo_id} (HTTP {status}); log in with `huggingface-cli "
                            "login` or set HF_TOKEN to a token with write access to that namespace") from exc
        first = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise UserError(f"pushing to {repo_id} failed ({first}); retry later") from exc
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise UserError(f"pushing to {repo_id} failed ({type(exc).__name__}); check the network and retry") from exc
    commit = getattr(info, "oid", None)
    return PushResult(full_id, revision, commit, getattr(info, "commit_url", None) or getattr(url, "url", None), files)


def dry_run(run_dir: str | os.PathLike, repo_id: str, *, base_model: str | None = None,
            log: Callable[[str], None] = print) -> tuple[list[str], str]:
    """What push would upload (file list, model card), without any network access."""
    run = open_local_run(run_dir)
    with tempfile.TemporaryDirectory(prefix="adapterstilts-push-") as tmp:
        files = stage_run(run, Path(tmp), repo_id, base_model=base_model, log=log)
        card = (Path(tmp) / CARD).read_text(encoding="utf-8")
    return files, card
