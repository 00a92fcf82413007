"""Study ``scaling``: score against intermediate training size (the ``sizes`` axis), one line per
condition (each intermediate row: English MNLI, English / multilingual mixtures), the gain per doubling
of the data (least squares on log2 size) and the size where an English condition reaches the
multilingual one (interpolated in log2 size), if it does.

The multilingual condition is the row whose label contains "multi" (``mix:multilingual`` in the
bundled recipe): MNLI with its machine translations (``mnli_translated``, XNLI's translate-train sets),
so English and multilingual data come from one task and differ only in language."""
from __future__ import annotations

from pathlib import Path

from adapterstilts.analysis.studies import plots, stats
from adapterstilts.analysis.studies.common import per_seed, size_text, summary
from adapterstilts.analysis.studies.report import figure, markdown_table


def analyse(frame, out: Path, meta: dict) -> list[str]:
    frame = frame[frame["intermediate"] != "none"].copy()
    if "size" not in frame or frame["size"].isna().all() and frame["size"].size == 0:
        return ["No size axis in these results: the scaling study needs `sizes`."]
    blocks = []
    conditions = sorted(frame["intermediate"].unique())
    multi = next((c for c in conditions if "multi" in c), None)
    rows = []
    for s in summary(frame, ["intermediate", "target", "size"]):
        rows.append([s["intermediate"], s["target"], size_text(s["size"]), s["mean_std"].text(), s["ci"].text(1),
                     s["units"]])
    blocks.append("## Score by size\n\nMean over languages, then mean ± std over seeds; 95% CI over (language, "
                  "seed) units.\n\n" + markdown_table(["condition", "target", "size", "score", "95% CI", "units"],
                                                      rows))
    sized = frame[frame["size"].notna()]
    slope_rows, cross_rows = [], []
    targets = sorted(sized["target"].unique())
    for target in [*targets, "average"]:
        part = sized if target == "average" else sized[sized["target"] == target]
        points = per_seed(part, ["intermediate", "size"])  # average over targets' languages for "average"
        series = {}
        curves = {}
        for cond in conditions:
            mine = points[points["intermediate"] == cond]
            if mine["size"].nunique() >= 2:
                fit = stats.slope_per_doubling(mine["size"].tolist(), mine["score"].tolist())
                slope_rows.append([cond, target, fit.text(), None if fit.r != fit.r else f"{fit.r:.2f}", fit.n])
            xs = sorted(mine["size"].unique())
            means, lows, highs = [], [], []
            for x in xs:
                ci = stats.bootstrap_ci(mine[mine["size"] == x]["score"].tolist())  # over seeds
                means.append(ci.estimate)
                lows.append(ci.low)
                highs.append(ci.high)
            if xs:
                series[cond] = (xs, means, lows, highs)
                curves[cond] = dict(zip(xs, means))
        if multi and multi in curves:
            for cond, curve in curves.items():
                if cond == multi:
                    continue
                common = sorted(set(curve) & set(curves[multi]))
                if common:
                    size = stats.crossover(common, [curve[x] for x in common], [curves[multi][x] for x in common])
                    cross_rows.append([cond, multi, target, "never (within the sizes run)" if size is None
                                       else f"{size:,.0f}"])
        if series:
            paths = plots.lines_with_bands(
                series, out / "plots" / f"scaling-{target}",
                title=f"{'Average over targets' if target == 'average' else target}: score vs intermediate size",
                xlabel="intermediate training examples (log2 scale)", ylabel="score (mean over languages)")
            blocks.append(figure(paths, out, f"{target}: mean over languages; band: 95% bootstrap CI over seeds "
                                             "(none below 3 seeds)"))
    blocks.append("## Gain per doubling\n\nLeast-squares slope of the language-mean score on log2(size), one point "
                  "per (size, seed); 95% t interval.\n\n"
                  + markdown_table(["condition", "target", "slope", "r", "points"], slope_rows))
    if cross_rows:
        blocks.append("## Where English matches the multilingual condition\n\nSmallest size at which the English "
                      "curve (mean over seeds) reaches the multilingual one, interpolated in log2(size).\n\n"
                      + markdown_table(["English condition", "multilingual", "target", "size"], cross_rows))
    return blocks
