"""Language adapters (MAD-X): a frozen language adapter under the task module while training, swapped
per language at evaluation; adapters built locally on the tiny model."""
import pytest
import torch

from adapterstilts.errors import UserError
from adapterstilts.model.assemble import load_run_model
from adapterstilts.runs import Run
from adapterstilts.training.pipeline import train
from conftest import quiet, small_train_config


def _language_adapter(tiny_model_dir, folder, seed):
    """A bottleneck adapter with random weights (as a language adapter would be, here untrained)."""
    import adapters
    from transformers import AutoModel

    model = AutoModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    adapters.init(model)
    model.add_adapter("lang", config="seq_bn")
    torch.manual_seed(seed)
    for name, param in model.named_parameters():
        if ".lang." in name:
            torch.nn.init.normal_(param, std=0.5)
    model.save_adapter(str(folder), "lang", with_head=False, use_safetensors=True)
    return folder


@pytest.fixture(scope="module")
def madx(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("madx")
    en = _language_adapter(tiny_model_dir, root / "lang-en", 1)
    de = _language_adapter(tiny_model_dir, root / "lang-de", 2)
    inter = train(small_train_config(tiny_model_dir, root / "mnli", method="bottleneck", max_steps=2), log=quiet)
    run = train(small_train_config(tiny_model_dir, root / "xnli", task="xnli", method="bottleneck", compose="stack",
                                   intermediates=[str(inter.path)], language_adapter=str(en), max_steps=3, lr=1e-2),
                log=quiet, keep_model=True)
    return run, en, de


def test_the_language_adapter_is_frozen_under_the_task_module(madx, tiny_tokenizer):
    from safetensors.torch import load_file

    run, en, _ = madx
    active = run.model.encoder.active_adapters
    assert list(active.children)[0] == "language"  # Stack(language, mnli, xnli)
    saved = load_file(str(run.path / "language_adapter" / "adapter.safetensors"))
    original = load_file(str(en / "adapter.safetensors"))
    assert saved.keys() == original.keys() and all(torch.equal(saved[k], original[k]) for k in saved)  # not trained
    enc = tiny_tokenizer(["the cat sat"], ["a cat"], return_tensors="pt")
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    with torch.no_grad():
        assert torch.allclose(run.model(**batch)["logits"], load_run_model(Run.open(run.path))[0](**batch)["logits"],
                              atol=1e-6)
    assert run.manifest["language_adapter"]["source"] == str(en)


def test_evaluation_swaps_in_each_languages_adapter(madx):
    from adapterstilts.evaluation.zero_shot import evaluate_run

    run, en, de = madx
    logs = []
    plain = evaluate_run(run.path, data="sample", languages="en,de", save_predictions=None, log=quiet)
    swapped = evaluate_run(run.path, data="sample", languages="en,de", language_adapters={"de": str(de)},
                           log=logs.append)
    assert swapped["languages"]["en"] == plain["languages"]["en"]  # en keeps the training adapter, and says so
    assert any(line.startswith("en: no language adapter given") for line in logs)
    again = evaluate_run(run.path, data="sample", languages="de", language_adapters={"de": str(en)}, log=quiet)
    assert again["languages"]["de"] == plain["languages"]["de"]  # the same adapter as training: the same scores


def test_swapping_changes_the_encoder_output(madx, tiny_tokenizer):
    from adapterstilts.compose import language

    run, en, de = madx
    model = load_run_model(Run.open(run.path))[0]
    enc = tiny_tokenizer(["der Hund läuft"], ["ein Hund"], return_tensors="pt")
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    with torch.no_grad():
        before = model(**batch)["logits"]
        language.swap(model.encoder, de)
        after = model(**batch)["logits"]
        language.swap(model.encoder, en)
        back = model(**batch)["logits"]
    assert not torch.allclose(before, after, atol=1e-5) and torch.allclose(before, back, atol=1e-6)


def test_language_adapter_errors_are_one_line(madx, tiny_model_dir, tmp_path):
    from adapterstilts.evaluation.zero_shot import evaluate_run

    run, en, _ = madx
    with pytest.raises(UserError, match="use --method bottleneck"):
        small_train_config(tiny_model_dir, tmp_path / "x", task="xnli", language_adapter=str(en)).validate()
    with pytest.raises(UserError, match="does not exist|not a finished"):
        train(small_train_config(tiny_model_dir, tmp_path / "y", task="xnli", method="bottleneck",
                                 language_adapter=str(tmp_path / "nowhere")), log=quiet)
    plain = train(small_train_config(tiny_model_dir, tmp_path / "p", task="xnli", method="bottleneck", max_steps=1),
                  log=quiet)
    with pytest.raises(UserError, match="trained without --language-adapter"):
        evaluate_run(plain.path, data="sample", languages="de", language_adapters={"de": str(en)}, log=quiet)
    from adapterstilts.compose.language import parse_mapping

    with pytest.raises(UserError, match="expected LANG=REF"):
        parse_mapping("de")


def test_a_language_adapter_under_a_fusion(madx, tiny_model_dir, tmp_path, tiny_tokenizer):
    run, en, _ = madx
    inters = [train(small_train_config(tiny_model_dir, tmp_path / t, task=t, method="bottleneck", max_steps=1), log=quiet)
              for t in ("mnli", "qqp")]
    fused = train(small_train_config(tiny_model_dir, tmp_path / "fused", task="xnli", method="bottleneck",
                                     compose="fuse", intermediates=[str(r.path) for r in inters],
                                     language_adapter=str(en), max_steps=2), log=quiet, keep_model=True)
    active = fused.model.encoder.active_adapters
    assert list(active.children)[0] == "language" and type(list(active.children)[1]).__name__ == "Fuse"
    enc = tiny_tokenizer(["the cat sat"], ["a cat"], return_tensors="pt")
    batch = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    with torch.no_grad():
        assert torch.allclose(fused.model(**batch)["logits"],
                              load_run_model(Run.open(fused.path))[0](**batch)["logits"], atol=1e-6)
