"""End to end on the tiny model: every method x compose trains, saves, reloads to identical logits,
evaluates zero-shot, and saved modules load with plain peft / plain adapters."""
import json
from pathlib import Path

import pytest
import torch

from adapterstilts.errors import UserError
from adapterstilts.evaluation.zero_shot import evaluate_run
from adapterstilts.formats import get_format
from adapterstilts.model.assemble import load_run_model
from adapterstilts.runs import Run
from adapterstilts.tasks import get_task
from adapterstilts.training.pipeline import train
from conftest import logged_losses
from conftest import quiet as _quiet
from conftest import small_train_config as _config

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle"}


def _batch(tokenizer, task_name="xnli", n=6):
    """A fixed batch of canonical examples -> model inputs, for logit comparisons."""
    from adapterstilts.data.loading import load_examples

    task = get_task(task_name)
    fmt = get_format(task.format)
    examples = load_examples(task, "train", "en", "sample").select(range(n))
    features = fmt.preprocess(examples, tokenizer, task, max_length=64, stride=32, train=False)
    batch = fmt.collate([features[i] for i in range(len(features))], tokenizer)
    batch.pop("labels", None)
    return batch


def _logits(model, batch):
    model.eval()
    with torch.no_grad():
        return model(**batch)["logits"]


def _no_pickles(folder: Path):
    bad = [p for p in folder.rglob("*") if p.suffix in PICKLE_SUFFIXES]
    assert not bad, f"pickle files written: {bad}"


@pytest.fixture(scope="module")
def lora_mnli(tiny_model_dir, tmp_path_factory):
    return train(_config(tiny_model_dir, tmp_path_factory.mktemp("r") / "mnli-lora", method="lora"), log=_quiet,
                 keep_model=True)


@pytest.fixture(scope="module")
def bn_runs(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("bn")
    return [train(_config(tiny_model_dir, root / f"{t}-bn", task=t, method="bottleneck"), log=_quiet, keep_model=True)
            for t in ("mnli", "qqp")]


def test_intermediate_run_folder_is_complete(lora_mnli):
    run = lora_mnli
    m = run.manifest
    assert m["task"] == "mnli" and m["method"] == "lora" and m["compose"] == "none"
    assert len(m["base_model"]["config_hash"]) == 16 and m["seed"] == 0
    assert {"torch", "transformers", "peft"} <= set(m["versions"])
    assert (run.module_dir / "adapter_config.json").is_file()
    assert (run.module_dir / "adapter_model.safetensors").is_file()
    assert run.head_file.is_file() and (run.path / "train_log.jsonl").is_file()
    assert 0 < m["trainable_parameters"] < m["total_parameters"]
    assert not any(p.name.endswith(".partial") for p in run.path.parent.iterdir())
    _no_pickles(run.path)


def test_reload_gives_identical_logits(lora_mnli, tiny_tokenizer):
    batch = _batch(tiny_tokenizer, "mnli")
    reloaded, _, _ = load_run_model(Run.open(lora_mnli.path))
    assert torch.equal(_logits(lora_mnli.model, batch), _logits(reloaded, batch))


def test_lora_module_loads_with_plain_peft(lora_mnli, tiny_model_dir, tiny_tokenizer):
    from peft import PeftModel
    from transformers import AutoModel

    batch = _batch(tiny_tokenizer, "mnli")
    plain = PeftModel.from_pretrained(AutoModel.from_pretrained(tiny_model_dir), str(lora_mnli.module_dir)).eval()
    ours = load_run_model(Run.open(lora_mnli.path))[0].encoder
    with torch.no_grad():
        a = plain(**batch).last_hidden_state
        b = ours(**batch).last_hidden_state
    base = AutoModel.from_pretrained(tiny_model_dir).eval()
    with torch.no_grad():
        c = base(**batch).last_hidden_state
    assert torch.allclose(a, b, atol=1e-6)
    assert not torch.allclose(a, c, atol=1e-6), "the LoRA module changed nothing"


def test_bottleneck_module_loads_with_plain_adapters(bn_runs, tiny_model_dir, tiny_tokenizer):
    import adapters
    from transformers import AutoModel

    run = bn_runs[0]
    assert (run.module_dir / "adapter_config.json").is_file()
    assert any(p.suffix == ".safetensors" for p in run.module_dir.iterdir())
    _no_pickles(run.path)
    batch = _batch(tiny_tokenizer, "mnli")
    plain = AutoModel.from_pretrained(tiny_model_dir)
    adapters.init(plain)
    name = plain.load_adapter(str(run.module_dir), use_safetensors=True)
    plain.set_active_adapters(name)
    plain.eval()
    ours = load_run_model(Run.open(run.path))[0].encoder
    with torch.no_grad():
        assert torch.allclose(plain(**batch).last_hidden_state, ours(**batch).last_hidden_state, atol=1e-6)


def test_lora_stack_trains_only_the_target_module(lora_mnli, tiny_model_dir, tiny_tokenizer, tmp_path):
    from safetensors.torch import load_file

    run = train(_config(tiny_model_dir, tmp_path / "xnli-stack", task="xnli", method="lora", compose="stack",
                        intermediates=[str(lora_mnli.path)]), log=_quiet, keep_model=True)
    assert run.manifest["compose"] == "stack" and run.manifest["intermediates"][0]["task"] == "mnli"
    copied = run.path / "intermediates" / "mnli" / "module" / "adapter_model.safetensors"
    before = load_file(str(lora_mnli.module_dir / "adapter_model.safetensors"))
    after = load_file(str(copied))
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    # the intermediate is active in the stacked model, and frozen
    names = [n for n, p in run.model.encoder.named_parameters() if ".mnli." in n]
    assert names and not any(p.requires_grad for n, p in run.model.encoder.named_parameters() if ".mnli." in n)
    batch = _batch(tiny_tokenizer)
    reloaded, _, _ = load_run_model(Run.open(run.path))
    assert torch.equal(_logits(run.model, batch), _logits(reloaded, batch))
    result = evaluate_run(run.path, languages="all", data="sample", log=_quiet)
    assert len(result["languages"]) >= 3
    assert all(0 <= s["accuracy"] <= 100 for s in result["languages"].values())
    assert json.loads((run.path / "metrics.json").read_text())["xnli"]["average"] == result["average"]


def test_bottleneck_stack_fuse_and_continue(bn_runs, tiny_model_dir, tiny_tokenizer, tmp_path):
    paths = [str(r.path) for r in bn_runs]
    batch = _batch(tiny_tokenizer)
    for compose, inters in (("stack", paths[:1]), ("fuse", paths), ("continue", paths[:1])):
        run = train(_config(tiny_model_dir, tmp_path / compose, task="xnli", method="bottleneck", compose=compose,
                            intermediates=inters), log=_quiet, keep_model=True)
        assert run.manifest["trainable_parameters"] > 0
        if compose == "fuse":
            assert (run.module_dir / "adapter_fusion_config.json").is_file()
        _no_pickles(run.path)
        reloaded, _, _ = load_run_model(Run.open(run.path))
        assert torch.equal(_logits(run.model, batch), _logits(reloaded, batch)), compose


def test_continue_lora_and_full(lora_mnli, tiny_model_dir, tiny_tokenizer, tmp_path):
    cont = train(_config(tiny_model_dir, tmp_path / "cont", task="xnli", method="lora", compose="continue",
                         intermediates=[str(lora_mnli.path)]), log=_quiet, keep_model=True)
    from safetensors.torch import load_file

    start = load_file(str(lora_mnli.module_dir / "adapter_model.safetensors"))
    end = load_file(str(cont.module_dir / "adapter_model.safetensors"))
    assert start.keys() == end.keys() and any(not torch.equal(start[k], end[k]) for k in start), "module did not train"
    full = train(_config(tiny_model_dir, tmp_path / "full", method="full", lr=1e-4), log=_quiet)
    assert (full.module_dir / "model.safetensors").is_file()
    full_xnli = train(_config(tiny_model_dir, tmp_path / "full-xnli", task="xnli", method="full", compose="continue",
                              intermediates=[str(full.path)], lr=1e-4), log=_quiet, keep_model=True)
    batch = _batch(tiny_tokenizer)
    reloaded, _, _ = load_run_model(Run.open(full_xnli.path))
    assert torch.equal(_logits(full_xnli.model, batch), _logits(reloaded, batch))
    _no_pickles(full_xnli.path)


def test_same_seed_same_results(tiny_model_dir, tmp_path):
    results = []
    for i in range(2):
        run = train(_config(tiny_model_dir, tmp_path / f"seed{i}", task="xnli", max_steps=4), log=_quiet)
        results.append(evaluate_run(run.path, languages="all", data="sample", log=_quiet)["languages"])
        results.append(run.manifest["train"]["training_loss"])
    assert results[0] == results[2] and results[1] == results[3]


def test_loss_falls_on_learnable_toy(tiny_model_dir, learnable_mnli_dir, tmp_path):
    run = train(_config(tiny_model_dir, tmp_path / "toy", data=str(learnable_mnli_dir), max_steps=80, batch_size=16,
                        method="lora", lr=1e-2, logging_steps=10), log=_quiet)
    losses = logged_losses(run.path)
    assert losses[0] > 1.0 and losses[-1] < 0.3 * losses[0], losses


@pytest.mark.parametrize("kw, message", [
    (dict(method="lora", compose="fuse", intermediates=["X"]), "fuse"),
    (dict(method="full", compose="stack", intermediates=["X"]), "stack"),
    (dict(compose="stack"), "--intermediate"),
    (dict(intermediates=["X"]), "--compose"),
    (dict(method="nope"), "unknown method"),
    (dict(compose="merge-all"), "unknown --compose"),
    (dict(batch_size=0), "--batch-size"),
    (dict(load_in_8bit=True, load_in_4bit=True), "exclude"),
])
def test_bad_configurations_are_refused(tiny_model_dir, tmp_path, lora_mnli, kw, message):
    kw = {k: ([str(lora_mnli.path)] if v == ["X"] else v) for k, v in kw.items()}
    with pytest.raises(UserError, match=message):
        train(_config(tiny_model_dir, tmp_path / "bad", task="xnli", **kw), log=_quiet)
    assert not (tmp_path / "bad").exists()


def test_module_from_another_base_model_is_refused(lora_mnli, tmp_path):
    from adapterstilts.tiny_model import make_tiny_model

    other = make_tiny_model(tmp_path / "other", layers=2, hidden=32, heads=2)
    with pytest.raises(UserError, match="does not match"):
        train(_config(other, tmp_path / "x", task="xnli", compose="stack", intermediates=[str(lora_mnli.path)]),
              log=_quiet)


def test_method_mismatch_is_refused(lora_mnli, tiny_model_dir, tmp_path):
    with pytest.raises(UserError, match="lora module but --method is bottleneck"):
        train(_config(tiny_model_dir, tmp_path / "x", task="xnli", method="bottleneck", compose="stack",
                      intermediates=[str(lora_mnli.path)]), log=_quiet)


def test_output_folder_is_not_overwritten_silently(lora_mnli, tiny_model_dir):
    with pytest.raises(UserError, match="--overwrite"):
        train(_config(tiny_model_dir, lora_mnli.path), log=_quiet)


def test_unfinished_run_is_refused_with_a_clear_error(tmp_path):
    (tmp_path / "half").mkdir()
    with pytest.raises(UserError, match="not a finished adapterstilts run"):
        Run.open(tmp_path / "half")


def test_dev_selection_keeps_the_best_state(tiny_model_dir, tmp_path):
    run = train(_config(tiny_model_dir, tmp_path / "sel", task="xnli", max_steps=6, eval_steps=2, patience=0),
                log=_quiet, keep_model=True)
    sel = run.manifest["selection"]
    assert [h["step"] for h in sel["history"]] == [2, 4, 6]
    best = max(h["accuracy"] for h in sel["history"])
    assert sel["best_score"] == best and sel["best_step"] in (2, 4, 6)
    # the saved run is the selected state: re-scoring English dev gives the best score
    result = evaluate_run(run.path, languages="en", split="validation", data="sample", log=_quiet)
    assert result["languages"]["en"]["accuracy"] == pytest.approx(best)


def test_patience_stops_training_early(tiny_model_dir, tmp_path):
    run = train(_config(tiny_model_dir, tmp_path / "stop", task="xnli", max_steps=40, eval_steps=1, patience=2,
                        lr=1e-9), log=_quiet)
    assert run.manifest["train"]["steps"] < 40


def test_merge_of_one_module_with_weight_one_equals_stacking_it(lora_mnli, tiny_model_dir, tiny_tokenizer, tmp_path):
    """LoRA merge ("cat") computes sum_i w_i * delta_i exactly: one module at w=1 is the module itself."""
    from adapterstilts.model.assemble import build_for_training

    batch = _batch(tiny_tokenizer)
    outputs = []
    for compose, kw in (("stack", {}), ("merge", {"merge_weights": [1.0]})):
        config = _config(tiny_model_dir, tmp_path / compose, task="xnli", compose=compose,
                         intermediates=[str(lora_mnli.path)], **kw)
        config.validate()
        assembled = build_for_training(config, [Run.open(lora_mnli.path)])
        with torch.no_grad():
            outputs.append(assembled.model.encoder.eval()(**batch).last_hidden_state)
    assert torch.allclose(outputs[0], outputs[1], atol=1e-5)


def test_merge_trains_and_reloads(lora_mnli, bn_runs, tiny_model_dir, tiny_tokenizer, tmp_path):
    qqp = train(_config(tiny_model_dir, tmp_path / "qqp-lora", task="qqp"), log=_quiet)
    batch = _batch(tiny_tokenizer)
    cases = (("lora", [str(lora_mnli.path), str(qqp.path)]), ("bottleneck", [str(r.path) for r in bn_runs]))
    for method, inters in cases:
        run = train(_config(tiny_model_dir, tmp_path / f"merge-{method}", task="xnli", method=method, compose="merge",
                            intermediates=inters, merge_weights=[0.7, 0.3]), log=_quiet, keep_model=True)
        assert run.manifest["merge_weights"] == [0.7, 0.3]
        reloaded, _, _ = load_run_model(Run.open(run.path))
        assert torch.equal(_logits(run.model, batch), _logits(reloaded, batch)), method
    with pytest.raises(UserError, match="one weight per --intermediate"):
        train(_config(tiny_model_dir, tmp_path / "bad", task="xnli", compose="merge", intermediates=inters,
                      merge_weights=[1.0]), log=_quiet)


def test_stacking_on_a_module_of_the_same_task(bn_runs, tiny_model_dir, tmp_path):
    run = train(_config(tiny_model_dir, tmp_path / "again", task="mnli", method="bottleneck", compose="stack",
                        intermediates=[str(bn_runs[0].path)]), log=_quiet)
    assert run.module_name == "mnli" and run.manifest["intermediates"][0]["module_name"] == "mnli_2"
    reloaded, _, _ = load_run_model(Run.open(run.path))
    assert reloaded is not None


def test_interrupted_run_resumes_from_its_checkpoint(bn_runs, tiny_model_dir, tmp_path, monkeypatch):
    """A bottleneck run with --save-steps is killed after its first checkpoint and resumed: the result
    equals an uninterrupted run, and checkpoints hold only what trains."""
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    import adapterstilts.training.pipeline as training

    kw = dict(task="xnli", method="bottleneck", max_steps=6, save_steps=3, eval_steps=3, lr=1e-2)
    straight = train(_config(tiny_model_dir, tmp_path / "straight", **kw), log=_quiet)

    class Crash(TrainerCallback):
        def on_step_begin(self, args, state, control, **k):
            if state.global_step == 3:
                raise KeyboardInterrupt  # the process dies after the first checkpoint

    make = training._make_trainer
    monkeypatch.setattr(training, "_make_trainer", lambda *a, **k: (t := make(*a, **k), t.add_callback(Crash()))[0])
    with pytest.raises(KeyboardInterrupt):
        train(_config(tiny_model_dir, tmp_path / "resumed", **kw), log=_quiet)
    checkpoint = tmp_path / ".resumed.partial" / "checkpoints" / "checkpoint-3"
    saved = load_file(str(checkpoint / "model.safetensors"))
    assert saved and all(".xnli." in k or k.startswith("head.") for k in saved), sorted(saved)[:5]
    monkeypatch.setattr(training, "_make_trainer", make)
    resumed = train(_config(tiny_model_dir, tmp_path / "resumed", **kw), log=_quiet)
    assert resumed.manifest["train"]["steps"] == 6
    assert [h["step"] for h in resumed.manifest["selection"]["history"]] == [3, 6]
    assert resumed.manifest["selection"] == straight.manifest["selection"]
    a = load_file(str(straight.head_file))
    b = load_file(str(resumed.head_file))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_gradient_accumulation_keeps_the_loss_scale(tiny_model_dir, tmp_path):
    """batch 8 x accumulation 1 and batch 4 x accumulation 2 see the same data: same first loss."""
    losses = []
    for bs, ga in ((8, 1), (4, 2)):
        run = train(_config(tiny_model_dir, tmp_path / f"ga{ga}", max_steps=1, batch_size=bs, grad_accum=ga), log=_quiet)
        losses.append(run.manifest["train"]["training_loss"])
    assert losses[1] == pytest.approx(losses[0], rel=0.1)


def test_a_composed_run_is_refused_as_an_intermediate(lora_mnli, tiny_model_dir, tmp_path):
    stacked = train(_config(tiny_model_dir, tmp_path / "qqp-on-mnli", task="qqp", compose="stack",
                            intermediates=[str(lora_mnli.path)]), log=_quiet)
    with pytest.raises(UserError, match="pass its modules in order"):
        train(_config(tiny_model_dir, tmp_path / "x", task="xnli", compose="stack", intermediates=[str(stacked.path)]),
              log=_quiet)


def test_training_log_lines_are_readable():
    from adapterstilts.training.pipeline import format_log

    assert format_log(10, 120, {"loss": 1.09501, "learning_rate": 0.001, "grad_norm": 1.2, "epoch": 0.5}) == (
        "step 10/120  loss 1.0950  lr 1.00e-03  grad norm 1.200  epoch 0.50")
    assert format_log(120, 120, {"train_runtime": 9.34, "train_samples_per_second": 102.7, "train_loss": 1.09}) == (
        "done: 120 steps in 9.3s (102.7 examples/s), mean loss 1.0900")


def test_format_settings_travel_from_training_to_evaluation(tiny_model_dir, tmp_path):
    """--tagging-label-piece / --qa-answer-text: recorded in the manifest, used again when the run is rebuilt
    (evaluate can override the QA answer text, and says which it used)."""
    run = train(_config(tiny_model_dir, tmp_path / "panx", task="panx", tagging_label_piece="first_non_space",
                        max_steps=1), log=_quiet)
    assert run.manifest["hyperparameters"]["tagging_label_piece"] == "first_non_space"
    assert load_run_model(Run.open(run.path))[2].label_piece == "first_non_space"
    qa = train(_config(tiny_model_dir, tmp_path / "xquad", task="xquad", qa_answer_text="offsets", max_steps=1),
               log=_quiet)
    assert load_run_model(Run.open(qa.path))[2].answer_text == "offsets"
    result = evaluate_run(qa.path, data="sample", languages="en", max_examples=4, qa_answer_text="words", log=_quiet)
    assert result["qa_answer_text"] == "words"
    with pytest.raises(UserError, match="--tagging-label-piece"):
        _config(tiny_model_dir, tmp_path / "bad", task="panx", tagging_label_piece="last").validate()
