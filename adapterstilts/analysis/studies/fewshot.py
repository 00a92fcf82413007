"""Study ``fewshot``: after intermediate and English target training, each target language trains
further on k of its own examples (the ``shots`` axis; k = 0 is zero-shot) and is scored alone. Draws
of the k examples are the seeds (``FewShot`` samples with the cell's seed). Output: score against k
per task (mean over languages, and per language), and the gain of each intermediate module over no
intermediate at each k (paired bootstrap over (language, seed))."""
from __future__ import annotations

from pathlib import Path

from adapterstilts.analysis.studies import plots
from adapterstilts.analysis.studies.common import paired, summary
from adapterstilts.analysis.studies.report import figure, markdown_table


def analyse(frame, out: Path, meta: dict) -> list[str]:
    frame = frame[frame["shots"].notna()].copy()
    if frame.empty:
        return ["No shots axis in these results: the fewshot study needs `shots`."]
    frame["shots"] = frame["shots"].astype(int)
    blocks = []
    rows = [[s["intermediate"], s["target"], s["shots"], s["mean_std"].text(), s["ci"].text(1), s["units"]]
            for s in summary(frame, ["target", "intermediate", "shots"])]
    blocks.append("## Score against k\n\nMean over languages, then mean ± std over seeds (draws); 95% CI over "
                  "(language, seed).\n\n" + markdown_table(["condition", "target", "k", "score", "95% CI", "units"],
                                                           rows))
    rows = [[s["target"], s["language"], s["intermediate"], s["shots"], s["mean_std"].text()]
            for s in summary(frame, ["target", "language", "intermediate", "shots"])]
    blocks.append("## Per language\n\n" + markdown_table(["target", "language", "condition", "k",
                                                          "score (mean ± std over seeds)"], rows))
    gains = []
    for target in sorted(frame["target"].unique()):
        part = frame[frame["target"] == target]
        for cond in sorted(c for c in part["intermediate"].unique() if c != "none"):
            for k in sorted(part["shots"].unique()):
                at_k = part[part["shots"] == k]
                res = paired(at_k, "intermediate", cond, "none", ["language", "seed"])
                if res is not None:
                    gains.append([target, cond, k, res.text(2), res.n])
        series = {}
        for cond in sorted(part["intermediate"].unique()):
            mine = part[part["intermediate"] == cond]
            stats_k = summary(mine, ["shots"])
            series[cond] = ([s["shots"] for s in stats_k], [s["ci"].estimate for s in stats_k],
                            [s["ci"].low for s in stats_k], [s["ci"].high for s in stats_k])
        paths = plots.lines_with_bands(series, out / "plots" / f"fewshot-{target}", logx=False,
                                       title=f"{target}: few-shot target-language training",
                                       xlabel="k target-language examples", ylabel="score (mean over languages)")
        blocks.append(figure(paths, out, f"{target}: mean over languages; band: 95% CI over (language, seed)"))
    if gains:
        blocks.append("## Gain of the intermediate module at each k\n\nCondition minus no intermediate, paired by "
                      "(language, seed): mean difference [95% paired bootstrap CI] (two-sided bootstrap p).\n\n"
                      + markdown_table(["target", "condition", "k", "gain vs none", "pairs"], gains))
    return blocks
