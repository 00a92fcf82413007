"""Length-grouped training batches (training/trainer.py): every row once per epoch, batches of similar
length, a new but reproducible order each epoch, and the Trainer uses it unless the config turns it off."""
import random

import pytest

from adapterstilts.training.trainer import LengthGroupedBatches, feature_lengths


def _lengths(n=1003, seed=0):
    rng = random.Random(seed)
    return [rng.randint(5, 256) for _ in range(n)]


def test_each_epoch_is_a_permutation_with_short_batches_only_at_the_end():
    lengths = _lengths()
    order = list(LengthGroupedBatches(lengths, 16, seed=1))
    assert sorted(order) == list(range(len(lengths)))
    assert len(order) == len(LengthGroupedBatches(lengths, 16, seed=1))


def test_batches_are_length_grouped_and_padding_drops():
    lengths = _lengths()
    order = list(LengthGroupedBatches(lengths, 16, seed=1))
    batches = [order[i:i + 16] for i in range(0, len(order), 16)]
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    shuffled = random.Random(1).sample(range(len(lengths)), len(lengths))
    padded_random = sum(max(lengths[i] for i in shuffled[k:k + 16]) * 16 for k in range(0, len(lengths), 16))
    assert padded < 0.75 * padded_random


def test_order_changes_each_epoch_and_is_reproducible_from_seed_and_epoch():
    lengths = _lengths()
    sampler = LengthGroupedBatches(lengths, 16, seed=3)
    first, second = list(sampler), list(sampler)
    assert first != second
    sampler.set_epoch(1)
    assert list(sampler) == second  # a resumed run (the Trainer calls set_epoch) sees the same batches
    assert list(LengthGroupedBatches(lengths, 16, seed=4)) != first
    # batch order is shuffled across megabatches, not a descending sawtooth
    maxima = [max(lengths[i] for i in first[k:k + 16]) for k in range(0, 16 * 40, 16)]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)


def test_feature_lengths_read_the_arrow_column_through_indices():
    datasets = pytest.importorskip("datasets")
    lengths = _lengths(50)
    ds = datasets.Dataset.from_dict({"input_ids": [[1] * n for n in lengths], "labels": [0] * 50})
    assert feature_lengths(ds) == lengths
    view = ds.shuffle(seed=0).select(range(7))
    assert feature_lengths(view) == [len(r) for r in view["input_ids"]]
    assert feature_lengths([{"input_ids": [1]}]) is None


@pytest.mark.parametrize("grouping", [True, False])
def test_the_trainer_uses_the_sampler_unless_turned_off(tiny_model_dir, tmp_path, grouping):
    from adapterstilts.data.features import build_features
    from adapterstilts.formats import get_format
    from adapterstilts.model.assemble import build_for_training
    from adapterstilts.model.backbone import load_tokenizer
    from adapterstilts.training.trainer import _make_trainer
    from conftest import small_train_config

    config = small_train_config(tiny_model_dir, tmp_path / "run", length_grouping=grouping)
    tokenizer = load_tokenizer(config.model)
    assembled = build_for_training(config, [])
    fmt = get_format("classification")
    _, features = build_features(assembled.task, fmt, tokenizer, split="train", language="en", data="sample",
                                 max_length=64, stride=16, train=True)
    trainer = _make_trainer(config, assembled.model, fmt, tokenizer, features, tmp_path / "work")
    sampler = trainer._get_train_sampler()
    assert isinstance(sampler, LengthGroupedBatches) is grouping
    assert trainer.args.logging_nan_inf_filter is False  # no host sync per step
