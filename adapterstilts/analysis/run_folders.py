"""`report FOLDER` on runs trained and evaluated one by one (no grid): results-store rows from each run's
``manifest.json`` and ``metrics.json``. Two runs that would fill the same table cell are refused (never
averaged as if they were seeds), and a result that is not a full evaluation (``--max-examples``, a split
other than the task's evaluation split, the bundled sample data) carries a ``caveat`` the table marks."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError


def find_runs(path: str | Path) -> list[Path]:
    """The evaluated run folders (``manifest.json`` and ``metrics.json``) at or under ``path``: not the
    copies of intermediate modules inside a run, nor hidden (``.partial``) folders."""
    from adapterstilts.runs import MANIFEST, METRICS_FILE

    root = Path(path)
    if (root / MANIFEST).is_file():
        return [root] if (root / METRICS_FILE).is_file() else []
    if not root.is_dir():
        return []
    runs = sorted(m.parent for m in root.rglob(MANIFEST)
                  if not any(part.startswith(".") for part in m.relative_to(root).parts))
    found = set(runs)
    outer = [r for r in runs if not any(a in found for a in r.parents)]  # a run's intermediates/ copies are not runs
    return [r for r in outer if (r / METRICS_FILE).is_file()]


def _run_row(manifest: dict) -> str:
    """The table row of a single run, as the grid names its rows: "none", the intermediate task ("a+b"
    for several stacked), "fusion a+b", "merged a+b"."""
    tasks = [str(i.get("task")) for i in manifest.get("intermediates") or []]
    if not tasks:
        return "none"
    joined = "+".join(tasks)
    compose = manifest.get("compose", "stack")
    return {"fuse": f"fusion {joined}", "merge": f"merged {joined}"}.get(compose, joined)


def _partial(max_examples, split: str | None, data) -> str:
    reasons = []
    if max_examples is not None:
        reasons.append(f"the first {max_examples} examples per language (--max-examples)")
    if split:
        reasons.append(split)
    if data == "sample":
        reasons.append("the bundled sample data (--data sample)")
    return ", ".join(reasons)


def caveat(result: dict[str, Any], spec) -> str:
    """Why a result is not a full evaluation ("" when it is): as `evaluate`'s table says of partial results."""
    split = result.get("split")
    other = f"split {split}, not {spec.eval_split}" if split and split != spec.eval_split else None
    return _partial(result.get("max_examples"), other, result.get("data"))


def with_grid_caveat(rows: list[dict], recipe_json: Path) -> list[dict]:
    """A grid run on the bundled samples, or with --max-examples / another split, is marked like a
    single run's partial result (``caveat``): its numbers are not comparable with a full run's."""
    try:
        recipe = json.loads(recipe_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return rows
    if not isinstance(recipe, dict):
        return rows
    evaluation = recipe.get("evaluation") if isinstance(recipe.get("evaluation"), dict) else {}
    split = evaluation.get("split")
    note = _partial(evaluation.get("max_examples"), f"split {split}" if split else None, recipe.get("data"))
    if not note:
        return rows
    return [{**r, "caveat": r.get("caveat") or note} if r.get("recipe") == recipe.get("name") else r for r in rows]


def rows_from_runs(folder: str | Path) -> list[dict]:
    """Results-store rows from the ``metrics.json`` of each single run under ``folder`` (``evaluate RUN``
    keeps the latest result per task there): a target run's results under its intermediates' row, an
    intermediate run's retrieval results under its own task; the table is named after the folder (one per
    method when the runs' methods differ)."""
    from adapterstilts.experiments.store import rows_from_result
    from adapterstilts.runs import METRICS_FILE, Run
    from adapterstilts.tasks import TASKS

    rows = []
    cells: dict[tuple, Path] = {}  # (method, row, target, seed) -> the run that fills it
    for path in find_runs(folder):
        run = Run.open(path)
        metrics_path = path / METRICS_FILE
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            raise UserError(f"{metrics_path} is not readable JSON ({type(exc).__name__}); re-run `adapterstilts "
                            f"evaluate {path}`, or move the run out of {folder}") from None
        manifest = run.manifest
        intermediate = manifest["task"] if manifest.get("kind") == "intermediate" else _run_row(manifest)
        for key, result in (metrics.items() if isinstance(metrics, dict) else ()):
            target = result.get("task", key) if isinstance(result, dict) else key
            spec = TASKS.get(target) if target in TASKS else None
            if spec is None or spec.kind == "intermediate":  # a dev score of an intermediate task: no column
                continue
            if not isinstance(result, dict) or not isinstance(result.get("languages"), dict) or not all(
                    isinstance(v, dict) for v in result["languages"].values()):
                raise UserError(f"{metrics_path}: the {key!r} result has no per-language scores; re-run "
                                f"`adapterstilts evaluate {path}`, or move the run out of {folder}")
            seed = manifest.get("seed") if isinstance(manifest.get("seed"), int) else 0
            cell = (manifest["method"], intermediate, target, seed)
            if cell in cells and cells[cell] != path:
                raise UserError(f"{cells[cell]} and {path} are both {intermediate} -> {target}, seed {seed} "
                                f"(method {manifest['method']}): one table cell, not two seeds; move one of them "
                                f"out of {folder}")
            cells[cell] = path
            note = caveat(result, spec)
            for row in rows_from_result(result, recipe=manifest["method"],
                                        intermediate=intermediate, method=manifest["method"],
                                        compose=manifest.get("compose", "none"), target=target, seed=seed,
                                        run=str(path)):
                rows.append({**row, "caveat": note} if note else row)
    name = Path(folder).resolve().name
    methods = {r["recipe"] for r in rows}
    for r in rows:  # the folder's name titles the table; one table per method when they differ
        r["recipe"] = name if len(methods) == 1 else f"{name}/{r['method']}"
    return rows


def unread_runs(folder: str | Path, rows: list[dict]) -> list[Path]:
    """The evaluated runs under ``folder`` whose results are in none of ``rows`` (a store's): single runs
    put beside a grid's results.sqlite, which `report` reads instead of them."""
    stored = {Path(r["run"]).resolve().as_posix() for r in rows if r.get("run")}
    root = Path(folder)

    def read(run: Path) -> bool:  # its path, or its place under a grid folder that has moved since
        tail = "/" + run.relative_to(root).as_posix()
        return run.resolve().as_posix() in stored or any(s.endswith(tail) for s in stored)

    return [run for run in find_runs(folder) if not read(run)]
