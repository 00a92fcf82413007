"""Paper-style tables (and a heatmap) from the results store.

One table per recipe: rows = the baseline ("none"), each intermediate task, multi-task (and fusion);
columns = the suite's targets (XTREME unless ``suite=`` names another; its labels and task order) and
their average. A cell is the target's score averaged over its evaluated languages (by the suite's rule:
QA by F1 or by (EM + F1) / 2, tagging and BUCC by F1, the rest by accuracy: ``metrics.aggregate.
task_score``), then the mean over seeds with the sample standard deviation when there are several, and
the difference to the baseline row. The average column is the mean of the row's target means
(``Suite.mean_over`` per seed for its spread): the suite's official score only when the row has every
task of the suite, which the note says; a row that lacks targets of the table is marked ``*`` and its
delta is taken over the same targets of the baseline. Group scores and the official overall of one run
come from ``Suite.aggregate``."""
from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from adapterstilts.analysis.run_folders import find_runs, rows_from_runs, unread_runs, with_grid_caveat  # noqa: F401  (re-exported)
from adapterstilts.errors import UserError
from adapterstilts.metrics.aggregate import task_score
from adapterstilts.suites import QA_CONVENTIONS, XTREME, Suite, get_suite, score_rule

FORMATS = ("markdown", "csv", "latex")
CAVEAT = "†"
DAGGER = "$^\\dagger$"  # CAVEAT in LaTeX
AVERAGE = "average"
AVERAGE_LABEL = "Avg"
TARGET_LABELS = {**{t.name: t.label for t in XTREME.tasks}, AVERAGE: AVERAGE_LABEL}  # XTREME's, for older callers
ROW_ORDER = ("none", "anli_plus", "mnli", "qqp", "squad", "squad_v2", "hellaswag", "cosmosqa", "commonsenseqa", "ccg")
ROW_LAST = ("multitask", "fusion", "merged")
ROW_LABELS = {"none": "baseline (none)", "multitask": "multi-task", "fusion": "fusion (all)", "merged": "merged (all)"}


@dataclass
class Stat:
    mean: float
    std: float | None  # sample standard deviation over seeds (None with one seed)
    n: int  # seeds
    delta: float | None = None  # mean - baseline mean
    partial: bool = False  # average over fewer targets than the table has
    caveat: bool = False  # not a full evaluation (--max-examples, another split, sample data): marked CAVEAT


@dataclass
class Table:
    recipe: str
    method: str
    compose: str
    columns: list[str]  # targets, then AVERAGE
    rows: list[str]
    cells: dict[tuple[str, str], Stat] = field(default_factory=dict)
    baseline: str | None = None  # where the deltas come from
    note: str = ""
    title: str = ""
    per_language: bool = False  # columns are languages of one target
    suite: str = "xtreme"  # whose labels, column order and score the table uses


def _is_baseline(label: str) -> bool:
    return label.partition(", ")[0] == "none"


def _stat(values: list[float]) -> Stat:
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else None
    return Stat(mean, std, len(values))


def _row_key(label: str) -> tuple:
    name, _, rest = label.partition(", ")
    return (*_intermediate_key(name), _axis_sort(rest))


def _axis_sort(rest: str) -> tuple:
    """"size 1000, shots 5" sorts by its numbers (full after them)."""
    parts = []
    for part in filter(None, rest.split(", ")):
        axis, _, value = part.partition(" ")
        parts.append((axis, (0, float(value), "") if value.replace(".", "", 1).isdigit() else (1, 0.0, value)))
    return tuple(parts)


def _intermediate_key(name: str) -> tuple:
    if name in ROW_ORDER:
        return (0, ROW_ORDER.index(name), name)
    if name in ROW_LAST:
        return (2, ROW_LAST.index(name), name)
    return (1, 0, name)


def _column_key(suite: Suite, name: str) -> tuple:
    names = suite.names
    return (names.index(name), name) if name in names else (len(names), name)


def _label(suite: str, column: str) -> str:
    return AVERAGE_LABEL if column == AVERAGE else get_suite(suite).label_of(column)


def group_scores(rows: Iterable[dict]) -> dict[tuple, dict[str, dict[str, float]]]:
    """(recipe, intermediate, target, seed) -> {language: {metric: value}}. Several cells under one row
    label (``report --by`` pooling an axis) are averaged, whatever their order."""
    values: dict[tuple, list[float]] = defaultdict(list)
    for r in rows:
        values[r["recipe"], r["intermediate"], r["target"], int(r["seed"]), r["language"], r["metric"]].append(
            float(r["value"]))
    out: dict[tuple, dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for (recipe, inter, target, seed, language, metric), found in values.items():
        out[recipe, inter, target, seed][language][metric] = sum(found) / len(found)
    return out


def language_mean(per_language: dict[str, dict[str, float]]) -> dict[str, float]:
    keys = set.intersection(*(set(s) for s in per_language.values()))
    return {k: sum(s[k] for s in per_language.values()) / len(per_language) for k in keys}


def build_tables(rows: list[dict], qa_convention: str = "f1", baseline_recipe: str | None = None,
                 suite: str = "xtreme") -> list[Table]:
    the_suite = get_suite(suite)
    if qa_convention not in QA_CONVENTIONS:
        raise UserError(f"unknown --qa-convention {qa_convention!r}; choose one of: {', '.join(QA_CONVENTIONS)}")
    if not rows:
        raise UserError("the results store has no rows; run a recipe first (`adapterstilts run tiny`)")
    grouped = group_scores(rows)
    caveats = _caveats(rows)
    baseline_of = {(r["recipe"], r["intermediate"]): r.get("baseline_row", "none") for r in rows}
    about = {r["recipe"]: (r["method"], r["compose"]) for r in rows if not _is_baseline(r["intermediate"])}
    about.update({r["recipe"]: (r["method"], r["compose"]) for r in rows if r["recipe"] not in about})
    # (recipe, intermediate) -> target -> seed -> language-averaged scores
    scores: dict[tuple[str, str], dict[str, dict[int, dict[str, float]]]] = defaultdict(lambda: defaultdict(dict))
    for (recipe, inter, target, seed), per_language in grouped.items():
        scores[recipe, inter][target][seed] = language_mean(per_language)
    if baseline_recipe is not None and (baseline_recipe, "none") not in scores:
        raise UserError(f"--baseline {baseline_recipe}: that recipe has no 'none' (no-intermediate) rows in the "
                        f"results; choose one of: {', '.join(sorted({r for r, i in scores if i == 'none'})) or 'none'}")
    tables = []
    for recipe in sorted({r for r, _ in scores}):
        names = sorted({i for r, i in scores if r == recipe}, key=_row_key)
        targets = sorted({t for (r, _), ts in scores.items() if r == recipe for t in ts},
                         key=lambda t: _column_key(the_suite, t))
        table = Table(recipe, *about[recipe], columns=targets + [AVERAGE], rows=names, suite=suite)
        descriptions = {name: _fill_row(table, the_suite, name, scores[recipe, name], targets, qa_convention)
                        for name in names}
        base_recipe = baseline_recipe if baseline_recipe is not None and baseline_recipe != recipe else recipe
        bases = {name: scores.get((base_recipe, baseline_of.get((recipe, name), "none"))) for name in names}
        if any(bases.values()):
            table.baseline = "none" if base_recipe == recipe else f"recipe {baseline_recipe}, none"
            for name, base in bases.items():
                if base:
                    _deltas(table, base, qa_convention, only=name)
        table.title = f"{recipe} (method {table.method}, compose {table.compose})"
        widest = max(names, key=lambda n: sum((n, t) in table.cells for t in targets))
        description = descriptions[widest]
        seeds = max(s.n for s in table.cells.values())
        spread = f"mean ± sample std over {seeds} seeds" if seeds > 1 else "one seed"
        base_note = f"deltas against {table.baseline}" if table.baseline else "no baseline row: no deltas"
        table.note = f"{spread}; {base_note}; Avg: {description}"
        if any(stat.partial for stat in table.cells.values()):
            table.note += "; * = average over the row's targets only (its delta: against the baseline on those)"
        _mark_caveats(table, caveats, lambda name, target: [(name, target), (name, AVERAGE)])
        tables.append(table)
    return tables


def _caveats(rows: list[dict]) -> dict[tuple[str, str, str], set[str]]:
    """(recipe, row, target) -> why its results are not a full evaluation (rows of single runs say it)."""
    out: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for r in rows:
        if r.get("caveat"):
            out[r["recipe"], r["intermediate"], r["target"]].add(r["caveat"])
    return out


def _mark_caveats(table: Table, caveats: dict, cells_of, target: str | None = None) -> None:
    """Mark the cells of partial results and say why in the table's note (as `evaluate`'s table does)."""
    reasons = set()
    for (recipe, name, tgt), why in caveats.items():
        if recipe != table.recipe or (target is not None and tgt != target):
            continue
        for key in cells_of(name, tgt):
            if key in table.cells:
                table.cells[key].caveat = True
                reasons |= why
    if reasons:
        table.note += ("; " if table.note else "") + (f"{CAVEAT} = partial: {'; '.join(sorted(reasons))}; not "
                                                      "comparable with a full evaluation")


def _seed_scores(by_seed: dict[int, dict[str, float]], target: str, qa: str) -> dict[int, float]:
    return {seed: task_score(target, s, qa) for seed, s in by_seed.items()}


def _fill_row(table: Table, suite: Suite, name: str, by_target: dict[str, dict[int, dict[str, float]]],
              targets: list[str], qa: str) -> str:
    """Target cells and the average of one row; returns ``Suite.mean_over``'s description of the average."""
    present = [t for t in targets if t in by_target]
    for t in present:
        table.cells[name, t] = _stat(list(_seed_scores(by_target[t], t, qa).values()))
    complete = set.intersection(*(set(by_target[t]) for t in present))
    per_seed = [suite.mean_over({t: by_target[t][s] for t in present}, qa)[0] for s in sorted(complete)]
    any_seed = {t: next(iter(by_target[t].values())) for t in present}
    description = suite.mean_over(any_seed, qa)[1]
    mean = sum(table.cells[name, t].mean for t in present) / len(present)
    spread = _stat(per_seed) if len(per_seed) > 1 else None
    table.cells[name, AVERAGE] = Stat(mean, spread.std if spread else None, len(per_seed) or 1,
                                      partial=len(present) < len(targets))
    return description


def _deltas(table: Table, base: dict[str, dict[int, dict[str, float]]], qa: str, only: str | None = None) -> None:
    base_means = {t: _stat(list(_seed_scores(base[t], t, qa).values())).mean for t in base}
    for name in [only] if only is not None else table.rows:
        present = [t for t in table.columns[:-1] if (name, t) in table.cells]
        for t in present:
            if t in base_means:
                table.cells[name, t].delta = table.cells[name, t].mean - base_means[t]
        if present and all(t in base_means for t in present):
            table.cells[name, AVERAGE].delta = (table.cells[name, AVERAGE].mean
                                                - sum(base_means[t] for t in present) / len(present))


def language_tables(rows: list[dict], qa_convention: str = "f1", suite: str = "xtreme") -> list[Table]:
    """Per recipe and target: rows = intermediates, columns = languages (+ their average)."""
    the_suite = get_suite(suite)
    grouped = group_scores(rows)
    caveats = _caveats(rows)
    about = {r["recipe"]: (r["method"], r["compose"]) for r in rows}
    per: dict[tuple[str, str], dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for (recipe, inter, target, _), per_language in grouped.items():
        for lang, s in per_language.items():
            per[recipe, target][inter][lang].append(task_score(target, s, qa_convention))
    tables = []
    for recipe, target in sorted(per, key=lambda k: (k[0], _column_key(the_suite, k[1]))):
        data = per[recipe, target]
        langs = sorted({lang for d in data.values() for lang in d}, key=lambda x: (x != "en", x))
        table = Table(recipe, *about[recipe], columns=langs + [AVERAGE], rows=sorted(data, key=_row_key),
                      title=f"{recipe}: {the_suite.label_of(target)} per language", per_language=True, suite=suite)
        for name in table.rows:
            for lang, values in data[name].items():
                table.cells[name, lang] = _stat(values)
            means = [table.cells[name, lang].mean for lang in langs if (name, lang) in table.cells]
            table.cells[name, AVERAGE] = Stat(sum(means) / len(means), None, 1, partial=len(means) < len(langs))
        if "none" in data:
            table.baseline = "none"
            for name in table.rows:
                for col in table.columns:
                    if (name, col) in table.cells and ("none", col) in table.cells:
                        table.cells[name, col].delta = table.cells[name, col].mean - table.cells["none", col].mean
        table.note = f"{QA_CONVENTIONS[qa_convention]}" if score_rule(target) == "qa" else ""
        _mark_caveats(table, caveats, lambda name, _: [(name, c) for c in table.columns], target)
        tables.append(table)
    return tables


# ------------------------------------------------------------------------------------------ formats
def _cell_text(stat: Stat | None, *, latex: bool = False, baseline_row: bool = False) -> str:
    if stat is None:
        return "-"
    text = f"{stat.mean:.1f}"
    if stat.std is not None:
        text += f" $\\pm$ {stat.std:.1f}" if latex else f" ± {stat.std:.1f}"
    if stat.partial:
        text += "*"
    if stat.caveat:
        text += DAGGER if latex else CAVEAT
    if stat.delta is not None and not baseline_row:
        text += f" {{\\scriptsize({stat.delta:+.1f})}}" if latex else f" ({stat.delta:+.1f})"
    return text


def _row_label(name: str) -> str:
    head, sep, rest = name.partition(", ")
    return ROW_LABELS.get(head, head) + sep + rest


def _header(table: Table, col: str) -> str:
    return col if table.per_language and col != AVERAGE else _label(table.suite, col)


def to_markdown(tables: list[Table]) -> str:
    out = []
    for table in tables:
        out.append(f"### {table.title}\n")
        out.append("| intermediate | " + " | ".join(_header(table, c) for c in table.columns) + " |")
        out.append("|---|" + "---:|" * len(table.columns))
        for name in table.rows:
            cells = [_cell_text(table.cells.get((name, c)), baseline_row=_is_baseline(name) and table.baseline == "none")
                     for c in table.columns]
            out.append(f"| {_row_label(name)} | " + " | ".join(cells) + " |")
        if table.note:
            out.append(f"\n{table.note}")
        out.append("")
    return "\n".join(out)


def to_latex(tables: list[Table]) -> str:
    def esc(text: str) -> str:
        return text.replace("_", "\\_").replace("%", "\\%").replace("&", "\\&")

    out = []
    for table in tables:
        out += ["\\begin{table}[t]", "\\centering", "\\small", f"\\begin{{tabular}}{{l{'r' * len(table.columns)}}}",
                "\\toprule", "Intermediate & " + " & ".join(esc(_header(table, c)) for c in table.columns) + " \\\\",
                "\\midrule"]
        for name in table.rows:
            cells = [_cell_text(table.cells.get((name, c)), latex=True,
                                baseline_row=_is_baseline(name) and table.baseline == "none") for c in table.columns]
            out.append(f"{esc(_row_label(name))} & " + " & ".join(esc(c) if "$" not in c and "{" not in c
                                                                             else c for c in cells) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}", f"\\caption{{{esc(table.title)}. {esc(table.note).replace(CAVEAT, DAGGER)}}}", "\\end{table}", ""]
    return "\n".join(out)


def to_csv(tables: list[Table]) -> str:
    """One CSV for every table (pandas reads it in one call): one header over the union of the tables'
    columns, a row per table row (``table`` names its table), empty where a table lacks a column;
    ``partial`` is 1 where a cell of the row is not a full evaluation (the dagger of the other formats)."""
    buffer = io.StringIO()
    if not tables:
        return ""
    writer = csv.writer(buffer, lineterminator="\n")
    columns = list(dict.fromkeys(c for table in tables for c in table.columns))
    head = ["recipe", "method", "compose", "table", "intermediate"]
    for c in columns:
        head += [c, f"{c}_std", f"{c}_delta"]
    writer.writerow(head + ["partial"])
    for table in tables:
        for name in table.rows:
            line: list[Any] = [table.recipe, table.method, table.compose, table.title, name]
            partial = False
            for c in columns:
                s = table.cells.get((name, c)) if c in table.columns else None
                partial = partial or bool(s is not None and getattr(s, "caveat", False))
                line += ["" if s is None else round(s.mean, 4), "" if s is None or s.std is None else round(s.std, 4),
                         "" if s is None or s.delta is None else round(s.delta, 4)]
            writer.writerow(line + [int(partial)])
    return buffer.getvalue()


def plot_heatmap(tables: list[Table], path: str | Path, qa_convention: str = "f1") -> Path:
    """Intermediate x target heatmap of deltas against the baseline, one panel per recipe."""
    try:
        import matplotlib
    except ImportError:
        raise UserError("--plot needs matplotlib; `pip install 'adapterstilts[report]'`") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.colors import TwoSlopeNorm

    tables = [t for t in tables if t.baseline]
    if not tables:
        raise UserError("--plot draws deltas against the baseline, and no recipe has baseline ('none') results; "
                        "include 'none' in the recipe's intermediates or pass --baseline RECIPE")
    shapes = [(max(1, len([r for r in t.rows if not _is_baseline(r)])), len(t.columns)) for t in tables]
    width = max(6.0, 1.0 + 0.9 * max(c for _, c in shapes))
    fig, axes = plt.subplots(len(tables), 1, squeeze=False,
                             figsize=(width, sum(1.2 + 0.45 * r for r, _ in shapes)))
    for ax, table in zip(axes[:, 0], tables):
        names = [r for r in table.rows if not _is_baseline(r)] or ["none"]
        values = np.array([[np.nan if (s := table.cells.get((n, c))) is None or s.delta is None else s.delta
                            for c in table.columns] for n in names], dtype=float)
        bound = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 0.0
        bound = bound or 1.0
        image = ax.imshow(values, cmap="RdBu", norm=TwoSlopeNorm(vmin=-bound, vcenter=0.0, vmax=bound), aspect="auto")
        ax.set_xticks(range(len(table.columns)), [_header(table, c) for c in table.columns], rotation=35,
                      ha="right")
        ax.set_yticks(range(len(names)), [_row_label(n) for n in names])
        for (i, j), value in np.ndenumerate(values):
            if np.isfinite(value):
                ax.text(j, i, f"{value:+.1f}", ha="center", va="center", fontsize=8,
                        color="white" if abs(value) > 0.6 * bound else "black")
        ax.set_title(f"{table.title}: change vs baseline ({QA_CONVENTIONS[qa_convention]})", fontsize=9)
        fig.colorbar(image, ax=ax, label="delta (points)")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return path


def load_rows(paths: list[str | Path], recipe: str | None = None, log=None) -> list[dict]:
    """Rows of the results stores at or under ``paths``; a path with no store is read as a folder of
    single runs (each one's manifest.json and metrics.json). Evaluated runs in a folder that holds a
    store, whose results the store lacks, are not read: one line (``log``, default stderr) says so."""
    import sqlite3
    import sys

    from adapterstilts.experiments.store import ResultsStore, find_stores

    log = log or (lambda message: print(message, file=sys.stderr))
    rows = []
    for path in paths:
        try:
            stores = find_stores(path)
        except UserError:
            if not find_runs(path):
                raise UserError(f"no results store and no evaluated run at {path}: pass a results.sqlite, a grid's "
                                "output root, or a folder of runs evaluated with `adapterstilts evaluate RUN`") from None
            rows += rows_from_runs(path)
            continue
        found = []
        for store in stores:
            try:
                rows_here = ResultsStore(store).rows()
            except sqlite3.DatabaseError as exc:
                raise UserError(f"{store} is not an adapterstilts results store ({exc}); pass the results.sqlite "
                                "that `adapterstilts run` writes, or its folder") from None
            found += with_grid_caveat(rows_here, Path(store).parent / "recipe.json")
        rows += found
        if Path(path).is_dir() and (unread := unread_runs(path, found)):
            log(f"{path}: read {len(stores)} results store(s); {len(unread)} evaluated run(s) beside it not read "
                f"(e.g. {unread[0]}): pass those run folders to `report` themselves")
    if recipe is not None:
        known = sorted({r["recipe"] for r in rows})
        rows = [r for r in rows if r["recipe"] == recipe]
        if not rows:
            raise UserError(f"--recipe {recipe}: no results of that recipe; the store has: {', '.join(known) or 'none'}")
    return rows


from adapterstilts.experiments.axes import STUDY_AXES  # noqa: E402  (axes a row can be split by)
BASELINE_AXES = ("shots",)  # axes the baseline row has too: a row's delta is against the baseline at its value


def by_axes(rows: list[dict], by: list[str] | None = None) -> list[dict]:
    """Rows labelled by the axes that make a table row: ``by`` (default: the intermediate and every study
    axis with more than one value in a recipe), e.g. "mnli, size 1000". Few-shot cells (one language
    each) are averaged over their languages like any cell's languages. Each row also names its baseline
    row: "none" at the same values of the axes the baseline has (shots)."""
    from adapterstilts.experiments.store import expand_axes

    rows = [expand_axes(r) for r in rows]
    for axis in by or []:
        if axis not in ("intermediate", *STUDY_AXES):
            raise UserError(f"--by {axis}: not an axis a table row can be split by; choose from: "
                            f"intermediate, {', '.join(STUDY_AXES)}")
    out = []
    for recipe in sorted({r["recipe"] for r in rows}):
        mine = [r for r in rows if r["recipe"] == recipe]
        present = [a for a in STUDY_AXES if any(a in r for r in mine)]
        for axis in by or []:
            if axis != "intermediate" and axis not in present:
                raise UserError(f"--by {axis}: the results of {recipe} have no {axis} axis; "
                                f"they have: {', '.join(['intermediate', *present])}")
        varying = [a for a in present if len({str(r[a]) for r in mine if a in r}) > 1]
        chosen = ["intermediate", *(by or varying)] if "intermediate" not in (by or []) else list(by)
        for r in mine:
            head = [r["intermediate"]] if "intermediate" in chosen else []
            # an order's row is already named by its order ("mnli>squad"): not "mnli>squad, order mnli>squad"
            parts = [f"{a} {'full' if r[a] is None else r[a]}" for a in chosen if a != "intermediate" and a in r
                     and not (head and str(r[a]) == head[0])]
            base = [f"{a} {r.get(a)}" for a in chosen if a in BASELINE_AXES and r.get(a) is not None]
            out.append({**r, "intermediate": ", ".join(head + parts) or "all",
                        "baseline_row": ", ".join(["none"] + base)})
    return out


def make_report(paths: list[str | Path], *, fmt: str = "markdown", per_language: bool = False,
                qa_convention: str = "f1", plot: str | Path | None = None, recipe: str | None = None,
                baseline: str | None = None, suite: str = "xtreme", by: list[str] | None = None) -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown --format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    from adapterstilts.analysis.studies import study_of

    if len(paths) == 1 and fmt == "markdown" and study_of(paths[0]):  # a study's output: its report.md
        from adapterstilts.analysis.studies.report import write_report

        folder = Path(paths[0]).parent if Path(paths[0]).is_file() else Path(paths[0])
        return write_report(folder, qa_convention=qa_convention).read_text(encoding="utf-8")
    rows = by_axes(load_rows(paths, recipe if baseline is None else None), by)
    tables = build_tables(rows, qa_convention, baseline, suite)
    if recipe is not None:
        tables = [t for t in tables if t.recipe == recipe]
        if not tables:
            raise UserError(f"--recipe {recipe}: no results of that recipe")
    if plot:
        plot_heatmap(tables, plot, qa_convention)
    if per_language:
        tables = tables + language_tables([r for r in rows if recipe is None or r["recipe"] == recipe], qa_convention,
                                          suite)
    return {"markdown": to_markdown, "csv": to_csv, "latex": to_latex}[fmt](tables)
