"""Token tagging format: label alignment, windows over long sentences, empty words, padding, the
head on the tiny encoder, and a toy problem it must learn."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from datasets import Dataset

from adapterstilts.formats import get_format
from adapterstilts.formats.tagging import IGNORE_INDEX, plan_windows


def make_task(labels):
    return SimpleNamespace(name="toy_tags", labels=tuple(labels), num_labels=len(labels))


@pytest.fixture(scope="module")
def fmt():
    return get_format("tagging")


def pieces_of(tokenizer, word):
    return tokenizer(word, add_special_tokens=False)["input_ids"]


def test_first_subword_gets_the_label(fmt, tiny_tokenizer):
    words = ["Hello", "unbelievably", "a", "Zürich"]
    tags = [1, 2, 0, 1]
    pieces = [pieces_of(tiny_tokenizer, w) for w in words]
    assert len(pieces[0]) > 1 and len(pieces[1]) > 1  # the sentence really has multi-piece words

    feats = fmt.preprocess(Dataset.from_list([{"tokens": words, "tags": tags}]), tiny_tokenizer,
                           make_task("ABC"), max_length=64, stride=16, train=True)
    assert len(feats) == 1
    f = feats[0]
    expected_ids, expected_labels = [tiny_tokenizer.cls_token_id], [IGNORE_INDEX]
    for p, t in zip(pieces, tags):
        expected_ids += p
        expected_labels += [t] + [IGNORE_INDEX] * (len(p) - 1)
    expected_ids.append(tiny_tokenizer.sep_token_id)
    expected_labels.append(IGNORE_INDEX)
    assert f["input_ids"] == expected_ids
    assert f["labels"] == expected_labels
    assert f["attention_mask"] == [1] * len(expected_ids)
    assert f["example_index"] == 0
    assert f["scored_words"] == [0, 1, 2, 3]
    assert [f["labels"][p] for p in f["label_positions"]] == tags


def test_plan_windows_by_hand():
    # 6 words of 2 tokens, 6 tokens per window, at most 2 tokens (1 word) shared.
    assert plan_windows([2] * 6, budget=6, stride=2) == [(0, 3, 0, 2), (2, 5, 2, 4), (4, 6, 4, 6)]
    # No overlap allowed: consecutive windows, each scores all its words.
    assert plan_windows([2] * 6, budget=6, stride=0) == [(0, 3, 0, 3), (3, 6, 3, 6)]
    # Two shared words: the earlier window scores the first, the later window the second.
    assert plan_windows([1] * 6, budget=4, stride=2) == [(0, 4, 0, 3), (2, 6, 3, 6)]
    # Fits in one window; empty sentence still gives one (empty) window.
    assert plan_windows([3, 1], budget=4, stride=2) == [(0, 2, 0, 2)]
    assert plan_windows([], budget=4, stride=2) == [(0, 0, 0, 0)]


@pytest.mark.parametrize("lengths,budget,stride", [([1, 3, 2, 1, 4, 1, 1, 2, 3], 5, 3), ([4] * 7, 4, 3), ([1] * 30, 7, 6)])
def test_plan_windows_partition(lengths, budget, stride):
    plans = plan_windows(lengths, budget, stride)
    scored = [w for _, _, a, b in plans for w in range(a, b)]
    assert scored == list(range(len(lengths)))
    for start, end, a, b in plans:
        assert start <= a < b <= end
        assert sum(lengths[start:end]) <= budget
    for (_, e0, _, _), (s1, _, _, _) in zip(plans, plans[1:]):
        assert sum(lengths[s1:e0]) <= stride


def test_long_sentence_windows_reassemble(fmt, tiny_tokenizer):
    base = ["Hello", "unbelievably", "a", "Zürich", "there", "Paris", "x"]
    long_words = [base[i % len(base)] for i in range(40)]
    short_words = ["a", "Paris"]
    task = make_task([f"w{i}" for i in range(40)] + ["wrong"])
    wrong = len(task.labels) - 1
    examples = Dataset.from_list([
        {"tokens": short_words, "tags": [0, 1]},
        {"tokens": long_words, "tags": list(range(40))},
    ])
    max_length = 16
    feats = fmt.preprocess(examples, tiny_tokenizer, task, max_length=max_length, stride=6, train=False)

    long_feats = [f for f in feats if f["example_index"] == 1]
    assert len(long_feats) > 3
    assert all(len(f["input_ids"]) <= max_length for f in feats)
    total_pieces = sum(len(pieces_of(tiny_tokenizer, w)) for w in long_words)
    assert sum(len(f["input_ids"]) - 2 for f in long_feats) > total_pieces  # windows overlap
    for f in feats:  # every window starts and ends with the special tokens and scores something
        assert f["input_ids"][0] == tiny_tokenizer.cls_token_id and f["input_ids"][-1] == tiny_tokenizer.sep_token_id
        assert len(f["scored_words"]) == len(f["label_positions"]) >= 1

    # Logits: everywhere "wrong", except at the scored positions, whose label names the word.
    logits = []
    for f in feats:
        row = np.zeros((len(f["input_ids"]) + 3, len(task.labels)), dtype=np.float32)  # padded rows too
        row[:, wrong] = 5.0
        for word, pos in zip(f["scored_words"], f["label_positions"]):
            target = word if f["example_index"] == 1 else [0, 1][word]
            row[pos, target] = 10.0
        logits.append(row)
    predictions, references, extras = fmt.postprocess(examples, feats, logits, task)
    assert extras == {}
    assert predictions[0] == ["w0", "w1"]
    assert predictions[1] == [f"w{i}" for i in range(40)]
    assert [len(p) for p in predictions] == [len(r) for r in references] == [2, 40]
    assert references[1] == [f"w{i}" for i in range(40)]


def test_word_that_tokenises_to_nothing_is_predicted(fmt, tiny_tokenizer):
    assert pieces_of(tiny_tokenizer, "") == []
    words = ["Hello", "", "there"]
    examples = Dataset.from_list([{"tokens": words, "tags": [0, 1, 2]}])
    task = make_task(["A", "B", "C"])
    feats = fmt.preprocess(examples, tiny_tokenizer, task, max_length=32, stride=8, train=False)
    f = feats[0]
    assert f["scored_words"] == [0, 1, 2]
    empty_pos = f["label_positions"][1]
    assert f["input_ids"][empty_pos] == tiny_tokenizer.unk_token_id
    assert f["labels"][empty_pos] == 1

    row = np.zeros((len(f["input_ids"]), 3), dtype=np.float32)
    for word, pos in zip(f["scored_words"], f["label_positions"]):
        row[pos, 2 - word] = 1.0
    predictions, references, _ = fmt.postprocess(examples, feats, [row], task)
    assert predictions == [["C", "B", "A"]]
    assert references == [["A", "B", "C"]]


def test_mismatched_tags_are_refused(fmt, tiny_tokenizer):
    from adapterstilts.errors import UserError

    examples = Dataset.from_list([{"tokens": ["a", "b"], "tags": [0]}])
    with pytest.raises(UserError, match="tags"):
        fmt.preprocess(examples, tiny_tokenizer, make_task("AB"), max_length=16, stride=4, train=True)


def test_collate_pads_labels_with_ignore_index(fmt, tiny_tokenizer):
    examples = Dataset.from_list([
        {"tokens": ["a"], "tags": [1]},
        {"tokens": ["Hello", "unbelievably", "Paris"], "tags": [0, 1, 0]},
    ])
    feats = fmt.preprocess(examples, tiny_tokenizer, make_task("AB"), max_length=64, stride=8, train=True)
    rows = [feats[0], feats[1]]
    batch = fmt.collate(rows, tiny_tokenizer)
    short, long = len(rows[0]["input_ids"]), len(rows[1]["input_ids"])
    assert short < long
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape == (2, long)
    assert batch["labels"][0, :short].tolist() == rows[0]["labels"]
    assert (batch["labels"][0, short:] == IGNORE_INDEX).all()
    assert (batch["input_ids"][0, short:] == tiny_tokenizer.pad_token_id).all()
    assert batch["attention_mask"][0].tolist() == [1] * short + [0] * (long - short)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}


def load_encoder(model_dir):
    from transformers import XLMRobertaModel

    return XLMRobertaModel.from_pretrained(model_dir, add_pooling_layer=False)


def test_forward_gives_finite_loss_and_head_gradients(fmt, tiny_model_dir, tiny_tokenizer):
    torch.manual_seed(0)
    task = make_task(["O", "B", "I"])
    encoder = load_encoder(tiny_model_dir)
    head = fmt.build_head(encoder.config.hidden_size, task)
    examples = Dataset.from_list([
        {"tokens": ["Hello", "there"], "tags": [1, 0]},
        {"tokens": ["a", "unbelievably", "Paris"], "tags": [0, 1, 2]},
    ])
    feats = fmt.preprocess(examples, tiny_tokenizer, task, max_length=32, stride=8, train=True)
    batch = fmt.collate([feats[i] for i in range(len(feats))], tiny_tokenizer)
    out = fmt.forward(encoder, head, batch)
    assert out["logits"].shape == (*batch["input_ids"].shape, 3)
    assert torch.isfinite(out["loss"])
    out["loss"].backward()
    grads = [p.grad for p in head.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


def test_toy_tagging_is_learned(fmt, tiny_model_dir, tiny_tokenizer):
    """Tag 1 for capitalised words, 0 otherwise: the loss must fall clearly within a few dozen steps."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    vocab = ["Paris", "Hello", "Maria", "Berlin", "house", "there", "water", "small", "green", "river"]
    rows = []
    for _ in range(64):
        words = [vocab[i] for i in rng.integers(0, len(vocab), size=int(rng.integers(3, 8)))]
        rows.append({"tokens": words, "tags": [int(w[0].isupper()) for w in words]})
    task = make_task(["lower", "Upper"])
    feats = fmt.preprocess(Dataset.from_list(rows), tiny_tokenizer, task, max_length=32, stride=8, train=True)
    feats = [feats[i] for i in range(len(feats))]

    # Encoder frozen (as under an adapter) so the test stays fast; the head learns through forward().
    encoder = load_encoder(tiny_model_dir).eval().requires_grad_(False)
    head = fmt.build_head(encoder.config.hidden_size, task).train()
    optimizer = torch.optim.AdamW(head.parameters(), lr=1e-2)
    losses = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for step in range(40):
            start = (step * 8) % len(feats)
            batch = fmt.collate(feats[start : start + 8], tiny_tokenizer)
            loss = fmt.forward(encoder, head, batch)["loss"]
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    finally:
        torch.set_num_threads(threads)
    first, last = np.mean(losses[:5]), np.mean(losses[-5:])
    assert last < 0.5 * first, (first, last)
