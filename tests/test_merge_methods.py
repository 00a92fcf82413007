"""Every merge method: the merged LoRA factors equal a hand computation from the method's definition on
the small matrices of the tiny model; bottleneck adapters average; bad combinations are one line."""
import math

import pytest
import torch

from adapterstilts.errors import UserError
from adapterstilts.methods import get_method
from conftest import quiet, small_train_config

LAYER = "base_model.model.encoder.layer.0.attention.self.query"


@pytest.fixture()
def two_loras(tiny_model_dir):
    """The tiny encoder with two random LoRA modules "a" and "b" (rank 4, alpha 8, non-zero B)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModel

    torch.manual_seed(0)
    base = AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    config = lambda: LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], init_lora_weights=False)  # noqa: E731
    model = get_peft_model(base, config(), adapter_name="a")
    model.add_adapter("b", config())
    return model


def _factors(model, name):
    layer = model.get_submodule(LAYER)
    return layer.lora_A[name].weight.detach().clone(), layer.lora_B[name].weight.detach().clone(), layer.scaling[name]


def _top(t, density):  # keep the largest |values|: int(density * numel) of them
    k = int(density * t.numel())
    mask = torch.zeros(t.numel())
    mask[t.abs().reshape(-1).topk(k).indices] = 1
    return t * mask.reshape(t.shape)


def _expected(how, tensors, weights, density):
    stacked = torch.stack(tensors)
    w = torch.tensor(weights).view(-1, *([1] * tensors[0].dim()))
    if how == "linear":
        return (stacked * w).sum(0)
    if how == "magnitude_prune":
        return (torch.stack([_top(t, density) for t in tensors]) * w).sum(0)
    if how == "ties":  # prune, elect the sign of the (unweighted) sum, average the agreeing weighted values
        pruned = torch.stack([_top(t, density) for t in tensors])
        sign = torch.where(pruned.sum(0) >= 0, 1.0, -1.0)
        agree = pruned.sign() == sign
        return (pruned * w * agree).sum(0) / agree.sum(0).clamp(min=1)
    raise AssertionError(how)


@pytest.mark.parametrize("how, density", [("linear", None), ("ties", 0.5), ("magnitude_prune", 0.3)])
def test_merged_factors_equal_the_hand_computation(two_loras, how, density):
    a_A, a_B, s_a = _factors(two_loras, "a")
    b_A, b_B, s_b = _factors(two_loras, "b")
    weights = [0.7, 0.4]
    get_method("lora").merge(two_loras, ["a", "b"], "m", weights, how=how, density=density, seed=0)
    m_A, m_B, _ = _factors(two_loras, "m")
    # peft weighs each factor by sqrt(weight * scaling): sign on A, magnitude on B
    wa = [math.sqrt(w * s) for w, s in zip(weights, (s_a, s_b))]
    assert torch.allclose(m_A, _expected(how, [a_A, b_A], wa, density), atol=1e-6)
    assert torch.allclose(m_B, _expected(how, [a_B, b_B], wa, density), atol=1e-6)


def test_cat_merge_is_the_exact_weighted_sum_of_updates(two_loras):
    a_A, a_B, s_a = _factors(two_loras, "a")
    b_A, b_B, s_b = _factors(two_loras, "b")
    get_method("lora").merge(two_loras, ["a", "b"], "m", [0.7, 0.4], how="cat")
    m_A, m_B, s_m = _factors(two_loras, "m")
    expected = 0.7 * s_a * a_B @ a_A + 0.4 * s_b * b_B @ b_A
    assert torch.allclose(s_m * m_B @ m_A, expected, atol=1e-6)


def test_dare_masks_are_random_but_seeded(two_loras):
    """dare_linear with weight 0 on the second module: each merged value is 0 or the first module's value
    rescaled by 1/density (and weighted); the same seed gives the same masks, another seed others."""
    a_A, _, s_a = _factors(two_loras, "a")
    method = get_method("lora")
    method.merge(two_loras, ["a", "b"], "m1", [0.5, 0.0], how="dare_linear", density=0.5, seed=1)
    method.merge(two_loras, ["a", "b"], "m2", [0.5, 0.0], how="dare_linear", density=0.5, seed=1)
    method.merge(two_loras, ["a", "b"], "m3", [0.5, 0.0], how="dare_linear", density=0.5, seed=2)
    m1, m2, m3 = (_factors(two_loras, n)[0] for n in ("m1", "m2", "m3"))
    kept = a_A * math.sqrt(0.5 * s_a) / 0.5
    assert torch.all(torch.isclose(m1, kept, atol=1e-6) | (m1 == 0))
    assert 0.3 < (m1 != 0).float().mean() < 0.7
    assert torch.equal(m1, m2) and not torch.equal(m1, m3)


def test_bottleneck_merge_averages_parameters(tiny_model_dir):
    import adapters
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    adapters.init(model)
    for name in ("a", "b"):
        model.add_adapter(name, config="seq_bn")
        for n, p in model.named_parameters():
            if f".{name}." in n:
                torch.nn.init.normal_(p)
    get_method("bottleneck").merge(model, ["a", "b"], "m", [0.25, 0.5])
    params = dict(model.named_parameters())
    for n, p in params.items():
        if ".m." in n:
            expected = 0.25 * params[n.replace(".m.", ".a.")] + 0.5 * params[n.replace(".m.", ".b.")]
            assert torch.allclose(p, expected, atol=1e-6)


@pytest.mark.parametrize("kw, words", [
    (dict(method="bottleneck", merge_method="ties", merge_density=0.5), "not available for --method bottleneck"),
    (dict(merge_method="ties"), "give --merge-density"),
    (dict(merge_method="ties", merge_density=1.5), "give --merge-density"),
    (dict(merge_method="cat", merge_density=0.5), "--merge-density does not apply"),
    (dict(merge_density=0.5), r"cat \(the default\) keeps every value"),
    (dict(merge_method="svd_magic"), "choose one of"),
    (dict(compose="stack", merge_method="ties", merge_density=0.5), "go with --compose merge"),
])
def test_bad_merge_settings_are_one_line(tmp_path, kw, words):
    kw = {"compose": "merge", "intermediates": ["x", "y"], **kw}
    with pytest.raises(UserError, match=words):
        small_train_config(tmp_path, tmp_path / "o", task="xnli", **kw).validate()


def test_a_ties_merge_run_trains_and_rebuilds_identically(tiny_model_dir, tmp_path, tiny_tokenizer):
    from adapterstilts.model.assemble import load_run_model
    from adapterstilts.runs import Run
    from adapterstilts.training.pipeline import train

    runs = [train(small_train_config(tiny_model_dir, tmp_path / t, task=t, lr=3e-2, max_steps=2), log=quiet)
            for t in ("mnli", "qqp")]
    run = train(small_train_config(tiny_model_dir, tmp_path / "m", task="xnli", compose="merge",
                                   intermediates=[str(r.path) for r in runs], merge_method="dare_ties",
                                   merge_density=0.5, max_steps=2), log=quiet, keep_model=True)
    assert (run.manifest["merge_method"], run.manifest["merge_density"]) == ("dare_ties", 0.5)
    enc = tiny_tokenizer(["the cat sat"], ["a cat"], return_tensors="pt")
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    with torch.no_grad():
        assert torch.allclose(run.model(**batch)["logits"], load_run_model(Run.open(run.path))[0](**batch)["logits"],
                              atol=1e-6)
