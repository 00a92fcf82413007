"""The studies: each statistic against a hand computation on a small table, the cost estimate against
hand-counted steps, `studies` lists five, and the cheapest study (distance) end to end with --tiny
(the tiny model and samples: it proves the machinery, not the science)."""
import json
import math
from pathlib import Path

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


# ---- order: conditions against English-first ------------------------------------------------------
def test_order_compares_every_condition_with_english_first(tmp_path):
    import pandas as pd

    from adapterstilts.analysis.studies.order import analyse, describe

    rng = np.random.default_rng(3)
    conditions = ["none", "mnli", "mix:multi", "mnli>mix:multi", "mix:multi>mnli"]
    rows = [(c, "xglue_nc", lang, seed, float(60 + 2 * k + rng.normal()))
            for k, c in enumerate(conditions) for lang in ("en", "de", "ru") for seed in (1, 2, 3)]
    frame = pd.DataFrame(rows, columns=["intermediate", "target", "language", "seed", "score"])
    text = "\n".join(analyse(frame, tmp_path, {}))
    assert "| mnli | mnli (English) — the reference (English-first) |" in text
    assert describe("mnli>mix:multi") == "mnli, then mixture multi (mixed-language) (chained)"
    scores = frame.set_index(["intermediate", "language", "seed"])["score"]
    for cond in ("none", "mix:multi", "mnli>mix:multi", "mix:multi>mnli"):  # hand: mean of the 9 paired differences
        hand = float(np.mean([scores[cond, lang, s] - scores["mnli", lang, s] for lang in ("en", "de", "ru")
                              for s in (1, 2, 3)]))
        line = next(ln for ln in text.splitlines() if ln.startswith(f"| xglue_nc | all | {cond} |"))
        assert line.split("|")[4].strip().startswith(f"{hand:.2f} [") and line.split("|")[5].strip() == "9"
    assert (tmp_path / "plots" / "order-bars.png").stat().st_size > 0


def test_order_tiny_chains_a_mixture_end_to_end(tmp_path, monkeypatch, tiny_model_dir):
    monkeypatch.chdir(tmp_path)  # one seed and target, the session's tiny model: the five conditions in a minute
    result = CliRunner().invoke(app, ["study", "order", "--tiny", "--set", "seeds=[0]", "--set", f"model={tiny_model_dir}",
                                      "--set", "targets=[xglue_pawsx]", "--set", "languages={xglue_pawsx: [en, de]}"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "runs" / "study-order-tiny"
    trained = [json.loads(line)["path"] for line in (out / "grid_log.jsonl").read_text().splitlines()
               if json.loads(line)["event"] == "train-intermediate-done"]
    assert sorted(Path(p).name for p in trained) == ["mix-mixed-lang-lora-seed0", "mix-mixed-lang-then-mnli-lora-seed0",
                                                     "mnli-lora-seed0", "mnli-then-mix-mixed-lang-lora-seed0"]  # once each
    chained = json.loads((out / "intermediate" / "mnli-then-mix-mixed-lang-lora-seed0" / "manifest.json").read_text())
    assert chained["train_data"]["kind"] == "mix" and chained["intermediates"][0]["task"] == "mnli"
    report = (out / "report.md").read_text()
    for cond in ("none", "mix:mixed-lang", "mnli>mix:mixed-lang", "mix:mixed-lang>mnli"):
        assert f"| xglue_pawsx | all | {cond} |" in report  # each condition against English-first
    assert "## Differences against English-first (mnli)" in report and "(plots/order-bars.png)" in report


# ---- cost: where the step time comes from ------------------------------------------------------------
BENCH = """# bench_memory: XLM-R Large shapes (random weights) on NVIDIA H100 80GB HBM3
batch 16 x 256 tokens, 3 warm-up + 10 timed steps, LoRA r=8 alpha=16 on query/value, AdamW, grad clip 1.0

| setup | peak memory (GiB) | memory vs fp32 full | step time (ms) | time vs fp32 full | trainable parameters | note |
|---|---|---|---|---|---|---|
| fp32 full fine-tune | 20.00 | 1.00 | 250.0 | 1.00 | 559,893,507 |  |
| bf16 LoRA | 8.00 | 0.40 | 100.0 | 0.40 | 1,839,107 |  |
"""


def test_step_time_is_given_measured_or_assumed_and_says_which(tmp_path):
    from adapterstilts.analysis.studies import load_study_recipe
    from adapterstilts.analysis.studies.cost import FULL_STEP_S, StepTime, estimate, step_time
    from adapterstilts.errors import UserError
    from adapterstilts.experiments.plan import expand

    bench = tmp_path / "bench.txt"
    bench.write_text(BENCH)
    measured = step_time(bench=bench)
    # measured at 16 x 256 tokens: a 32 x 256 step takes twice as long
    assert (measured.full, measured.peft) == (pytest.approx(0.5), pytest.approx(0.2))
    assert measured.source.startswith("measured: ") and "NVIDIA H100" in measured.source
    table_only = tmp_path / "table.md"
    table_only.write_text(BENCH.split("\n\n", 1)[1])  # bench_memory.py --out: the table alone
    assert step_time(bench=table_only).full == pytest.approx(0.25)
    assert "assumed 32 x 256" in step_time(bench=table_only).source
    given = step_time(0.3)
    assert (given.full, given.peft) == (0.3, pytest.approx(0.2)) and given.source.startswith("given: ")
    cpu = tmp_path / "cpu.txt"
    cpu.write_text(BENCH.replace("NVIDIA H100 80GB HBM3", "CPU (peak resident memory, a stand-in for GPU memory)"))
    with pytest.raises(UserError, match="measured on a CPU"):
        step_time(bench=cpu)
    tiny = tmp_path / "tiny.txt"  # bench_memory.py --tiny on a GPU: no XLM-R Large step time either
    tiny.write_text(BENCH.replace("XLM-R Large shapes (random weights)", "tiny config"))
    with pytest.raises(UserError, match="tiny test model"):
        step_time(bench=tiny)
    with pytest.raises(UserError, match="positive"):
        step_time(0.0)
    plan = expand(load_study_recipe("distance", tiny=True))
    unit = estimate(plan, StepTime(1.0, 1.0, ""))  # hours per second of step time
    cost = estimate(plan, measured)
    assert cost.full_hours == pytest.approx(unit.full_hours * 0.5) and cost.peft_hours == pytest.approx(unit.full_hours * 0.2)
    assert estimate(plan, FULL_STEP_S).peft_hours == pytest.approx(unit.full_hours * FULL_STEP_S * 2 / 3)


def test_studies_and_dry_run_print_the_step_time_source(tmp_path):
    bench = tmp_path / "bench.txt"
    bench.write_text(BENCH)
    result = CliRunner().invoke(app, ["studies", "--bench", str(bench)])
    assert result.exit_code == 0, result.output
    assert f"step time: measured: {bench}" in result.stderr
    dry = CliRunner().invoke(app, ["study", "order", "--dry-run", "--step-time", "0.2"])
    assert dry.exit_code == 0, dry.output
    assert "step time: given: --step-time 0.2 s" in dry.stdout and "mnli>mix:mixed-lang" in dry.stdout
    bad = CliRunner().invoke(app, ["study", "order", "--dry-run", "--bench", str(tmp_path / "missing.txt")])
    assert bad.exit_code == 2 and "cannot read --bench" in bad.output
    for option in (["--bench", str(tmp_path / "missing.txt")], ["--step-time", "-1"]):  # not only with --dry-run
        bad = CliRunner().invoke(app, ["study", "order", "--tiny", "--set", f"output={tmp_path / 'out'}", *option])
        assert bad.exit_code == 2 and ("cannot read --bench" in bad.output or "positive" in bad.output), bad.output
        assert not (tmp_path / "out").exists()


def test_the_full_studies_share_modules_without_claiming_one_folder_twice():
    from adapterstilts.analysis.studies import load_study_recipe
    from adapterstilts.experiments.plan import expand, intermediate_fingerprint

    claims: dict[str, dict[str, set]] = {}
    for name in STUDIES:
        plan = expand(load_study_recipe(name))
        assert {str(Path(j.path).parent) for j in plan.intermediates} == {str(Path("runs/studies/intermediate").absolute())}
        for job in plan.intermediates:
            claims.setdefault(job.path, {}).setdefault(intermediate_fingerprint(plan, job), set()).add(name)
    assert all(len(modules) == 1 for modules in claims.values()), {p: m for p, m in claims.items() if len(m) > 1}
    english = [next(iter(m.values())) for p, m in claims.items() if Path(p).name == "mnli-lora-seed1"]
    assert english == [{"scaling", "fewshot", "distance", "order"}]  # one English MNLI module for four studies
