"""Tasks: registry contents, Hub sources, bundled samples in the Hub's schema, canonical columns."""
from __future__ import annotations

import json
import shutil
from functools import lru_cache
from pathlib import Path

import pytest
from datasets import ClassLabel, List, Value

from adapterstilts.data.loading import LOCAL_SUFFIXES, SAMPLES_DIR, load_examples, local_file
from adapterstilts.errors import UserError
from adapterstilts.languages import get_language
from adapterstilts.tasks import TASKS, Source, get_task
from adapterstilts.tasks.intermediate import CCG_SUPERTAGS, NLI_LABELS
from adapterstilts.tasks.xglue import NC_CATEGORIES, NER_TAGS, WPR_RELEVANCE
from adapterstilts.tasks.xtreme import PANX_TAGS, UPOS
from adapterstilts.tasks.xtreme_r import UD27_UPOS

SUPPORTED = [name for name, cls in TASKS.items() if not cls.unsupported]  # generation tasks are listed only
INTERMEDIATE = {"anli_plus", "mnli", "qqp", "squad", "squad_v2", "hellaswag", "cosmosqa", "commonsenseqa", "ccg", "siqa"}
TARGETS = {"xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"}  # XTREME
XTREME_R = {"xcopa", "xquad_ro", "tatoeba_r", "mewslix", "lareqa", "udpos_r", "panx_r"}  # the XTREME-R tasks XTREME lacks
TRANSLATED = {"mnli_translated", "squad_translated"}  # English + translate-train intermediate data (tasks/translated.py)
XGLUE = {"xglue_ner", "xglue_pos", "xglue_nc", "xglue_pawsx", "xglue_qadsm", "xglue_wpr", "xglue_qam"}
LISTED_ONLY = {"xglue_qg", "xglue_ntg"}  # generation: registered for listings, refused by get_task
NON_LATIN = {"ar", "zh", "hi", "ru"}  # the XTREME targets' samples hold one of these
FORMATS = {"classification", "qa", "multiple_choice", "tagging", "retrieval", "dual_encoder",
           "generation"}  # generation: listed only
METRICS = {"accuracy", "accuracy_f1", "squad", "squad_v2", "mlqa", "token_accuracy", "seqeval_f1", "bucc_f1", "tatoeba_accuracy",
           "map_at_20", "xglue_pos", "xglue_ndcg"}
MAX_LENGTH = {"xcopa": 128, "mewslix": 64, "siqa": 128}  # the official scripts' MAXL / MAX_SEQ_LEN (tasks/xtreme_r.py)
MIN_CHOICES = {"xcopa": 2, "siqa": 3}  # XCOPA has two alternatives; the other multiple-choice tasks at least four
OPTIONAL_COLUMNS = {"classification": {"group"}}  # formats/classification.py: the list a row belongs to (WPR)


def non_latin(languages) -> set[str]:
    return {lang for lang in languages if get_language(lang).script != "Latin"}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@lru_cache(maxsize=None)
def examples(name: str, split: str, language: str):
    return load_examples(get_task(name), split, language, "sample")


@lru_cache(maxsize=None)
def _sample_languages(name: str, split: str) -> tuple[str, ...]:
    task, found = get_task(name), []
    for language in dict.fromkeys((task.train_language, *task.languages)):
        try:
            sources = task.sources(split, language)
        except UserError:
            continue
        if all(local_file(SAMPLES_DIR, s) is not None for s in sources):
            try:
                examples(name, split, language)
            except UserError:  # the file holds no rows of this language (XNLI, TyDiQA mix languages)
                continue
            found.append(language)
    return tuple(found)


def sample_languages(task, split: str) -> list[str]:
    """Languages with bundled sample rows for ``split`` (every source file present, rows left after filters)."""
    return list(_sample_languages(task.name, split))


# ------------------------------------------------------------------------------------ registry
def test_registry_holds_exactly_the_expected_tasks():
    assert len((INTERMEDIATE - {"siqa"}) | TARGETS) == 18  # the original intermediate x XTREME grid
    assert set(TASKS.names()) == INTERMEDIATE | TARGETS | XTREME_R | XGLUE | TRANSLATED | LISTED_ONLY
    assert set(SUPPORTED) == set(TASKS.names()) - LISTED_ONLY
    for name in SUPPORTED:
        task = get_task(name)
        assert task.kind == ("intermediate" if name in INTERMEDIATE | TRANSLATED else "target")
        assert task.format in FORMATS - {"generation"} and task.metric in METRICS
        assert task.description and "\n" not in task.description
        assert task.max_length == MAX_LENGTH.get(name, {"qa": 384, "retrieval": 512}.get(task.format, 256)), name
        assert task.eval_split in ("validation", "test")
        assert task.train_language == "en"
        if task.format in ("classification", "tagging"):
            assert task.num_labels >= 2 and len(set(task.labels)) == task.num_labels
        if task.format == "dual_encoder":
            assert 0 < task.max_query_length <= task.max_length, name


def test_registered_formats_and_metrics_are_the_declared_ones():
    from adapterstilts.formats import FORMATS as FORMAT_REGISTRY
    from adapterstilts.metrics import METRICS as METRIC_REGISTRY

    assert set(FORMAT_REGISTRY.names()) == FORMATS - {"retrieval", "generation"}  # retrieval: evaluation/retrieval.py
    assert set(METRIC_REGISTRY.names()) == METRICS


def test_listed_only_tasks_are_refused_in_one_line():
    for name in LISTED_ONLY:
        cls = TASKS.get(name)
        assert cls.format == "generation" and cls.kind == "target" and cls.languages
        assert cls.unsupported and "\n" not in cls.unsupported and name in cls.unsupported
        with pytest.raises(UserError) as err:
            get_task(name)
        assert str(err.value) == cls.unsupported


def test_declared_labels_metrics_and_languages():
    assert get_task("panx").labels == ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
    assert get_task("udpos").labels[:3] == ("ADJ", "ADP", "ADV") and len(UPOS) == 17
    assert get_task("xnli").labels == get_task("mnli").labels == get_task("anli_plus").labels == NLI_LABELS
    assert get_task("ccg").labels[0] == "<unk>"
    assert get_task("squad_v2").no_answer and not get_task("squad").no_answer
    assert {get_task(n).metric for n in ("xquad", "tydiqa")} == {"squad"} and get_task("mlqa").metric == "mlqa"
    assert get_task("qqp").metric == "accuracy_f1" and get_task("panx").metric == get_task("udpos").metric == "seqeval_f1"
    assert len(get_task("panx").languages) == 40 and len(get_task("udpos").languages) == 33
    assert len(get_task("tatoeba").languages) == 35 and "te" not in get_task("tatoeba").languages
    assert len(get_task("xnli").languages) == 15


# ------------------------------------------------------------------------------------- sources
@pytest.mark.parametrize("name, split, language, expected", [
    ("mnli", "validation", "en", [Source("nyu-mll/glue", "mnli", "validation_matched")]),
    ("xnli", "train", "en", [Source("nyu-mll/glue", "mnli", "train", tag="mnli")]),
    ("xnli", "test", "sw", [Source("google/xtreme", "XNLI", "test", keep=(("language", "sw"),), tag="xnli")]),
    ("pawsx", "train", "en", [Source("google/xtreme", "PAWS-X.en", "train")]),
    ("udpos", "test", "kk", [Source("google/xtreme", "udpos.Kazakh", "test")]),
    ("panx", "validation", "my", [Source("google/xtreme", "PAN-X.my", "validation")]),
    ("xquad", "train", "en", [Source("rajpurkar/squad", None, "train", tag="squad")]),
    ("mlqa", "test", "vi", [Source("google/xtreme", "MLQA.vi.vi", "test")]),
    ("tydiqa", "validation", "bn", [Source("google/xtreme", "tydiqa", "validation", tag="bengali")]),
    ("bucc2018", "test", "fr", [Source("google/xtreme", "bucc18.fr", "test")]),
    ("tatoeba", "validation", "fa", [Source("google/xtreme", "tatoeba.pes", "validation")]),
    ("tatoeba", "validation", "zh", [Source("google/xtreme", "tatoeba.cmn", "validation")]),
])
def test_sources_name_the_hub_dataset_config_and_split(name, split, language, expected):
    assert get_task(name).sources(split, language) == expected


def test_anli_plus_mixes_three_datasets_and_drops_unlabelled_snli():
    sources = get_task("anli_plus").sources("train", "en")
    assert [(s.dataset, s.split) for s in sources] == [
        ("facebook/anli", "train_r1"), ("facebook/anli", "train_r2"), ("facebook/anli", "train_r3"),
        ("stanfordnlp/snli", "train"), ("nyu-mll/glue", "train")]
    assert sources[3].drop == (("label", -1),)
    assert [s.split for s in get_task("anli_plus").sources("validation", "en")] == ["dev_r1", "dev_r2", "dev_r3"]


@pytest.mark.parametrize("name, split, language, needle", [
    ("xnli", "test", "ja", "no language 'ja'"),
    ("squad", "validation", "de", "no language 'de'"),
    ("squad", "test", "en", "no 'test' split"),
    ("mnli", "test", "en", "hidden"),
    ("commonsenseqa", "test", "en", "--split"),
    ("xquad", "test", "en", "--split validation"),
    ("xquad", "train", "de", "only in English"),
    ("udpos", "validation", "th", "udpos.Thai has no 'validation'"),
    ("bucc2018", "train", "de", "no training data"),
    ("bucc2018", "test", "en", "non-English"),
    ("tatoeba", "validation", "te", "Telugu"),
    ("tydiqa", "test", "ar", "--split validation"),
    ("panx", "dev", "en", "unknown split"),
])
def test_bad_split_or_language_is_a_one_line_user_error(name, split, language, needle):
    with pytest.raises(UserError) as err:
        get_task(name).sources(split, language)
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_load_examples_rejects_a_language_the_task_lacks():
    with pytest.raises(UserError, match="no language 'ja'"):
        load_examples(get_task("xnli"), "test", "ja", "sample")
    with pytest.raises(UserError, match="no language 'de'"):
        load_examples(get_task("hellaswag"), "validation", "de", "sample")


def test_ccg_from_the_hub_asks_for_local_licensed_data():
    with pytest.raises(UserError) as err:
        load_examples(get_task("ccg"), "train", "en", "hub")
    message = str(err.value)
    assert "LDC2005T13" in message and "--data DIR" in message and "ccgbank/default" in message


# ---------------------------------------------------------------------------- samples: coverage
def test_every_task_has_train_and_eval_samples():
    for name in SUPPORTED:
        task = get_task(name)
        evals = sample_languages(task, task.eval_split)
        if task.format != "retrieval":
            assert sample_languages(task, "train")[0] == "en", name
        if task.kind == "intermediate":
            assert evals == ["en"], name
        else:  # at least three languages, one of them in a non-Latin script where the task has one
            assert len(evals) >= 3, (name, evals)
            if name in TARGETS:
                assert NON_LATIN & set(evals), (name, evals)
            if non_latin(task.languages):  # XGLUE NER / PAWS-X / QADSM / QAM are Latin-only
                assert non_latin(evals), (name, evals)


def _eval_cases():
    for name in sorted(SUPPORTED):
        task = get_task(name)
        for split in ("train", task.eval_split):
            for language in sample_languages(task, split):
                yield name, split, language


@pytest.mark.parametrize("name, split, language", list(_eval_cases()))
def test_samples_load_into_valid_canonical_columns(name, split, language):
    task = get_task(name)
    ds = examples(name, split, language)
    assert len(ds) >= 4
    rows = ds.to_list()
    expected = {
        "classification": {"text_a", "text_b", "label"},
        "qa": {"id", "question", "context", "answers"},
        "multiple_choice": {"id", "question", "choices", "label"},
        "tagging": {"tokens", "tags"},
        "retrieval": {"source_sentence", "target_sentence"},
        "dual_encoder": {"role", "id", "text", "positive", "relevant"},  # formats/dual_encoder.py
    }[task.format]
    assert expected <= set(ds.column_names) <= expected | OPTIONAL_COLUMNS.get(task.format, set())
    if task.format == "dual_encoder":
        check_dual_encoder_rows(rows, split)
    for row in rows:
        if task.format == "classification":
            assert row["text_a"].strip() and row["text_b"].strip() and 0 <= row["label"] < task.num_labels
        elif task.format == "qa":
            texts, starts = row["answers"]["text"], row["answers"]["answer_start"]
            assert len(texts) == len(starts) and (texts or task.no_answer)
            for text, start in zip(texts, starts):
                assert text and row["context"][start:start + len(text)] == text
        elif task.format == "multiple_choice":
            assert len(row["choices"]) >= MIN_CHOICES.get(name, 4) and 0 <= row["label"] < len(row["choices"])
            assert row["question"].strip()
        elif task.format == "tagging":
            assert row["tokens"] and len(row["tokens"]) == len(row["tags"])
            assert all(0 <= t < task.num_labels for t in row["tags"])
        elif task.format == "retrieval":
            for key in ("source_sentence", "target_sentence"):
                assert row[key] and row[key] == row[key].strip()
    if task.format == "qa":
        assert len({r["id"] for r in rows}) == len(rows)
    if task.format in ("classification", "multiple_choice") and split == "train":
        assert len({r["label"] for r in rows}) > 1  # every class seen in training


def check_dual_encoder_rows(rows: list[dict], split: str) -> None:
    """Training: query/positive pairs. Evaluation: queries and candidates, every query's relevant
    keys naming at least one candidate (by its id or by a key the candidate lists)."""
    for row in rows:
        assert row["id"] and row["text"].strip(), row
    if split == "train":
        assert all(r["role"] == "pair" and r["positive"].strip() and not r["relevant"] for r in rows)
        return
    queries = [r for r in rows if r["role"] == "query"]
    candidates = [r for r in rows if r["role"] == "candidate"]
    assert queries and candidates and len(queries) + len(candidates) == len(rows)
    assert all(not r["positive"] for r in rows)
    assert len({c["id"] for c in candidates}) == len(candidates)
    known = {c["id"] for c in candidates} | {key for c in candidates for key in c["relevant"]}
    for q in queries:
        assert q["relevant"] and set(q["relevant"]) & known, q


def test_sample_label_cues_are_balanced():
    for name in ("mnli", "qqp", "pawsx", "hellaswag", "commonsenseqa"):
        labels = [r["label"] for r in examples(name, "train", "en").to_list()]
        counts = [labels.count(v) for v in set(labels)]
        assert max(counts) - min(counts) <= 4, name


# ------------------------------------------------------------------------ label mapping details
def test_xnli_string_gold_labels_map_to_mnli_ids():
    rows = examples("xnli", "test", "de").to_list()
    assert rows[2] == {"text_a": "Ein Koch schneidet Gemüse in der Küche.", "text_b": "Niemand schneidet Gemüse.",
                       "label": NLI_LABELS.index("contradiction")}
    raw = [r for r in read_jsonl(SAMPLES_DIR / "google__xtreme/XNLI/test.jsonl") if r["language"] == "de"]
    assert [r["label"] for r in rows] == [NLI_LABELS.index(r["gold_label"]) for r in raw]
    assert {r["gold_label"] for r in raw} == set(NLI_LABELS)
    assert all(r["label"] == 0 for r in rows if r["text_b"].startswith("Jemand"))  # entailment = 0 as in MNLI


def test_xnli_unknown_gold_label_is_a_user_error(tmp_path):
    folder = tmp_path / "google__xtreme" / "XNLI"
    folder.mkdir(parents=True)
    row = {"language": "en", "sentence1": "A.", "sentence2": "B.", "gold_label": "contradictory"}
    (folder / "test.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="contradictory"):
        load_examples(get_task("xnli"), "test", "en", str(tmp_path))


def test_snli_rows_without_gold_label_are_dropped_in_anli_plus():
    snli = read_jsonl(SAMPLES_DIR / "stanfordnlp__snli/default/train.jsonl")
    unlabelled = sum(r["label"] == -1 for r in snli)
    assert unlabelled > 0  # the sample really holds -1 rows
    raw_total = sum(len(read_jsonl(local_file(SAMPLES_DIR, s))) for s in get_task("anli_plus").sources("train", "en"))
    rows = examples("anli_plus", "train", "en").to_list()
    assert len(rows) == raw_total - unlabelled
    assert all(r["label"] in (0, 1, 2) for r in rows)
    kept = {(r["premise"], r["hypothesis"]) for r in snli if r["label"] != -1}
    dropped = {(r["premise"], r["hypothesis"]) for r in snli if r["label"] == -1}
    pairs = {(r["text_a"], r["text_b"]) for r in rows}
    assert kept <= pairs and not (dropped - kept) & pairs


def test_pawsx_string_labels_become_ints():
    raw = read_jsonl(SAMPLES_DIR / "google__xtreme/PAWS-X.zh/test.jsonl")
    assert {r["label"] for r in raw} == {"0", "1"}
    assert [r["label"] for r in examples("pawsx", "test", "zh").to_list()] == [int(r["label"]) for r in raw]


def test_multiple_choice_labels_point_at_the_gold_choice():
    raw = read_jsonl(SAMPLES_DIR / "tau__commonsense_qa/default/validation.jsonl")
    for r, c in zip(raw, examples("commonsenseqa", "validation", "en").to_list()):
        assert c["choices"][c["label"]] == r["choices"]["text"]["ABCDE".index(r["answerKey"])]
    raw = read_jsonl(SAMPLES_DIR / "Rowan__hellaswag/default/train.jsonl")
    for r, c in zip(raw, examples("hellaswag", "train", "en").to_list()):
        assert isinstance(r["label"], str) and c["label"] == int(r["label"])
        assert c["choices"][c["label"]].endswith(r["endings"][int(r["label"])]) and c["question"] == r["ctx_a"]


def test_tydiqa_selects_languages_by_id_prefix():
    raw = read_jsonl(SAMPLES_DIR / "google__xtreme/tydiqa/train.jsonl")
    english = [r["id"] for r in raw if r["id"].startswith("english-")]
    assert 0 < len(english) < len(raw)  # the sample mixes languages
    assert examples("tydiqa", "train", "en")["id"] == english
    assert all(i.startswith("arabic-") for i in examples("tydiqa", "validation", "ar")["id"])


def test_tagging_ids_keep_the_hub_classlabel_order():
    row = examples("panx", "test", "zh").to_list()[0]
    assert [PANX_TAGS[t] for t in row["tags"]][:2] == ["B-PER", "I-PER"] and len(row["tokens"][0]) == 1
    assert max(len(r["tokens"]) for r in examples("panx", "train", "en").to_list()) >= 50
    udpos = examples("udpos", "test", "de").to_list()
    assert any([UPOS[t] for t in r["tags"]][-1] == "PUNCT" for r in udpos)


def test_ccg_maps_category_strings_and_unknown_categories(tmp_path):
    rows = examples("ccg", "train", "en").to_list()
    first = read_jsonl(SAMPLES_DIR / "ccgbank/default/train.jsonl")[0]
    assert [CCG_SUPERTAGS[t] for t in rows[0]["tags"]] == first["tags"]
    assert any(0 in r["tags"] for r in rows)  # ((S[b]\NP)/PP)/NP is outside the inventory -> <unk>
    folder = tmp_path / "ccgbank" / "default"
    folder.mkdir(parents=True)
    (folder / "train.jsonl").write_text(json.dumps({"tokens": ["Hi", "."], "tags": ["N", 6]}) + "\n", encoding="utf-8")
    assert load_examples(get_task("ccg"), "train", "en", str(tmp_path))[0]["tags"] == [CCG_SUPERTAGS.index("N"), 6]
    (folder / "train.jsonl").write_text(json.dumps({"tokens": ["Hi", "."], "tags": ["N"]}) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="1 tags"):
        load_examples(get_task("ccg"), "train", "en", str(tmp_path))


def test_retrieval_strips_the_loaders_trailing_newlines():
    raw = read_jsonl(SAMPLES_DIR / "google__xtreme/tatoeba.ara/validation.jsonl")
    assert raw[0]["source_sentence"].endswith("\n")
    assert examples("tatoeba", "validation", "ar")[0]["source_sentence"] == raw[0]["source_sentence"].strip()


# ------------------------------------------------------------------------ local data directory
@pytest.mark.parametrize("name, split, language", [
    ("xnli", "test", "ar"), ("squad_v2", "validation", "en"), ("panx", "test", "hi"), ("tatoeba", "validation", "zh"),
    ("anli_plus", "train", "en"), ("tydiqa", "validation", "ru"),
])
def test_data_dir_with_a_copied_sample_tree_loads_the_same_rows(tmp_path, name, split, language):
    copy = tmp_path / "data"
    shutil.copytree(SAMPLES_DIR, copy)
    assert load_examples(get_task(name), split, language, str(copy)).to_list() == examples(name, split, language).to_list()


# --------------------------------------------------------------------------- Hub schema of files
S, I32, BOOL = Value("string"), Value("int32"), Value("bool")
NS = Value("string", id="nullable")  # the Hub's conllu parse gives null xpos on multiword-token rows
SQUAD = {"text": List(S), "answer_start": List(I32)}
NLI = ClassLabel(names=list(NLI_LABELS))
RETRIEVAL = {"source_sentence": S, "target_sentence": S, "source_lang": S, "target_lang": S}
QA = {"id": S, "title": S, "context": S, "question": S, "answers": SQUAD}
COPA = {"premise": S, "choice1": S, "choice2": S, "question": S}
SPAN = {"start": I32, "end": I32}
MEWSLIX_ENTITY = {"entity_id": S, "title": S, "description": S, "sentence_spans": List(SPAN), "description_language": S,
                  "description_url": S}
MEWSLIX_CONTEXT = {"document_title": S, "document_url": S, "document_id": S, "language": S, "text": S,
                   "sentence_spans": List(SPAN)}
MEWSLIX_MENTION = {"example_id": S, "mention_span": {**SPAN, "text": S}, "entity_id": S}
# (dataset folder, config prefix[, split prefix]) -> features of the Hub dataset (from its dataset card / loader)
HUB_FEATURES = {
    ("nyu-mll__glue", "mnli"): {"premise": S, "hypothesis": S, "label": NLI, "idx": I32},
    ("nyu-mll__glue", "qqp"): {"question1": S, "question2": S, "label": ClassLabel(names=["not_duplicate", "duplicate"]), "idx": I32},
    ("facebook__anli", "default"): {"uid": S, "premise": S, "hypothesis": S, "label": NLI, "reason": S},
    ("stanfordnlp__snli", "default"): {"premise": S, "hypothesis": S, "label": NLI},
    ("rajpurkar__squad", "default"): QA,
    ("rajpurkar__squad_v2", "default"): QA,
    ("Rowan__hellaswag", "default"): {"ind": I32, "activity_label": S, "ctx_a": S, "ctx_b": S, "ctx": S, "endings": List(S),
                                      "source_id": S, "split": S, "split_type": S, "label": S},
    ("allenai__cosmos_qa", "default"): {"id": S, "context": S, "question": S, "answer0": S, "answer1": S, "answer2": S,
                                        "answer3": S, "label": I32},
    ("tau__commonsense_qa", "default"): {"id": S, "question": S, "question_concept": S, "choices": {"label": List(S), "text": List(S)},
                                         "answerKey": S},
    ("ccgbank", "default"): {"id": S, "tokens": List(S), "tags": List(S)},  # our documented local layout
    ("google__xtreme", "XNLI"): {"language": S, "sentence1": S, "sentence2": S, "gold_label": S},
    ("google__xtreme", "PAWS-X."): {"sentence1": S, "sentence2": S, "label": S},
    ("google__xtreme", "udpos."): {"tokens": List(S), "pos_tags": List(ClassLabel(names=list(UPOS)))},
    ("google__xtreme", "PAN-X."): {"tokens": List(S), "ner_tags": List(ClassLabel(names=list(PANX_TAGS))), "langs": List(S)},
    ("google__xtreme", "XQuAD."): {"id": S, "context": S, "question": S, "answers": {"answer_start": List(I32), "text": List(S)}},
    ("google__xtreme", "MLQA."): {**QA, "answers": {"answer_start": List(I32), "text": List(S)}},
    ("google__xtreme", "tydiqa"): {**QA, "answers": {"answer_start": List(I32), "text": List(S)}},
    ("google__xtreme", "bucc18."): RETRIEVAL,
    ("google__xtreme", "tatoeba."): RETRIEVAL,
    # XTREME-R (tasks/xtreme_r.py): COPA / XCOPA / XQuAD's Hub features
    ("aps__super_glue", "copa"): {**COPA, "idx": I32, "label": ClassLabel(names=["choice1", "choice2"])},
    ("cambridgeltl__xcopa", ""): {**COPA, "label": I32, "idx": I32, "changed": BOOL},
    ("google__xquad", "xquad."): {"id": S, "context": S, "question": S, "answers": SQUAD},
    # Mewsli-X: not on the Hub; the JSON lines XTREME's download_mewslix writes (top-level files: config ".")
    ("mewslix", ".", "candidate_set_entities"): MEWSLIX_ENTITY,
    ("mewslix", ".", "wikipedia_pairs-"): {"contextual_mention": {"context": MEWSLIX_CONTEXT, "mention": MEWSLIX_MENTION},
                                           "entity": MEWSLIX_ENTITY},
    ("mewslix", "wikinews_mentions"): {"context": MEWSLIX_CONTEXT, "mentions": List(MEWSLIX_MENTION)},
    # LAReQA: XQuAD-R's released SQuAD-format JSON with sentence_breaks (one document per language file)
    ("lareqa", "xquad-r"): {"version": S, "data": List({"title": S, "paragraphs": List({
        "context": S, "sentence_breaks": List(List(I32)),
        "qas": List({"id": S, "question": S, "answers": List({"text": S, "answer_start": I32})})})})},
    # XGLUE: microsoft/xglue's loading script (tests/test_xglue.py XGLUE_SCHEMA, with its ClassLabels)
    ("microsoft__xglue", "ner"): {"words": List(S), "ner": List(ClassLabel(names=list(NER_TAGS)))},
    ("microsoft__xglue", "pos"): {"words": List(S), "pos": List(ClassLabel(names=list(UPOS)))},
    ("microsoft__xglue", "nc"): {"news_title": S, "news_body": S, "news_category": ClassLabel(names=list(NC_CATEGORIES))},
    ("microsoft__xglue", "paws-x"): {"sentence1": S, "sentence2": S, "label": ClassLabel(names=["different", "same"])},
    ("microsoft__xglue", "qadsm"): {"query": S, "ad_title": S, "ad_description": S,
                                    "relevance_label": ClassLabel(names=["Bad", "Good"])},
    ("microsoft__xglue", "wpr"): {"query": S, "web_page_title": S, "web_page_snippet": S,
                                  "relavance_label": ClassLabel(names=list(WPR_RELEVANCE))},
    ("microsoft__xglue", "qam"): {"question": S, "answer": S, "label": ClassLabel(names=["False", "True"])},
    # XTREME-R's extra UD-POS / PAN-X languages (tasks/xtreme_r.py) and SIQA (XCOPA's first stage)
    ("universal-dependencies__universal_dependencies", ""): {
        "idx": S, "text": S, "tokens": List(S), "lemmas": List(S), "upos": List(ClassLabel(names=list(UD27_UPOS))),
        "xpos": List(NS), "feats": List(S), "head": List(S), "deprel": List(S), "deps": List(S), "misc": List(S)},
    ("unimelb-nlp__wikiann", ""): {"tokens": List(S), "ner_tags": List(ClassLabel(names=list(PANX_TAGS))),
                                   "langs": List(S), "spans": List(S)},
    ("allenai__social_i_qa", "default"): {"context": S, "question": S, "answerA": S, "answerB": S, "answerC": S, "label": S},
    # translate-train (tasks/translated.py): facebook/xnli per-language configs; XTREME's SQuAD v1.1 JSON files
    ("facebook__xnli", ""): {"premise": S, "hypothesis": S, "label": NLI},
    ("squad", ""): {"version": S, "data": List({"title": S, "paragraphs": List({
        "context": S, "qas": List({"id": S, "question": S, "answers": List({"text": S, "answer_start": I32})})})})},
}


def sample_files() -> list[Path]:
    """Every bundled data file (JSON lines, and whole-JSON files such as LAReQA's ``<lang>.json``)."""
    return sorted(p for suffix in LOCAL_SUFFIXES for p in SAMPLES_DIR.rglob(f"*{suffix}"))


def file_key(path: Path) -> tuple[str, str, str]:
    """(dataset folder, config, split) of a sample file: ``<dataset>/<config>/<split>.<ext>``, config "."
    for a file directly in the dataset folder (Mewsli-X's official layout)."""
    rel = path.relative_to(SAMPLES_DIR)
    return rel.parts[0], "/".join(rel.parts[1:-1]) or ".", rel.name[:-len(path.suffix)]


def sample_rows(path: Path) -> tuple[list, int]:
    """(records to check against the schema, how many examples they hold): a JSON document counts its
    questions (SQuAD format), a JSON lines file its lines."""
    if path.suffix == ".json":
        document = json.loads(path.read_text(encoding="utf-8"))
        count = sum(len(p["qas"]) for article in document.get("data", []) for p in article.get("paragraphs", []))
        return [document], count
    rows = read_jsonl(path)
    return rows, len(rows)


def conforms(value, feature) -> bool:
    if isinstance(feature, dict):
        return isinstance(value, dict) and set(value) == set(feature) and all(conforms(value[k], f) for k, f in feature.items())
    if isinstance(feature, List):
        return isinstance(value, list) and all(conforms(v, feature.feature) for v in value)
    if isinstance(feature, ClassLabel):
        return type(value) is int and -1 <= value < feature.num_classes
    if feature.dtype == "string":
        return isinstance(value, str) or (value is None and feature.id == "nullable")
    if feature.dtype == "bool":
        return type(value) is bool
    return type(value) is int


def test_every_sample_file_has_its_hub_schema():
    files = sample_files()
    assert len(files) > 50
    for path in files:
        folder, config, split = file_key(path)
        matches = [f for (d, c, *s), f in HUB_FEATURES.items()
                   if d == folder and config.startswith(c) and split.startswith(s[0] if s else "")]
        assert len(matches) == 1, path
        rows, count = sample_rows(path)
        assert 4 <= count <= 64, path
        bad = [r for r in rows if not conforms(r, matches[0])]
        assert not bad, (path, bad[:1])


def test_every_sample_file_is_used_by_some_task():
    used = set()
    for name in SUPPORTED:
        task = get_task(name)
        for split in ("train", "validation", "test"):
            for language in dict.fromkeys((task.train_language, *task.languages)):
                try:
                    sources = task.sources(split, language)
                except UserError:
                    continue
                used |= {local_file(SAMPLES_DIR, s) for s in sources}
        try:  # checkpoint-selection data (Mewsli-X's wikipedia_pairs-dev)
            used |= {local_file(SAMPLES_DIR, s) for s in task.selection_sources()}
        except UserError:
            pass
    assert set(SAMPLES_DIR.rglob("*.jsonl")) <= used
    assert set(sample_files()) <= used


def test_script_datasets_fall_back_to_the_parquet_conversion(monkeypatch):
    """datasets >= 4 refuses loading scripts; the Hub's refs/convert/parquet branch is read instead."""
    import datasets

    from adapterstilts.data import loading as data_module
    from adapterstilts.tasks.base import Source

    calls = []

    def fake_load(path, name=None, **kw):
        calls.append((path, name, kw))
        if kw.get("revision") != "refs/convert/parquet":
            raise RuntimeError("Dataset scripts are no longer supported, but found cosmos_qa.py")
        return datasets.Dataset.from_dict({"x": [1]})

    monkeypatch.setattr(datasets, "load_dataset", fake_load)
    monkeypatch.setattr(data_module, "offline", lambda: True)
    got = data_module._load_hub(Source("allenai/cosmos_qa", None, "train"))
    assert len(got) == 1
    assert calls[-1] == ("allenai/cosmos_qa", None, {"data_dir": "default", "revision": "refs/convert/parquet",
                                                      "split": "train"})
