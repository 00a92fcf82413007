"""A study's report: its results store as one score per (condition, target, language, seed, axes),
handed to the study's ``analyse``; the blocks it returns become ``OUTPUT/report.md``.

A score is the target's metric by the suite rule (``metrics.aggregate.task_score``: QA by F1 unless
``qa_convention`` says (EM + F1) / 2, tagging by F1, the rest by accuracy), in points (0-100), as the metrics return them."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError

KEYS = ("recipe", "intermediate", "target", "language", "seed", "size", "shots", "mix", "order")


def scores_frame(rows: list[dict], qa_convention: str = "f1"):
    """Tidy scores: one row per (recipe, intermediate, target, language, seed, size, shots, mix, order)."""
    import pandas as pd

    from adapterstilts.experiments.store import expand_axes
    from adapterstilts.metrics.aggregate import task_score

    grouped: dict[tuple, dict[str, float]] = {}
    for row in map(expand_axes, rows):
        key = tuple(row.get(k) for k in KEYS)
        grouped.setdefault(key, {})[row["metric"]] = float(row["value"])
    out = []
    for key, metrics in grouped.items():
        record = dict(zip(KEYS, key))
        try:
            value = task_score(record["target"], metrics, qa_convention)
        except (UserError, KeyError):
            continue
        out.append({**record, "score": float(value)})  # metrics are in percent already
    frame = pd.DataFrame(out, columns=[*KEYS, "score"])
    if frame.empty:
        raise UserError("the study's results store has no scores yet; run the study first (`adapterstilts study NAME`)")
    return frame


def load_frame(path: str | Path, qa_convention: str = "f1"):
    from adapterstilts.analysis.tables import load_rows

    return scores_frame(load_rows([path]), qa_convention)


def write_report(output: str | Path, *, study: str | None = None, tiny: bool | None = None,
                 qa_convention: str = "f1", frame=None, extra: dict[str, Any] | None = None) -> Path:
    """Run the study's analysis on ``output``'s store and write ``output/report.md`` (and its plots)."""
    from adapterstilts.analysis.studies import TINY_NOTE, get_study, study_of

    output = Path(output)
    meta = study_of(output) or {}
    name = study or meta.get("study")
    if not name:
        raise UserError(f"{output} is not a study's output (no study.json); pass --study NAME or run "
                        "`adapterstilts study NAME` first")
    tiny = meta.get("tiny", False) if tiny is None else tiny
    spec = get_study(name)
    frame = load_frame(output, qa_convention) if frame is None else frame
    meta = {**meta, "study": name, "tiny": tiny, "qa_convention": qa_convention, **(extra or {})}
    blocks = [f"# Study: {name}", f"Question: {spec.question}."]
    if tiny:
        blocks.append(f"> {TINY_NOTE}")
    blocks.append(f"Scores in points (0-100); QA by {'F1' if qa_convention == 'f1' else '(EM + F1) / 2'}. "
                  f"Seeds: {sorted(int(s) for s in frame['seed'].unique())}. Statistics: mean ± sample std over "
                  "seeds; 95% percentile bootstrap CIs (10,000 resamples, seed 0) over the units named in each "
                  "table; no interval below 3 units.")
    blocks += spec.analysis().analyse(frame, output, meta)
    path = output / "report.md"
    path.write_text("\n\n".join(blocks).rstrip() + "\n", encoding="utf-8")
    return path


def markdown_table(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v):
        if v is None:
            return "–"
        if isinstance(v, float):
            return f"{v:.2f}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def figure(paths: list[Path], output: Path, caption: str) -> str:
    png = next(p for p in paths if p.suffix == ".png")
    pdf = next(p for p in paths if p.suffix == ".pdf")
    return f"![{caption}]({png.relative_to(output).as_posix()})\n\n*{caption}* ([PDF]({pdf.relative_to(output).as_posix()}))"
