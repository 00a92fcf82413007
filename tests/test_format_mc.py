"""Multiple-choice format: pair encoding and truncation, (B, C, L) batching with dynamic length and
mixed choice counts, argmax postprocessing and the head on the tiny encoder."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from datasets import Dataset

from adapterstilts.formats import get_format
from adapterstilts.formats.multiple_choice import IGNORE_INDEX

TASK = SimpleNamespace(name="toy_mc", labels=(), num_labels=0)


@pytest.fixture(scope="module")
def fmt():
    return get_format("multiple_choice")


def examples():
    return Dataset.from_list([
        {"id": "a", "question": "Where is the river?", "choices": ["Paris", "house", "water", "green"], "label": 2},
        {"id": "b", "question": "Hello there", "choices": ["a", "small", "Berlin", "Maria", "river"], "label": 4},
        {"id": "c", "question": "Which one?", "choices": ["x", "y"], "label": -1},  # unlabelled
    ])


def test_preprocess_pairs_each_choice_with_the_question(fmt, tiny_tokenizer):
    feats = fmt.preprocess(examples(), tiny_tokenizer, TASK, max_length=64, stride=0, train=True)
    assert len(feats) == 3
    assert [len(f["input_ids"]) for f in feats] == [4, 5, 2]
    assert list(feats["labels"]) == [2, 4, IGNORE_INDEX]
    assert list(feats["example_index"]) == [0, 1, 2]
    first = feats[0]
    for choice, ids, mask in zip(["Paris", "house", "water", "green"], first["input_ids"], first["attention_mask"]):
        assert ids == tiny_tokenizer("Where is the river?", choice)["input_ids"]
        assert mask == [1] * len(ids)
        assert ids[0] == tiny_tokenizer.cls_token_id


def test_long_question_is_truncated_and_choice_kept(fmt, tiny_tokenizer):
    question = " ".join(["unbelievably Hello there"] * 30)
    choices = ["the small green house", "Berlin"]
    rows = Dataset.from_list([{"id": "long", "question": question, "choices": choices, "label": 0}])
    feats = fmt.preprocess(rows, tiny_tokenizer, TASK, max_length=24, stride=0, train=True)
    for choice, ids in zip(choices, feats[0]["input_ids"]):
        assert len(ids) == 24
        tail = tiny_tokenizer(choice, add_special_tokens=False)["input_ids"] + [tiny_tokenizer.sep_token_id]
        assert ids[-len(tail):] == tail  # the whole choice survives


def test_choice_longer_than_max_length_still_encodes(fmt, tiny_tokenizer):
    long_choice = " ".join(["unbelievably"] * 20)
    rows = Dataset.from_list([{"id": "x", "question": "Hello", "choices": [long_choice, "a"], "label": 1}])
    feats = fmt.preprocess(rows, tiny_tokenizer, TASK, max_length=16, stride=0, train=True)
    lengths = [len(ids) for ids in feats[0]["input_ids"]]
    assert lengths[0] == 16 and lengths[1] < 16


def test_collate_shape_is_dynamic_and_masks_missing_choices(fmt, tiny_tokenizer):
    feats = fmt.preprocess(examples(), tiny_tokenizer, TASK, max_length=64, stride=0, train=True)
    rows = [feats[0], feats[2]]
    batch = fmt.collate(rows, tiny_tokenizer)
    longest = max(len(ids) for r in rows for ids in r["input_ids"])
    assert longest < 64  # padding is to the batch, not to max_length
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (2, 4, longest)
    assert batch["choice_mask"].tolist() == [[True] * 4, [True, True, False, False]]
    assert batch["labels"].tolist() == [2, IGNORE_INDEX]
    ids = rows[1]["input_ids"][1]
    assert batch["input_ids"][1, 1, : len(ids)].tolist() == ids
    assert (batch["input_ids"][1, 1, len(ids):] == tiny_tokenizer.pad_token_id).all()
    assert batch["attention_mask"][1, 1].sum().item() == len(ids)

    full = fmt.collate([feats[0], feats[1]], tiny_tokenizer)
    assert full["input_ids"].shape[:2] == (2, 5)


def test_postprocess_argmax_ignores_padded_choices(fmt, tiny_tokenizer):
    ex = examples()
    feats = fmt.preprocess(ex, tiny_tokenizer, TASK, max_length=64, stride=0, train=False)
    logits = [
        np.array([0.1, 0.3, 2.0, -1.0, 0.0]),  # padded to 5 choices; best real choice is 2
        np.array([1.0, 0.0, 0.5, 3.0, 2.9]),
        np.array([-2.0, -1.0, 9.0, 9.0, 9.0]),  # only 2 real choices: padded scores must be ignored
    ]
    predictions, references, extras = fmt.postprocess(ex, feats, logits, TASK)
    assert predictions == [2, 3, 1]
    assert references == [2, 4, IGNORE_INDEX]
    assert extras == {}


def test_forward_gives_finite_loss_and_head_gradients(fmt, tiny_model_dir, tiny_tokenizer):
    from transformers import XLMRobertaModel

    torch.manual_seed(0)
    encoder = XLMRobertaModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    head = fmt.build_head(encoder.config.hidden_size, TASK)
    feats = fmt.preprocess(examples(), tiny_tokenizer, TASK, max_length=64, stride=0, train=True)
    batch = fmt.collate([feats[i] for i in range(3)], tiny_tokenizer)
    out = fmt.forward(encoder, head, batch)
    assert out["logits"].shape == (3, 5)
    assert (out["logits"][2, 2:] < -1e30).all()  # missing choices can never win
    assert torch.isfinite(out["logits"][batch["choice_mask"]]).all()
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    grads = [p.grad for p in head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)

    # The loss is the cross-entropy over the real choices of the labelled examples only.
    logits = out["logits"].detach()
    expected = torch.stack([
        -torch.log_softmax(logits[0, :4], -1)[2],
        -torch.log_softmax(logits[1, :5], -1)[4],
    ]).mean()
    assert torch.allclose(out["loss"].detach(), expected, atol=1e-5)
