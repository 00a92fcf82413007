"""Small frame helpers shared by the study analyses (pandas)."""
from __future__ import annotations

from adapterstilts.analysis.studies import stats


def per_seed(frame, by: list[str]):
    """Mean over languages per seed: one score per (by..., seed)."""
    return frame.groupby([*by, "seed"], dropna=False)["score"].mean().reset_index()


def summary(frame, by: list[str]) -> list[dict]:
    """Per group of ``by``: mean ± std over seeds (of the language means) and a bootstrap CI over the
    (language, seed) units of the group."""
    out = []
    seeds = per_seed(frame, by)
    for key, group in frame.groupby(by, dropna=False, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        mask = True
        for col, val in zip(by, key):
            mask = mask & ((seeds[col] == val) if val == val and val is not None else seeds[col].isna())
        ms = stats.mean_std(seeds[mask]["score"].tolist())
        ci = stats.bootstrap_ci(group["score"].tolist())
        out.append({**dict(zip(by, key)), "mean_std": ms, "ci": ci, "units": len(group)})
    return out


def paired(frame, condition_col: str, a: str, b: str, unit: list[str]):
    """Paired bootstrap of condition ``a`` minus ``b`` over the units (e.g. language, seed) both have."""
    left = frame[frame[condition_col] == a].groupby(unit)["score"].mean()
    right = frame[frame[condition_col] == b].groupby(unit)["score"].mean()
    both = left.index.intersection(right.index)
    if len(both) == 0:
        return None
    return stats.paired_bootstrap(left[both].tolist(), right[both].tolist())


def size_text(size) -> str:
    return "full" if size is None or size != size else str(int(size))
