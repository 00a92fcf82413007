"""Extractive QA format: windows with stride, answer token labels, dynamic padding, the head's loss,
and n-best postprocessing that returns the exact characters of the context in several scripts."""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from adapterstilts.errors import UserError
from adapterstilts.formats import get_format
from adapterstilts.formats.qa import NO_OFFSET, ExtractiveQA

FILLER = "The committee approved the new budget after a long debate on Tuesday. "
ANSWER_SENTENCE = "The University of Bologna was founded in 1088 and is the oldest in continuous operation. "
QUESTION = "Where was the first university in Europe founded, and by whom?"


def task(no_answer=False, threshold=0.0):
    return SimpleNamespace(no_answer=no_answer, null_score_threshold=threshold, max_length=64, doc_stride=16)


def qa_examples(rows):
    import datasets

    return datasets.Dataset.from_list(
        [
            {"id": str(i), "question": q, "context": c,
             "answers": {"text": [a] if a is not None else [], "answer_start": [c.index(a)] if a is not None else []}}
            for i, (q, c, a) in enumerate(rows)
        ]
    )


def long_context():
    return FILLER * 4 + ANSWER_SENTENCE + FILLER * 4


def context_tokens(feature):
    return [i for i, o in enumerate(feature["offset_mapping"]) if list(o) != list(NO_OFFSET)]


def span_tokens(offsets, start_char, end_char):
    """Test-side alignment: tokens whose character ranges touch [start_char, end_char)."""
    hits = [i for i, (s, e) in enumerate(offsets) if s >= 0 and s < end_char and e > start_char]
    return hits[0], hits[-1]


def boundary_windows(fmt, tokenizer, examples, start_char, end_char):
    """A stride for which one window ends inside the answer and another holds all of it (which
    stride does depends on the tiny tokenizer's vocabulary, so search a few)."""
    for stride in range(4, 24, 2):
        feats = fmt.preprocess(examples, tokenizer, task(), max_length=48, stride=stride, train=False)
        partial, full = [], []
        for i, f in enumerate(feats):
            offs = [f["offset_mapping"][t] for t in context_tokens(f)]
            has_start = offs[0][0] <= start_char < offs[-1][1]
            has_end = offs[0][0] < end_char <= offs[-1][1]
            (full if has_start and has_end else partial if has_start else []).append(i)
        if partial and full:
            return stride, feats, partial, full
    pytest.fail("no stride gives both a cut and a whole answer window")


def test_registered_under_qa():
    assert isinstance(get_format("qa"), ExtractiveQA)


def test_long_context_splits_into_strided_windows_with_answer_labels(tiny_tokenizer):
    fmt = ExtractiveQA()
    context = long_context()
    examples = qa_examples([("   " + QUESTION, context, "Bologna"), (QUESTION, context, None)])
    train = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=64, stride=16, train=True)
    assert not {"id", "question", "context", "answers", "offset_mapping"} & set(train.column_names)
    per_example = [sum(1 for r in train["example_index"] if r == i) for i in range(2)]
    assert per_example[0] >= 4 and per_example[0] == per_example[1]
    assert all(len(ids) <= 64 for ids in train["input_ids"])

    # leading whitespace of the question is stripped: both examples start with the same tokens
    q_ids = tiny_tokenizer(QUESTION, add_special_tokens=False)["input_ids"]
    assert train[0]["input_ids"][1 : 1 + len(q_ids)] == q_ids

    answer_windows = []
    for row in train:
        start, end = row["start_positions"], row["end_positions"]
        if row["example_index"] == 1:
            assert (start, end) == (0, 0)  # unanswerable: CLS in every window
        elif start == 0:
            assert end == 0
        else:
            answer_windows.append(row)
            assert tiny_tokenizer.decode(row["input_ids"][start : end + 1]).strip() == "Bologna"
    assert 1 <= len(answer_windows) < per_example[0]  # some windows hold the answer, others point to CLS

    # eval features: same windows, offsets into the context, consecutive windows share `stride` tokens
    evals = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=64, stride=16, train=False)
    assert "offset_mapping" in evals.column_names and "start_positions" not in evals.column_names
    assert evals["input_ids"] == train["input_ids"]
    first, second = evals[0], evals[1]
    assert first["offset_mapping"][0] == list(NO_OFFSET) and first["offset_mapping"][1] == list(NO_OFFSET)
    a, b = context_tokens(first), context_tokens(second)
    assert [first["offset_mapping"][i] for i in a[-16:]] == [second["offset_mapping"][i] for i in b[:16]]
    assert [first["input_ids"][i] for i in a[-16:]] == [second["input_ids"][i] for i in b[:16]]
    assert first["offset_mapping"][a[0]][0] == 0


def test_partial_answer_at_window_edge_points_to_cls(tiny_tokenizer):
    fmt = ExtractiveQA()
    context = long_context()
    answer = "University of Bologna was founded in 1088"
    examples = qa_examples([(QUESTION, context, answer)])
    start_char = context.index(answer)
    stride, evals, partial, full = boundary_windows(fmt, tiny_tokenizer, examples, start_char, start_char + len(answer))
    train = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=48, stride=stride, train=True)
    assert len(train) == len(evals)
    for i, row in enumerate(train):
        span = row["input_ids"][row["start_positions"] : row["end_positions"] + 1]
        if i in full:
            assert tiny_tokenizer.decode(span).strip() == answer
        else:
            assert (row["start_positions"], row["end_positions"]) == (0, 0)


def test_long_question_is_cut_and_bad_stride_is_a_user_error(tiny_tokenizer):
    fmt = ExtractiveQA()
    long_q = " ".join([QUESTION] * 20)
    examples = qa_examples([(long_q, long_context(), "Bologna")])
    feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=48, stride=8, train=False)
    assert all(len(ids) <= 48 for ids in feats["input_ids"])
    assert len(feats) > 2
    assert all(len(context_tokens(f)) >= 48 // 2 - 4 for f in list(feats)[:-1])  # the question left room
    with pytest.raises(UserError, match="stride"):
        fmt.preprocess(examples, tiny_tokenizer, task(), max_length=48, stride=40, train=False)


def test_collate_pads_dynamically_and_keeps_only_model_inputs(tiny_tokenizer):
    fmt = ExtractiveQA()
    examples = qa_examples([(QUESTION, "Normandy is a region in France.", "France"), (QUESTION, ANSWER_SENTENCE + FILLER, "Bologna")])
    feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=128, stride=32, train=True)
    rows = [feats[0], feats[1]]
    lengths = [len(r["input_ids"]) for r in rows]
    assert lengths[0] < lengths[1] < 128
    batch = fmt.collate(rows, tiny_tokenizer)
    assert set(batch) == {"input_ids", "attention_mask", "start_positions", "end_positions"}
    assert batch["input_ids"].shape == (2, lengths[1])
    assert (batch["input_ids"][0, lengths[0]:] == tiny_tokenizer.pad_token_id).all()
    assert batch["attention_mask"][0].sum() == lengths[0] and batch["attention_mask"][1].sum() == lengths[1]
    assert batch["start_positions"].tolist() == [rows[0]["start_positions"], rows[1]["start_positions"]]

    evals = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=128, stride=32, train=False)
    assert set(fmt.collate([evals[0], evals[1]], tiny_tokenizer)) == {"input_ids", "attention_mask"}


def test_forward_loss_is_finite_and_reaches_the_head(tiny_model_dir, tiny_tokenizer):
    from transformers import XLMRobertaModel

    torch.manual_seed(0)
    encoder = XLMRobertaModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    fmt = ExtractiveQA()
    head = fmt.build_head(encoder.config.hidden_size, task())
    examples = qa_examples([(QUESTION, ANSWER_SENTENCE, "Bologna"), (QUESTION, "Normandy is a region in France.", None)])
    feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=64, stride=16, train=True)
    batch = fmt.collate([feats[i] for i in range(len(feats))], tiny_tokenizer)
    out = fmt.forward(encoder, head, batch)
    assert out["logits"].shape == (*batch["input_ids"].shape, 2)
    assert torch.isfinite(out["loss"])
    ce = torch.nn.functional.cross_entropy
    start_loss = ce(out["logits"][..., 0].detach(), batch["start_positions"])
    end_loss = ce(out["logits"][..., 1].detach(), batch["end_positions"])
    assert not torch.isclose(start_loss, end_loss)
    assert torch.isclose(out["loss"].detach(), (start_loss + end_loss) / 2)
    out["loss"].backward()
    assert head.weight.grad is not None and head.weight.grad.abs().sum() > 0

    without = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
    assert "loss" not in fmt.forward(encoder, head, without)


def logits_for(features, spans, width=None):
    """One (width, 2) array per feature, low everywhere; spans: {feature: [(start, end, s, e), ...]}
    puts start logit s on token start and end logit e on token end; a (0, 0, s, e) entry sets CLS."""
    out = []
    for i, f in enumerate(features):
        arr = np.full((width or len(f["input_ids"]), 2), -10.0, dtype=np.float32)
        for start, end, s, e in spans.get(i, []):
            arr[start, 0], arr[end, 1] = s, e
        out.append(arr)
    return out


@pytest.mark.parametrize(
    "context, answer",
    [
        (ANSWER_SENTENCE, "University of Bologna"),
        ("北京大学创建于1898年，是中国近代第一所国立综合性大学。", "创建于1898年"),
        ("تأسست جامعة القرويين في مدينة فاس عام 859 ميلادية.", "جامعة القرويين"),
        ("नालंदा विश्वविद्यालय की स्थापना पाँचवीं शताब्दी में हुई थी।", "विश्वविद्यालय"),
    ],
)
def test_postprocess_returns_exact_context_characters(tiny_tokenizer, context, answer):
    fmt = ExtractiveQA(answer_text="offsets")
    examples = qa_examples([(QUESTION, context, answer)])
    feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=128, stride=32, train=False)
    assert len(feats) == 1
    start_char = context.index(answer)
    s, e = span_tokens(feats[0]["offset_mapping"], start_char, start_char + len(answer))
    # the question's own tokens get the highest logits: they must never be chosen
    logits = logits_for(feats, {0: [(s, e, 5.0, 5.0), (2, 3, 9.0, 9.0)]}, width=140)
    predictions, references, extras = fmt.postprocess(examples, feats, logits, task())
    assert predictions == [answer]
    assert references == [[answer]]
    assert extras == {}


@pytest.mark.parametrize(
    "context, answer, expected",
    [
        (ANSWER_SENTENCE, "University of Bologna", "University of Bologna"),
        ("It opened (in 1088) as a school.", "(in 1088", "(in 1088)"),  # pieces' text not found: whole words
        ("تأسست جامعة القرويين في مدينة فاس عام 859 ميلادية.", "جامعة القرويين", "جامعة القرويين"),
        ("नालंदा विश्वविद्यालय की स्थापना पाँचवीं शताब्दी में हुई थी।", "विश्वविद्यालय", "विश्वविद्यालय"),
        # two CJK characters are never found in the basic tokenisation: the whole space-free run
        ("北京大学创建于1898年，是中国近代第一所国立综合性大学。", "创建于1898年",
         "北京大学创建于1898年，是中国近代第一所国立综合性大学。"),
    ],
)
def test_postprocess_words_is_the_reference_rule(tiny_tokenizer, context, answer, expected):
    fmt = ExtractiveQA()  # default: "words"
    examples = qa_examples([(QUESTION, context, answer)])
    feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=128, stride=32, train=False)
    start_char = context.index(answer)
    s, e = span_tokens(feats[0]["offset_mapping"], start_char, start_char + len(answer))
    logits = logits_for(feats, {0: [(s, e, 5.0, 5.0)]})
    predictions, _, _ = fmt.postprocess(examples, feats, logits, task())
    assert predictions == [expected]
    # the other rule, on the same features, gives the characters of the span
    assert ExtractiveQA(answer_text="offsets").postprocess(examples, feats, logits, task())[0] == [answer]
    with pytest.raises(UserError, match="answer text"):
        ExtractiveQA(answer_text="whole")


def test_postprocess_takes_best_span_over_windows_and_rejects_invalid_spans(tiny_tokenizer):
    fmt = ExtractiveQA()
    context = long_context()
    answer = "University of Bologna was founded in 1088"
    examples = qa_examples([(QUESTION, context, answer)])
    start_char = context.index(answer)
    end_char = start_char + len(answer)
    _, feats, cut, whole = boundary_windows(fmt, tiny_tokenizer, examples, start_char, end_char)
    partial, full = cut[0], whole[0]
    holders = {i for i, f in enumerate(feats) if any(0 <= o[0] < end_char and o[1] > start_char for o in f["offset_mapping"])}

    spans = {}
    # window cut at the boundary: the answer's start and the window's last context token
    ps, _ = span_tokens(feats[partial]["offset_mapping"], start_char, end_char)
    spans[partial] = [(ps, context_tokens(feats[partial])[-1], 7.0, 7.0)]
    fs, fe = span_tokens(feats[full]["offset_mapping"], start_char, end_char)
    spans[full] = [(fs, fe, 8.0, 8.0)]
    # a decoy window: higher logits but end before start, and a span longer than 30 tokens
    decoy = next(i for i in range(len(feats)) if i not in holders)
    ctx = context_tokens(feats[decoy])
    spans[decoy] = [(ctx[5], ctx[2], 20.0, 20.0)]
    predictions, _, _ = fmt.postprocess(examples, feats, logits_for(feats, spans), task())
    assert predictions == [answer]

    long_feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=128, stride=32, train=False)
    ctx = context_tokens(long_feats[0])
    assert len(ctx) > 40
    logits = logits_for(long_feats, {0: [(ctx[0], ctx[30], 20.0, 20.0)]})
    logits[0][ctx[29], 1] = 15.0  # 31 tokens scores 40 but is too long; 30 tokens (35) is the longest allowed
    predictions, _, _ = ExtractiveQA(answer_text="offsets").postprocess(examples, long_feats, logits, task())
    offsets = long_feats[0]["offset_mapping"]
    assert predictions == [context[offsets[ctx[0]][0] : offsets[ctx[29]][1]].strip()]


@pytest.mark.parametrize("cls, threshold, expect_empty", [(5.0, 0.0, True), (1.0, 0.0, False), (5.0, 5.0, False)])
def test_no_answer_against_best_span(tiny_tokenizer, cls, threshold, expect_empty):
    fmt = ExtractiveQA()
    examples = qa_examples([(QUESTION, ANSWER_SENTENCE, "Bologna"), (QUESTION, "Normandy is a region in France.", None)])
    feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=128, stride=16, train=False)
    assert list(feats["example_index"]) == [0, 1]
    spans = {}
    for i, f in enumerate(feats):
        ctx = context_tokens(f)
        spans[i] = [(0, 0, cls, cls), (ctx[1], ctx[2], 3.0, 3.0)]  # null = 2*cls, best span = 6
    predictions, references, extras = fmt.postprocess(examples, feats, logits_for(feats, spans), task(True, threshold))
    assert references == [["Bologna"], []]
    assert extras["na_probs"] == pytest.approx([2 * cls - 6.0] * 2)
    if expect_empty:
        assert predictions == ["", ""]
    else:
        assert all(p for p in predictions)
    # without no_answer the span is always given
    predictions, _, extras = fmt.postprocess(examples, feats, logits_for(feats, spans), task(False))
    assert all(p for p in predictions) and "na_probs" not in extras


def test_null_score_is_the_minimum_over_windows(tiny_tokenizer):
    fmt = ExtractiveQA()
    examples = qa_examples([(QUESTION, long_context(), "Bologna")])
    feats = fmt.preprocess(examples, tiny_tokenizer, task(), max_length=64, stride=16, train=False)
    assert len(feats) >= 3
    ctx = context_tokens(feats[0])
    spans = {i: [(0, 0, 6.0, 6.0)] for i in range(len(feats))}
    spans[1] = [(0, 0, 2.0, 2.0)]  # one window thinks it is answerable: min null = 4
    spans[0].append((ctx[1], ctx[2], 4.0, 4.0))  # best span = 8
    predictions, _, extras = fmt.postprocess(examples, feats, logits_for(feats, spans), task(True))
    assert extras["na_probs"] == pytest.approx([4.0 - 8.0])
    assert predictions[0] != ""
