"""The results store: one tidy SQLite table with a row per (recipe, cell, language, metric).

    recipe, cell, intermediate, method, compose, target, language, metric, seed, value, run, recorded_at, axes

``cell`` is ``INTERMEDIATE/TARGET/seedSEED`` plus one part per study axis a cell has beyond those
(``/size1000``, ``/shots5-de``). ``axes`` holds the study axes of the row as JSON (``{"size": 1000}``;
``{"size": null}``: all the data; ``{}`` for a plain grid); :meth:`ResultsStore.to_dataframe` turns each into a column, so pandas reads
one tidy table whatever the study. Stores written before the column existed gain it on first write. A cell's rows are written in one transaction that first
deletes that cell's earlier rows, so re-running a cell replaces its results and a crash leaves either
the old rows or the new ones. Read it with plain ``sqlite3``, with ``pandas.read_sql("SELECT * FROM
results", sqlite3.connect(path))`` or with :func:`ResultsStore.to_dataframe`.

Only the grid driver writes (cluster jobs write their cell's JSON; the driver copies it in), so one
process writes at a time and the file can live on a shared disk."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

from adapterstilts.errors import UserError

COLUMNS = ("recipe", "cell", "intermediate", "method", "compose", "target", "language", "metric", "seed", "value",
           "run", "recorded_at", "axes")
from adapterstilts.experiments.axes import STUDY_AXES as AXES  # noqa: E402  (the axes a row can carry)
STORE_FILE = "results.sqlite"
# numbers in a result that are not scores (retrieval layer, pair counts, a tuned threshold)
NOT_SCORES = frozenset({"layer", "num_pairs", "threshold", "total", "HasAns_total", "NoAns_total", "best_exact_thresh",
                        "best_f1_thresh"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    recipe TEXT NOT NULL, cell TEXT NOT NULL, intermediate TEXT NOT NULL, method TEXT NOT NULL,
    compose TEXT NOT NULL, target TEXT NOT NULL, language TEXT NOT NULL, metric TEXT NOT NULL,
    seed INTEGER NOT NULL, value REAL NOT NULL, run TEXT, recorded_at REAL NOT NULL, axes TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS results_cell ON results (recipe, cell);
"""


def cell_key(intermediate: str, target: str, seed: int, axes: Mapping[str, Any] | None = None) -> str:
    """``INTERMEDIATE/TARGET/seedSEED`` and one part per study axis that is set (a plain grid's keys are
    the same as before axes existed, so its finished cells are found again)."""
    parts = [intermediate, target, f"seed{seed}"]
    axes = axes or {}
    if "size" in axes:
        parts.append(f"size{'full' if axes['size'] is None else axes['size']}")
    if axes.get("shots") is not None:
        parts.append(f"shots{axes['shots']}-{axes.get('language', 'all')}")
    return "/".join(parts)


def rows_from_result(result: Mapping[str, Any], *, recipe: str, intermediate: str, method: str, compose: str,
                     target: str, seed: int, run: str | None, axes: Mapping[str, Any] | None = None,
                     ) -> list[dict[str, Any]]:
    """Tidy rows from an ``evaluate_run`` result: one per (language, numeric score)."""
    import json

    axes_json = json.dumps(dict(axes or {}), sort_keys=True)  # a None size is kept: "all the data"
    rows = []
    for language, scores in result["languages"].items():
        for metric, value in scores.items():
            if metric in NOT_SCORES or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            rows.append({"recipe": recipe, "cell": cell_key(intermediate, target, seed, axes),
                         "intermediate": intermediate, "method": method, "compose": compose, "target": target,
                         "language": language, "metric": metric, "seed": int(seed), "value": float(value), "run": run,
                         "axes": axes_json})
    return rows


class ResultsStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def _connect(self, create: bool, rebuilt: bool = False) -> sqlite3.Connection:
        if not create and not self.path.is_file():
            raise UserError(f"no results store at {self.path}; run a recipe first (`adapterstilts run tiny`) "
                            "or pass the results.sqlite of an output root")
        conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=60, isolation_level=None)
            conn.execute("PRAGMA schema_version").fetchone()  # reads the header: a file that is no database fails here
            if create:
                conn.executescript(_SCHEMA)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(results)")}
                if "axes" not in columns:  # a store from before study axes
                    conn.execute("ALTER TABLE results ADD COLUMN axes TEXT NOT NULL DEFAULT '{}'")
        except (sqlite3.DatabaseError, OSError) as exc:
            if conn is not None:
                conn.close()
            problem = _disk_problem(exc, self.path) or _unopenable(exc, self.path)
            if problem is not None:
                raise problem from None
            if isinstance(exc, OSError):
                raise
            if not rebuilt and self.path.name == STORE_FILE and rebuild(self.path, exc) is not None:
                return self._connect(create, rebuilt=True)
            raise UserError(f"{self.path} is not a readable results store ({exc}) and there are no cell files to "
                            f"rebuild it from ({self.path.parent / 'results'}); pass the results.sqlite a grid "
                            "wrote, or move this file aside and re-run the grid") from None
        return conn

    def replace_cell(self, recipe: str, cell: str, rows: Iterable[Mapping[str, Any]]) -> int:
        """Replace every row of (recipe, cell) by ``rows``, atomically. Returns the number written."""
        now = time.time()
        defaults = {"recorded_at": now, "axes": "{}"}
        values = [tuple(row.get(c, defaults.get(c)) for c in COLUMNS) for row in rows]
        for row in values:
            if row[0] != recipe or row[1] != cell:
                raise ValueError(f"row of {row[0]}/{row[1]} given for cell {recipe}/{cell}")
        try:
            conn = self._connect(create=True)
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute("DELETE FROM results WHERE recipe = ? AND cell = ?", (recipe, cell))
                    conn.executemany(f"INSERT INTO results ({', '.join(COLUMNS)}) VALUES "
                                     f"({', '.join('?' * len(COLUMNS))})", values)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:  # the cell's old rows stay, none of the new ones
                        conn.execute("ROLLBACK")
                    raise
            finally:
                conn.close()
        except (sqlite3.OperationalError, OSError) as exc:
            problem = _disk_problem(exc, self.path)
            if problem is None:
                raise
            raise problem from None
        return len(values)

    def has_cell(self, recipe: str, cell: str) -> bool:
        if not self.path.is_file():
            return False
        conn = self._connect(create=True)
        try:
            found = conn.execute("SELECT 1 FROM results WHERE recipe = ? AND cell = ? LIMIT 1", (recipe, cell)).fetchone()
        finally:
            conn.close()
        return found is not None

    def rows(self, recipe: str | None = None) -> list[dict[str, Any]]:
        conn = self._connect(create=False)
        conn.row_factory = sqlite3.Row
        try:
            try:
                present = {row[1] for row in conn.execute("PRAGMA table_info(results)")}
            except sqlite3.DatabaseError as exc:
                raise UserError(f"{self.path} is not a readable results store ({exc}); pass the results.sqlite a "
                                "grid wrote, or delete it and re-run the grid: it is rebuilt from the cell files "
                                "in results/") from None
            columns = [c if c in present else ("'{}' AS axes" if c == "axes" else f"NULL AS {c}") for c in COLUMNS]
            query = f"SELECT {', '.join(columns)} FROM results"
            params: tuple = ()
            if recipe is not None:
                query, params = query + " WHERE recipe = ?", (recipe,)
            try:
                found = conn.execute(query + " ORDER BY recipe, cell, language, metric", params).fetchall()
            except sqlite3.OperationalError as exc:
                raise UserError(f"{self.path} has no results table ({exc}); pass the results.sqlite a grid wrote") from None
        finally:
            conn.close()
        return [dict(r) for r in found]

    def cells(self, recipe: str | None = None) -> set[tuple[str, str]]:
        return {(r["recipe"], r["cell"]) for r in self.rows(recipe)}

    def to_dataframe(self, recipe: str | None = None):
        """One tidy table: the columns above, and one column per study axis found in ``axes``."""
        try:
            import pandas as pd
        except ImportError:
            raise UserError("pandas is not installed; `pip install 'adapterstilts[report]'`") from None
        rows = [expand_axes(r) for r in self.rows(recipe)]
        extra = sorted({k for r in rows for k in r} - set(COLUMNS))
        return pd.DataFrame(rows, columns=list(COLUMNS) + extra)


def _cell_records(folder: Path) -> list[dict]:
    """The grid's cell files under ``folder`` (OUTPUT/results/INTERMEDIATE/TARGET-seedS.json) that hold rows."""
    import json

    records = []
    for file in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
        if any(part.startswith(".") for part in file.relative_to(folder).parts):
            continue
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            continue
        if isinstance(record, dict) and record.get("recipe") and record.get("cell") and isinstance(record.get("rows"), list):
            records.append(record)
    return records


def rebuild(path: str | Path, why: BaseException | str = "", log=None) -> int | None:
    """A corrupt results store rebuilt from the grid's cell files beside it (``results/``): the file is moved
    aside to ``results.sqlite.corrupt`` and every cell is copied in anew, as the grid's driver does; one
    line says so. Returns the number of cells, or None (nothing moved) when there are no cell files."""
    import os
    import sys

    path = Path(path)
    folder = path.parent / "results"
    records = _cell_records(folder)
    if not records:
        return None
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    for suffix in ("-journal", "-wal", "-shm"):  # SQLite's files of the corrupt store go with it
        if path.with_name(path.name + suffix).exists():
            os.replace(path.with_name(path.name + suffix), aside.with_name(aside.name + suffix))
    store = ResultsStore(path)
    for record in records:
        store.replace_cell(record["recipe"], record["cell"], [{**row, "recipe": record["recipe"], "cell": record["cell"]}
                                                              for row in record["rows"] if isinstance(row, dict)])
    (log or (lambda message: print(message, file=sys.stderr)))(
        f"{path} was not a readable results store ({why}); moved it aside to {aside.name} and rebuilt it from "
        f"the {len(records)} cell files in {folder}")
    return len(records)


def _unopenable(exc: BaseException, path: Path):
    """SQLite's "unable to open database file": the folder cannot be written (or the path is no file)."""
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in str(exc).lower():
        return UserError(f"cannot open the results store {path} ({exc}): {path.parent} must be a folder you can "
                         "write to (not a read-only file system, nor another user's folder); pass a results path "
                         "on a writable disk")
    return None


def _disk_problem(exc: BaseException, path: Path):
    """SQLite's "database or disk is full" / "attempt to write a readonly database" (and a plain OSError
    of either kind) as the one-line error of a full disk or a read-only file system."""
    import errno

    from adapterstilts.runs.folder import disk_error

    text = str(exc).lower()
    if isinstance(exc, sqlite3.OperationalError):
        if "disk is full" in text:
            exc = OSError(errno.ENOSPC, "No space left on device", str(path))
        elif "readonly" in text or "read-only" in text:
            exc = OSError(errno.EROFS, "Read-only file system", str(path))
    return disk_error(exc, path, resume="re-run the same command: the results of finished cells are kept in "
                                        "results/ and copied in")


def expand_axes(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row with its ``axes`` JSON spread into one key per axis."""
    import json

    out = dict(row)
    try:
        axes = json.loads(row.get("axes") or "{}")
    except (TypeError, ValueError):
        axes = {}
    for key, value in (axes if isinstance(axes, dict) else {}).items():
        out.setdefault(key, value)
    return out


def find_stores(path: str | Path) -> list[Path]:
    """A results.sqlite file, or every results.sqlite under a folder (an output root, or runs/)."""
    path = Path(path)
    if path.is_file():
        return [path]
    if path.is_dir():
        found = sorted(p for p in path.rglob(STORE_FILE) if ".partial" not in str(p))
        if found:
            return found
    raise UserError(f"no results store at {path}: pass a results.sqlite file or a folder that holds one "
                    "(a recipe's output root, e.g. runs/tiny)")
