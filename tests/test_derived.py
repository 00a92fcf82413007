"""Derived training data (tasks/derived.py): seeded stratified subsamples, few-shot sets (from train, or
held out of evaluation data that is then never scored), mixes by size or ratio, specs that round-trip,
and their place in a run's manifest."""
import json
from collections import Counter

import pytest

from adapterstilts.data.loading import load_examples
from adapterstilts.errors import UserError
from adapterstilts.tasks import get_task
from adapterstilts.tasks.derived import (DERIVED, FewShot, Mix, Subsample, allocate, check_train_data,
                                         derived_from_spec, sample_indices)
from conftest import quiet, small_train_config


def _rows(dataset):
    return [json.dumps(r, sort_keys=True) for r in dataset]


def _pairs(dataset):
    return {(r["text_a"], r["text_b"]) for r in dataset}


def test_kinds_are_registered():
    assert DERIVED.names() == ["fewshot", "mix", "subsample"]


def test_stratified_counts_match_the_hand_computed_allocation():
    from datasets import Dataset

    labels = [0] * 10 + [1] * 6 + [2] * 4  # N = 20, n = 7: quotas 3.5, 2.1, 1.4 -> floors 3, 2, 1 + 1 to label 0
    data = Dataset.from_dict({"label": labels, "i": list(range(20))})
    rows = sample_indices(data, 7, 5, stratify=True, what="toy")
    assert Counter(labels[i] for i in rows) == {0: 4, 1: 2, 2: 1}
    assert len(set(rows)) == 7 and rows == sorted(rows)
    # ties in the remainder go to the smaller label id; the total is always exact
    assert allocate([11, 11, 10], 10) == [4, 3, 3]
    assert allocate([1, 1, 1], 2) == [1, 1, 0]
    assert allocate([3, 1], 12) == [9, 3]
    assert allocate([0.5, 0.25, 0.25], 7) == [3, 2, 2]  # quotas 3.5, 1.75, 1.75: remainders .75 win


def test_subsample_is_stratified_seeded_and_not_the_first_rows():
    full = load_examples(get_task("mnli"), "train", "en", "sample")  # labels 11 / 11 / 10
    one = Subsample("mnli", 10, seed=1).examples("sample")
    assert Counter(one["label"]) == {0: 4, 1: 3, 2: 3}
    assert _rows(Subsample("mnli", 10, seed=1).examples("sample")) == _rows(one)
    assert _rows(Subsample("mnli", 10, seed=2).examples("sample")) != _rows(one)
    assert _rows(one) != _rows(full.select(range(10)))
    assert set(_rows(one)) <= set(_rows(full))


def test_subsample_of_qa_is_a_plain_seeded_sample():
    a = Subsample("squad", 5, seed=0).examples("sample")
    assert len(a) == 5 and a["id"] == Subsample("squad", 5, seed=0).examples("sample")["id"]
    assert a["id"] != Subsample("squad", 5, seed=9).examples("sample")["id"]
    with pytest.raises(UserError, match="fewer than the 100000"):
        Subsample("squad", 100000, seed=0).examples("sample")


def test_fewshot_from_the_language_training_split():
    shots = FewShot("tydiqa", "ar", 2, seed=0)
    assert shots.record() == {"from": "train"}
    rows = shots.examples("sample")
    assert len(rows) == 2 and all(i.startswith("arabic-") for i in rows["id"])
    assert set(rows["id"]) <= set(load_examples(get_task("tydiqa"), "train", "ar", "sample")["id"])
    assert not shots.holds_out(task="tydiqa", split="validation", language="ar")


def test_fewshot_held_out_of_evaluation_data():
    shots = FewShot("xnli", "de", 2, seed=3)  # XNLI has no German training data
    assert shots.record() == {"from": "validation (held out)"}
    validation = load_examples(get_task("xnli"), "validation", "de", "sample")
    rows = shots.examples("sample")
    assert len(rows) == 2 and _pairs(rows) <= _pairs(validation)
    assert _pairs(validation.select(shots.held_out_indices(validation))) == _pairs(rows)
    assert shots.holds_out(task="xnli", split="validation", language="de")
    assert not shots.holds_out(task="xnli", split="test", language="de")
    assert not shots.holds_out(task="xnli", split="validation", language="zh")
    assert FewShot("xquad", "de", 3).record() == {"from": "validation (held out)"}  # XQuAD: its evaluation split


def test_mix_by_size_and_by_ratio():
    german = _pairs(load_examples(get_task("xnli"), "validation", "de", "sample"))  # 6 rows; MNLI train has 32
    sources = [("mnli", "en"), ("xnli", "de", "validation")]

    def split(mix):
        rows = mix.examples("sample")
        de = sum((r["text_a"], r["text_b"]) in german for r in rows)
        return len(rows) - de, de

    assert split(Mix(sources)) == (32, 6)
    assert split(Mix(sources, size=19, seed=0)) == (16, 3)  # by size: 19 * 32/38, 19 * 6/38
    assert split(Mix(sources, weights=[1, 1], size=8, seed=0)) == (4, 4)
    assert split(Mix(sources, weights=[3, 1], size=12, seed=0)) == (9, 3)
    assert _rows(Mix(sources, size=19, seed=0).examples("sample")) != _rows(Mix(sources, size=19, seed=1).examples("sample"))
    with pytest.raises(UserError, match="has 6 examples but its weight asks for 10"):
        Mix(sources, weights=[1, 1], size=20).examples("sample")


@pytest.mark.parametrize("derived", [
    Subsample("mnli", 7, seed=4),
    FewShot("xnli", "de", 3, seed=2),
    Mix([("mnli", "en"), ("xnli", "de", "validation")], weights=[2, 1], size=9, seed=5),
], ids=["subsample", "fewshot", "mix"])
def test_spec_round_trip(derived):
    spec = json.loads(json.dumps(derived.to_spec()))
    again = derived_from_spec(spec)
    assert type(again) is type(derived) and again.to_spec() == derived.to_spec()
    assert again.fingerprint() == derived.fingerprint()
    assert _rows(again.examples("sample")) == _rows(derived.examples("sample"))
    recorded = {**spec, **derived.record(), "examples": 3}  # the manifest's form reads back too
    assert derived_from_spec(recorded).to_spec() == derived.to_spec()
    changed = derived_from_spec({**spec, "seed": spec["seed"] + 1})
    assert changed.fingerprint() != derived.fingerprint()


@pytest.mark.parametrize("task,spec,message", [
    ("mnli", {"kind": "sample"}, "unknown train_data kind 'sample'"),
    ("mnli", {"kind": "subsample", "task": "mnli", "n": 0, "seed": 1}, "'n' must be at least 1"),
    ("mnli", {"kind": "subsample", "task": "mnli", "size": 10}, "unknown key"),
    ("qqp", {"kind": "subsample", "task": "mnli", "n": 10}, "draws from task 'mnli' but the run trains 'qqp'"),
    ("xnli", {"kind": "fewshot", "task": "xnli", "language": "de", "k": 0}, "'k' must be at least 1"),
    ("xnli", {"kind": "fewshot", "task": "xnli", "language": "xx", "k": 5}, "no language 'xx'"),
    ("pawsx", {"kind": "mix", "sources": [["mnli", "en"], ["pawsx", "de"]]}, "does not match"),
    ("pawsx", {"kind": "mix", "sources": [["pawsx", "en"]], "weights": [1]}, "need a size"),
    ("pawsx", {"kind": "mix", "sources": [["pawsx", "de", "test"]]}, "evaluation split"),
    ("xnli", {"kind": "mix", "sources": [["xnli", "de"]]}, "only in English"),
    ("mnli", [1, 2], "must be a mapping"),
])
def test_bad_specs_are_one_line_errors_before_any_model(tiny_model_dir, tmp_path, task, spec, message):
    config = small_train_config(tiny_model_dir, tmp_path / "out", task=task, train_data=spec)
    with pytest.raises(UserError, match=message) as err:
        config.validate()
    assert "\n" not in str(err.value)


def test_good_specs_validate():
    check_train_data({"kind": "mix", "sources": [["pawsx", "en"], ["pawsx", "de"]]}, "pawsx")  # en + de train
    check_train_data({"kind": "mix", "sources": [["mnli", "en"], ["xnli", "de", "validation"]], "size": 10}, "xnli")
    check_train_data(FewShot("udpos", "de", 5).to_spec(), "udpos")


def test_training_on_a_subsample_records_it(tiny_model_dir, tmp_path):
    from adapterstilts.training.pipeline import train

    spec = {"kind": "subsample", "task": "mnli", "n": 10, "seed": 1}
    run = train(small_train_config(tiny_model_dir, tmp_path / "sub", train_data=spec, max_steps=2), log=quiet)
    assert run.manifest["train_data"] == {**spec, "examples": 10}
    assert run.manifest["train"]["features"] == 10  # classification: one feature per example
    assert json.loads((run.path / "config.json").read_text())["train_data"] == spec


def test_fewshot_held_out_rows_are_never_scored(tiny_model_dir, tmp_path, monkeypatch):
    from adapterstilts.evaluation import zero_shot
    from adapterstilts.training.pipeline import train

    shots = FewShot("xnli", "de", 2, seed=3)
    run = train(small_train_config(tiny_model_dir, tmp_path / "few", task="xnli", train_data=shots.to_spec(),
                                   max_steps=2), log=quiet)
    assert run.manifest["train_data"] == {**shots.to_spec(), "from": "validation (held out)", "examples": 2}

    scored = {}
    real = zero_shot.build_features

    def spy(*args, **kwargs):
        examples, features = real(*args, **kwargs)
        scored[kwargs["language"]] = _pairs(examples)
        return examples, features

    monkeypatch.setattr(zero_shot, "build_features", spy)
    lines = []
    result = zero_shot.evaluate_run(run.path, languages="de,zh", split="validation", data="sample", log=lines.append)
    validation = load_examples(get_task("xnli"), "validation", "de", "sample")
    trained = _pairs(shots.examples("sample"))
    assert scored["de"] == _pairs(validation) - trained and len(scored["de"]) == 4
    assert len(scored["zh"]) == 6  # another language: everything scored
    assert result["held_out"] == 2 and result["held_out_language"] == "de"
    assert sum("held out" in line for line in lines) == 1

    result = zero_shot.evaluate_run(run.path, languages="de", split="test", data="sample", log=quiet)
    assert "held_out" not in result and len(scored["de"]) == 8  # the test split never held anything


# ---- translate-train sources (tasks/translated.py) --------------------------------------------------
def _squad_file(root, lang):
    return root / "squad" / "translate-train" / f"squad.translate.train.en-{lang}.json"


def _questions(path):
    return [qa for a in json.loads(path.read_text(encoding="utf-8"))["data"] for p in a["paragraphs"] for qa in p["qas"]]


def test_translated_mnli_mixes_with_mnli_by_ratio():
    sets = {lang: _pairs(load_examples(get_task("mnli_translated"), "train", lang, "sample")) for lang in ("de", "zh")}
    assert get_task("mnli_translated").labels == get_task("mnli").labels  # same head, same label ids
    rows = Mix([("mnli", "en"), ("mnli_translated", "de"), ("mnli_translated", "zh")], weights=[2, 1, 1], size=12,
               seed=4).examples("sample")
    counts = Counter("de" if p in sets["de"] else "zh" if p in sets["zh"] else "en"
                     for p in ((r["text_a"], r["text_b"]) for r in rows))
    assert counts == {"en": 6, "de": 3, "zh": 3}  # 12 x 2/4, 12 x 1/4, 12 x 1/4
    with pytest.raises(UserError, match="machine-translated training data only"):
        get_task("mnli_translated").sources("validation", "de")


def test_translated_squad_skips_lost_answers_and_keeps_ids_unique_across_languages():
    from adapterstilts.data.loading import SAMPLES_DIR

    raw = {lang: _questions(_squad_file(SAMPLES_DIR, lang)) for lang in ("de", "zh")}
    lost = [q["id"] for q in raw["de"] if q["answers"][0]["answer_start"] < 0]
    assert len(lost) == 1 and {q["id"] for q in raw["de"]} == {q["id"] for q in raw["zh"]}  # translations share ids
    german = load_examples(get_task("squad_translated"), "train", "de", "sample")
    assert len(german) == len(raw["de"]) - 1 and f"{lost[0]}-de" not in german["id"]
    assert set(german["id"]) == {f"{q['id']}-de" for q in raw["de"]} - {f"{lost[0]}-de"}
    mixed = Mix([("squad_translated", "de"), ("squad_translated", "zh")]).examples("sample")
    assert len(mixed) == len(german) + len(raw["zh"]) and len(set(mixed["id"])) == len(mixed)


def test_a_mix_source_with_its_own_data_is_read_from_there(tmp_path):
    import shutil

    from adapterstilts.data.loading import SAMPLES_DIR

    shutil.copytree(SAMPLES_DIR / "squad", tmp_path / "squad")
    path = _squad_file(tmp_path, "ar")
    document = json.loads(path.read_text(encoding="utf-8"))
    document["data"][0]["paragraphs"][0]["qas"][0]["question"] = "only in the local copy?"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    local = {"task": "squad_translated", "language": "ar", "data": str(tmp_path)}
    mix = Mix([("squad", "en"), local])
    questions = mix.examples("sample")["question"]  # English SQuAD from the sample, Arabic from tmp_path
    assert "only in the local copy?" in questions and len(questions) == 32 + len(_questions(path))
    assert mix.to_spec()["sources"] == [{"task": "squad", "language": "en", "split": "train"}, {**local, "split": "train"}]
    assert derived_from_spec(mix.to_spec()).to_spec() == mix.to_spec()
    assert Mix([("squad", "en")]).to_spec()["sources"] == [{"task": "squad", "language": "en", "split": "train"}]


def test_translated_squad_without_its_files_says_where_to_get_them(tmp_path):
    for data in ("hub", str(tmp_path)):
        with pytest.raises(UserError) as err:
            load_examples(get_task("squad_translated"), "train", "de", data)
        assert "xtreme_translations" in str(err.value) and "squad.translate.train.en-<lang>.json" in str(err.value)
        assert "\n" not in str(err.value)
