"""The study plots (matplotlib, Agg backend, imported where used): each saved as PNG and PDF, with a
title, labelled axes, a legend and language codes where points are languages."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        from adapterstilts.errors import UserError

        raise UserError("matplotlib is not installed; `pip install 'adapterstilts[report]'`") from None
    return plt


def save(fig, path: Path) -> list[Path]:
    """``path`` (no suffix) as .png and .pdf; returns both."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    fig.tight_layout()
    for p in out:
        fig.savefig(p, dpi=150)
    _plt().close(fig)
    return out


def lines_with_bands(series: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float], Sequence[float]]],
                     path: Path, *, title: str, xlabel: str, ylabel: str, logx: bool = True) -> list[Path]:
    """One line per series: name -> (x, mean, low, high); the band is the interval (skipped when None)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, (x, mean, low, high) in series.items():
        line, = ax.plot(x, mean, marker="o", label=name)
        if all(v is not None for v in (*low, *high)):
            ax.fill_between(x, low, high, alpha=0.2, color=line.get_color())
    if logx:
        ax.set_xscale("log", base=2)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)


def grouped_bars(groups: Sequence[str], bars: dict[str, tuple[Sequence[float], Sequence[float | None],
                                                               Sequence[float | None]]],
                 path: Path, *, title: str, ylabel: str, xlabel: str = "task") -> list[Path]:
    """Bars per group (x) and condition (colour): condition -> (values, low, high) with error bars."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.4, 1.2 * len(groups) + 2), 4.2))
    width = 0.8 / max(1, len(bars))
    x = np.arange(len(groups))
    for i, (name, (values, low, high)) in enumerate(bars.items()):
        err = None
        if all(v is not None for v in (*low, *high)):
            err = np.array([[v - lo for v, lo in zip(values, low)], [hi - v for v, hi in zip(values, high)]])
        ax.bar(x + (i - (len(bars) - 1) / 2) * width, values, width, yerr=err, capsize=3, label=name)
    ax.set_xticks(x, groups, rotation=30 if len(groups) > 6 else 0)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.legend(fontsize=8)
    return save(fig, path)


def scatter_with_fit(x: Sequence[float], y: Sequence[float], labels: Sequence[str], path: Path, *, title: str,
                     xlabel: str, ylabel: str, legend: str = "languages") -> list[Path]:
    """Points labelled with their language code and a least-squares line."""
    import numpy as np

    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.0, 4.4))
    ax.scatter(x, y, label=legend)
    for xi, yi, name in zip(x, y, labels):
        ax.annotate(name, (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=8)
    if len(set(x)) > 1:
        b, a = np.polyfit(np.asarray(x, float), np.asarray(y, float), 1)
        grid = np.linspace(min(x), max(x), 50)
        ax.plot(grid, a + b * grid, color="C1", label=f"least-squares fit (slope {b:.2f})")
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save(fig, path)
