"""Study axes (size, order, mix, shots) in the grid, run identity and moved grids, the manifest reader.

The tiny grids use the tiny model, the bundled samples and 2 training steps: they prove the machinery
(every axis trains what it should and is stored as a column), not the science."""
import json
import shutil
from pathlib import Path

import pytest
import yaml

from adapterstilts.config import TrainConfig
from adapterstilts.config.identity import IDENTITY_VERSION, identity
from adapterstilts.errors import UserError
from adapterstilts.experiments.executors import run_grid
from adapterstilts.experiments.plan import cell_status, expand, intermediate_config, target_config
from adapterstilts.experiments.recipe import load_recipe
from adapterstilts.experiments.store import ResultsStore
from adapterstilts.runs import Run

FAST = {"lr": 3e-2, "max_steps": 2, "batch_size": 4, "grad_accum": 1, "logging_steps": 1, "warmup_ratio": 0.0}


def _recipe(tmp_path, model, name="axes", **extra):
    data = {"name": name, "model": str(model), "data": "sample", "method": "lora", "compose": "stack", "seeds": [0],
            "intermediates": ["none", "mnli"], "targets": ["pawsx"], "languages": {"pawsx": ["de"]},
            "intermediate": dict(FAST), "target": dict(FAST), "fewshot": {"max_steps": 2},
            "evaluation": {"max_examples": 8, "batch_size": 8}, "output": str(tmp_path / "out"), "report_to": "none",
            **extra}
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


# ---- expansion (no training) ------------------------------------------------------------------------
def test_each_axis_expands_into_cells_and_runs(tmp_path):
    mix = {"en-de": {"sources": [{"task": "pawsx", "language": "en"}, {"task": "pawsx", "language": "de"}],
                     "weights": [0.5, 0.5], "size": 16}}
    plan = expand(load_recipe(_recipe(tmp_path, "tiny", sizes=[8, None], orders=[["mnli", "qqp"]], mixes=mix,
                                      shots=[0, 4])))
    keys = sorted(c.key for c in plan.cells)
    # baseline: no size; mnli and the order: both sizes; the mix has its own size; each with shots 0 and 4 in de
    assert len(keys) == 2 + 2 * 2 + 2 * 2 + 2 and len(set(keys)) == len(keys)
    assert "mnli/pawsx/seed0/size8/shots4-de" in keys and "mix:en-de/pawsx/seed0/shots0-de" in keys
    jobs = {(j.name, j.size): j for j in plan.intermediates}
    assert jobs["mnli", 8].train_data == {"kind": "subsample", "task": "mnli", "n": 8, "seed": 0}
    assert jobs["mnli", None].train_data is None
    chained = jobs["mnli>qqp", 8]
    assert chained.after == jobs["mnli", 8].path and chained.task == "qqp"
    config = intermediate_config(plan, chained)
    assert (config.task, config.compose, config.intermediates) == ("qqp", "chain", [jobs["mnli", 8].path])
    mixed = intermediate_config(plan, jobs["mix:en-de", None])
    assert mixed.task == "pawsx" and mixed.train_data["kind"] == "mix" and mixed.train_data["size"] == 16
    few = next(c for c in plan.cells if c.key == "mnli/pawsx/seed0/size8/shots4-de")
    config = target_config(plan, few)
    assert config.init_from == few.base and config.compose == "none" and not config.intermediates
    assert config.train_data == {"kind": "fewshot", "task": "pawsx", "language": "de", "k": 4, "seed": 0}
    assert few.base.endswith("targets/mnli/pawsx-seed0-size8")
    zero = next(c for c in plan.cells if c.key == "mnli/pawsx/seed0/size8/shots0-de")
    assert zero.run is None and zero.base == few.base  # zero shots: the English run scored on de



MULTI = {"multi": {"sources": [{"task": "mnli", "language": "en"}, {"task": "mnli_translated", "language": "de"},
                               {"task": "mnli_translated", "language": "zh"}], "weights": [2, 1, 1], "size": 12}}


def test_orders_chain_mixtures_and_reuse_every_shared_link(tmp_path):
    plan = expand(load_recipe(_recipe(tmp_path, "tiny", mixes=MULTI, orders=[["mnli", "mix:multi"],
                                                                            ["mix:multi", "mnli"]])))
    assert sorted(c.intermediate for c in plan.cells) == sorted(
        ["none", "mnli", "mix:multi", "mnli>mix:multi", "mix:multi>mnli"])
    jobs = {j.name: j for j in plan.intermediates}
    assert len(plan.intermediates) == 4  # mnli and the mixture are trained once, reused as first links
    english_then_mixed, mixed_then_english = jobs["mnli>mix:multi"], jobs["mix:multi>mnli"]
    assert english_then_mixed.after == jobs["mnli"].path and mixed_then_english.after == jobs["mix:multi"].path
    config = intermediate_config(plan, english_then_mixed)
    assert (config.task, config.compose, config.intermediates) == ("mnli", "chain", [jobs["mnli"].path])
    assert config.train_data == intermediate_config(plan, jobs["mix:multi"]).train_data  # the same mixture
    assert config.train_data["sources"][1] == {"task": "mnli_translated", "language": "de"}
    back = intermediate_config(plan, mixed_then_english)
    assert (back.task, back.train_data, back.intermediates) == ("mnli", None, [jobs["mix:multi"].path])
    assert english_then_mixed.path.endswith("mnli-then-mix-multi-lora-seed0")
    assert [c.key for c in expand(plan.recipe, ["order=mix:multi>mnli"]).cells] == ["mix:multi>mnli/pawsx/seed0"]


def test_a_mixture_source_reads_its_own_tasks_data(tmp_path):
    squad = {"qa": {"sources": [{"task": "squad", "language": "en"}, {"task": "squad_translated", "language": "de"}]}}
    recipe = _recipe(tmp_path, "tiny", mixes=squad, intermediates=["none"], data="hub")
    blocked = expand(load_recipe(recipe)).intermediates[0]
    assert blocked.blocked and "xtreme_translations" in blocked.blocked and "squad_translated.data" in blocked.blocked
    plan = expand(load_recipe(recipe, ["intermediate.per_task.squad_translated.data=/data/xtreme"]))
    (job,) = plan.intermediates
    assert job.blocked is None and job.task == "squad"
    assert job.train_data["sources"] == [{"task": "squad", "language": "en"},  # the run's data (hub)
                                         {"task": "squad_translated", "language": "de", "data": "/data/xtreme"}]

def test_only_filters_on_any_axis(tmp_path):
    recipe = load_recipe(_recipe(tmp_path, "tiny", sizes=[8, None], shots=[0, 4]))
    only = expand(recipe, ["size=8", "shots=4"])
    assert sorted(c.key for c in only.cells) == ["mnli/pawsx/seed0/size8/shots4-de"]
    assert [j.size for j in only.intermediates] == [8]
    full = expand(recipe, ["size=full", "intermediate=mnli", "shots=0"])
    assert [c.key for c in full.cells] == ["mnli/pawsx/seed0/sizefull/shots0-de"]
    with pytest.raises(UserError, match="--only size=7: not in the recipe's sizes; choose from: 8, full"):
        expand(recipe, ["size=7"])
    # one spelling of "all the data": full (or null) in a recipe and in --only; "all" is refused
    assert [c.key for c in expand(recipe, ["size=null", "intermediate=mnli", "shots=0"]).cells] == [c.key for c in full.cells]
    spelled = load_recipe(_recipe(tmp_path, "tiny", name="spelled", sizes=[8, "full"], shots=[0, 4]))
    assert spelled["sizes"] == recipe["sizes"] == [8, None]
    with pytest.raises(UserError, match="--only size=all: not in the recipe's sizes; choose from: 8, full"):
        expand(recipe, ["size=all"])
    with pytest.raises(UserError, match="--only order=a>b: the recipe has no order axis; drop --only order="):
        expand(recipe, ["order=a>b"])


@pytest.mark.parametrize("extra, words", [
    ({"sizes": [0]}, "sizes"), ({"sizes": []}, "sizes"), ({"orders": [["mnli"]]}, "orders[0]"),
    ({"orders": [["mnli", "nope"]]}, "not an intermediate task"), ({"orders": [["mnli", "xnli"]]}, "not an intermediate"),
    ({"compose": "fuse", "method": "bottleneck", "intermediates": ["mnli", "qqp"], "orders": [["mnli", "qqp"]]}, "no row of their own"),
    ({"mixes": {"m": {"sources": [{"task": "pawsx", "language": "en"}, {"task": "mnli", "language": "en"}]}}}, "mixes.m"), ({"shots": [-1]}, "shots"),
    ({"orders": [["mnli", "mix:nope"]]}, "names no mixture"),
    ({"mixes": {"p": {"sources": [{"task": "pawsx", "language": "de"}]}}, "orders": [["mnli", "mix:p"]]}, "target task"),
    ({"mixes": {"m": {"sources": [{"task": "pawsx", "language": "xx"}]}}}, "no language 'xx'"),
    ({"mixes": {"m": {"sources": [{"task": "pawsx", "language": "de"}], "weights": [1.0]}}}, "size"),
    ({"mixes": {"m": {"sources": []}}}, "sources"),
])
def test_bad_axis_values_name_the_recipe_key(tmp_path, extra, words):
    with pytest.raises(UserError, match=words.replace("[", r"\[").replace("]", r"\]")):
        load_recipe(_recipe(tmp_path, "tiny", **extra))


# ---- identity ---------------------------------------------------------------------------------------
def test_identity_lists_training_fields_only_and_ignores_new_defaults(tmp_path):
    base = TrainConfig(task="mnli", output="a", method="bottleneck")
    moved = TrainConfig(task="mnli", output="elsewhere/b", method="bottleneck", report_to="none", progress=False,
                        lora_r=4, logging_steps=1, save_steps=5)  # where/how it logs, and a LoRA option: no change
    assert identity(base) == identity(moved) == {"task": "mnli", "method": "bottleneck", "lr": 1e-4}  # its default lr
    assert identity(TrainConfig(task="mnli", output="a", method="bottleneck", reduction_factor=8))["reduction_factor"] == 8
    assert identity(TrainConfig(task="mnli", output="a", lora_r=4))["lora_r"] == 4  # a LoRA run: it counts
    root = tmp_path / "grid"
    inside = TrainConfig(task="mnli", output="a", model=str(root / "tiny-xlmr"))
    assert identity(inside, root)["model"] == "@root/tiny-xlmr"
    saved = json.loads(json.dumps(base.to_dict()))
    saved["a_field_from_the_future"] = 1  # a config.json with more (or fewer) keys than today's fields
    assert identity(saved) == identity(base)


def test_a_moved_grid_resumes_without_retraining_and_stores_every_axis(tmp_path, tiny_model_dir):
    """The tiny grid with every new axis runs offline; moved elsewhere, it resumes without retraining
    or re-evaluating; the store has one column per axis."""
    shutil.copytree(tiny_model_dir, tmp_path / "out" / "tiny-xlmr")  # model: tiny (inside the grid's folder)
    mix = {"en-de": {"sources": [{"task": "pawsx", "language": "en"}, {"task": "pawsx", "language": "de"}],
                     "weights": [0.5, 0.5], "size": 8}}
    extra = dict(sizes=[8, None], orders=[["mnli", "qqp"]], mixes=mix, shots=[0, 4])
    plan = expand(load_recipe(_recipe(tmp_path, "tiny", **extra)))
    summary = run_grid(plan, log=lambda m: None)
    assert len(summary.done) == len(plan.cells) == 12 and not summary.failed
    chained = Run.open(next(j.path for j in plan.intermediates if j.name == "mnli>qqp" and j.size == 8))
    assert chained.manifest["chain"] == ["mnli", "qqp"] and chained.manifest["train_data"]["n"] == 8
    few = Run.open(next(c.run for c in plan.cells if c.key == "mnli>qqp/pawsx/seed0/size8/shots4-de"))
    assert few.manifest["init_from"]["compose"] == "stack" and few.manifest["train_data"]["examples"] == 4
    assert few.manifest["compose"] == "stack" and few.manifest["intermediates"][0]["task"] == "qqp"
    frame = ResultsStore(plan.store).to_dataframe()
    assert {"size", "shots", "language", "order", "mix"} <= set(frame.columns)
    sizes = frame.loc[frame["intermediate"] == "mnli", "size"]
    assert set(sizes.dropna()) == {8} and sizes.isna().any()  # 8, and null: all the data
    assert set(frame["shots"]) == {0, 4} and set(frame["language"]) == {"de"}

    moved = tmp_path / "moved"
    shutil.move(tmp_path / "out", moved)  # runs recorded the old absolute paths: they are gone
    recipe = load_recipe(_recipe(tmp_path, "tiny", **extra), [f"output={moved}"])
    again = expand(recipe)
    assert all(cell_status(again, c) == "done" for c in again.cells)
    summary = run_grid(again, log=lambda m: None)
    assert not summary.done and len(summary.cached) == 12
    shutil.rmtree(moved / "results")  # results lost: re-evaluated from the moved runs, nothing retrained
    trained_before = {p: p.stat().st_mtime_ns for p in moved.rglob("manifest.json")}
    summary = run_grid(expand(recipe), log=lambda m: None)
    assert len(summary.done) == 12
    assert {p: p.stat().st_mtime_ns for p in moved.rglob("manifest.json")} == trained_before


def test_report_splits_rows_by_axis(tmp_path, tiny_model_dir):
    from adapterstilts.analysis.tables import make_report

    plan = expand(load_recipe(_recipe(tmp_path, tiny_model_dir, sizes=[4, 8], intermediates=["mnli"])))
    run_grid(plan, log=lambda m: None)
    text = make_report([plan.store])
    assert "| mnli, size 4 |" in text and "| mnli, size 8 |" in text
    assert "| mnli |" in make_report([plan.store], by=["intermediate"])  # one row, sizes pooled on request
    with pytest.raises(UserError, match="--by target"):
        make_report([plan.store], by=["target"])


# ---- manifests --------------------------------------------------------------------------------------
def test_old_manifests_load_and_bad_ones_are_one_line(tmp_path):
    old = {"task": "mnli", "method": "lora", "module_name": "default",
           "base_model": {"name": "m", "config_hash": "abc"}, "merge_weights": None, "seed": 1}
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps(old))
    run = Run.open(folder)  # version 1 (no manifest_version, no compose)
    assert run.compose == "none" and run.manifest["manifest_version"] == 1 and run.manifest["seed"] == 1
    assert json.loads((folder / "manifest.json").read_text()) == old  # the file is left as it was
    for bad, words in [([1, 2], "not a JSON object"), ({**old, "seed": "1"}, "seed must be an integer"),
                       ({**old, "base_model": ["m"]}, "base_model must be an object"),
                       ({**old, "intermediates": "mnli"}, "intermediates must be a list"),
                       ({**old, "manifest_version": 99}, "newer adapterstilts")]:
        (folder / "manifest.json").write_text(json.dumps(bad))
        with pytest.raises(UserError, match=words) as err:
            Run.open(folder)
        assert "\n" not in str(err.value) and "manifest.json" in str(err.value)


def test_new_runs_write_the_current_manifest_version(tmp_path, tiny_model_dir):
    from adapterstilts.runs.manifest import MANIFEST_VERSION
    from adapterstilts.training.pipeline import train
    from conftest import quiet, small_train_config

    run = train(small_train_config(tiny_model_dir, tmp_path / "r", max_steps=1), log=quiet)
    assert run.manifest["manifest_version"] == MANIFEST_VERSION == 2 and IDENTITY_VERSION == 2


def test_the_cluster_path_trains_each_run_in_one_job(tmp_path, tiny_model_dir, monkeypatch):
    """submitit (in-process here): an order's links, then the English runs of few-shot cells, are each
    trained by one job before the cells that need them, so no two jobs train the same folder."""
    pytest.importorskip("submitit")
    from adapterstilts.experiments import executors
    from adapterstilts.experiments.executors import ExecutorOptions

    plan = expand(load_recipe(_recipe(tmp_path, tiny_model_dir, intermediates=["mnli"], orders=[["mnli", "qqp"]],
                                      shots=[0, 2], languages={"pawsx": ["de", "zh"]})))
    trained = []
    real = executors.ensure_intermediate

    def spy(plan_, job, log=print):
        from adapterstilts.experiments.plan import intermediate_status

        if intermediate_status(plan_, job) != "cached":
            trained.append(job.path)
        return real(plan_, job, log=log)

    monkeypatch.setattr(executors, "ensure_intermediate", spy)
    summary = run_grid(plan, ExecutorOptions(kind="submitit-debug", folder=str(tmp_path / "jobs" / "%j")),
                       log=lambda m: None)
    assert not summary.failed and len(summary.done) == len(plan.cells) == 8
    assert len(trained) == len(set(trained)) == 2  # mnli and mnli>qqp, once each
    events = [json.loads(line)["event"] for line in (Path(plan.root) / "grid_log.jsonl").read_text().splitlines()]
    assert events.count("train-target-start") == 2 + 2 * 2  # two English runs, then one few-shot run per language


def test_a_second_driver_on_the_same_folder_is_refused_or_waits(tmp_path):
    import os
    import threading

    from adapterstilts.experiments.lock import LOCK_FILE, grid_lock

    logs = []
    with grid_lock(tmp_path):
        holder = json.loads((tmp_path / LOCK_FILE).read_text())
        assert holder["pid"] == os.getpid()
        with pytest.raises(UserError, match=f"pid {os.getpid()}.*--wait"):
            with grid_lock(tmp_path):
                pass
        done = []
        waiter = threading.Thread(target=lambda: grid_lock(tmp_path, wait=True, poll=0.05, log=logs.append)
                                  .__enter__() and done.append(1) or done.append(1))
        waiter.start()
        waiter.join(0.3)
        assert not done and any("waiting for" in line for line in logs)
    waiter.join(5)
    assert done  # it started once the first one let go
    (tmp_path / LOCK_FILE).write_text(json.dumps({"pid": 999999, "host": __import__("socket").gethostname()}))
    with grid_lock(tmp_path, log=logs.append):  # a dead driver's lock is taken over, and said so
        assert "taking over" in logs[-1]
