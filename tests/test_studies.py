"""The studies: each statistic against a hand computation on a small table, the cost estimate against
hand-counted steps, `studies` lists five, and the cheapest study (distance) end to end with --tiny
(the tiny model and samples: it proves the machinery, not the science)."""
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from adapterstilts.analysis.studies import STUDIES, TINY_NOTE, stats
from adapterstilts.cli import app

pytest.importorskip("scipy")


# ---- statistics against hand computations ----------------------------------------------------------
def test_mean_std_is_the_sample_std():
    ms = stats.mean_std([70.0, 72.0, 74.0])
    assert ms.mean == 72.0 and ms.std == pytest.approx(2.0) and ms.n == 3  # sqrt(((-2)^2 + 0 + 2^2) / 2)
    assert stats.mean_std([5.0]).std is None


def test_paired_bootstrap_matches_a_hand_loop_with_a_fixed_seed():
    a = np.array([71.0, 74.5, 69.0, 80.0, 77.5, 73.0, 70.5, 76.0, 79.0, 72.0, 75.5, 68.0])
    b = np.array([70.0, 72.0, 69.5, 77.0, 75.0, 73.5, 68.0, 74.0, 78.5, 70.0, 74.0, 67.5])
    res = stats.paired_bootstrap(a, b, seed=0)
    assert res.estimate == pytest.approx(float(np.mean(a - b)))  # a - b, not b - a
    assert res == stats.paired_bootstrap(a, b, seed=0)  # same seed, same interval
    rng = np.random.default_rng(123)  # the hand loop: resample pairs with replacement
    means = []
    for _ in range(20_000):
        idx = rng.integers(0, len(a), len(a))
        means.append(float(np.mean(a[idx] - b[idx])))
    low, high = np.percentile(means, [2.5, 97.5])
    assert res.low == pytest.approx(low, abs=0.1) and res.high == pytest.approx(high, abs=0.1)
    p = 2 * min(np.mean(np.array(means) <= 0), np.mean(np.array(means) >= 0))
    assert res.p_value == pytest.approx(min(1.0, p), abs=0.01)
    assert res.excludes_zero  # every difference but two is positive
    unpaired_width = np.subtract(*np.percentile([np.mean(rng.choice(a, len(a))) - np.mean(rng.choice(b, len(b)))
                                                 for _ in range(5000)], [97.5, 2.5]))
    assert res.high - res.low < unpaired_width  # pairing removes the shared per-unit variance
    assert stats.paired_bootstrap([1.0, 2.0], [0.0, 1.0]).low is None  # two pairs: no interval


def test_spearman_and_pearson_on_a_tiny_table():
    x, y = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    # ranks are the values; d = (-1, 1, -1, 1, 0): rho = 1 - 6 * 4 / (5 * (25 - 1)) = 0.8
    assert stats.correlation(x, y, "spearman").estimate == pytest.approx(0.8)
    # Pearson by hand: cov / (sx sy) with means 3 and 3: sum dx dy = 8, sum dx^2 = sum dy^2 = 10
    assert stats.correlation(x, y, "pearson").estimate == pytest.approx(0.8)
    x2, y2 = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2], [3.0, 9.0, 7.5, 20.0, 18.0, 2.0]
    res = stats.correlation(x2, y2, "spearman")
    # ranks x: 1 4 3 5 6 2; ranks y: 2 4 3 6 5 1; d = -1 0 0 -1 1 1: rho = 1 - 6 * 4 / (6 * 35)
    assert res.estimate == pytest.approx(1 - 24 / 210)
    assert res.low is not None and res.low <= res.estimate <= res.high
    assert math.isnan(stats.correlation([1, 2, 3, 4], [5, 5, 5, 5]).estimate)  # constant: undefined


def test_partial_correlation_equals_the_closed_form():
    rng = np.random.default_rng(7)
    z = rng.normal(size=12)
    x = z + rng.normal(scale=0.5, size=12)
    y = 0.8 * z - 0.4 * x + rng.normal(scale=0.5, size=12)
    r = lambda u, v: float(np.corrcoef(u, v)[0, 1])  # noqa: E731
    rxy, rxz, ryz = r(x, y), r(x, z), r(y, z)
    hand = (rxy - rxz * ryz) / math.sqrt((1 - rxz ** 2) * (1 - ryz ** 2))
    assert stats.partial_correlation(x, y, z, "pearson").estimate == pytest.approx(hand)
    from scipy.stats import rankdata

    rx, ry, rz = rankdata(x), rankdata(y), rankdata(z)
    hand_s = (r(rx, ry) - r(rx, rz) * r(ry, rz)) / math.sqrt((1 - r(rx, rz) ** 2) * (1 - r(ry, rz) ** 2))
    assert stats.partial_correlation(x, y, z, "spearman").estimate == pytest.approx(hand_s)


def test_slope_per_doubling_and_crossover():
    fit = stats.slope_per_doubling([1000, 2000, 4000, 8000], [50.0, 52.0, 54.0, 56.0])
    assert fit.slope == pytest.approx(2.0) and fit.low == pytest.approx(2.0) and fit.r == pytest.approx(1.0)
    sizes, scores = [1000, 2000, 4000, 8000, 1000, 4000], [50.0, 53.0, 53.0, 57.0, 51.0, 55.0]
    lx = np.log2(sizes)  # ordinary least squares by hand
    slope = np.sum((lx - lx.mean()) * (np.array(scores) - np.mean(scores))) / np.sum((lx - lx.mean()) ** 2)
    assert stats.slope_per_doubling(sizes, scores).slope == pytest.approx(slope)
    # gap -15, -5, +5: it crosses halfway between 2000 and 4000 in log2 size: 2000 * sqrt(2)
    assert stats.crossover([1000, 2000, 4000], [40, 50, 60], [55, 55, 55]) == pytest.approx(2000 * math.sqrt(2))
    assert stats.crossover([1000, 2000], [40, 50], [55, 55]) is None
    assert stats.crossover([1000, 2000], [60, 50], [55, 55]) == 1000


def test_drop_is_english_minus_language_per_seed():
    import pandas as pd

    from adapterstilts.analysis.studies.distance import drops

    rows = [("none", "xnli", "en", 0, 80.0), ("none", "xnli", "de", 0, 75.0), ("none", "xnli", "en", 1, 82.0),
            ("none", "xnli", "de", 1, 79.0), ("none", "xnli", "zh", 0, 70.0)]
    frame = pd.DataFrame(rows, columns=["intermediate", "target", "language", "seed", "score"])
    got = {r.language: r.drop for r in drops(frame).itertuples()}
    assert got == {"de": pytest.approx(4.0), "zh": pytest.approx(10.0)}  # (5 + 3) / 2; seed 0 only


def test_cost_counts_the_steps_of_every_training():
    from adapterstilts.analysis.studies import load_study_recipe
    from adapterstilts.analysis.studies.cost import estimate
    from adapterstilts.experiments.plan import expand

    cost = estimate(expand(load_study_recipe("distance", tiny=True)), step_time=1.0)
    assert (cost.trainings, cost.steps) == (3, 6)  # mnli module + two xnli runs, max_steps 2 each
    full = estimate(expand(load_study_recipe("distance", overrides=["intermediates=[none, mnli]", "targets=[xnli]",
                                                                    "seeds=[1]"])), step_time=1.0)
    # MNLI: 392,702 x 3 epochs / 32; XNLI target (MNLI data): x 2 epochs / 32, twice (none, mnli)
    assert full.steps == math.ceil(392_702 * 3 / 32) + 2 * math.ceil(392_702 * 2 / 32)


# ---- commands ----------------------------------------------------------------------------------------
def test_studies_lists_five_with_their_cost():
    result = CliRunner().invoke(app, ["studies"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 5 and [line.split()[0] for line in lines] == list(STUDIES)
    assert all("GPU-h full fine-tune" in line and "GPU-h LoRA" in line for line in lines)


def test_distance_tiny_end_to_end(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(app, ["study", "distance", "--tiny"])
    assert result.exit_code == 0, result.output
    assert "proves the machinery" in result.stdout
    out = tmp_path / "runs" / "study-distance-tiny"
    report = (out / "report.md").read_text()
    assert TINY_NOTE in report and "| none | xnli | genetic |" in report
    for kind in ("syntactic", "genetic", "geographic", "phonological", "inventory", "featural"):
        assert (out / "plots" / f"distance-{kind}.png").stat().st_size > 0
        assert (out / "plots" / f"distance-{kind}.pdf").stat().st_size > 0
    (out / "report.md").unlink()
    again = runner.invoke(app, ["report", str(out)])  # the report again, from the store
    assert again.exit_code == 0 and (out / "report.md").is_file() and "# Study: distance" in again.stdout
    grid = runner.invoke(app, ["study", "distance", "--from", str(out / "results.sqlite")])
    assert grid.exit_code == 0, grid.output
    assert (out / "study-distance" / "report.md").is_file()
    bad = runner.invoke(app, ["study", "scaling", "--from", str(out)])
    assert bad.exit_code == 2 and "distance study only" in bad.output
