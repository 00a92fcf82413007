"""Study ``order``: does the order of intermediate training matter (XGLUE, zero-shot)? Conditions are
the grid's rows: no intermediate, single intermediates, orders (``a>b``: a, then b, chained) and
mixtures. Each is compared with the English-first reference (the recipe's first intermediate task,
or ``reference`` in study.json) by a paired bootstrap over (language, seed) per task, and per
(task, language) over seeds; a grouped bar chart shows the task means with their CIs."""
from __future__ import annotations

from pathlib import Path

from adapterstilts.analysis.studies import plots
from adapterstilts.analysis.studies.common import paired, summary
from adapterstilts.analysis.studies.report import figure, markdown_table


def _reference(frame, meta: dict) -> str | None:
    conditions = list(frame["intermediate"].unique())
    if meta.get("reference") in conditions:
        return meta["reference"]
    singles = sorted(c for c in conditions if c != "none" and ">" not in c and not c.startswith("mix:"))
    return singles[0] if singles else None


def describe(condition: str) -> str:
    """What a row trained before the target, in words ("mnli>mix:multilingual": MNLI, then the mixture)."""
    def one(link: str) -> str:
        return f"mixture {link[4:]} (mixed-language)" if link.startswith("mix:") else link
    if condition == "none":
        return "no intermediate"
    links = condition.split(">")
    if len(links) == 1:
        return f"{one(condition)} only" if condition.startswith("mix:") else f"{condition} (English)"
    return ", then ".join(one(link) for link in links) + " (chained)"


def analyse(frame, out: Path, meta: dict) -> list[str]:
    ref = _reference(frame, meta)
    conditions = sorted(frame["intermediate"].unique(), key=lambda c: (c != "none", c != ref, c))
    blocks = ["## Conditions\n\n" + markdown_table(
        ["condition", "intermediate training before the target"],
        [[c, describe(c) + (" — the reference (English-first)" if c == ref else "")] for c in conditions])]
    targets = sorted(frame["target"].unique())
    rows = [[s["target"], s["intermediate"], s["mean_std"].text(), s["ci"].text(1), s["units"]]
            for s in summary(frame, ["target", "intermediate"])]
    blocks.append("## Per task and condition\n\nMean over languages, mean ± std over seeds; 95% CI over (language, "
                  "seed).\n\n" + markdown_table(["target", "condition", "score", "95% CI", "units"], rows))
    rows = [[s["target"], s["language"], s["intermediate"], s["mean_std"].text()]
            for s in summary(frame, ["target", "language", "intermediate"])]
    blocks.append("## Per task, language and condition\n\n"
                  + markdown_table(["target", "language", "condition", "score (mean ± std over seeds)"], rows))
    if ref is None:
        return blocks + ["No English intermediate row to compare against."]
    diffs = []
    for target in targets:
        part = frame[frame["target"] == target]
        for cond in conditions:
            if cond == ref:
                continue
            res = paired(part, "intermediate", cond, ref, ["language", "seed"])
            if res is not None:
                diffs.append([target, "all", cond, res.text(2), res.n])
            for lang in sorted(part["language"].unique()):
                res = paired(part[part["language"] == lang], "intermediate", cond, ref, ["seed"])
                if res is not None:
                    diffs.append([target, lang, cond, res.text(2), res.n])
    blocks.append(f"## Differences against English-first ({ref})\n\nCondition minus {ref}, paired by (language, "
                  "seed) for a task ('all') and by seed for one language: mean [95% paired bootstrap CI] (two-sided "
                  "bootstrap p).\n\n" + markdown_table(["target", "language", "condition", f"minus {ref}", "pairs"],
                                                       diffs))
    stats_by = {(s["target"], s["intermediate"]): s["ci"] for s in summary(frame, ["target", "intermediate"])}
    bars = {}
    for cond in conditions:
        cis = [stats_by.get((t, cond)) for t in targets]
        bars[cond] = ([c.estimate if c else 0.0 for c in cis], [c.low if c else None for c in cis],
                      [c.high if c else None for c in cis])
    paths = plots.grouped_bars(targets, bars, out / "plots" / "order-bars", title="Score per task and condition",
                               ylabel="score (mean over languages and seeds)")
    blocks.append(figure(paths, out, "Mean over languages and seeds; error bars: 95% bootstrap CI over "
                                     "(language, seed)"))
    return blocks
