"""Study ``mixed``: intermediate data of a fixed total size with 0, 25, 50, 75 and 100 % non-English
examples (the ``mixes`` axis, one row per mixture), then every XTREME target. Output: per-task scores
per mixture with CIs, the XTREME score per mixture (the mean over the nine tasks, official only when
all nine are there: otherwise the mean over the tasks present, said as such) with a bootstrap CI over
seeds, and which tasks gain or lose against the English-only mixture (paired bootstrap over
(language, seed))."""
from __future__ import annotations

from pathlib import Path

from adapterstilts.analysis.studies import plots, stats
from adapterstilts.analysis.studies.common import paired, summary
from adapterstilts.analysis.studies.report import figure, markdown_table


def _share(name: str) -> tuple:
    digits = "".join(ch for ch in name if ch.isdigit())
    return (int(digits) if digits else 999, name)


def analyse(frame, out: Path, meta: dict) -> list[str]:
    from adapterstilts.suites import get_suite

    frame = frame[frame["intermediate"].str.startswith("mix:")].copy()
    if frame.empty:
        return ["No mixture rows in these results: the mixed study needs `mixes`."]
    suite = get_suite(meta.get("suite", "xtreme"))
    mixes = sorted(frame["intermediate"].unique(), key=_share)
    targets = [t for t in suite.names if t in set(frame["target"])] + sorted(set(frame["target"]) - set(suite.names))
    blocks = []
    rows = [[s["intermediate"], s["target"], s["mean_std"].text(), s["ci"].text(1), s["units"]]
            for s in summary(frame, ["intermediate", "target"])]
    blocks.append("## Per task and mixture\n\nMean over languages, mean ± std over seeds; 95% CI over (language, "
                  "seed).\n\n" + markdown_table(["mixture", "target", "score", "95% CI", "units"], rows))
    complete = all(t in set(frame["target"]) for t in suite.names)
    label = f"{suite.name.upper()} score" if complete else f"mean over the {len(targets)} tasks present (not the " \
                                                            f"official {suite.name} score: it needs all {len(suite.names)})"
    per_seed_task = frame.groupby(["intermediate", "seed", "target"])["score"].mean().reset_index()
    per_seed = per_seed_task.groupby(["intermediate", "seed"])["score"].mean().reset_index()
    rows, bars = [], {}
    for mix in mixes:
        values = per_seed[per_seed["intermediate"] == mix]["score"].tolist()
        ci = stats.bootstrap_ci(values)
        rows.append([mix, stats.mean_std(values).text(), ci.text(1), len(values)])
        bars[mix] = ([ci.estimate], [ci.low], [ci.high])
    blocks.append(f"## {label} per mixture\n\nPer seed: the mean over tasks of the language-mean task scores; "
                  "mean ± std and 95% bootstrap CI over seeds.\n\n"
                  + markdown_table(["mixture", "score", "95% CI", "seeds"], rows))
    paths = plots.grouped_bars([label.split(" (")[0]], bars, out / "plots" / "mixed-score", xlabel="",
                               title="Score per intermediate mixture", ylabel="score (mean over tasks)")
    blocks.append(figure(paths, out, f"{label}; error bars: 95% bootstrap CI over seeds"))
    base = mixes[0]
    diffs = []
    for target in targets:
        part = frame[frame["target"] == target]
        for mix in mixes[1:]:
            res = paired(part, "intermediate", mix, base, ["language", "seed"])
            if res is not None:
                verdict = "gains" if res.excludes_zero and res.estimate > 0 else (
                    "loses" if res.excludes_zero else "no clear change")
                diffs.append([target, mix, res.text(2), res.n, verdict])
    blocks.append(f"## Which tasks gain and which lose (against {base})\n\nMixture minus {base}, paired by (language, "
                  "seed): mean [95% paired bootstrap CI] (p); 'gains' / 'loses' only when the CI excludes 0.\n\n"
                  + markdown_table(["target", "mixture", f"minus {base}", "pairs", "verdict"], diffs))
    task_bars = {}
    for mix in mixes:
        cis = {s["target"]: s["ci"] for s in summary(frame[frame["intermediate"] == mix], ["target"])}
        task_bars[mix] = ([cis[t].estimate if t in cis else 0.0 for t in targets],
                          [cis[t].low if t in cis else None for t in targets],
                          [cis[t].high if t in cis else None for t in targets])
    paths = plots.grouped_bars(targets, task_bars, out / "plots" / "mixed-tasks", title="Per-task score per mixture",
                               ylabel="score (mean over languages and seeds)")
    blocks.append(figure(paths, out, "Per task; error bars: 95% bootstrap CI over (language, seed)"))
    return blocks
