"""Speed paths give the same numbers as the plain ones (issue 14): the last layer at <s> only
(formats/first_token.py) for classification, multiple choice and the dual encoder, for LoRA, bottleneck
adapters and a full fine-tune, composed or not; logits, loss and every trainable gradient within 1e-5."""
import pytest
import torch

from adapterstilts.formats import first_token
from adapterstilts.model.assemble import build_for_training

from conftest import quiet, small_train_config


def _batch(tokenizer, n=5, seed=0, pairs=True):
    """Pairs of different lengths (so the batch is padded), with labels."""
    import random

    rng = random.Random(seed)
    words = "the cat sat on a mat while two dogs ran far away from home today".split()
    first = [" ".join(rng.choices(words, k=rng.randint(2, 14))) for _ in range(n)]
    second = [" ".join(rng.choices(words, k=rng.randint(1, 6))) for _ in range(n)]
    enc = tokenizer(first, second if pairs else None, padding=True, return_tensors="pt")
    assert (enc["attention_mask"] == 0).any()  # padded: the mask matters
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
            "labels": torch.tensor([rng.randrange(3) for _ in range(n)])}


def _run(model, batch, monkeypatch, fast: bool):
    monkeypatch.setenv(first_token.ENV_OFF, "0" if fast else "1")
    model.zero_grad(set_to_none=True)
    out = model(**batch)
    out["loss"].backward()
    grads = {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.requires_grad and p.grad is not None}
    return out["logits"].detach().clone(), out["loss"].detach().clone(), grads


def _assert_same(model, batch, monkeypatch):
    model.eval()  # dropout off: the two paths draw different numbers of random values
    fast = _run(model, batch, monkeypatch, fast=True)
    full = _run(model, batch, monkeypatch, fast=False)
    torch.testing.assert_close(fast[0], full[0], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast[1], full[1], atol=1e-5, rtol=1e-5)
    assert fast[2].keys() == full[2].keys() and fast[2]
    for name in full[2]:
        torch.testing.assert_close(fast[2][name], full[2][name], atol=1e-5, rtol=1e-5, msg=name)


def _last_layer_rows(model, batch, monkeypatch, fast: bool) -> int:
    """How many token rows the last layer's feed-forward computed."""
    layer = first_token.last_layer(model.encoder)
    rows = []
    handle = layer.output.register_forward_hook(lambda m, i, o: rows.append(o.shape[1]))
    try:
        monkeypatch.setenv(first_token.ENV_OFF, "0" if fast else "1")
        with torch.no_grad():
            model(**batch)
    finally:
        handle.remove()
    return rows[0]


@pytest.mark.parametrize("method", ["lora", "bottleneck", "full"])
def test_classification_last_layer_at_first_token_is_exact(tiny_model_dir, tiny_tokenizer, tmp_path, method,
                                                          monkeypatch):
    model = build_for_training(small_train_config(tiny_model_dir, tmp_path / "run", method=method), []).model
    batch = _batch(tiny_tokenizer)
    assert first_token.last_layer(model.encoder) is not None
    assert _last_layer_rows(model, batch, monkeypatch, fast=True) == 1
    assert _last_layer_rows(model, batch, monkeypatch, fast=False) == batch["input_ids"].shape[1]
    _assert_same(model, batch, monkeypatch)
    layer = first_token.last_layer(model.encoder)
    assert "forward" not in vars(layer)  # the layer is left as it was


def test_exact_with_lora_dropout_zero_and_training_mode_off_dropout(tiny_model_dir, tiny_tokenizer, tmp_path,
                                                                    monkeypatch):
    """In training mode with every dropout at 0 (nothing random), the paths agree too."""
    model = build_for_training(small_train_config(tiny_model_dir, tmp_path / "run", lora_dropout=0.0), []).model
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    for layer in model.encoder.get_base_model().encoder.layer:
        layer.attention.self.dropout_prob = 0.0
    batch = _batch(tiny_tokenizer, seed=3)
    fast = _run(model, batch, monkeypatch, fast=True)
    full = _run(model, batch, monkeypatch, fast=False)
    torch.testing.assert_close(fast[0], full[0], atol=1e-5, rtol=1e-5)
    for name in full[2]:
        torch.testing.assert_close(fast[2][name], full[2][name], atol=1e-5, rtol=1e-5, msg=name)


def test_composed_modules_are_exact(tiny_model_dir, tiny_tokenizer, tmp_path, monkeypatch):
    """Stacked LoRA, LoRA fusion with a per-token gate, AdapterFusion over bottleneck adapters."""
    from adapterstilts.training.pipeline import train

    batch = _batch(tiny_tokenizer, seed=1)
    inters = {}
    for method, compose, extra in (("lora", "stack", {}), ("lora", "fuse", {"fusion_gate": "input"}),
                                   ("lora", "fuse", {"fusion_gate": "layer"}),
                                   ("bottleneck", "fuse", {})):
        if method not in inters:
            inters[method] = [train(small_train_config(tiny_model_dir, tmp_path / f"{method}-inter{i}", method=method,
                                                       max_steps=1, seed=i), log=quiet) for i in range(2)]
        config = small_train_config(tiny_model_dir, tmp_path / f"{method}-{compose}", method=method, compose=compose,
                                    intermediates=[str(r.path) for r in inters[method]], **extra)
        model = build_for_training(config, inters[method]).model
        assert first_token.last_layer(model.encoder) is not None
        _assert_same(model, batch, monkeypatch)


def test_multiple_choice_and_single_sentences_are_exact(tiny_model_dir, tiny_tokenizer, tmp_path, monkeypatch):
    model = build_for_training(small_train_config(tiny_model_dir, tmp_path / "run"), []).model
    _assert_same(model, _batch(tiny_tokenizer, seed=2, pairs=False), monkeypatch)

    mc = build_for_training(small_train_config(tiny_model_dir, tmp_path / "mc", task="hellaswag"), []).model
    flat = _batch(tiny_tokenizer, n=6, seed=4)
    batch = {"input_ids": flat["input_ids"].reshape(2, 3, -1), "attention_mask": flat["attention_mask"].reshape(2, 3, -1),
             "labels": torch.tensor([0, 2])}
    _assert_same(mc, batch, monkeypatch)


def test_falls_back_where_the_shortcut_does_not_apply(tiny_model_dir, tmp_path):
    model = build_for_training(small_train_config(tiny_model_dir, tmp_path / "run", gradient_checkpointing=True), []).model
    assert first_token.last_layer(model.encoder) is None  # recomputation in backward runs the plain layer
    model = build_for_training(small_train_config(tiny_model_dir, tmp_path / "run2"), []).model
    encoder = model.encoder.get_base_model()
    encoder.encoder.layer[-1].attention.self.position_embedding_type = "relative_key"
    assert first_token.last_layer(model.encoder) is None


def test_pre_layernorm_and_overridden_layers_take_the_plain_path():
    """XLM-R XL / XXL normalise before attention and feed-forward, in code the shortcut does not run; a
    subclass that overrides the layer's forward may do anything: both must run the plain layer."""
    from transformers import XLMRobertaConfig, XLMRobertaModel, XLMRobertaXLConfig, XLMRobertaXLModel
    from transformers.models.xlm_roberta.modeling_xlm_roberta import XLMRobertaLayer

    small = dict(vocab_size=50, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32)
    assert first_token.last_layer(XLMRobertaXLModel(XLMRobertaXLConfig(**small), add_pooling_layer=False)) is None
    model = XLMRobertaModel(XLMRobertaConfig(**small), add_pooling_layer=False)
    assert first_token.last_layer(model) is model.encoder.layer[-1]

    class Custom(XLMRobertaLayer):
        def forward(self, *args, **kwargs):
            return super().forward(*args, **kwargs)

    model.encoder.layer[-1].__class__ = Custom
    assert first_token.last_layer(model) is None


def test_predict_gives_each_feature_its_own_logits_and_keeps_the_training_mode(tiny_model_dir, tiny_tokenizer,
                                                                               tmp_path, monkeypatch):
    """model/inference.py: length-sorted batches read a batch of rows at once, under inference_mode; every
    feature gets the logits of its own plain forward (full last layer, one row at a time), in feature order."""
    import datasets

    from adapterstilts.model.inference import predict
    from adapterstilts.tasks.base import get_task

    assembled = build_for_training(small_train_config(tiny_model_dir, tmp_path / "run"), [])
    model, fmt = assembled.model, assembled.fmt
    with torch.no_grad():
        for param in model.parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.1)  # LoRA B starts at zero: make the module matter
    words = "the cat sat on a mat while two dogs ran far away from home today".split()
    examples = datasets.Dataset.from_dict({
        "text_a": [" ".join(words[: 2 + (7 * i) % 13]) for i in range(11)],
        "text_b": [" ".join(words[(3 * i) % 5:]) for i in range(11)], "label": [i % 3 for i in range(11)]})
    features = fmt.preprocess(examples, tiny_tokenizer, get_task("mnli"), max_length=64, stride=0, train=False)
    model.train()
    logits = predict(model, fmt, features, tiny_tokenizer, batch_size=4)
    assert model.training  # dev selection calls predict between training steps
    assert len(logits) == len(features)
    monkeypatch.setenv(first_token.ENV_OFF, "1")
    model.eval()
    for i in range(len(features)):
        row = fmt.collate([features[i]], tiny_tokenizer)
        with torch.no_grad():
            expected = model(input_ids=row["input_ids"], attention_mask=row["attention_mask"])["logits"][0]
        torch.testing.assert_close(torch.from_numpy(logits[i]), expected, atol=1e-5, rtol=1e-5)
    as_list = predict(model, fmt, [features[i] for i in range(len(features))], tiny_tokenizer, batch_size=3)
    for a, b in zip(as_list, logits):
        torch.testing.assert_close(torch.from_numpy(a), torch.from_numpy(b), atol=1e-5, rtol=1e-5)


def test_trainable_and_frozen_weights_give_the_same_bits(tiny_model_dir, tiny_tokenizer, tmp_path):
    """A trained model kept in memory (weights requiring grad) and the same weights reloaded frozen give
    identical logits through the shortcut (a strided input once made nn.Linear pick a path by requires_grad)."""
    model = build_for_training(small_train_config(tiny_model_dir, tmp_path / "run", method="full"), []).model
    model.eval()
    batch = {k: v for k, v in _batch(tiny_tokenizer, seed=5).items() if k != "labels"}
    with torch.no_grad():
        trainable = model(**batch)["logits"]
        for param in model.parameters():
            param.requires_grad = False
        frozen = model(**batch)["logits"]
    assert torch.equal(trainable, frozen)
