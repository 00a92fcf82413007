"""`adapterstilts select`: LogME against a direct Bayesian-evidence computation, the fixed point, task
embeddings, regret@k by hand, and the command end to end on the tiny model."""
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from adapterstilts.analysis import transferability as tr
from adapterstilts.cli import app
from conftest import quiet, small_train_config

runner = CliRunner()


# ------------------------------------------------------------------------------------------ LogME maths
def _direct_log_evidence(f, y, alpha, beta):
    """log N(y | 0, beta^-1 I + alpha^-1 F F'): the marginal likelihood of Bayesian linear regression
    with w ~ N(0, alpha^-1 I) and noise N(0, beta^-1), integrated in closed form (no SVD)."""
    n = len(y)
    cov = np.eye(n) / beta + f @ f.T / alpha
    _, logdet = np.linalg.slogdet(cov)
    return -0.5 * (n * math.log(2 * math.pi) + logdet + y @ np.linalg.solve(cov, y))


@pytest.mark.parametrize("n, d", [(40, 7), (9, 20)])  # more rows than features, and fewer
def test_log_evidence_equals_the_direct_marginal_likelihood(n, d):
    rng = np.random.default_rng(n)
    f, y = rng.normal(size=(n, d)), rng.normal(size=n)
    for alpha, beta in [(1.0, 1.0), (0.3, 4.0), (12.0, 0.05)]:
        assert tr.log_evidence(f, y, alpha, beta) == pytest.approx(_direct_log_evidence(f, y, alpha, beta), rel=1e-9)


def test_fixed_point_satisfies_the_update_equations():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(60, 5))
    y = f @ rng.normal(size=5) + 0.4 * rng.normal(size=60)
    e = tr.maximise_evidence(f, y)
    a = e.alpha * np.eye(5) + e.beta * f.T @ f
    m = e.beta * np.linalg.solve(a, f.T @ y)
    eig = np.linalg.eigvalsh(e.beta * f.T @ f)
    gamma = float(np.sum(eig / (e.alpha + eig)))
    assert e.alpha == pytest.approx(gamma / (m @ m), rel=1e-6)
    assert e.beta == pytest.approx((60 - gamma) / np.sum((f @ m - y) ** 2), rel=1e-6)
    assert e.value == pytest.approx(_direct_log_evidence(f, y, e.alpha, e.beta) / 60, rel=1e-9)
    # a maximum: moving alpha or beta lowers the evidence
    for da, db in [(1.2, 1), (0.8, 1), (1, 1.2), (1, 0.8)]:
        assert tr.log_evidence(f, y, e.alpha * da, e.beta * db) < e.value * 60


def test_informative_features_score_higher_than_random_ones():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, size=300)
    informative = np.hstack([np.eye(3)[labels] * 2 + 0.5 * rng.normal(size=(300, 3)), rng.normal(size=(300, 13))])
    noise = rng.normal(size=(300, 16))
    assert tr.logme(informative, labels) > tr.logme(noise, labels) + 0.3
    # one real-valued column (multiple choice: gold 1, others 0)
    gold = (labels == 0).astype(float)
    assert tr.logme(informative, gold, one_hot=False) > tr.logme(noise, gold, one_hot=False)


# ------------------------------------------------------------------------------------------ embeddings, regret
def test_embedding_similarity_of_a_task_with_itself_is_one_and_ranking_follows_cosine():
    target = np.array([1.0, 2.0, 0.0])
    assert tr.cosine(target, target) == pytest.approx(1.0)
    candidates = {"far": np.array([0.0, 0.0, 1.0]), "same": 3 * target, "near": np.array([1.0, 1.5, 0.5])}
    ranked = tr.rank_by_similarity(target, candidates)
    assert [name for name, _ in ranked] == ["same", "near", "far"]
    assert ranked[0][1] == pytest.approx(1.0) and ranked[2][1] == pytest.approx(0.0)


def test_regret_at_k_on_a_hand_table():
    trained = {"mnli": 80.0, "squad": 70.0, "ccg": 60.0, "qqp": 75.0}
    ranking = ["ccg", "squad", "mnli", "qqp"]
    assert tr.regret_at_k(ranking, trained, 1) == pytest.approx(100 * (80 - 60) / 80)  # 25 %
    assert tr.regret_at_k(ranking, trained, 2) == pytest.approx(100 * (80 - 70) / 80)  # 12.5 %
    assert tr.regret_at_k(ranking, trained, 3) == 0.0
    assert tr.regret_at_k(["qqp", "mnli"], trained, 1) == pytest.approx(100 * 5 / 80)


# ------------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def grid(tiny_model_dir, tmp_path_factory):
    """A finished grid's layout: two intermediate runs (2 training steps each) and a results store."""
    from adapterstilts.experiments.store import ResultsStore
    from adapterstilts.training.pipeline import train

    root = tmp_path_factory.mktemp("grid")
    for task in ("mnli", "qqp"):
        train(small_train_config(tiny_model_dir, root / "intermediate" / f"{task}-lora-seed0", task=task,
                                 max_steps=2), log=quiet)
    (root / "recipe.json").write_text(json.dumps({"name": "hand", "data": "sample"}))
    store = ResultsStore(root / "results.sqlite")
    # xnli: qqp is the better intermediate (two languages, averaged); seed 1 of mnli lowers its mean
    table = {("mnli", 0): {"en": 60.0, "de": 50.0}, ("mnli", 1): {"en": 50.0, "de": 40.0},
             ("qqp", 0): {"en": 70.0, "de": 60.0}}
    for (inter, seed), per_language in table.items():
        cell = f"{inter}/xnli/seed{seed}"
        store.replace_cell("hand", cell, [
            {"recipe": "hand", "cell": cell, "intermediate": inter, "method": "lora", "compose": "stack",
             "target": "xnli", "language": lang, "metric": "accuracy", "seed": seed, "value": v, "run": None}
            for lang, v in per_language.items()])
    return root


def _invoke(*args):
    return runner.invoke(app, ["select", *[str(a) for a in args]])


@pytest.mark.parametrize("method", ["logme", "embedding"])
def test_select_ranks_two_intermediate_runs(grid, method):
    runs = [grid / "intermediate" / "mnli-lora-seed0", grid / "intermediate" / "qqp-lora-seed0"]
    result = _invoke("xnli", "-i", runs[0], "-i", runs[1], "--method", method, "--data", "sample",
                     "--max-examples", 24)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("xnli: intermediates ranked by")
    ranked = [line.split()[1] for line in lines[1:3]]
    assert sorted(ranked) == sorted(str(r) for r in runs)
    scores = [float(line.split()[2]) for line in lines[1:3]]
    assert scores[0] >= scores[1] and all(math.isfinite(s) for s in scores)
    assert lines[-1].startswith("took ") and " s (first 24 training examples" in lines[-1]
    as_json = _invoke("xnli", "-i", runs[0], "-i", runs[1], "--method", method, "--data", "sample",
                      "--max-examples", 24, "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    parsed = json.loads(as_json.stdout)
    assert [r["score"] for r in parsed["ranking"]] == pytest.approx(scores, abs=1e-5)
    assert parsed["method"] == method and parsed["seconds"] > 0
    first, second = parsed["ranking"]
    assert first["score"] != second["score"]  # each module (logme) / each task's data (embedding) counts
    if method == "embedding":  # XNLI trains on MNLI: the same English examples, so cosine 1 and ranked first
        assert first["intermediate"].endswith("mnli-lora-seed0") and first["score"] == pytest.approx(1.0)


def test_logme_serves_tagging_targets(grid):
    runs = [str(grid / "intermediate" / f"{t}-lora-seed0") for t in ("mnli", "qqp")]
    ranking = tr.select_intermediates("panx", runs, "logme", data="sample", max_examples=16, log=quiet)
    assert len(ranking.scores) == 2 and all(math.isfinite(s) for _, s in ranking.scores)


def test_evaluate_reports_regret_against_the_grid(grid):
    result = _invoke("--evaluate", grid, "--method", "embedding", "--max-examples", 16, "--format", "json")
    assert result.exit_code == 0, result.output
    about = json.loads(result.stdout)["methods"]["embedding"]
    xnli = about["targets"]["xnli"]
    assert xnli["trained"] == pytest.approx({"mnli": 50.0, "qqp": 65.0})  # language mean, then seed mean
    first = xnli["ranking"][0]
    assert xnli["regret@1"] == pytest.approx(0.0 if first == "qqp" else 100 * 15 / 65)
    assert xnli["regret@3"] == 0.0 and about["average"]["regret@1"] == pytest.approx(xnli["regret@1"])
    table = _invoke("--evaluate", grid, "--method", "embedding", "--max-examples", 16)
    assert table.exit_code == 0 and "regret@1" in table.stdout and "Poth et al." in table.stdout


def test_evaluate_says_which_study_results_it_skips(grid, tmp_path):
    """Size-axis cells (a scaling study) are not ranked: the output says so, in the note and the JSON."""
    import shutil

    from adapterstilts.experiments.store import ResultsStore

    sized = tmp_path / "grid"
    shutil.copytree(grid, sized)
    shutil.copytree(grid / "intermediate" / "mnli-lora-seed0", sized / "intermediate" / "mnli-lora-seed0-size4")
    store = ResultsStore(sized / "results.sqlite")
    for inter, value in (("mnli", 90.0), ("qqp", 10.0)):
        cell = f"{inter}/xnli/seed0/size4"
        store.replace_cell("hand", cell, [
            {"recipe": "hand", "cell": cell, "intermediate": inter, "method": "lora", "compose": "stack",
             "target": "xnli", "language": "en", "metric": "accuracy", "seed": 0, "value": value, "run": None,
             "axes": json.dumps({"size": 4})}])
    result = _invoke("--evaluate", sized, "--method", "embedding", "--max-examples", 16, "--format", "json")
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.stdout)
    assert parsed["methods"]["embedding"]["targets"]["xnli"]["trained"] == pytest.approx({"mnli": 50.0, "qqp": 65.0})
    assert "2 results of study cells (size 4)" in parsed["skipped_study"]
    assert "mnli-lora-seed0-size4" in parsed["skipped_study"]
    assert "note: skipped the grid's 2 results" in result.stderr
    plain = _invoke("--evaluate", grid, "--method", "embedding", "--max-examples", 16, "--format", "json")
    assert "skipped_study" not in json.loads(plain.stdout) and "note: skipped" not in plain.stderr


@pytest.mark.parametrize("args, message", [
    (["no_such_task", "-i", "a", "-i", "b"], "unknown task 'no_such_task'"),
    (["xnli", "-i", "/no/such/run", "-i", "/no/such/other"], "not a finished adapterstilts run"),
    (["tatoeba", "-i", "a", "-i", "b"], "has no training data"),
    (["xnli", "-i", "RUN"], "at least two intermediate runs"),
    (["xquad", "-i", "a", "-i", "b"], "use --method embedding"),
    (["xnli", "-i", "a", "-i", "b", "--method", "best"], "unknown --method 'best'"),
    (["--evaluate", "/no/such/grid"], "no such folder"),
])
def test_bad_input_is_one_line_before_any_model_loads(args, message, grid, monkeypatch):
    import adapterstilts.model.assemble as assemble
    import adapterstilts.model.backbone as backbone

    def no_model(*_a, **_k):
        raise AssertionError("a model was loaded")

    for module, name in [(backbone, "load_encoder"), (backbone, "load_tokenizer"), (assemble, "load_run_encoder")]:
        monkeypatch.setattr(module, name, no_model)
    args = [str(grid / "intermediate" / "mnli-lora-seed0") if a == "RUN" else a for a in args]
    result = _invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_evaluate_reads_a_grid_whose_store_is_elsewhere(grid, tmp_path):
    """recipe.json's `results:` outside the grid folder: no store inside it is not an error of its own."""
    import shutil

    moved = tmp_path / "grid"
    shutil.copytree(grid, moved)
    elsewhere = tmp_path / "stores" / "results.sqlite"
    elsewhere.parent.mkdir()
    shutil.move(moved / "results.sqlite", elsewhere)
    (moved / "recipe.json").write_text(json.dumps({"name": "hand", "data": "sample", "results": str(elsewhere)}))
    result = _invoke("--evaluate", moved, "--method", "embedding", "--max-examples", 16, "--format", "json")
    assert result.exit_code == 0, result.output
    assert "xnli" in json.loads(result.stdout)["methods"]["embedding"]["targets"]
