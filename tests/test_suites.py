"""Suites and the languages table: the XTREME aggregate against numbers worked out by hand (both QA
conventions), partial suites (group scores only for complete groups, no overall), membership, the
protocol behind the recipe defaults, and the per-dataset language names."""
import pytest
from pytest import approx

from adapterstilts.errors import UserError
from adapterstilts.languages import LANGUAGES, TABLE, config_names, get_language
from adapterstilts.suites import SCORE_RULES, SUITES, XTREME, Suite, get_suite, score_rule, suites_of

# -------------------------------------------------------------------------- hand-made per-language table
# task -> language -> metrics. Each task's expected macro average is written next to it.
PER_LANGUAGE = {
    "xnli": {"en": {"accuracy": 90.0}, "de": {"accuracy": 80.0}, "sw": {"accuracy": 64.0}},  # 78
    "pawsx": {"en": {"accuracy": 95.0}, "ja": {"accuracy": 79.0}},  # 87
    "udpos": {"en": {"f1": 96.0, "precision": 1.0, "recall": 1.0}, "yo": {"f1": 60.0, "precision": 1.0, "recall": 1.0}},  # 78
    "panx": {"en": {"f1": 84.0}, "de": {"f1": 78.0}, "my": {"f1": 54.0}},  # 72
    "xquad": {"en": {"f1": 88.0, "exact_match": 78.0}, "th": {"f1": 72.0, "exact_match": 62.0}},  # f1 80, em 70
    "mlqa": {"en": {"f1": 80.0, "exact_match": 67.0}, "hi": {"f1": 70.0, "exact_match": 53.0}},  # f1 75, em 60
    # TyDiQA with squad_v2-style "exact": f1 (70 + 60 + 50) / 3 = 60, em (60 + 45 + 30) / 3 = 45
    "tydiqa": {"en": {"f1": 70.0, "exact": 60.0}, "ko": {"f1": 60.0, "exact": 45.0}, "te": {"f1": 50.0, "exact": 30.0}},
    "bucc2018": {"de": {"f1": 90.0, "precision": 1.0}, "zh": {"f1": 80.0, "precision": 1.0}},  # 85
    "tatoeba": {"de": {"accuracy": 95.0}, "kk": {"accuracy": 55.0}, "te": {"accuracy": 60.0}},  # 70
}
TASK_F1 = {"xnli": 78.0, "pawsx": 87.0, "udpos": 78.0, "panx": 72.0, "xquad": 80.0, "mlqa": 75.0, "tydiqa": 60.0,
           "bucc2018": 85.0, "tatoeba": 70.0}
TASK_EM_F1 = {**TASK_F1, "xquad": (70.0 + 80.0) / 2, "mlqa": (60.0 + 75.0) / 2, "tydiqa": (45.0 + 60.0) / 2}


def test_xtreme_aggregate_official_convention_equals_hand_computation():
    result = XTREME.aggregate(PER_LANGUAGE)  # the suite's own convention: (EM + F1) / 2
    assert result.qa_convention == "em_f1_mean"
    assert result.tasks == approx(TASK_EM_F1)
    # classification (78 + 87) / 2 = 82.5; tagging (78 + 72) / 2 = 75; qa (75 + 67.5 + 52.5) / 3 = 65;
    # retrieval (85 + 70) / 2 = 77.5; overall: (165 + 150 + 195 + 155) / 9 = 665 / 9
    assert result.groups == approx({"classification": 82.5, "tagging": 75.0, "qa": 65.0, "retrieval": 77.5})
    assert result.overall == approx(665 / 9)
    assert result.missing == ()
    assert "(EM + F1) / 2" in result.description and "XTREME score" in result.description


def test_xtreme_aggregate_f1_convention_equals_hand_computation():
    result = XTREME.aggregate(PER_LANGUAGE, qa_convention="f1")
    assert result.tasks == approx(TASK_F1)
    # qa (80 + 75 + 60) / 3 = 71.667; overall (165 + 150 + 215 + 155) / 9 = 685 / 9
    assert result.groups["qa"] == approx(215 / 3)
    assert result.overall == approx(685 / 9)
    assert "QA tasks scored by F1" in result.description


def test_partial_suite_has_group_scores_only_for_complete_groups_and_no_overall():
    partial = {t: PER_LANGUAGE[t] for t in ("xnli", "pawsx", "panx", "xquad", "mlqa", "tydiqa")}
    result = XTREME.aggregate(partial, qa_convention="f1")
    assert result.overall is None
    assert set(result.groups) == {"classification", "qa"}  # udpos and both retrieval tasks are absent
    assert result.groups["classification"] == approx(82.5) and result.groups["qa"] == approx(215 / 3)
    assert result.missing == ("udpos", "bucc2018", "tatoeba")
    assert "needs every task" in result.description and "QA tasks scored by F1" in result.description


def test_aggregate_rejects_bad_input():
    with pytest.raises(UserError, match="not part of suite 'xtreme'"):
        XTREME.aggregate({"mnli": {"en": {"accuracy": 1.0}}})
    with pytest.raises(UserError, match="QA convention"):
        XTREME.aggregate(PER_LANGUAGE, qa_convention="em")
    with pytest.raises(UserError, match="exact_match"):
        XTREME.aggregate({"xquad": {"en": {"f1": 1.0}}}, qa_convention="em_f1_mean")
    with pytest.raises(UserError, match="'accuracy'"):  # XNLI counts by accuracy, not a stray F1
        XTREME.aggregate({"xnli": {"en": {"f1": 1.0}}})


def test_mean_over_is_the_suite_score_only_when_complete():
    means = {t: {k: sum(s[k] for s in langs.values()) / len(langs) for k in ("f1", "accuracy", "exact_match", "exact")
                 if all(k in s for s in langs.values())} for t, langs in PER_LANGUAGE.items()}
    value, description = XTREME.mean_over(means, "em_f1_mean")
    assert value == approx(XTREME.aggregate(PER_LANGUAGE).overall)
    assert "all 9 XTREME tasks" in description and "not the official" not in description
    value, description = XTREME.mean_over({"xnli": means["xnli"], "bucc2018": means["bucc2018"]}, "f1")
    assert value == approx((78.0 + 85.0) / 2)
    assert "2 of the 9" in description and "needs every task" in description


# -------------------------------------------------------------------------- membership and protocol
def test_membership_groups_labels():
    assert get_suite("xtreme") is XTREME and "xtreme" in SUITES
    assert XTREME.group_tasks("classification") == ("xnli", "pawsx")
    assert XTREME.group_tasks("tagging") == ("udpos", "panx")
    assert XTREME.group_tasks("qa") == ("xquad", "mlqa", "tydiqa")
    assert XTREME.group_tasks("retrieval") == ("bucc2018", "tatoeba")
    assert [XTREME.label_of(t) for t in XTREME.names] == ["XNLI", "PAWS-X", "POS", "NER", "XQuAD", "MLQA", "TyDiQA",
                                                           "BUCC", "Tatoeba"]
    assert suites_of("tydiqa") == ("xtreme", "xtreme-r") and suites_of("mnli") == ()
    assert score_rule("xquad") == "qa" and score_rule("panx") == "f1" and score_rule("mnli") is None
    assert XTREME.trained_tasks() == ("xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa")
    with pytest.raises(UserError, match="unknown suite"):
        get_suite("xglue-not-yet")
    with pytest.raises(UserError, match="no group"):
        XTREME.group_tasks("generation")


def test_every_suite_task_is_a_registered_target_with_the_same_eval_split():
    from adapterstilts.tasks import TASKS, get_task

    for name, suite in SUITES.items():
        for t in suite.tasks:
            assert t.name in TASKS, f"suite {name}: {t.name} is not a registered task"
            task = get_task(t.name)
            assert task.kind == "target"
            assert t.protocol.eval_split == task.eval_split, t.name
            assert (t.role == "encoder_only") == (task.format == "retrieval"), t.name


def test_protocol_reproduces_the_recipe_defaults():
    from adapterstilts.experiments.recipe import DEFAULTS

    # the target per_task values as they were written out by hand before suites existed
    expected = {"xnli": {"epochs": 2.0}, "pawsx": {"epochs": 5.0}, "udpos": {"epochs": 10.0}, "panx": {"epochs": 10.0},
                "xquad": {"epochs": 2.0, "batch_size": 4, "grad_accum": 4},
                "mlqa": {"epochs": 2.0, "batch_size": 4, "grad_accum": 4},
                "tydiqa": {"epochs": 2.0, "batch_size": 4, "grad_accum": 4}}
    assert DEFAULTS["target"]["per_task"] == expected
    assert DEFAULTS["targets"] == ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba"]
    assert XTREME.task("xnli").protocol.effective_batch == 32 and XTREME.task("mlqa").protocol.effective_batch == 16


def test_score_rules_are_declared_once_in_base_and_match_each_tasks_metric():
    import ast
    import inspect

    from adapterstilts.metrics import get_metric
    from adapterstilts.suites import base
    from adapterstilts.tasks import get_task

    tree = ast.parse(inspect.getsource(base))
    literal = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", None) == "SCORE_RULES" for t in node.targets))
    assert SCORE_RULES == literal  # no suite module adds a rule at import
    assert set(SCORE_RULES) == {"accuracy", "f1", "qa", "map@20", "ndcg"}
    for name, suite in SUITES.items():
        for t in suite.tasks:
            assert t.score in SCORE_RULES, (name, t.name)
            primary = get_metric(get_task(t.name).metric).primary
            assert primary == ("f1" if t.score == "qa" else t.score), (name, t.name, primary)  # the rule reads a reported key


def test_a_suite_is_validated_when_built():
    from adapterstilts.suites import Group, Protocol, SuiteTask

    task = SuiteTask("xnli", "XNLI", "classification", "accuracy", "fine_tune", Protocol("MNLI", "test", "dev", 2.0))
    with pytest.raises(ValueError, match="unknown group"):
        Suite("s", "S", "", (Group("qa", "question answering"),), (task,))
    with pytest.raises(ValueError, match="twice"):
        Suite("s", "S", "", (Group("classification", "c"),), (task, task))
    untrained = SuiteTask("xnli", "XNLI", "classification", "accuracy", "fine_tune", Protocol(None, "test"))
    with pytest.raises(ValueError, match="training data and epochs"):
        Suite("s", "S", "", (Group("classification", "c"),), (untrained,))


# -------------------------------------------------------------------------- languages
# the per-dataset dictionaries of tasks/xtreme.py as they were written out by hand before the table
UDPOS_BEFORE = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "kk": "Kazakh", "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian",
    "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish", "ur": "Urdu",
    "vi": "Vietnamese", "yo": "Yoruba", "zh": "Chinese",
}
TYDIQA_BEFORE = {"ar": "arabic", "bn": "bengali", "en": "english", "fi": "finnish", "id": "indonesian",
                 "ko": "korean", "ru": "russian", "sw": "swahili", "te": "telugu"}
TATOEBA_BEFORE = {
    "af": "afr", "ar": "ara", "bn": "ben", "bg": "bul", "de": "deu", "zh": "cmn", "el": "ell", "et": "est",
    "eu": "eus", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin", "hu": "hun", "id": "ind", "it": "ita",
    "jv": "jav", "ja": "jpn", "ka": "kat", "kk": "kaz", "ko": "kor", "ml": "mal", "mr": "mar", "nl": "nld",
    "fa": "pes", "pt": "por", "ru": "rus", "es": "spa", "sw": "swh", "ta": "tam", "tl": "tgl", "th": "tha",
    "tr": "tur", "ur": "urd", "vi": "vie",
}
PANX_BEFORE = ("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru "
               "sw ta te th tl tr ur vi yo zh").split()


def test_derived_dataset_names_equal_the_hand_written_ones():
    from adapterstilts.tasks.xtreme import PANX_LANGUAGES, TATOEBA_CONFIG, TYDIQA_NAMES, UDPOS_CONFIG

    assert UDPOS_CONFIG == UDPOS_BEFORE and len(UDPOS_CONFIG) == 33
    assert TYDIQA_NAMES == TYDIQA_BEFORE
    assert TATOEBA_CONFIG == TATOEBA_BEFORE and len(TATOEBA_CONFIG) == 35
    assert list(PANX_LANGUAGES) == PANX_BEFORE
    assert config_names("udpos") == UDPOS_BEFORE
    with pytest.raises(UserError, match="choose one of"):
        config_names("wikiann")


def test_table_covers_every_task_language_with_well_formed_codes():
    from adapterstilts.tasks import TASKS, get_task

    needed = {lang for name in TASKS.names() if not TASKS.get(name).unsupported for lang in get_task(name).languages}
    listed = {lang for _, cls in TASKS.items() for lang in cls.languages}  # listed-only (generation) tasks too
    assert needed - set(LANGUAGES) == set() and listed - set(LANGUAGES) == set()
    assert set(PANX_BEFORE) <= set(LANGUAGES) and len(PANX_BEFORE) == 40
    assert len(LANGUAGES) == len(TABLE)  # no code twice
    assert len({lang.iso3 for lang in TABLE}) == len(TABLE)
    for lang in TABLE:
        assert len(lang.code) == 2 and lang.code.isalpha() and lang.code.islower(), lang
        assert len(lang.iso3) == 3 and lang.iso3.isalpha() and lang.iso3.islower(), lang
        assert lang.tatoeba is None or (len(lang.tatoeba) == 3 and lang.tatoeba.isalpha()), lang
        assert lang.name and lang.family and lang.script, lang
    assert get_language("zh").tatoeba == "cmn" and get_language("zh").iso3 == "zho"
    with pytest.raises(UserError, match="unknown language code"):
        get_language("xx")


def test_xtreme_r_tasks_cover_the_official_language_lists():
    """Every XTREME-R task (under its official folder name) has exactly evaluate.py's
    XTREME_R_TASK2LANGS languages; LAReQA, which has none there, keeps XQuAD-R's 11."""
    from adapterstilts.evaluation.score import OFFICIAL_LANGUAGES
    from adapterstilts.evaluation.score.official import official_names
    from adapterstilts.tasks import get_task

    suite = get_suite("xtreme-r")
    names = official_names(suite)
    assert names == {"udpos_r": "udpos", "panx_r": "panx", "xquad_ro": "xquad", "tatoeba_r": "tatoeba"}
    for task in suite.names:
        official = OFFICIAL_LANGUAGES["xtreme-r"][names.get(task, task)]
        assert set(get_task(task).languages) == (set(official) if official else set(get_task("lareqa").languages)), task
    assert OFFICIAL_LANGUAGES["xtreme-r"]["lareqa"] == () and len(get_task("lareqa").languages) == 11
