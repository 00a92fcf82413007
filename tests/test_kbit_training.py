"""8-bit and 4-bit LoRA training for real, on this machine's CPU (bitsandbytes >= 0.48 quantises
there; the dev extra installs it): the same code path `--load-in-8bit` takes on a GPU, minus CUDA."""
import json

import pytest
import torch

from adapterstilts.errors import UserError
from adapterstilts.evaluation.zero_shot import evaluate_run
from adapterstilts.model.assemble import load_run_model
from adapterstilts.model.backbone import BackboneOptions, check_quantization_possible
from adapterstilts.runs import Run
from adapterstilts.training.pipeline import train
from conftest import logged_losses
from conftest import quiet as _quiet
from conftest import small_train_config as _config


def _can_quantise() -> bool:
    try:
        check_quantization_possible(BackboneOptions(load_in_8bit=True))
        check_quantization_possible(BackboneOptions(load_in_4bit=True))
    except UserError:
        return False
    return True


pytestmark = pytest.mark.skipif(not _can_quantise(), reason="bitsandbytes cannot quantise on this machine")


@pytest.fixture(scope="module")
def run_8bit(tiny_model_dir, tmp_path_factory):
    return train(_config(tiny_model_dir, tmp_path_factory.mktemp("kbit") / "mnli-8bit", load_in_8bit=True),
                 log=_quiet, keep_model=True)


def _inputs(tokenizer):
    batch = tokenizer(["a cat sleeps on the mat.", "two kids play music outside today."],
                      ["the cat sleeps.", "nobody plays."], padding=True, return_tensors="pt")
    return {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}


@pytest.mark.parametrize("flag", ["load_in_8bit", "load_in_4bit"])
def test_loss_falls_on_learnable_toy_with_a_kbit_backbone(flag, tiny_model_dir, learnable_mnli_dir, tmp_path):
    run = train(_config(tiny_model_dir, tmp_path / flag, data=str(learnable_mnli_dir), max_steps=80, batch_size=16,
                        lr=1e-2, logging_steps=10, **{flag: True}), log=_quiet)
    losses = logged_losses(run.path)
    assert losses[0] > 1.0 and losses[-1] < 0.3 * losses[0], losses
    assert run.manifest["hyperparameters"]["quantization"] == flag[len("load_in_"):]


def test_backbone_is_quantised_and_only_lora_and_head_train(run_8bit):
    import bitsandbytes as bnb

    model = run_8bit.model
    quantised = [m for m in model.encoder.modules() if isinstance(m, bnb.nn.Linear8bitLt)]
    assert quantised, "no 8-bit layer in the backbone"
    assert all(m.weight.dtype == torch.int8 for m in quantised)
    assert not any(isinstance(m, (bnb.nn.Linear8bitLt, bnb.nn.Linear4bit)) for m in model.head.modules())
    assert all(p.dtype == torch.float32 for p in model.head.parameters())
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.startswith("head.") or ".lora_" in n for n in trainable), sorted(trainable)
    assert any(".lora_" in n for n in trainable) and any(n.startswith("head.") for n in trainable)
    # frozen word embeddings stay in the 16 bits they were loaded in; layer norms are upcast to fp32
    assert model.encoder.get_input_embeddings().weight.dtype == torch.float16
    assert all(m.weight.dtype == torch.float32 for m in model.encoder.modules() if isinstance(m, torch.nn.LayerNorm))


def test_kbit_run_reloads_to_identical_logits(run_8bit, tiny_tokenizer):
    batch = _inputs(tiny_tokenizer)
    reloaded, _, _ = load_run_model(Run.open(run_8bit.path), log=_quiet)
    assert any(type(m).__name__ == "Linear8bitLt" for m in reloaded.encoder.modules()), "reloaded in full precision"
    run_8bit.model.eval()
    reloaded.eval()
    with torch.no_grad():
        assert torch.equal(run_8bit.model(**batch)["logits"], reloaded(**batch)["logits"])


def test_kbit_module_is_small_and_loads_with_plain_peft_on_the_full_precision_base(run_8bit, tiny_model_dir):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModel

    module_files = [p for p in run_8bit.module_dir.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in module_files)
    base_size = sum(p.stat().st_size for p in tiny_model_dir.glob("*.safetensors"))
    assert run_8bit.manifest["module_size_bytes"] == size and size < base_size / 10
    saved = load_file(str(run_8bit.module_dir / "adapter_model.safetensors"))
    assert saved and all(".lora_" in k and v.dtype == torch.float32 for k, v in saved.items())
    plain = PeftModel.from_pretrained(AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False),
                                      str(run_8bit.module_dir))
    trained = {n.replace(".default", ""): p for n, p in run_8bit.model.encoder.named_parameters() if ".lora_" in n}
    loaded = {n.replace(".default", ""): p for n, p in plain.named_parameters() if ".lora_" in n}
    assert trained.keys() == loaded.keys()
    assert all(torch.equal(trained[k].detach().cpu(), loaded[k].detach()) for k in trained)


def test_kbit_intermediate_serves_a_full_precision_target(run_8bit, tiny_model_dir, tmp_path):
    target = train(_config(tiny_model_dir, tmp_path / "xnli", task="xnli", compose="stack",
                           intermediates=[str(run_8bit.path)]), log=_quiet)
    assert target.manifest["hyperparameters"]["quantization"] is None
    assert target.manifest["intermediates"][0]["task"] == "mnli"
    result = evaluate_run(target.path, languages="all", data="sample", log=_quiet)
    assert len(result["languages"]) >= 3
    metrics = json.loads((target.path / "metrics.json").read_text())
    assert metrics["xnli"]["average"] == result["average"]


def test_gradient_checkpointing_on_a_kbit_backbone_gives_the_same_gradients(tiny_model_dir, tiny_tokenizer):
    """Reentrant checkpointing (what frees bitsandbytes' matmul inputs) recomputes the 8-bit forward in
    backward: the LoRA gradients must be the ones computed without it."""
    from adapterstilts.methods import get_method
    from adapterstilts.model.backbone import load_encoder

    method = get_method("lora")
    batch = _inputs(tiny_tokenizer)
    grads = []
    for checkpointing in (False, True):
        encoder = load_encoder(BackboneOptions(model=str(tiny_model_dir), load_in_8bit=True,
                                               gradient_checkpointing=checkpointing))
        encoder = method.add(encoder, "default", {"r": 4, "alpha": 8, "dropout": 0.1,
                                                  "target_modules": ["query", "value"]})
        encoder = method.activate(encoder, ["default"], train="default")
        g = torch.Generator().manual_seed(0)
        with torch.no_grad():  # B starts at zero; give both factors values so every gradient is non-trivial
            for name, p in sorted(encoder.named_parameters()):
                if ".lora_" in name:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        encoder.train()
        assert encoder.base_model.model.is_gradient_checkpointing == checkpointing
        torch.manual_seed(1)  # the same dropout masks (checkpointing replays the RNG state)
        encoder(**batch).last_hidden_state.pow(2).mean().backward()
        grads.append({n: p.grad.clone() for n, p in encoder.named_parameters() if p.requires_grad})
    plain, checkpointed = grads
    assert plain.keys() == checkpointed.keys() and len(plain) > 0
    assert all(plain[n].abs().sum() > 0 for n in plain)
    assert all(torch.allclose(plain[n], checkpointed[n], rtol=1e-4, atol=1e-6) for n in plain)
