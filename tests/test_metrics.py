"""Metrics against values worked out by hand from the official definitions (SQuAD v1.1 / v2.0
scripts, MLQA's mlqa_evaluation_v1.py, seqeval 0.0.12 as XTREME and jiant ran it, GLUE's QQP F1).
Every expected number is derived in the comment next to it, never copied from a run."""
import pytest

from adapterstilts.errors import UserError
from adapterstilts.metrics import METRICS, get_metric
from adapterstilts.metrics.aggregate import primary_score, task_average, task_score, xtreme_average
from adapterstilts.metrics.mlqa import mixed_segmentation, normalize_mlqa
from adapterstilts.metrics.seqeval import extract_chunks, split_label
from adapterstilts.metrics.squad import normalize_squad

approx = pytest.approx


def score(name, predictions, references, **kwargs):
    return get_metric(name)(predictions, references, **kwargs)


# ------------------------------------------------------------------------------- registry / inputs
MINE = ("accuracy", "accuracy_f1", "token_accuracy", "squad", "squad_v2", "mlqa", "seqeval_f1")


def test_metrics_registered_with_their_primary():
    primaries = {name: get_metric(name).primary for name in MINE}
    assert primaries == {
        "accuracy": "accuracy", "accuracy_f1": "acc_and_f1", "token_accuracy": "accuracy",
        "squad": "f1", "squad_v2": "f1", "mlqa": "f1", "seqeval_f1": "f1",
    }
    assert all(name in METRICS for name in MINE)


@pytest.mark.parametrize(
    "name, predictions, references, kwargs",
    [
        ("accuracy", [1, 0], [1, 0, 1], {}),
        ("accuracy_f1", [1, 0], [1, 0, 1], {}),
        ("token_accuracy", [["A"], ["B"]], [["A"], ["B"], ["C"]], {}),
        ("squad", ["x", "y"], [["x"], ["y"], ["z"]], {}),
        ("squad_v2", ["x", ""], [["x"], [], []], {}),
        ("mlqa", ["x", "y"], [["x"], ["y"], ["z"]], {"language": "en"}),
        ("seqeval_f1", [["O"], ["O"]], [["O"], ["O"], ["O"]], {}),
    ],
)
def test_length_mismatch_names_both_counts(name, predictions, references, kwargs):
    with pytest.raises(UserError, match=r"2 predictions but 3 references"):
        score(name, predictions, references, **kwargs)


@pytest.mark.parametrize("name", MINE)
def test_empty_input_is_a_user_error(name):
    with pytest.raises(UserError):
        score(name, [], [], language="en")


def test_sequence_length_mismatch_inside_a_sentence():
    with pytest.raises(UserError, match=r"sequence 1 has 1 predicted labels but 2 reference labels"):
        score("seqeval_f1", [["O"], ["O"]], [["O"], ["O", "O"]])
    with pytest.raises(UserError, match=r"sequence 0"):
        score("token_accuracy", [["A", "B"]], [["A"]])


# ---------------------------------------------------------------------------------- classification
def test_accuracy():
    # matches at 0, 1, 3; miss at 2 -> 3/4 = 75%
    assert score("accuracy", [0, 1, 2, 1], [0, 1, 1, 1]) == {"accuracy": 75.0}


def test_qqp_accuracy_and_positive_class_f1():
    # pairs (pred, ref): (1,1) TP, (1,0) FP, (0,0) TN, (0,1) FN, (1,1) TP
    # accuracy = 3/5 = 60; F1(class 1) = 2TP / (2TP + FP + FN) = 4 / 6 = 66.667; mean = 63.333
    result = score("accuracy_f1", [1, 1, 0, 0, 1], [1, 0, 0, 1, 1])
    assert result["accuracy"] == approx(60.0)
    assert result["f1"] == approx(200 / 3)
    assert result["acc_and_f1"] == approx((60.0 + 200 / 3) / 2)


def test_qqp_f1_without_any_positive_is_zero():
    # no TP, FP or FN: F1 = 0 (sklearn's zero_division default); accuracy 2/2 = 100
    assert score("accuracy_f1", [0, 0], [0, 0]) == {"accuracy": 100.0, "f1": 0.0, "acc_and_f1": 50.0}


def test_token_accuracy_pools_tokens():
    # tokens: N=N yes, V/N no | D=D yes, N=N yes, N/V no -> 3 of 5 = 60
    # (a mean of sentence accuracies would be (1/2 + 2/3) / 2 = 58.3)
    assert score("token_accuracy", [["N", "V"], ["D", "N", "N"]], [["N", "N"], ["D", "N", "V"]]) == {"accuracy": 60.0}


# ------------------------------------------------------------------------------------ SQuAD v1.1
def test_squad_normalisation_edges():
    # lowercase, drop ASCII punctuation, drop a/an/the as words, collapse whitespace
    assert normalize_squad("  The Eiffel\tTower! ") == "eiffel tower"
    assert normalize_squad("An apple, a day") == "apple day"
    assert normalize_squad("theater") == "theater"  # not a whole-word article
    # punctuation goes BEFORE articles: "state-of-the-art" -> "stateoftheart", no word "the" left
    assert normalize_squad("state-of-the-art") == "stateoftheart"
    # only ASCII punctuation: the Chinese full stop and guillemets stay
    assert normalize_squad("北京。") == "北京。"
    assert normalize_squad("«Paris»") == "«paris»"


def test_squad_exact_and_f1_max_over_gold_answers():
    # q0: "The Eiffel Tower!" vs "eiffel   tower" -> both "eiffel tower": EM 1, F1 1
    # q1: "an apple pie" -> [apple, pie]
    #     gold "apple": shared 1, P = 1/2, R = 1 -> F1 = 2/3
    #     gold "the apple pie recipe" -> [apple, pie, recipe]: shared 2, P = 1, R = 2/3 -> F1 = 0.8
    #     max F1 = 0.8, EM 0
    # EM = 1/2 = 50, F1 = (1 + 0.8) / 2 = 90
    result = score(
        "squad",
        ["The Eiffel Tower!", "an apple pie"],
        [["eiffel   tower"], ["apple", "the apple pie recipe"]],
    )
    assert result == {"exact_match": approx(50.0), "f1": approx(90.0)}


def test_squad_exact_match_from_any_gold():
    # second gold matches exactly -> EM 1, F1 1
    assert score("squad", ["Denver Broncos"], [["Broncos", "Denver Broncos"]]) == {"exact_match": 100.0, "f1": 100.0}


def test_squad_only_articles_gives_em_but_no_f1():
    # "the" and "The" both normalise to "": equal strings (EM 1) but no shared token (F1 0)
    assert score("squad", ["the"], [["The"]]) == {"exact_match": 100.0, "f1": 0.0}


def test_squad_hyphenated_answer():
    # pred -> [stateoftheart], gold "state of the art" -> [state, of, art]: EM 0, F1 0
    assert score("squad", ["state-of-the-art"], [["state of the art"]]) == {"exact_match": 0.0, "f1": 0.0}


def test_squad_chinese_is_whitespace_tokenised():
    # v1.1 splits on whitespace only: "北京" vs "北京市" are two different single tokens -> 0, 0
    assert score("squad", ["北京"], [["北京市"]]) == {"exact_match": 0.0, "f1": 0.0}
    # "北京 市" -> [北京, 市] vs [北京市]: nothing shared -> 0, 0
    assert score("squad", ["北京 市"], [["北京市"]]) == {"exact_match": 0.0, "f1": 0.0}
    # "。" is not ASCII punctuation, so "北京。" != "北京" -> 0, 0
    assert score("squad", ["北京。"], [["北京"]]) == {"exact_match": 0.0, "f1": 0.0}


def test_squad_v1_needs_a_gold_answer():
    with pytest.raises(UserError, match="squad_v2"):
        score("squad", ["x"], [[]])
    with pytest.raises(UserError, match="list of all gold answer texts"):
        score("squad", ["x"], ["x"])


# ------------------------------------------------------------------------------------ SQuAD v2.0
V2_PREDICTIONS = ["paris", "", "London", "", "red dog"]
V2_REFERENCES = [["Paris"], [], [], ["the big cat"], ["big red dog"]]
V2_NA_PROBS = [0.1, 0.9, 0.3, 0.6, 0.2]
# per question (exact, f1):
#   q0 answerable, "paris" = "paris"                                  -> (1, 1)
#   q1 unanswerable, predicts ""  (gold [""]; both empty: F1 1)       -> (1, 1)
#   q2 unanswerable, predicts "London" (gold empty, pred not: F1 0)   -> (0, 0)
#   q3 answerable ("big cat"), predicts "" (only one side empty)      -> (0, 0)
#   q4 answerable, [red, dog] vs [big, red, dog]: P 1, R 2/3          -> (0, 0.8)


def test_squad_v2_answerable_and_unanswerable_in_both_directions():
    result = score("squad_v2", V2_PREDICTIONS, V2_REFERENCES)
    # all: EM (1+1+0+0+0)/5 = 40, F1 (1+1+0+0+0.8)/5 = 56
    # HasAns q0 q3 q4: EM 1/3, F1 1.8/3 = 60; NoAns q1 q2: EM 1/2, F1 1/2
    assert result == {
        "exact": approx(40.0), "f1": approx(56.0), "total": 5,
        "HasAns_exact": approx(100 / 3), "HasAns_f1": approx(60.0), "HasAns_total": 3,
        "NoAns_exact": approx(50.0), "NoAns_f1": approx(50.0), "NoAns_total": 2,
    }


def test_squad_v2_best_thresholds():
    # order by na_prob: q0 .1, q4 .2, q2 .3, q3 .6, q1 .9; start = #unanswerable = 2, thresh 0.0
    # exact: q0 +1 -> 3 (best, .1); q4 +0 -> 3; q2 answers "London" -1 -> 2; q3 +0; q1 ("") 0
    #        best 3/5 = 60 at 0.1
    # f1:    q0 +1 -> 3 (best, .1); q4 +0.8 -> 3.8 (best, .2); q2 -1 -> 2.8; q3, q1 +0
    #        best 3.8/5 = 76 at 0.2
    result = score("squad_v2", V2_PREDICTIONS, V2_REFERENCES, na_probs=V2_NA_PROBS)
    assert result["best_exact"] == approx(60.0) and result["best_exact_thresh"] == 0.1
    assert result["best_f1"] == approx(76.0) and result["best_f1_thresh"] == 0.2
    # the main scores are unchanged: no threshold applied unless asked
    assert result["exact"] == approx(40.0) and result["f1"] == approx(56.0)


def test_squad_v2_best_threshold_ties_follow_the_official_walk():
    # both na_prob 0.5; start = 1 (one unanswerable); q0 (answerable, exact 1): 2 > 1 -> best 2 at
    # 0.5; q1 (unanswerable, predicts "x"): 1. Official reports 2/2 = 100 at 0.5 although no
    # threshold separates the tied questions.
    result = score("squad_v2", ["a b", "x"], [["a b"], []], na_probs=[0.5, 0.5])
    assert result["best_exact"] == approx(100.0) and result["best_exact_thresh"] == 0.5


def test_squad_v2_explicit_na_prob_threshold():
    # threshold 0.15: q1 (.9), q2 (.3), q3 (.6), q4 (.2) count as "no answer":
    #   score = 1 if unanswerable else 0 -> q1 1, q2 1, q3 0, q4 0; q0 (.1) keeps (1, 1)
    # EM = F1 = 3/5 = 60
    result = score("squad_v2", V2_PREDICTIONS, V2_REFERENCES, na_probs=V2_NA_PROBS, na_prob_thresh=0.15)
    assert result["exact"] == approx(60.0) and result["f1"] == approx(60.0)


def test_squad_v2_gold_that_normalises_to_nothing():
    # answers ["the"] -> question is answerable (HasAns) but its gold list becomes [""]:
    # predicting "" scores EM 1, F1 1
    result = score("squad_v2", [""], [["the"]])
    assert result == {"exact": 100.0, "f1": 100.0, "total": 1, "HasAns_exact": 100.0, "HasAns_f1": 100.0, "HasAns_total": 1}


def test_squad_v2_na_probs_length_checked():
    with pytest.raises(UserError, match="1 na_probs for 2 predictions"):
        score("squad_v2", ["a", "b"], [["a"], ["b"]], na_probs=[0.1])


# ------------------------------------------------------------------------------------------- MLQA
def test_mlqa_english_as_squad():
    assert score("mlqa", ["The Eiffel Tower!"], [["eiffel tower"]], language="en") == {"exact_match": 100.0, "f1": 100.0}


def test_mlqa_unicode_punctuation():
    # « » (Pi/Pf) are punctuation in MLQA -> "paris": EM 1 (SQuAD v1.1 keeps them: EM 0)
    assert normalize_mlqa("«Paris»", "en") == "paris"
    # Hindi danda "।" (Po) is dropped: "भारत।" = "भारत"
    assert score("mlqa", ["भारत।"], [["भारत"]], language="hi") == {"exact_match": 100.0, "f1": 100.0}
    # "€" is a currency symbol (Sc), not punctuation -> stays; "$" is ASCII punctuation -> dropped
    assert normalize_mlqa("100€", "en") == "100€"
    assert normalize_mlqa("$100", "en") == "100"


def test_mlqa_spanish_articles():
    # "la casa blanca" -> "casa blanca": EM 1
    assert score("mlqa", ["la casa blanca"], [["casa blanca"]], language="es") == {"exact_match": 100.0, "f1": 100.0}
    # "el" inside "elefante" stays; the gold's "el" goes -> both "elefante"
    assert normalize_mlqa("El elefante", "es") == "elefante"
    # English "the" is not a Spanish article: [the, house] vs [house]: P 1/2, R 1 -> F1 2/3, EM 0
    result = score("mlqa", ["the house"], [["house"]], language="es")
    assert result == {"exact_match": 0.0, "f1": approx(200 / 3)}


def test_mlqa_german_articles():
    # der/die/eine are articles: "der Hund" -> "hund"; "die Katze" and "eine Katze" -> "katze"
    assert normalize_mlqa("der Hund", "de") == "hund"
    result = score("mlqa", ["der Hund", "die Katze"], [["Hund"], ["eine Katze"]], language="de")
    assert result == {"exact_match": 100.0, "f1": 100.0}


def test_mlqa_arabic_article_everywhere():
    # "ال" is replaced by a space wherever it occurs: "الكتاب" -> " كتاب" -> "كتاب"
    assert normalize_mlqa("الكتاب", "ar") == "كتاب"
    assert score("mlqa", ["الكتاب"], [["كتاب"]], language="ar") == {"exact_match": 100.0, "f1": 100.0}
    # ... even inside a word: "مال" (م + ال) -> "م " -> "م"
    assert normalize_mlqa("مال", "ar") == "م"


def test_mlqa_vietnamese_and_hindi_articles():
    # "của" is in the Vietnamese list: "nhà của tôi" -> "nhà tôi"
    assert normalize_mlqa("Nhà của tôi", "vi") == "nhà tôi"
    # Hindi has no article list: English "the" stays
    assert normalize_mlqa("the भारत", "hi") == "the भारत"


def test_mlqa_chinese_mixed_segmentation():
    # each CJK character is a token, other runs whitespace split
    assert mixed_segmentation("2008年奥运会") == ["2008", "年", "奥", "运", "会"]
    assert normalize_mlqa("北京 市", "zh") == "北 京 市"
    # "北京 市" and "北京市" normalise identically -> EM 1 (SQuAD v1.1: 0)
    assert score("mlqa", ["北京 市"], [["北京市"]], language="zh") == {"exact_match": 100.0, "f1": 100.0}
    # [北, 京, 市] vs [北, 京]: shared 2, P 2/3, R 1 -> F1 = (4/3) / (5/3) = 0.8
    assert score("mlqa", ["北京市"], [["北京"]], language="zh") == {"exact_match": 0.0, "f1": approx(80.0)}
    # "北京。": "。" dropped -> [北, 京] vs [北, 京, 市]: P 1, R 2/3 -> 0.8
    assert score("mlqa", ["北京。"], [["北京市"]], language="zh") == {"exact_match": 0.0, "f1": approx(80.0)}
    # [2008, 年, 奥, 运, 会] vs [2008, 年]: shared 2, P 2/5, R 1 -> F1 = 0.8 / 1.4 = 4/7
    assert score("mlqa", ["2008年奥运会"], [["2008年"]], language="zh")["f1"] == approx(400 / 7)


def test_mlqa_language_required_and_known():
    with pytest.raises(UserError, match="needs the answer language"):
        score("mlqa", ["a"], [["a"]])
    with pytest.raises(UserError, match="'fr'"):
        score("mlqa", ["a"], [["a"]], language="fr")


# ----------------------------------------------------------------------------------------- seqeval
def test_label_split_rule():
    # tag = first character, type = text after the last "-" (whole label without "-")
    assert split_label("B-PER") == ("B", "PER")
    assert split_label("I-ARGM-LOC") == ("I", "LOC")
    assert split_label("O") == ("O", "O")
    assert split_label("NOUN") == ("N", "NOUN")
    assert split_label("SCONJ") == ("S", "SCONJ")


def test_chunks_of_bio_tags():
    # I-PER after O opens (PER, 0, ..); I-PER continues; B-PER closes it at 1 and opens at 2;
    # O closes (PER, 2, 2)
    assert extract_chunks([["I-PER", "I-PER", "B-PER", "O"]]) == [("PER", 0, 1), ("PER", 2, 2)]
    # type change B-ARGM-LOC -> I-ARGM-TMP: types LOC then TMP -> two chunks
    assert extract_chunks([["B-ARGM-LOC", "I-ARGM-TMP"]]) == [("LOC", 0, 0), ("TMP", 1, 1)]
    # sentences are separated by an "O": sentence 2 starts at len(sentence 1) + 1 = 3
    assert extract_chunks([["O", "B-LOC"], ["B-LOC"]]) == [("LOC", 1, 1), ("LOC", 3, 3)]


def test_seqeval_bio_f1():
    # sentence 1 (positions 0-4, "O" at 5), sentence 2 (positions 6-8)
    # gold: B-PER I-PER O B-LOC I-LOC | O B-ORG I-ORG -> (PER,0,1) (LOC,3,4) (ORG,7,8)
    # pred: B-PER I-PER O B-LOC I-ORG | O I-ORG I-ORG
    #   I-ORG after B-LOC: type change ends (LOC,3,3) and starts (ORG,4,4)
    #   I-ORG after O starts a chunk: (ORG,7,8)
    #   -> (PER,0,1) (LOC,3,3) (ORG,4,4) (ORG,7,8)
    # correct 2 of 4 predicted, of 3 gold: P 1/2, R 2/3, F1 = (2/3) / (7/6) = 4/7
    gold = [["B-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["O", "B-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-LOC", "I-ORG"], ["O", "I-ORG", "I-ORG"]]
    result = score("seqeval_f1", pred, gold)
    assert result == {"f1": approx(400 / 7), "precision": approx(50.0), "recall": approx(200 / 3)}


def test_chunks_of_pos_tags():
    # DET: type changes from "" -> starts 0.  NOUN: tag N, type change -> (DET,0,0), start 1.
    # NOUN again: same type, N is no B/I/E/S -> same chunk.  VERB -> (NOUN,1,2), start 3.
    # SCONJ: tag "S" -> (VERB,3,3), start 4.  SCONJ: prev tag S ends -> (SCONJ,4,4), tag S starts 5.
    # PUNCT -> (SCONJ,5,5), start 6.  closing "O" -> (PUNCT,6,6)
    assert extract_chunks([["DET", "NOUN", "NOUN", "VERB", "SCONJ", "SCONJ", "PUNCT"]]) == [
        ("DET", 0, 0), ("NOUN", 1, 2), ("VERB", 3, 3), ("SCONJ", 4, 4), ("SCONJ", 5, 5), ("PUNCT", 6, 6),
    ]
    # INTJ has tag "I": I after I of the same type continues -> one chunk (INTJ,2,3);
    # X after INTJ: no B/S/O rule, but the type changes -> ends it
    assert extract_chunks([["ADJ", "ADP", "INTJ", "INTJ", "X"]]) == [
        ("ADJ", 0, 0), ("ADP", 1, 1), ("INTJ", 2, 3), ("X", 4, 4),
    ]


def test_seqeval_f1_on_pos_tags():
    # gold chunks (above): DET(0) NOUN(1-2) VERB(3) SCONJ(4) SCONJ(5) PUNCT(6) = 6
    # pred DET NOUN PROPN VERB SCONJ SCONJ PUNCT: DET(0) NOUN(1) PROPN(2) VERB(3) SCONJ(4)
    #   SCONJ(5) PUNCT(6) = 7; shared: DET, VERB, SCONJ(4), SCONJ(5), PUNCT = 5
    # P = 5/7, R = 5/6, F1 = 2PR/(P+R) = (50/42) / (65/42) = 10/13 = 76.92
    # (token accuracy would be 6/7 = 85.7: one wrong token costs the whole NOUN NOUN chunk)
    gold = [["DET", "NOUN", "NOUN", "VERB", "SCONJ", "SCONJ", "PUNCT"]]
    pred = [["DET", "NOUN", "PROPN", "VERB", "SCONJ", "SCONJ", "PUNCT"]]
    result = score("seqeval_f1", pred, gold)
    assert result == {"f1": approx(1000 / 13), "precision": approx(500 / 7), "recall": approx(500 / 6)}


def test_seqeval_nothing_predicted_or_nothing_gold():
    # no chunks predicted: P = 0 (empty denominator), R = 0 -> F1 0
    assert score("seqeval_f1", [["O", "O"]], [["B-PER", "O"]]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0}


def test_seqeval_rejects_empty_labels():
    with pytest.raises(UserError, match="non-empty strings"):
        score("seqeval_f1", [["", "O"]], [["O", "O"]])


# --------------------------------------------------------------------------------------- aggregate
def test_task_average():
    # (80 + 70 + 60) / 3 = 70
    assert task_average({"en": {"f1": 80.0}, "de": {"f1": 70.0}, "zh": {"f1": 60.0}}, "f1") == approx(70.0)
    with pytest.raises(UserError, match="de"):
        task_average({"en": {"f1": 80.0}, "de": {"accuracy": 1.0}}, "f1")


def test_xtreme_average_qa_conventions():
    scores = {
        "xnli": {"accuracy": 80.0},
        "panx": {"f1": 60.0, "precision": 55.0, "recall": 65.0},
        "mlqa": {"exact_match": 50.0, "f1": 70.0},
    }
    # F1 convention: (80 + 60 + 70) / 3 = 70
    value, description = xtreme_average(scores, qa_convention="f1")
    assert value == approx(70.0)
    assert "QA tasks scored by F1" in description and "3 of the 9" in description
    # (EM+F1)/2 convention: mlqa -> (50 + 70) / 2 = 60; (80 + 60 + 60) / 3 = 66.667
    value, description = xtreme_average(scores, qa_convention="em_f1_mean")
    assert value == approx(200 / 3)
    assert "(EM + F1) / 2" in description
    with pytest.raises(UserError, match="QA convention"):
        xtreme_average(scores, qa_convention="em")


def test_task_score_and_primary_score():
    # squad_v2 names EM "exact": (40 + 56) / 2 = 48
    assert task_score("tydiqa", {"exact": 40.0, "f1": 56.0}, "em_f1_mean") == approx(48.0)
    assert primary_score("squad", {"exact_match": 50.0, "f1": 70.0}) == 70.0
    assert primary_score("accuracy_f1", {"accuracy": 60.0, "f1": 40.0, "acc_and_f1": 50.0}) == 50.0
    with pytest.raises(UserError, match="primary score 'f1'"):
        primary_score("seqeval_f1", {"accuracy": 1.0})
