"""`adapterstilts score`: official-layout prediction folders scored as google-research/xtreme's
evaluate.py scores them. Expectations are computed here from the official formulas on small inputs
(accuracy = correct / lines; BUCC F1 over sets of id-pair lines; SQuAD EM / token F1 with unanswered
questions at 0; seqeval chunk F1; task = macro mean over the official language list; QA task score
(EM + F1) / 2; group and overall = unweighted means, the overall only when all nine tasks are there).
When a copy of google-research/xtreme is at hand (``XTREME_REPO_GIT``, a git dir), its own mock data
are scored too and compared with the averages its evaluate_test.py asserts (XTREME's nine tasks; XTREME-R's
XNLI, Mewsli-X, MLQA, TyDiQA), read from that file at test time (nothing of it is stored here). Those
averages belong to the exact hand-made files of mock_test_data; any folder that reproduces them would be
a copy of those files, so without a copy the comparison is skipped and the hand-built folders below carry
the formulas in CI. Labels outside a task's label set count as the official comparisons count them
(wrong), and Mewsli-X / LAReQA rankings are scored by utils_mewslix / utils_lareqa's formulas."""
import ast
import json
import os
import subprocess
import tarfile
import io
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from adapterstilts.cli import app
from adapterstilts.errors import UserError
from adapterstilts.evaluation.score import OFFICIAL_LANGUAGES, score_files, score_folder

runner = CliRunner()
LANGS = OFFICIAL_LANGUAGES["xtreme"]
TOL = 1e-9


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _mean(values):
    values = list(values)
    return sum(values) / len(values)


# ----------------------------------------------------------------------------- a synthetic folder
NLI = ["entailment", "neutral", "contradiction", "neutral"]
BIO_GOLD = ["B-PER", "I-PER", "O", "B-LOC"]  # chunks PER(0,1), LOC(3,3)
BIO_HALF = ["B-PER", "O", "O", "B-LOC"]  # chunks PER(0,0), LOC(3,3): 1 of 2 right both ways -> P = R = F1 = 50
POS_GOLD = ["NOUN", "VERB", "NOUN"]  # seqeval reads "NOUN" as tag N: chunks NOUN(0,0), VERB(1,1), NOUN(2,2)
POS_RUN = ["NOUN", "NOUN", "NOUN"]  # a run of one POS label is ONE chunk NOUN(0,2): nothing right -> 0
BUCC_GOLD = [f"de-{i}\ten-{i}" for i in range(1, 5)]
# per language: prediction lines and (precision, recall) by hand over the *sets* of lines
BUCC_PRED = {
    "de": (BUCC_GOLD, (1, 1)),
    "fr": (BUCC_GOLD[:2] + ["de-9\ten-9", "", BUCC_GOLD[0], ""], (2 / 4, 2 / 4)),  # set: 2 right, 1 wrong, one blank
    "ru": (["", "", BUCC_GOLD[2], "  "], (1 / 2, 1 / 4)),  # set {pair, ("",)}: every blank line counts once
    "zh": (["de-1\ten-2"], (0, 0)),
}
SQUAD_GOLD = {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
    {"id": "q1", "question": "?", "answers": [{"text": "the Eiffel Tower", "answer_start": 0}]},
    {"id": "q2", "question": "?", "answers": [{"text": "Paris", "answer_start": 0},
                                              {"text": "Paris, France", "answer_start": 0}]},
]}]}]}
MLQA_GOLD = {"data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
    {"id": "q1", "question": "?", "answers": [{"text": "1989", "answer_start": 0}]},
    {"id": "q2", "question": "?", "answers": [{"text": "42 km", "answer_start": 0}]},
]}]}]}


def _f1(p, r):
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def build_folder(root: Path, tasks=None):
    """Predictions and labels for the XTREME tasks (all by default) in every official language; returns
    {task: {metric: expected average}} from the formulas."""
    pred, gold = root / "predictions", root / "labels"
    expected = {}
    tasks = tasks or list(LANGS)
    for task in tasks:
        langs = LANGS[task]
        per_lang = {}
        for i, lang in enumerate(langs):
            if task in ("xnli", "pawsx"):
                k = i % 5  # the first k lines right
                lines = NLI if task == "xnli" else ["1", "0", "0", "1"]
                wrong = {"entailment": "neutral", "neutral": "contradiction", "contradiction": "entailment",
                         "0": "1", "1": "0"}
                guess = lines[:k] + [wrong[x] for x in lines[k:]]
                _write(gold / task / f"test-{lang}.tsv", "\n".join(lines) + "\n")
                _write(pred / task / f"test-{lang}.tsv", "\n".join(guess) + "\n")
                per_lang[lang] = {"accuracy": 100.0 * k / 4}
            elif task == "tatoeba":
                k = i % 6
                lines = [str(n) for n in range(5)]
                guess = lines[:k] + [str(int(x) + 10) for x in lines[k:]]
                _write(gold / task / f"test-{lang}.tsv", "\n".join(lines) + "\n")
                _write(pred / task / f"test-{lang}.tsv", "\n".join(guess) + "\n")
                per_lang[lang] = {"accuracy": 100.0 * min(k, 5) / 5}
            elif task in ("panx", "udpos"):
                good, bad, value = (BIO_GOLD, BIO_HALF, 50.0) if task == "panx" else (POS_GOLD, POS_RUN, 0.0)
                guess = good if i % 2 == 0 else bad
                # two sentences: the second always right (same chunks on both sides)
                _write(gold / task / f"test-{lang}.tsv", "\n".join(good) + "\n\n" + "\n".join(good) + "\n")
                _write(pred / task / f"test-{lang}.tsv", "\n".join(guess) + "\n\n" + "\n".join(good) + "\n")
                n_gold = 2 if task == "panx" else 3
                if i % 2 == 0:
                    p = r = 1.0
                else:  # sentence 1 gives `value`-share right; sentence 2 all right
                    right = (1 if task == "panx" else 0) + n_gold
                    n_pred = (2 if task == "panx" else 1) + n_gold
                    p, r = right / n_pred, right / (2 * n_gold)
                    assert task == "udpos" or (p, r) == (3 / 4, 3 / 4)
                per_lang[lang] = {"f1": 100 * _f1(p, r), "precision": 100 * p, "recall": 100 * r}
            elif task == "bucc2018":
                lines, (p, r) = BUCC_PRED[lang]
                _write(gold / task / f"test-{lang}.tsv", "\n".join(BUCC_GOLD) + "\n")
                _write(pred / task / f"test-{lang}.tsv", "\n".join(lines) + "\n")
                per_lang[lang] = {"f1": 100 * _f1(p, r), "precision": 100 * p, "recall": 100 * r}
            else:  # QA
                labels = MLQA_GOLD if task == "mlqa" else SQUAD_GOLD
                if i % 2 == 0:
                    answers = {"q1": "1989", "q2": "42 km"} if task == "mlqa" else {"q1": "Eiffel Tower", "q2": "paris."}
                    em = f1 = 100.0  # normalised: articles and ASCII punctuation dropped
                else:
                    # q1 unanswered (0); q2 half the tokens of its best gold: P 1, R 1/2, F1 2/3; no EM
                    answers = {"q2": "42"} if task == "mlqa" else {"q2": "France"}
                    em, f1 = 0.0, 100 * (2 / 3) / 2
                _write(gold / task / f"test-{lang}.json", json.dumps(labels))
                _write(pred / task / f"test-{lang}.json", json.dumps(answers))
                per_lang[lang] = {"exact_match": em, "f1": f1}
        expected[task] = {m: _mean(v[m] for v in per_lang.values()) for m in next(iter(per_lang.values()))}
    return pred, gold, expected


def _official_task_score(task, averages, convention="em_f1_mean"):
    if task in ("xquad", "mlqa", "tydiqa"):
        return (averages["exact_match"] + averages["f1"]) / 2 if convention == "em_f1_mean" else averages["f1"]
    return averages["f1"] if "f1" in averages else averages["accuracy"]


GROUPS = {"classification": ["pawsx", "xnli"], "tagging": ["udpos", "panx"], "qa": ["xquad", "mlqa", "tydiqa"],
          "retrieval": ["bucc2018", "tatoeba"]}


@pytest.mark.parametrize("convention", ["em_f1_mean", "f1"])
def test_full_folder_matches_the_official_formulas(tmp_path, convention):
    pred, gold, expected = build_folder(tmp_path)
    result = score_folder(pred, gold, suite="xtreme", qa_convention=convention)
    assert set(result["tasks"]) == set(LANGS) and result["missing"] == []
    scores = {}
    for task, averages in expected.items():
        got = result["tasks"][task]
        assert list(got["languages"]) == list(LANGS[task])  # the official language list, in its order
        for metric, value in averages.items():
            assert got["average"][metric] == pytest.approx(value, abs=TOL), (task, metric)
        scores[task] = _official_task_score(task, averages, convention)
        assert got["score"] == pytest.approx(scores[task], abs=TOL)
    for group, members in GROUPS.items():
        assert result["groups"][group] == pytest.approx(_mean(scores[t] for t in members), abs=TOL)
    assert result["overall"] == pytest.approx(_mean(scores.values()), abs=TOL)
    assert result["qa_convention"] == convention
    assert ("(EM + F1) / 2" in result["description"]) == (convention == "em_f1_mean")


def test_partial_folder_gives_complete_groups_and_no_overall(tmp_path):
    pred, gold, expected = build_folder(tmp_path, ["xnli", "pawsx", "bucc2018"])
    (pred / "unrelated").mkdir()
    (gold / "unrelated").mkdir()
    (pred / "tatoeba").mkdir()  # only on one side: not scored, as the official script skips it
    result = score_folder(pred, gold)
    assert result["overall"] is None
    assert set(result["groups"]) == {"classification"}
    assert result["groups"]["classification"] == pytest.approx(
        (expected["xnli"]["accuracy"] + expected["pawsx"]["accuracy"]) / 2, abs=TOL)
    assert set(result["missing"]) == {"udpos", "panx", "xquad", "mlqa", "tydiqa", "tatoeba"}
    assert result["ignored"] == ["unrelated"]
    # BUCC by hand: de 100, fr 50, ru 2(.5)(.25)/.75 = 33.3.., zh 0 (blank lines count once, duplicates once)
    assert result["tasks"]["bucc2018"]["average"]["f1"] == pytest.approx((100 + 50 + 100 / 3 + 0) / 4, abs=TOL)
    assert "no XTREME score" in result["description"]


def test_missing_language_file_is_one_clear_error(tmp_path):
    pred, gold, _ = build_folder(tmp_path, ["pawsx"])
    (pred / "pawsx" / "test-ko.tsv").unlink()
    with pytest.raises(UserError, match=r"pawsx/test-ko\.tsv is not available"):
        score_folder(pred, gold)


# ------------------------------------------------------------------------------ single files
def test_single_squad_files_unanswered_scores_zero(tmp_path):
    gold = tmp_path / "gold.json"
    pred = tmp_path / "pred.json"
    _write(gold, json.dumps(SQUAD_GOLD))
    _write(pred, json.dumps({"q2": "France", "not-a-question": "x"}))
    scores = score_files("xquad", pred, gold)
    assert scores == pytest.approx({"exact_match": 0.0, "f1": 100 * (2 / 3) / 2}, abs=TOL)
    # an empty string is a prediction: "the" vs "the Eiffel Tower" normalises to "" vs "eiffel tower"
    _write(pred, json.dumps({"q1": "", "q2": "Paris, France"}))
    assert score_files("xquad", pred, gold) == pytest.approx({"exact_match": 50.0, "f1": 50.0}, abs=TOL)


def test_single_mlqa_needs_and_uses_the_language(tmp_path):
    gold = tmp_path / "test-zh.json"
    pred = tmp_path / "pred.json"
    labels = {"data": [{"paragraphs": [{"qas": [{"id": "a", "answers": [{"text": "2008年"}]}]}]}]}
    _write(gold, json.dumps(labels, ensure_ascii=False))
    _write(pred, json.dumps({"a": "2008"}))
    # zh mixed segmentation: gold tokens "2008", "年"; prediction "2008": P 1, R 1/2 -> F1 2/3, no EM
    assert score_files("mlqa", pred, gold, "zh") == pytest.approx({"exact_match": 0.0, "f1": 200 / 3}, abs=TOL)
    with pytest.raises(UserError, match="language"):
        score_files("mlqa", pred, gold, None)


def test_squad_v2_default_threshold_is_one(tmp_path):
    gold = tmp_path / "dev.json"
    pred = tmp_path / "pred.json"
    na = tmp_path / "na.json"
    _write(gold, json.dumps({"data": [{"paragraphs": [{"qas": [
        {"id": "a", "answers": [{"text": "yes"}]}, {"id": "b", "answers": []}]}]}]}))
    _write(pred, json.dumps({"a": "yes", "b": ""}))
    _write(na, json.dumps({"b": 0.2, "a": 2.5}))  # an unbounded no-answer score for "a"
    # evaluate-v2.0.py: na_prob 2.5 > 1.0 (its default threshold) -> "a" counts as answered "no
    # answer" -> float(not has_answer) = 0; "b" (no answer, predicted "") -> 1. exact = f1 = 50.
    scores = score_files("squad_v2", pred, gold, na_probs=na)
    assert scores["exact"] == pytest.approx(50.0, abs=TOL) and scores["f1"] == pytest.approx(50.0, abs=TOL)
    # best threshold walk, by increasing na_prob: start 1 (one no-answer question); "b" 0.2 (no
    # answer, empty prediction): +0; "a" 2.5 (answered right): +1 -> 2 > 1: best 100 at 2.5
    assert scores["best_exact"] == pytest.approx(100.0, abs=TOL) and scores["best_exact_thresh"] == 2.5
    # an explicit threshold above every score applies none
    assert score_files("squad_v2", pred, gold, na_probs=na, na_prob_thresh=3.0)["exact"] == pytest.approx(100.0)
    _write(pred, json.dumps({"a": "yes"}))
    with pytest.raises(UserError, match="question 'b'"):
        score_files("squad_v2", pred, gold)


def test_single_tag_and_index_files(tmp_path):
    gold, pred = tmp_path / "gold.tsv", tmp_path / "pred.tsv"
    _write(gold, "\n".join(BIO_GOLD) + "\n")
    _write(pred, "\n".join(BIO_HALF) + "\n")
    assert score_files("panx", pred, gold)["f1"] == pytest.approx(50.0, abs=TOL)
    _write(gold, "3\n1\n2\n")
    _write(pred, "3\n0\n2\n")
    assert score_files("tatoeba", pred, gold) == pytest.approx({"accuracy": 200 / 3}, abs=TOL)


# ------------------------------------------------------------------ labels outside the label set
def test_labels_outside_the_label_set_count_as_wrong_like_evaluate_py(tmp_path):
    gold, pred = tmp_path / "gold.tsv", tmp_path / "pred.tsv"
    # accuracy is p == l on stripped lines: an unknown label (or another case) is simply wrong -> 2 of 4
    _write(gold, "\n".join(NLI) + "\n")
    _write(pred, "entailment\nmaybe\ncontradiction\nNEUTRAL\n")
    assert score_files("xnli", pred, gold) == pytest.approx({"accuracy": 50.0}, abs=TOL)
    # seqeval chunks any tag: B-MISC (not a PAN-X tag) is one more predicted chunk -> P 2/3, R 1, F1 0.8
    _write(gold, "\n".join(BIO_GOLD) + "\n")
    _write(pred, "B-PER\nI-PER\nB-MISC\nB-LOC\n")
    scores = score_files("panx", pred, gold)
    assert scores["precision"] == pytest.approx(200 / 3, abs=TOL) and scores["f1"] == pytest.approx(80.0, abs=TOL)
    # Tatoeba rows compare as strings: "[1]" and "02" are wrong against "1" and "2" -> 1 of 3
    _write(gold, "3\n1\n2\n")
    _write(pred, "3\n[1]\n02\n")
    assert score_files("tatoeba", pred, gold) == pytest.approx({"accuracy": 100 / 3}, abs=TOL)
    # XCOPA's JSON labels: 0.0 == 0 is right, "1" != 1, 2 and null are wrong -> 1 of 4
    gold, pred = tmp_path / "test-ht.jsonl", tmp_path / "pred.jsonl"
    _write(gold, "".join(json.dumps({"idx": i, "label": v}) + "\n" for i, v in enumerate([0, 1, 1, 0])))
    _write(pred, "".join(json.dumps({"label": v}) + "\n" for v in [0.0, "1", 2, None]))
    assert score_files("xcopa", pred, gold) == pytest.approx({"accuracy": 25.0}, abs=TOL)


# ------------------------------------------------------------------------- Mewsli-X and LAReQA
MEWSLIX_GOLD = {"a": ["Q1 "], "b": ["Q2"], "c": ["Q3"], "d": ["Q4"], "e": ["Q5", "Q6"]}
MEWSLIX_PRED = {"a": ["Q9", "Q1"], "b": ["Q2", "Q2"], "c": [f"Q{i}" for i in range(100, 120)] + ["Q3"],
                "e": ["Q6"], "not-gold": ["Q1"]}
# utils_mewslix.evaluate by hand: a 1/2 (gold stripped), b 1, c 0 (rank 21), d 0 (unpredicted), e 0 (only the
# first gold id counts) -> 1.5 / 5
MEWSLIX_MAP = 100 * 1.5 / 5
LAREQA_GOLD = {"q1": ["de_1_0", "en_1_0", "zh_1_0"], "q2": ["en_2_1"]}
LAREQA_PRED = {"q1": ["en_1_0", "x", "zh_1_0", "en_1_0"]}
# utils_lareqa AP@20: q1 hits at 1 and 3 -> (1/1 + 2/3) / min(3, 20) = 5/9 (the repeat counts once); q2 0
LAREQA_MAP = 100 * (5 / 9) / 2


def test_mewslix_and_lareqa_files_by_the_official_formulas(tmp_path):
    for name, gold, pred, expected in (("mewslix", MEWSLIX_GOLD, MEWSLIX_PRED, MEWSLIX_MAP),
                                       ("lareqa", LAREQA_GOLD, LAREQA_PRED, LAREQA_MAP)):
        _write(tmp_path / f"{name}-gold.json", json.dumps(gold))
        _write(tmp_path / f"{name}-pred.json", json.dumps(pred))
        scores = score_files(name, tmp_path / f"{name}-pred.json", tmp_path / f"{name}-gold.json")
        assert scores == pytest.approx({"map@20": expected}, abs=TOL), name


def test_xtreme_r_folder_scores_mewslix_and_lareqa_over_their_languages(tmp_path):
    from adapterstilts.tasks import get_task

    pred, gold = tmp_path / "predictions", tmp_path / "labels"
    per_language = {}
    for folder, golds, preds in (("mewslix", MEWSLIX_GOLD, MEWSLIX_PRED), ("lareqa", LAREQA_GOLD, LAREQA_PRED)):
        languages = OFFICIAL_LANGUAGES["xtreme-r"][folder] or get_task(folder).languages  # LAReQA: no official list
        for i, lang in enumerate(languages):
            right = i % 2 == 0  # every other language ranks exactly its gold ids first: 100
            _write(gold / folder / f"test-{lang}.json", json.dumps(golds))
            _write(pred / folder / f"test-{lang}.json",
                   json.dumps({k: [x.strip() for x in v] for k, v in golds.items()} if right else preds))
        per_language[folder] = [100.0 if i % 2 == 0 else (MEWSLIX_MAP if folder == "mewslix" else LAREQA_MAP)
                                for i in range(len(languages))]
    result = score_folder(pred, gold, suite="xtreme-r")
    assert len(result["tasks"]["lareqa"]["languages"]) == 11 and len(result["tasks"]["mewslix"]["languages"]) == 11
    for folder, values in per_language.items():
        assert result["tasks"][folder]["average"]["map@20"] == pytest.approx(_mean(values), abs=TOL)
    assert result["unsupported"] == [] and result["overall"] is None


# --------------------------------------------------------------------------------- BUCC by ids
def test_bucc_sentence_ids_follow_read_sent2id():
    from adapterstilts.metrics.retrieval import candidates_by_id, sentence_ids

    ids = sentence_ids(["de-1", "de-2", "de-3"], ["Hallo ", "Hallo", "Tschüss"])
    assert ids == {"Tschüss": "de-3"}  # a text under two ids has none
    assert candidates_by_id([("Hallo", "Hi", 1.5), ("Tschüss", "Bye", 1.2), ("Nie", "Bye", 2.0)],
                            ids, {"Hi": "en-1", "Bye": "en-3"}) == [("de-3", "en-3", 1.2)]


def test_bucc_pipeline_keys_by_id():
    from adapterstilts.evaluation.retrieval import _score_bucc
    from adapterstilts.metrics import get_metric

    vectors = {"Hallo": [1.0, 0.0], "Tschüss": [0.0, 1.0], "Hello": [1.0, 0.1], "Hi": [1.0, -0.1], "Bye": [0.0, 1.0]}

    def embed(sentences):
        return torch.tensor([vectors[s] for s in sentences])

    src, tgt = ["Hallo", "Hallo", "Tschüss"], ["Hello", "Hi", "Bye"]
    by_id = _score_bucc(get_metric("bucc_f1"), "de", src, tgt, embed, ["de-1", "de-2", "de-3"], ["en-1", "en-2", "en-3"])
    # "Hallo" sits under two ids: its mined pair is dropped, its two gold pairs stay -> only
    # (de-3, en-3) is extracted: P 1, R 1/3, F1 1/2
    assert by_id["precision"] == pytest.approx(100.0) and by_id["recall"] == pytest.approx(100 / 3)
    assert by_id["f1"] == pytest.approx(50.0)
    by_text = _score_bucc(get_metric("bucc_f1"), "de", src, tgt, embed)  # no ids: texts are the ids
    assert by_text["f1"] != pytest.approx(50.0)


# ------------------------------------------------------------------------- the official mock data
def _official_repo():
    git_dir = Path(os.environ.get("XTREME_REPO_GIT", "/work/.mirror/google-research+xtreme/repo"))
    return git_dir if (git_dir / "HEAD").exists() else None


def _official_mock(tmp_path: Path):
    git_dir = _official_repo()
    if git_dir is None:
        pytest.skip("no google-research/xtreme git copy (set XTREME_REPO_GIT)")
    archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "HEAD", "mock_test_data", "evaluate_test.py"],
                             check=True, capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(tmp_path)
    tree = ast.parse((tmp_path / "evaluate_test.py").read_text(encoding="utf-8"))
    constants = {t.id: ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                 for t in node.targets if isinstance(t, ast.Name) and t.id.endswith("AVG_SCORES")}
    return tmp_path / "mock_test_data", constants


def test_official_mock_data_xtreme(tmp_path):
    mock, constants = _official_mock(tmp_path)
    result = score_folder(mock / "predictions", mock / "labels", suite="xtreme")
    for task, averages in constants["TASK2AVG_SCORES"].items():
        for key, value in averages.items():
            assert result["tasks"][task]["average"][key[len("avg_"):]] == pytest.approx(value, abs=TOL), (task, key)
    scores = {t: _official_task_score(t, {k[4:]: v for k, v in a.items()}) for t, a in constants["TASK2AVG_SCORES"].items()}
    assert result["overall"] == pytest.approx(_mean(scores.values()), abs=TOL)


def test_official_mock_data_xtreme_r(tmp_path):
    from adapterstilts.suites import SUITES

    mock, constants = _official_mock(tmp_path)
    if "xtreme-r" not in SUITES:
        pytest.skip("the xtreme-r suite is not registered yet")
    # the tasks whose mock data covers XTREME-R's languages (evaluate_test.py: xnli, mewslix, mlqa, tydiqa)
    wanted = {t: a for t, a in constants["XTREME_R_TASK2AVG_SCORES"].items() if t in ("xnli", "mlqa", "tydiqa", "mewslix")}
    assert set(wanted) == {"xnli", "mlqa", "tydiqa", "mewslix"}
    for folder in ("predictions", "labels"):
        for extra in {p.name for p in (mock / folder).iterdir()} - set(wanted):
            (mock / folder / extra).rename(tmp_path / f"{folder}-{extra}")
    result = score_folder(mock / "predictions", mock / "labels", suite="xtreme-r")
    for task, averages in wanted.items():
        for key, value in averages.items():
            assert result["tasks"][task]["average"][key[len("avg_"):]] == pytest.approx(value, abs=TOL), (task, key)
    assert result["overall"] is None and result["unsupported"] == []


# -------------------------------------------------------------------------------------- the CLI
def _invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_cli_table_and_json(tmp_path):
    pred, gold, expected = build_folder(tmp_path, ["xnli", "pawsx"])
    table = _invoke("score", pred, "--labels", gold)
    assert table.exit_code == 0, table.output
    assert "(EM + F1) / 2" in table.stdout and "no overall XTREME score" in table.stdout
    assert "group sentence classification" in table.stdout
    as_json = _invoke("score", pred, "--labels", gold, "--format", "json", "--qa-convention", "f1")
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.stdout)
    assert data["qa_convention"] == "f1" and data["overall"] is None
    assert data["tasks"]["xnli"]["average"]["accuracy"] == pytest.approx(expected["xnli"]["accuracy"], abs=TOL)


def test_cli_single_files(tmp_path):
    _write(tmp_path / "gold.json", json.dumps(SQUAD_GOLD))
    _write(tmp_path / "pred.json", json.dumps({"q1": "Eiffel Tower", "q2": "France"}))
    result = _invoke("score", "--task", "xquad", "--predictions", tmp_path / "pred.json", "--gold", tmp_path / "gold.json",
                     "--format", "json")
    assert result.exit_code == 0, result.output
    # q1 exact; q2 "france" vs best gold "paris france": P 1, R 1/2 -> 2/3
    assert json.loads(result.stdout)["scores"] == pytest.approx({"exact_match": 50.0, "f1": 100 * (1 + 2 / 3) / 2})
    table = _invoke("score", "--task", "xquad", "--predictions", tmp_path / "pred.json", "--gold", tmp_path / "gold.json")
    assert "(EM + F1) / 2" in table.stdout


def _bad_inputs(tmp_path):
    pred, gold, _ = build_folder(tmp_path, ["panx", "xquad", "tatoeba"])
    _write(pred / "panx" / "test-de.tsv", "B-PER\nO\n\n" + "\n".join(BIO_GOLD) + "\n")  # 2 tags against 4
    _write(tmp_path / "broken.json", '{"q1": "a",\n "q2": }')
    _write(tmp_path / "index.tsv", "1\n[2]\n")
    _write(tmp_path / "gold_index.tsv", "1\n2\n")
    _write(tmp_path / "short.tsv", "entailment\n")
    _write(tmp_path / "mewslix_pred.json", json.dumps({"m1": "Q1"}))
    _write(tmp_path / "mewslix_gold.json", json.dumps({"m1": ["Q1"]}))
    _write(tmp_path / "mewslix_nogold.json", json.dumps({"m1": ["Q1"], "m2": []}))
    return pred, gold


@pytest.mark.parametrize("args, message", [
    (["score", "{tmp}/nope", "--labels", "{tmp}/labels"], "predictions folder"),
    (["score", "{tmp}/predictions", "--labels", "{tmp}/nope"], "labels folder"),
    (["score", "{tmp}/predictions", "--labels", "{tmp}/labels"], "panx/test-de.tsv:1: sentence 1 has 2 tags"),
    (["score", "{tmp}/predictions", "--labels", "{tmp}/labels", "--suite", "nope"], "unknown suite"),
    (["score", "--task", "xquad", "--predictions", "{tmp}/broken.json", "--gold", "{tmp}/labels/xquad/test-de.json"],
     "broken.json:2: not valid JSON"),
    (["score", "--task", "mewslix", "--predictions", "{tmp}/mewslix_pred.json", "--gold", "{tmp}/mewslix_gold.json"],
     "mewslix_pred.json: the ranked prediction of question 'm1' is 'Q1', not a list of id strings"),
    (["score", "--task", "mewslix", "--predictions", "{tmp}/mewslix_gold.json", "--gold", "{tmp}/mewslix_nogold.json"],
     "example 'm2' has no gold id"),
    (["score", "--task", "xnli", "--predictions", "{tmp}/short.tsv", "--gold", "{tmp}/labels/xnli/none.tsv"],
     "does not exist"),
    (["score", "--task", "pawsx", "--predictions", "{tmp}/short.tsv", "--gold", "{tmp}/index.tsv"], "1 lines but"),
    (["score", "{tmp}/predictions"], "--labels"),
    (["score", "{tmp}/predictions", "--labels", "{tmp}/labels", "--format", "xml"], "unknown --format"),
    (["score", "--task", "xnli", "--predictions", "{tmp}/short.tsv", "--gold", "{tmp}/short.tsv", "--split", "dev"],
     "drop --split"),
    (["score", "{tmp}/predictions", "--labels", "{tmp}/labels", "-o", "{tmp}/short.tsv/x.json"],
     "short.tsv is a file, not a folder"),
])
def test_cli_bad_input_is_one_line_exit_2(tmp_path, args, message):
    _bad_inputs(tmp_path)
    result = _invoke(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output
