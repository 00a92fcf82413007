"""Study ``distance``: does linguistic distance from English predict the zero-shot drop?

The drop of a language on a task is the English score minus the language's score, with the same
condition (intermediate row) and seed, then averaged over seeds. For each condition, each task and
all tasks pooled, and each URIEL distance type (``languages.uriel_distances``): Spearman and Pearson r
with a 95% paired bootstrap CI over languages, and the partial Spearman r controlling for log10 of
the language's CC-100 tokens (XLM-R paper, Table 6), the known confounder. A scatter per distance type
(the no-intermediate condition, or the first one) labels each point with its language code (pooled:
``task:code``) and draws the least-squares line.

Runs on any finished grid: ``adapterstilts study distance --from runs/paper-full`` (targets evaluated
in English and in at least four other languages; retrieval targets have no English score and are
left out)."""
from __future__ import annotations

from pathlib import Path

from adapterstilts.analysis.studies import plots, stats
from adapterstilts.analysis.studies.languages import CC100_SOURCE, DISTANCE_TYPES, log_cc100, uriel_distances
from adapterstilts.analysis.studies.report import figure, markdown_table

MIN_LANGUAGES = 4


def drops(frame):
    """(intermediate, target, language) -> drop, averaged over seeds (and over any other axis values)."""
    frame = frame[frame["shots"].isna()] if "shots" in frame else frame
    keys = ["intermediate", "target", "seed"]
    english = frame[frame["language"] == "en"].groupby(keys)["score"].mean().rename("english")
    other = frame[frame["language"] != "en"].groupby([*keys, "language"])["score"].mean().reset_index()
    merged = other.join(english, on=keys, how="inner")
    merged["drop"] = merged["english"] - merged["score"]
    return merged.groupby(["intermediate", "target", "language"])["drop"].mean().reset_index()


def analyse(frame, out: Path, meta: dict) -> list[str]:
    table = drops(frame)
    if table.empty:
        return ["No target was evaluated in English and another language: the drop needs both."]
    languages = sorted(table["language"].unique())
    dist = uriel_distances(languages)
    table["log_cc100"] = [log_cc100(code) for code in table["language"]]
    for kind in DISTANCE_TYPES:
        table[kind] = [dist[code][kind] for code in table["language"]]
    blocks = ["## Data\n\nDrop = English score minus the language's score (same condition and seed), averaged over "
              f"seeds. Distances: URIEL via urielplus (angular distance to English). CC-100: {CC100_SOURCE}; "
              "covariate log10(tokens)."]
    missing = sorted({c for c in languages if log_cc100(c) is None})
    if missing:
        blocks.append(f"Not in CC-100 (left out of the partial correlations): {', '.join(missing)}.")
    rows = []
    conditions = sorted(table["intermediate"].unique(), key=lambda c: (c != "none", c))
    for cond in conditions:
        mine = table[table["intermediate"] == cond]
        targets = sorted(mine["target"].unique())
        for target in [*targets, "pooled"] if len(targets) > 1 else targets:
            part = mine if target == "pooled" else mine[mine["target"] == target]
            for kind in DISTANCE_TYPES:
                ok = part[part[kind].notna()]
                if len(ok) < MIN_LANGUAGES:
                    continue
                sp = stats.correlation(ok[kind], ok["drop"], "spearman")
                pe = stats.correlation(ok[kind], ok["drop"], "pearson")
                cc = ok[ok["log_cc100"].notna()]
                partial = (stats.partial_correlation(cc[kind], cc["drop"], cc["log_cc100"], "spearman").text(2)
                           if len(cc) >= MIN_LANGUAGES else None)
                rows.append([cond, target, kind, sp.text(2), pe.text(2), partial, len(ok)])
    blocks.append("## Correlation of distance and drop\n\nr [95% bootstrap CI over languages] (p): Spearman, "
                  "Pearson, and Spearman partial r controlling for log10 CC-100 tokens. Pooled: every (task, "
                  "language) point of the condition (tasks on their own metric scales).\n\n"
                  + markdown_table(["condition", "target", "distance", "Spearman", "Pearson",
                                    "partial Spearman (CC-100)", "points"], rows))
    shown = conditions[0]
    points = table[table["intermediate"] == shown]
    several = points["target"].nunique() > 1
    for kind in DISTANCE_TYPES:
        ok = points[points[kind].notna()]
        if len(ok) < 2:
            continue
        labels = [f"{t}:{c}" if several else c for t, c in zip(ok["target"], ok["language"])]
        paths = plots.scatter_with_fit(ok[kind].tolist(), ok["drop"].tolist(), labels,
                                       out / "plots" / f"distance-{kind}",
                                       title=f"{kind} distance to English vs zero-shot drop ({shown})",
                                       xlabel=f"URIEL {kind} distance to English",
                                       ylabel="drop: English score - language score (points)")
        blocks.append(figure(paths, out, f"{kind} distance vs drop, condition {shown}; labels: language codes"))
    return blocks
