"""Feature cache: tokenised once, reused, and never stale."""
from adapterstilts.data.features import build_features, cache_root
from adapterstilts.formats import get_format
from adapterstilts.tasks import get_task


def _entries():
    root = cache_root()
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_cache_reused_and_keyed_by_max_length(tiny_tokenizer, monkeypatch):
    task = get_task("mnli")
    fmt = get_format(task.format)
    before = set(_entries())
    _, first = build_features(task, fmt, tiny_tokenizer, split="train", language="en", data="sample",
                              max_length=64, stride=32, train=True)
    after_first = set(_entries())
    assert len(after_first - before) == 1

    calls = []
    original = fmt.preprocess
    monkeypatch.setattr(fmt, "preprocess", lambda *a, **k: calls.append(1) or original(*a, **k))
    _, second = build_features(task, fmt, tiny_tokenizer, split="train", language="en", data="sample",
                               max_length=64, stride=32, train=True)
    assert calls == [] and second["input_ids"] == first["input_ids"]

    _, shorter = build_features(task, fmt, tiny_tokenizer, split="train", language="en", data="sample",
                                max_length=8, stride=4, train=True)
    assert calls == [1]
    assert len(set(_entries()) - after_first) == 1
    assert max(len(ids) for ids in shorter["input_ids"]) <= 8 < max(len(ids) for ids in first["input_ids"])
