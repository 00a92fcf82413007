"""Compositions, generated from the method x composition capability table: every supported pair
trains, reloads to identical logits, evaluates, and its model card's code rebuilds the same encoder
with plain peft / adapters; every unsupported pair is refused in one line, before any model loads."""
from pathlib import Path

import pytest
import torch

from adapterstilts.compose import capability_markdown, capability_table, get_composition
from adapterstilts.errors import UserError
from adapterstilts.model.assemble import load_run_model
from adapterstilts.runs import Run
from adapterstilts.training.pipeline import train
from conftest import quiet, small_train_config

SUPPORTED = sorted(pair for pair, ok in capability_table().items() if ok)
UNSUPPORTED = sorted(pair for pair, ok in capability_table().items() if not ok)
ROOT = Path(__file__).resolve().parents[1]


def _count(compose: str) -> int:
    """How many intermediates a case uses: the fewest the composition takes, two where it combines."""
    comp = get_composition(compose)
    return comp.max_intermediates if comp.max_intermediates is not None else max(2, comp.min_intermediates)


def _task(compose: str) -> str:
    return "xnli" if "target" in get_composition(compose).kinds else "qqp"


@pytest.fixture(scope="module")
def intermediates(tiny_model_dir, tmp_path_factory):
    """Two intermediate runs (mnli, qqp) per method, trained with a large lr so modules change outputs."""
    root = tmp_path_factory.mktemp("inter")
    return {m: [train(small_train_config(tiny_model_dir, root / f"{t}-{m}", task=t, method=m, lr=3e-2, max_steps=2),
                      log=quiet) for t in ("mnli", "qqp")] for m in ("lora", "bottleneck", "full")}


@pytest.fixture(scope="module")
def composed(intermediates, tiny_model_dir, tmp_path_factory):
    """One trained run per supported (method, composition), kept with its in-memory model."""
    root = tmp_path_factory.mktemp("composed")
    runs = {}
    for method, compose in SUPPORTED:
        refs = [str(r.path) for r in intermediates[method][:_count(compose)]]
        config = small_train_config(tiny_model_dir, root / f"{method}-{compose}", task=_task(compose), method=method,
                                    compose=compose, intermediates=refs, lr=3e-2, max_steps=2,
                                    merge_weights=[0.7, 0.3] if compose == "merge" else None)
        runs[method, compose] = train(config, log=quiet, keep_model=True)
    return runs


def _batch(tokenizer):
    enc = tokenizer(["the cat sat on the mat", "a dog runs"], ["a cat sits", "nothing moves"], padding=True,
                    return_tensors="pt")
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}


@pytest.mark.parametrize("method, compose", SUPPORTED)
def test_every_supported_pair_trains_reloads_and_evaluates(composed, method, compose, tiny_tokenizer):
    from adapterstilts.evaluation.zero_shot import evaluate_run

    run = composed[method, compose]
    assert run.manifest["compose"] == compose and run.manifest["method"] == method
    batch = _batch(tiny_tokenizer)
    with torch.no_grad():
        trained = run.model(**batch)["logits"]
        reloaded = load_run_model(Run.open(run.path))[0](**batch)["logits"]
    assert torch.allclose(trained, reloaded, atol=1e-5)
    result = evaluate_run(run.path, data="sample", languages="en", max_examples=8, log=quiet)
    assert 0.0 <= result["languages"]["en"][result["primary"]] <= 100.0


@pytest.mark.parametrize("method, compose", UNSUPPORTED)
def test_every_unsupported_pair_is_one_line_before_any_model_loads(intermediates, method, compose, tmp_path,
                                                                   monkeypatch):
    import adapterstilts.model.assemble as assemble

    monkeypatch.setattr(assemble, "load_encoder", lambda *a, **k: pytest.fail("a model was loaded"))
    refs = [str(r.path) for r in intermediates[method][:_count(compose)]]
    config = small_train_config(Path("/nonexistent"), tmp_path / "bad", task=_task(compose), method=method,
                                compose=compose, intermediates=refs)
    with pytest.raises(UserError, match=f"--compose {compose} is not available with --method {method}") as err:
        config.validate()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("compose, count, words", [
    ("fuse", 1, "at least 2"), ("continue", 2, "exactly 1"), ("chain", 2, "exactly 1"), ("stack", 0, "at least 1"),
    ("none", 1, "--compose stack"),
])
def test_wrong_number_of_intermediates_is_refused(intermediates, compose, count, words, tmp_path):
    refs = [str(r.path) for r in intermediates["bottleneck"][:count]]
    config = small_train_config(Path("/x"), tmp_path / "bad", task=_task(compose), method="bottleneck",
                                compose=compose, intermediates=refs)
    with pytest.raises(UserError, match=words):
        config.validate()


def test_chain_is_for_intermediate_tasks_and_records_its_order(composed, intermediates, tiny_model_dir, tmp_path):
    with pytest.raises(UserError, match="not for target tasks.*continue"):
        small_train_config(tiny_model_dir, tmp_path / "c", task="xnli", compose="chain",
                           intermediates=[str(intermediates["lora"][0].path)]).validate()
    chained = composed["lora", "chain"]
    assert chained.manifest["chain"] == ["mnli", "qqp"]
    # the last link is an intermediate like any other: a target stacks on it, and the order travels on
    again = train(small_train_config(tiny_model_dir, tmp_path / "b", task="squad", method="lora", compose="chain",
                                     intermediates=[str(chained.path)]), log=quiet)
    assert again.manifest["chain"] == ["mnli", "qqp", "squad"]
    target = train(small_train_config(tiny_model_dir, tmp_path / "t", task="xnli", compose="stack",
                                      intermediates=[str(again.path)]), log=quiet)
    assert target.manifest["intermediates"][0]["task"] == "squad"


def test_chain_starts_from_the_previous_module(intermediates, tiny_model_dir, tmp_path):
    """A chain link with no training steps to speak of (lr ~ 0) keeps the previous link's LoRA weights."""
    from safetensors.torch import load_file

    first = intermediates["lora"][0]
    link = train(small_train_config(tiny_model_dir, tmp_path / "link", task="qqp", compose="chain", lr=1e-12,
                                    intermediates=[str(first.path)]), log=quiet)
    before = load_file(str(first.module_dir / "adapter_model.safetensors"))
    after = load_file(str(link.module_dir / "adapter_model.safetensors"))
    assert before.keys() == after.keys()
    assert all(torch.allclose(before[k], after[k], atol=1e-6) for k in before)


def test_merge_weights_change_the_merged_model(composed, intermediates, tiny_model_dir, tmp_path, tiny_tokenizer):
    """The weights are used: the same merge with other weights gives another encoder."""
    from adapterstilts.model.assemble import load_run_encoder

    refs = [str(r.path) for r in intermediates["lora"]]
    other = train(small_train_config(tiny_model_dir, tmp_path / "m", task="xnli", compose="merge", intermediates=refs,
                                     merge_weights=[0.0, 1.0], max_steps=2, lr=3e-2), log=quiet)
    batch = _batch(tiny_tokenizer)
    with torch.no_grad():
        a = load_run_encoder(composed["lora", "merge"], log=quiet)(**batch).last_hidden_state
        b = load_run_encoder(other, log=quiet)(**batch).last_hidden_state
    assert not torch.allclose(a, b, atol=1e-4)


CARD_CASES = [pair for pair in SUPPORTED if pair[0] != "full"]


@pytest.mark.parametrize("method, compose", CARD_CASES)
def test_model_card_code_rebuilds_the_trained_model(composed, method, compose, tmp_path, tiny_tokenizer,
                                                    tiny_model_dir):
    """The card's plain peft / adapters code gives the toolkit's encoder to 1e-5 (for merge: the merged
    model that was trained and evaluated, not the intermediates stacked with weight 1 each)."""
    from test_hub import assert_card_code_rebuilds, put_in_cache

    put_in_cache("user/tiny-xlmr", Path(tiny_model_dir))
    assert_card_code_rebuilds(composed[method, compose], f"user/{method}-{compose}", tmp_path, tiny_tokenizer,
                              tiny_model_dir)


def test_readme_shows_the_generated_capability_table():
    assert capability_markdown() in (ROOT / "README.md").read_text(encoding="utf-8")


def test_lora_fusion_learns_to_weight_the_informative_module(tiny_model_dir, learnable_mnli_dir, tmp_path):
    """Fusing a module trained on the task with a module of random noise: the layer gates move weight to
    the informative one (they start uniform)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    from adapterstilts.compose.lora_fusion import mean_weights

    informative = train(small_train_config(tiny_model_dir, tmp_path / "good", data=str(learnable_mnli_dir),
                                           max_steps=40, lr=1e-2, batch_size=8), log=quiet)
    torch.manual_seed(0)
    noisy = get_peft_model(AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False),
                           LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"], init_lora_weights=False))
    with torch.no_grad():
        for name, param in noisy.named_parameters():
            if "lora_B" in name:
                param.mul_(5.0)  # a random update of the size of a trained one
    noisy.save_pretrained(str(tmp_path / "noise"))
    fused = train(small_train_config(tiny_model_dir, tmp_path / "fused", data=str(learnable_mnli_dir), compose="fuse",
                                     intermediates=[str(informative.path), str(tmp_path / "noise")], max_steps=60,
                                     lr=5e-2, batch_size=8, seed=0), log=quiet, keep_model=True)
    good, bad = mean_weights(fused.model.encoder.lora_fusion)
    assert good - bad > 0.1, (good, bad)  # from 0.5 / 0.5 (60 steps: 0.23-0.26 over seeds 0-2; 30 were marginal)
    assert fused.manifest["fusion_gate"] == "layer" and (fused.module_dir / "fusion.safetensors").is_file()


INIT_CASES = [pair for pair in SUPPORTED if pair[1] != "chain"]


@pytest.mark.parametrize("method, compose", INIT_CASES)
def test_a_run_trained_further_trains_only_its_own_module_and_reloads_identically(composed, method, compose, tmp_path,
                                                                               tiny_model_dir, tiny_tokenizer):
    """init_from (few-shot target-language training): the run's module and head train, the intermediates
    stay as they were, and the saved run rebuilds the trained model."""
    first = composed[method, compose]
    spec = {"kind": "fewshot", "task": "xnli", "language": "de", "k": 4, "seed": 0}
    again = train(small_train_config(tiny_model_dir, tmp_path / "again", task="xnli", method=method, init_from=str(first.path),
                                     train_data=spec, max_steps=2, lr=3e-2), log=quiet, keep_model=True)
    assert again.manifest["trainable_parameters"] == first.manifest["trainable_parameters"]
    assert again.manifest["compose"] == compose and again.manifest["init_from"]["compose"] == compose
    batch = _batch(tiny_tokenizer)
    with torch.no_grad():
        assert torch.allclose(again.model(**batch)["logits"], load_run_model(Run.open(again.path))[0](**batch)["logits"],
                              atol=1e-5)
