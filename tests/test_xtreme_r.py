"""XTREME-R: mAP@20 against hand computations (and the official Mewsli-X MRR), every new task end to end on
its sample and the tiny model (the dual encoder trains and scores), UD-POS / PAN-X over XTREME-R's language
lists (UD v2.7 tags mapped by name), SIQA then COPA (the official two-stage XCOPA training), the suite
aggregate on a hand table, and one-line errors for missing or malformed local data."""
import json

import pytest
import torch
from pytest import approx

from adapterstilts.config import TrainConfig
from adapterstilts.data.loading import load_examples
from adapterstilts.errors import UserError
from adapterstilts.evaluation.zero_shot import evaluate_run
from adapterstilts.metrics import get_metric
from adapterstilts.metrics.ranking import average_precision_at_k, mean_average_precision_at_k
from adapterstilts.suites import get_suite, suites_of
from adapterstilts.tasks import Source, get_task
from adapterstilts.training.pipeline import train

NEW_TRAINED = ["xcopa", "xquad_ro", "mewslix", "lareqa", "udpos_r", "panx_r"]


# ---------------------------------------------------------------------------------------------- mAP@20
def test_map_at_20_equals_hand_computation():
    predictions = [["a", "x", "b"], ["x", "y", "c"], ["x", "y", "z"]]
    references = [["a", "b"], ["c"], ["d"]]
    # AP: (1/1 + 2/3) / 2 = 5/6; 1/3; 0  -> mean (5/6 + 1/3 + 0) / 3 = 7/18
    assert mean_average_precision_at_k(predictions, references) == approx(100 * 7 / 18)
    assert get_metric("map_at_20")(predictions, references)["map@20"] == approx(100 * 7 / 18)


def test_average_precision_cut_at_k_divisor_and_repeats():
    ranked = [f"x{i}" for i in range(20)] + ["gold"]
    assert average_precision_at_k(["gold"], ranked) == 0.0  # rank 21 is outside the top 20
    many = [f"g{i}" for i in range(25)]
    assert average_precision_at_k(many, many) == approx(1.0)  # divisor min(25, 20) = 20
    assert average_precision_at_k(["a", "b"], ["a", "a", "b"]) == approx((1 + 2 / 3) / 2)  # a repeat counts once
    assert average_precision_at_k(["a", "b", "c", "d"], ["z", "b", "y", "d"], k=None) == approx((1 / 2 + 2 / 4) / 4)
    with pytest.raises(UserError, match="relevant"):
        average_precision_at_k([], ["a"])


def test_single_gold_map_is_the_official_mewslix_mrr():
    # utils_mewslix.evaluate: mean reciprocal rank of the gold among the top 20, 0 when absent / no predictions
    def official_mrr(golds, predictions):
        def rr(labels):
            return next((1.0 / rank for rank, hit in enumerate(labels, start=1) if hit), 0.0)
        return sum(rr([int(p == g) for p in preds[:20]]) for g, preds in zip(golds, predictions)) / len(golds)

    golds = ["Q1", "Q2", "Q3", "Q4"]
    predictions = [["Q9", "Q1"], ["Q2"], [f"Q{i}" for i in range(10, 40)] + ["Q3"], []]
    assert mean_average_precision_at_k(predictions, [[g] for g in golds]) == approx(100 * official_mrr(golds, predictions))
    assert mean_average_precision_at_k(predictions, [[g] for g in golds]) == approx(100 * (1 / 2 + 1) / 4)


# -------------------------------------------------------------------------------------- tasks end to end
@pytest.mark.parametrize("task", NEW_TRAINED)
def test_new_task_trains_and_evaluates_on_its_sample(task, sample_run):
    run, result = sample_run(task)  # the run tests/test_all_tasks.py checks too: trained once
    primary = get_metric(get_task(task).metric).primary
    assert len(result["languages"]) >= 3
    for lang, scores in result["languages"].items():
        assert 0.0 <= scores[primary] <= 100.0, (task, lang, scores)
    if task in ("mewslix", "lareqa"):
        assert result["primary"] == "map@20" and run.manifest["format"] == "dual_encoder"


def test_dual_encoder_loss_is_in_batch_cross_entropy(tiny_model_dir):
    import torch

    from adapterstilts.formats import get_format
    from adapterstilts.model.backbone import load_tokenizer
    from transformers import AutoModel

    fmt, task = get_format("dual_encoder"), get_task("mewslix")
    tokenizer = load_tokenizer(str(tiny_model_dir))
    encoder = AutoModel.from_pretrained(str(tiny_model_dir)).eval()
    head = fmt.build_head(encoder.config.hidden_size, task).eval()
    examples = load_examples(task, "train", "en", "sample").select(range(4))
    features = fmt.preprocess(examples, tokenizer, task, max_length=64, stride=0, train=True)
    batch = fmt.collate([features[i] for i in range(4)], tokenizer)
    with torch.no_grad():
        out = fmt.forward(encoder, head, batch)
        q = out["logits"]
        c = fmt.forward(encoder, head, {"input_ids": batch["candidate_input_ids"],
                                        "attention_mask": batch["candidate_attention_mask"]})["logits"]
    expected = torch.nn.functional.cross_entropy(q @ c.T * 100.0, torch.arange(4))
    assert float(out["loss"]) == approx(float(expected), rel=1e-5)
    assert torch.allclose(q.norm(dim=1), torch.ones(4), atol=1e-5)


def test_lareqa_relevance_spans_languages():
    examples = load_examples(get_task("lareqa"), "validation", "de", "sample")
    queries = [r for r in examples if r["role"] == "query"]
    candidates = [r for r in examples if r["role"] == "candidate"]
    assert {q["id"].rsplit("_", 1)[1] for q in queries} == {"de"}
    first = queries[0]["relevant"][0]
    answering = {c["id"].split("_")[0] for c in candidates if first in c["relevant"]}
    assert len(answering) == 11  # one answer sentence per XQuAD-R language


def test_tatoeba_r_evaluates_from_an_encoder(tiny_model_dir, tmp_path):
    run = train(TrainConfig(task="squad", output=str(tmp_path / "squad"), model=str(tiny_model_dir), data="sample",
                            max_steps=1, batch_size=4, max_length=128, progress=False), log=lambda m: None)
    result = evaluate_run(run.path, task_name="tatoeba_r", languages="all", data="sample", log=lambda m: None)
    assert len(result["languages"]) >= 3 and all(0 <= s["accuracy"] <= 100 for s in result["languages"].values())
    assert len(get_task("tatoeba_r").languages) == 41 and len(get_task("tatoeba").languages) == 35


def test_xquad_ro_and_xcopa_sources():
    assert get_task("xquad_ro").sources("validation", "ro")[0].describe() == "google/xquad config 'xquad.ro' split 'validation'"
    assert "ro" not in get_task("xquad").languages  # XTREME's XQuAD keeps its 11 languages
    xcopa = get_task("xcopa")
    assert xcopa.sources("train", "en")[0].dataset == "aps/super_glue"
    assert xcopa.sources("test", "ht")[0].config == "ht"
    with pytest.raises(UserError, match="only in English"):
        xcopa.sources("train", "zh")


# ------------------------------------------------------------------------- UD-POS (38) and PAN-X (48)
def test_udpos_r_and_panx_r_cover_xtreme_rs_languages():
    udpos_r, panx_r = get_task("udpos_r"), get_task("panx_r")
    # evaluate.py XTREME_R_TASK2LANGS: XTREME's lists plus these
    assert set(udpos_r.languages) - set(get_task("udpos").languages) == {"lt", "pl", "uk", "wo", "ro"}
    assert set(panx_r.languages) - set(get_task("panx").languages) == {"qu", "pl", "uk", "az", "lt", "pa", "gu", "ro"}
    assert len(udpos_r.languages) == 38 and len(panx_r.languages) == 48
    assert len(get_task("udpos").languages) == 33 and len(get_task("panx").languages) == 40  # XTREME's unchanged
    ud = "universal-dependencies/universal_dependencies"
    # every treebank of the language, as XTREME's udpos_preprocess joins them; lt_hse's Hub dev/test are its train file
    assert udpos_r.sources("test", "pl") == [Source(ud, tb, "test", tag="ud27") for tb in ("pl_lfg", "pl_pdb", "pl_pud")]
    assert udpos_r.sources("train", "pl") == [Source(ud, tb, "train", tag="ud27") for tb in ("pl_lfg", "pl_pdb")]
    assert [s.config for s in udpos_r.sources("validation", "lt")] == ["lt_alksnis"]
    assert [s.config for s in udpos_r.sources("train", "lt")] == ["lt_alksnis", "lt_hse"]
    assert udpos_r.sources("test", "de") == get_task("udpos").sources("test", "de")
    assert panx_r.sources("test", "uk") == [Source("unimelb-nlp/wikiann", "uk", "test")]
    assert panx_r.sources("validation", "de") == [Source("google/xtreme", "PAN-X.de", "validation")]


def test_ud27_tags_map_by_name_and_drop_multiword_ranges():
    from adapterstilts.data.loading import SAMPLES_DIR
    from adapterstilts.tasks.xtreme import UPOS
    from adapterstilts.tasks.xtreme_r import UD27_UPOS

    raw = [json.loads(line) for line in
           (SAMPLES_DIR / "universal-dependencies__universal_dependencies/pl_lfg/test.jsonl").read_text().splitlines()]
    row = next(r for r in raw if "kupiłem" in r["tokens"])  # "kupiłem" = kupił + em: a range row, upos "_"
    assert UD27_UPOS[row["upos"][1]] == "_" and row["head"][1] == "None"
    got = [r for r in load_examples(get_task("udpos_r"), "test", "pl", "sample") if r["tokens"][0] == "Wczoraj"][0]
    assert got["tokens"] == ["Wczoraj", "kupił", "em", "chleb", "."]
    assert [UPOS[t] for t in got["tags"]] == ["ADV", "VERB", "AUX", "NOUN", "PUNCT"]
    assert UD27_UPOS.index("NOUN") == 0 and UPOS.index("NOUN") == 7  # the two ClassLabel orders really differ
    uk = load_examples(get_task("udpos_r"), "test", "uk", "sample")
    assert uk[0]["tokens"][0] == "Марія" and UPOS[uk[0]["tags"][0]] == "PROPN"


def test_ud27_unknown_tag_is_one_line(tmp_path):
    folder = tmp_path / "universal-dependencies__universal_dependencies" / "uk_iu"
    folder.mkdir(parents=True)
    row = {"idx": "1", "text": "Так .", "tokens": ["Так", "."], "lemmas": ["так", "."], "upos": ["YES", "PUNCT"],
           "xpos": [None, None], "feats": ["None"] * 2, "head": ["0", "1"], "deprel": ["root", "punct"],
           "deps": ["None"] * 2, "misc": ["None"] * 2}
    (folder / "test.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_examples(get_task("udpos_r"), "test", "uk", str(tmp_path))
    assert "'YES' is not a UPOS tag" in str(err.value) and "\n" not in str(err.value)


def test_panx_r_new_languages_read_wikiann_rows():
    from adapterstilts.tasks.xtreme import PANX_TAGS

    rows = load_examples(get_task("panx_r"), "test", "uk", "sample")
    first = rows[0]
    assert first["tokens"][:2] == ["Тарас", "Шевченко"] and [PANX_TAGS[t] for t in first["tags"]][:2] == ["B-PER", "I-PER"]


# -------------------------------------------------------------------------- SIQA, then COPA (XCOPA)
def test_siqa_labels_are_strings_one_to_three(tmp_path):
    siqa = get_task("siqa")
    assert siqa.kind == "intermediate" and siqa.format == "multiple_choice" and siqa.max_length == 128
    assert siqa.sources("train", "en") == [Source("allenai/social_i_qa", None, "train")]
    rows = load_examples(siqa, "train", "en", "sample")
    first = rows[0]
    assert first["question"] == "Jordan helped Skylar carry the heavy boxes. How would Skylar feel as a result?"
    assert first["choices"][first["label"]] == "grateful and relieved" and len(first["choices"]) == 3
    folder = tmp_path / "allenai__social_i_qa" / "default"
    folder.mkdir(parents=True)
    row = {"context": "A.", "question": "Why?", "answerA": "x", "answerB": "y", "answerC": "z", "label": "3\n"}
    (folder / "validation.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert load_examples(siqa, "validation", "en", str(tmp_path))[0]["label"] == 2  # "3\n" (older copies) -> 2
    row["label"] = "4"
    (folder / "validation.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="label '4'"):
        load_examples(siqa, "validation", "en", str(tmp_path))


def test_xcopa_trains_on_top_of_siqa_as_xtreme_r_does(tiny_model_dir, tmp_path, sample_run):
    from safetensors.torch import load_file

    siqa_run, siqa_result = sample_run("siqa")  # LoRA, 2 steps, evaluated on SIQA validation
    assert siqa_run.manifest["task"] == "siqa" and 0 <= siqa_result["languages"]["en"]["accuracy"] <= 100
    kw = dict(model=str(tiny_model_dir), data="sample", max_steps=2, batch_size=4, max_length=128, progress=False)
    siqa_full = train(TrainConfig(task="siqa", output=str(tmp_path / "siqa"), method="full", lr=1e-3, **kw), log=lambda m: None)
    copa = train(TrainConfig(task="xcopa", output=str(tmp_path / "xcopa"), method="full", lr=1e-3, compose="continue",
                             intermediates=[str(siqa_full.path)], **kw), log=lambda m: None)
    # the XCOPA encoder starts from the SIQA-trained one and keeps training
    start = load_file(str(siqa_full.module_dir / "model.safetensors"))
    end = load_file(str(copa.module_dir / "model.safetensors"))
    assert start.keys() == end.keys() and any(not torch.equal(start[k], end[k]) for k in start)
    result = evaluate_run(copa.path, languages="all", data="sample", log=lambda m: None)
    assert len(result["languages"]) >= 3 and all(0 <= s["accuracy"] <= 100 for s in result["languages"].values())
    # the suite's protocol and the bundled recipe say the same two stages
    from adapterstilts.experiments.recipe import load_recipe

    protocol = get_suite("xtreme-r").task("xcopa").protocol
    recipe = load_recipe(protocol.recipe)
    assert protocol.before == ("siqa",) and protocol.compose == "continue" and protocol.effective_batch == 32
    assert recipe["intermediates"] == ["siqa"] and recipe["targets"] == ["xcopa"] and recipe["compose"] == "continue"
    assert recipe["method"] == "full"
    for phase, task in (("intermediate", "siqa"), ("target", "xcopa")):  # train_xcopa.sh, both stages
        settings = recipe.settings(phase, task)
        assert (settings["lr"], settings["epochs"], settings["batch_size"], settings["grad_accum"],
                settings["max_length"]) == (3e-5, 5.0, 2, 16, 128), phase


# ---------------------------------------------------------------------------------------------- the suite
PER_LANGUAGE = {
    "xnli": {"en": {"accuracy": 90.0}, "sw": {"accuracy": 70.0}},  # 80
    "xcopa": {"ht": {"accuracy": 60.0}, "zh": {"accuracy": 70.0}},  # 65
    "udpos_r": {"en": {"f1": 96.0}, "uk": {"f1": 60.0}},  # 78
    "panx_r": {"en": {"f1": 84.0}, "qu": {"f1": 60.0}},  # 72
    "xquad_ro": {"en": {"f1": 88.0, "exact_match": 78.0}, "ro": {"f1": 72.0, "exact_match": 62.0}},  # (70 + 80) / 2 = 75
    "mlqa": {"en": {"f1": 80.0, "exact_match": 70.0}},  # 75
    "tydiqa": {"en": {"f1": 70.0, "exact_match": 60.0}},  # 65
    "tatoeba_r": {"uk": {"accuracy": 50.0}, "de": {"accuracy": 90.0}},  # 70
    "mewslix": {"ar": {"map@20": 40.0, "num_queries": 3}, "ja": {"map@20": 20.0, "num_queries": 5}},  # 30
    "lareqa": {"en": {"map@20": 40.0}, "th": {"map@20": 30.0}},  # 35
}


def test_xtreme_r_aggregate_equals_hand_computation():
    suite = get_suite("xtreme-r")
    result = suite.aggregate(PER_LANGUAGE)
    assert result.tasks == approx({"xnli": 80.0, "xcopa": 65.0, "udpos_r": 78.0, "panx_r": 72.0, "xquad_ro": 75.0,
                                   "mlqa": 75.0, "tydiqa": 65.0, "tatoeba_r": 70.0, "mewslix": 30.0, "lareqa": 35.0})
    # groups as evaluate.py XTREME_R_GROUP2TASK: xcopa in classification and multi_choice; lareqa in none
    assert result.groups == approx({"classification": 72.5, "tagging": 75.0, "qa": 215 / 3, "retrieval": 50.0,
                                    "multi_choice": 65.0})
    assert result.overall == approx(645 / 10)  # 80+65+78+72+75+75+65+70+30+35 = 645
    assert "mAP@20" in result.description and "(EM + F1) / 2" in result.description
    partial = suite.aggregate({k: v for k, v in PER_LANGUAGE.items() if k != "lareqa"})
    assert partial.overall is None and partial.missing == ("lareqa",)
    assert set(partial.groups) == {"classification", "tagging", "qa", "retrieval", "multi_choice"}


def test_suite_membership():
    suite = get_suite("xtreme-r")
    assert len(suite.names) == 10 and "pawsx" not in suite and "bucc2018" not in suite
    assert suites_of("xcopa") == ("xtreme-r",) and {"xtreme", "xtreme-r"} <= set(suites_of("xnli"))
    for name in suite.names:
        assert get_task(name).eval_split == suite.task(name).protocol.eval_split, name


# ---------------------------------------------------------------------------------------- local data errors
@pytest.mark.parametrize("task, needle", [("mewslix", "download_mewslix"), ("lareqa", "sentence_breaks")])
def test_hub_refused_with_one_line_saying_where_to_get_the_data(task, needle):
    with pytest.raises(UserError) as err:
        load_examples(get_task(task), "validation", "en", "hub")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_missing_and_malformed_local_data_one_line(tmp_path):
    with pytest.raises(UserError) as err:
        load_examples(get_task("mewslix"), "validation", "ar", str(tmp_path))
    assert "wikinews_mentions/dev-ar.json" in str(err.value) and "\n" not in str(err.value)
    folder = tmp_path / "lareqa" / "xquad-r"
    folder.mkdir(parents=True)
    for lang in get_task("lareqa").languages:
        (folder / f"{lang}.json").write_text(json.dumps([{"title": "t", "paragraphs": []}]))
    with pytest.raises(UserError) as err:
        load_examples(get_task("lareqa"), "validation", "en", str(tmp_path))
    assert "not XQuAD-R SQuAD-format JSON" in str(err.value) and "\n" not in str(err.value)
