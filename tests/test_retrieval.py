"""Retrieval: Tatoeba top-1, ratio-margin mining, the BUCC threshold search, mean pooling and the
end-to-end loop. Every expected value is derived by hand in the comments."""
import json
import math

import pytest
import torch

from adapterstilts.errors import UserError
from adapterstilts.evaluation import retrieval as R
from adapterstilts.metrics import get_metric
from adapterstilts.metrics.retrieval import bucc_scores, optimal_threshold, top1_accuracy
from adapterstilts.tasks.base import TASKS, Source, Task


# ------------------------------------------------------------------------------------------- layers
@pytest.mark.parametrize("layers, expected", [(24, 14), (12, 7), (4, 2), (6, 4), (1, 1), (2, 1)])
def test_default_layer_scales_14_of_24(layers, expected):
    # round(n * 14 / 24): 12 -> 7, 4 -> 2.33 -> 2, 6 -> 3.5 -> 4 (round half to even), 1 -> 0.58 -> 1
    assert R.default_layer(layers) == expected


# ------------------------------------------------------------------------------------------ Tatoeba
def _tatoeba_case():
    # Sources are the 4 basis vectors. Targets 0-2 equal their source; target 3 = (0.9, 0, 0, 0.1):
    # its nearest source is source 0 (cos 0.994) not source 3 (cos 0.110), so 3 of 4 English queries
    # find their partner: 75 %. Searching the other way every source finds its partner: source 3's
    # best target is target 3 (cos 0.110 vs 0 for the others), source 0's is target 0 (cos 1 > 0.994).
    src = torch.eye(4)
    tgt = torch.eye(4)
    tgt[3] = torch.tensor([0.9, 0.0, 0.0, 0.1])
    return src, tgt


def test_tatoeba_accuracy_one_wrong_on_purpose():
    src, tgt = _tatoeba_case()
    assert R.tatoeba_predictions(src, tgt) == [0, 1, 2, 0]
    assert R.tatoeba_accuracy(src, tgt) == pytest.approx(75.0)
    # XTREME's direction (English queries) differs from the reverse one on this case.
    assert R.tatoeba_accuracy(src, tgt, query="source") == pytest.approx(100.0)


def test_tatoeba_metric_and_scale_invariance():
    src, tgt = _tatoeba_case()
    # cosine: rescaling rows changes nothing
    assert R.tatoeba_accuracy(src * 7.0, tgt * 0.01) == pytest.approx(75.0)
    assert get_metric("tatoeba_accuracy")([0, 1, 2, 0], [0, 1, 2, 3]) == {"accuracy": 75.0}
    assert get_metric("tatoeba_accuracy").primary == "accuracy"
    assert top1_accuracy([], []) == 0.0


def test_nearest_neighbours_chunked_matches_unchunked():
    torch.manual_seed(0)
    q, k = torch.randn(50, 8), torch.randn(30, 8)
    s1, i1 = R.nearest_neighbours(q, k, 4)
    s2, i2 = R.nearest_neighbours(q, k, 4, chunk_size=7)
    assert torch.equal(i1, i2) and torch.allclose(s1, s2)
    assert s1.shape == (50, 4)
    assert torch.all(s1[:, :-1] >= s1[:, 1:])  # best first
    # k is capped at the number of keys
    assert R.nearest_neighbours(q, k[:2], 4)[0].shape == (50, 2)


# ------------------------------------------------------------------------------------- margin mining
def _margin_case():
    # Sources: basis vectors; targets unit vectors, so cos(s_i, t_j) = t_j[i]:
    #          t0    t1    t2
    #   s0    0.8   0.6   0.0
    #   s1    0.6   0.0   0.28
    #   s2    0.0   0.8   0.96
    src = torch.eye(3)
    tgt = torch.tensor([[0.8, 0.6, 0.0], [0.6, 0.0, 0.8], [0.0, 0.28, 0.96]])
    return src, tgt


def test_margin_scores_by_hand():
    # k = 2. Mean cos to the 2 nearest: sources (row top-2) s0 (0.8+0.6)/2 = 0.7, s1 (0.6+0.28)/2 = 0.44,
    # s2 (0.96+0.8)/2 = 0.88; targets (column top-2) t0 0.7, t1 (0.8+0.6)/2 = 0.7, t2 (0.96+0.28)/2 = 0.62.
    # score = cos / ((mean_src + mean_tgt) / 2), e.g. s2-t2: 0.96 / ((0.88 + 0.62) / 2) = 0.96 / 0.75 = 1.28.
    src, tgt = _margin_case()
    expected = torch.tensor([
        [0.8 / 0.70, 0.6 / 0.70, 0.0],
        [0.6 / 0.57, 0.0, 0.28 / 0.53],
        [0.0, 0.8 / 0.79, 0.96 / 0.75],
    ], dtype=torch.float64)
    assert torch.allclose(R.margin_scores(src, tgt, k=2), expected, atol=1e-5)
    # k = 4 > set size: capped at 3, so each mean is over the whole row/column:
    # s0 mean 1.4/3, t0 mean 1.4/3 -> score(s0, t0) = 0.8 / (1.4/3) = 12/7
    assert R.margin_scores(src, tgt, k=4)[0, 0].item() == pytest.approx(0.8 / (1.4 / 3), abs=1e-5)


def test_mine_bucc_modes_by_hand():
    src, tgt = _margin_case()
    # Forward (each source among its 2 nearest targets, best margin): s0 -> t0 (1.1429 > 0.8571),
    # s1 -> t0 (1.0526 > 0.5283), s2 -> t2 (1.28 > 1.0127).
    # Backward (each target among its 2 nearest sources): t0 -> s0 (1.1429 > 1.0526),
    # t1 -> s2 (1.0127 > 0.8571), t2 -> s2 (1.28 > 0.5283).
    fwd = [(0, 0, 0.8 / 0.7), (1, 0, 0.6 / 0.57), (2, 2, 1.28)]
    bwd = [(0, 0, 0.8 / 0.7), (2, 1, 0.8 / 0.79), (2, 2, 1.28)]

    def check(got, want):
        assert [(i, j) for i, j, _ in got] == [(i, j) for i, j, _ in want]
        assert [s for *_, s in got] == pytest.approx([s for *_, s in want], abs=1e-5)

    check(R.mine_bucc(src, tgt, k=2, retrieval="fwd"), fwd)
    check(R.mine_bucc(src, tgt, k=2, retrieval="bwd"), bwd)
    # intersect: s1 -> t0 but t0 -> s0, so (1, 0) drops out
    check(R.mine_bucc(src, tgt, k=2, retrieval="intersect"), [fwd[0], fwd[2]])
    # max: pooled and sorted (2,2) 1.28, (0,0) 1.1429, (1,0) 1.0526, (2,1) 1.0127; greedy one-to-one
    # keeps (2,2) and (0,0); (1,0) reuses t0 and (2,1) reuses s2.
    check(R.mine_bucc(src, tgt, k=2), [(2, 2, 1.28), (0, 0, 0.8 / 0.7)])
    # threshold applies after the one-to-one pass: (0,0) at 1.1429 is dropped, (1,0) stays excluded
    check(R.mine_bucc(src, tgt, k=2, threshold=1.2), [(2, 2, 1.28)])
    with pytest.raises(UserError):
        R.mine_bucc(src, tgt, retrieval="both")


# --------------------------------------------------------------------------------- BUCC threshold
def test_bucc_threshold_search_by_hand():
    # Sorted candidates (gold marked *): a*1.5, b 1.4, c*1.3, d*1.2, e 1.0, f 0.9; 4 gold pairs (g never
    # mined). Walking down: F1 0.4 (th 1.45), 1/3, 4/7 (th 1.25), 0.75 (th (1.2+1.0)/2 = 1.1), 2/3, 0.6.
    # Best threshold 1.1 extracts a, b, c, d: 3 correct -> P = 3/4, R = 3/4, F1 = 75.
    candidates = [("a", "A", 1.5), ("b", "B", 1.4), ("c", "C", 1.3), ("d", "D", 1.2), ("e", "E", 1.0),
                  ("f", "F", 0.9), ("a", "A", 1.0)]  # a pair given twice keeps its best score
    gold = [("a", "A"), ("c", "C"), ("d", "D"), ("g", "G")]
    result = get_metric("bucc_f1")(candidates, gold)
    assert result["threshold"] == pytest.approx(1.1)
    assert result["f1"] == pytest.approx(75.0)
    assert result["precision"] == pytest.approx(75.0)
    assert result["recall"] == pytest.approx(75.0)
    assert get_metric("bucc_f1").primary == "f1"
    # A fixed threshold skips the search: >= 1.3 extracts a, b, c: P 2/3, R 1/2, F1 4/7.
    fixed = bucc_scores(candidates, gold, threshold=1.3)
    assert fixed["f1"] == pytest.approx(400 / 7)
    assert fixed["precision"] == pytest.approx(200 / 3) and fixed["recall"] == pytest.approx(50.0)


def test_bucc_threshold_edge_cases():
    # Best F1 at the last candidate: the reference would index past the end; the last score is kept.
    assert optimal_threshold({("a", "A"): 0.9}, {("a", "A")}) == pytest.approx(0.9)
    assert bucc_scores([("a", "A", 0.9)], [("a", "A")])["f1"] == pytest.approx(100.0)
    # No correct candidate: threshold stays 0, every score is 0.
    assert bucc_scores([("a", "B", 1.2)], [("a", "A")]) == {"f1": 0.0, "precision": 0.0, "recall": 0.0, "threshold": 0.0}
    assert bucc_scores([], [])["f1"] == 0.0


# -------------------------------------------------------------------------------------- embeddings
@pytest.fixture(scope="module")
def encoder(tiny_model_dir):
    from transformers import XLMRobertaModel

    return XLMRobertaModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)


LONG = " ".join(["This is a much longer sentence that pads the short one in its batch."] * 6)


def test_mean_pooling_ignores_padding(encoder, tiny_tokenizer):
    alone = R.embed_sentences(encoder, tiny_tokenizer, ["Hello world."], layer=2)
    batched = R.embed_sentences(encoder, tiny_tokenizer, [LONG, "Hello world.", "Bonjour."], layer=2, batch_size=8)
    assert alone.shape == (1, encoder.config.hidden_size) and alone.dtype == torch.float32
    assert torch.allclose(alone[0], batched[1], atol=1e-5)
    # order is restored after the length sort: reversed input gives reversed rows
    reversed_ = R.embed_sentences(encoder, tiny_tokenizer, ["Bonjour.", "Hello world.", LONG], layer=2, batch_size=2)
    assert torch.allclose(reversed_.flip(0), batched, atol=1e-5)


def test_embedding_is_the_mean_of_the_chosen_hidden_layer(encoder, tiny_tokenizer):
    ids = tiny_tokenizer("Hello world.", return_tensors="pt")
    with torch.no_grad():
        states = encoder(**ids, output_hidden_states=True).hidden_states
    for layer in (0, 2, encoder.config.num_hidden_layers):
        got = R.embed_sentences(encoder, tiny_tokenizer, ["Hello world."], layer=layer)[0]
        assert torch.allclose(got, states[layer][0].mean(dim=0), atol=1e-5)
    with pytest.raises(UserError, match="out of range"):
        R.embed_sentences(encoder, tiny_tokenizer, ["x"], layer=encoder.config.num_hidden_layers + 1)
    assert R.embed_sentences(encoder, tiny_tokenizer, [], layer=1).shape == (0, encoder.config.hidden_size)


def test_embed_through_peft_and_keeps_train_mode(tiny_model_dir, encoder, tiny_tokenizer):
    from peft import LoraConfig, get_peft_model
    from transformers import XLMRobertaModel

    base = XLMRobertaModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    wrapped = get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"]))
    wrapped.train()
    sentences = ["Hello world.", "Guten Tag."]
    # A fresh LoRA (B = 0) leaves the function unchanged: same embeddings as the plain encoder.
    got = R.embed_sentences(wrapped, tiny_tokenizer, sentences, layer=R.default_layer(R.num_layers(wrapped)))
    want = R.embed_sentences(encoder, tiny_tokenizer, sentences, layer=2)
    assert torch.allclose(got, want, atol=1e-5)
    assert wrapped.training  # mode restored


def test_embed_through_adapters_model(tiny_model_dir, tiny_tokenizer):
    adapters = pytest.importorskip("adapters")
    from transformers import XLMRobertaModel

    model = XLMRobertaModel.from_pretrained(tiny_model_dir, add_pooling_layer=False)
    adapters.init(model)
    model.add_adapter("probe", config="seq_bn")
    model.set_active_adapters("probe")
    got = R.embed_sentences(model, tiny_tokenizer, ["Hello world.", "Guten Tag."], layer=2)
    assert got.shape == (2, model.config.hidden_size) and torch.isfinite(got).all()


# -------------------------------------------------------------------------------------- end to end
class _LocalPairs(Task):
    """A retrieval task reading <data>/local__pairs/<lang>/test.jsonl (not registered)."""

    name = "local_pairs"
    kind = "target"
    format = "retrieval"
    metric = "tatoeba_accuracy"
    languages = ("de",)
    eval_split = "test"

    def sources(self, split, language):
        return [Source("local/pairs", language, split)]

    def canonicalize(self, dataset, source):
        return dataset.select_columns(["source_sentence", "target_sentence"])


class _LocalBucc(_LocalPairs):
    name = "local_bucc"
    metric = "bucc_f1"


SENTENCES = ["Der Hund schläft.", "Ich trinke Kaffee.", "Das Wetter ist schön heute.", "Wo ist der Bahnhof?",
             "Sie liest ein langes Buch über Geschichte.", "Wir fahren morgen nach Berlin."]


@pytest.fixture()
def pairs_dir(tmp_path):
    folder = tmp_path / "local__pairs" / "de"
    folder.mkdir(parents=True)
    # identical source and target text (plus a trailing newline as the Hub rows have): each English
    # query's nearest source is its own copy (cos 1), so Tatoeba accuracy is exactly 100
    rows = [{"source_sentence": s + "\n", "target_sentence": s} for s in SENTENCES]
    (folder / "test.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return tmp_path


def test_evaluate_retrieval_end_to_end_local(encoder, tiny_tokenizer, pairs_dir):
    tatoeba = R.evaluate_retrieval(_LocalPairs(), encoder, tiny_tokenizer, ["de"], data=str(pairs_dir))
    assert tatoeba["de"]["accuracy"] == pytest.approx(100.0)
    assert tatoeba["de"]["layer"] == 2 and tatoeba["de"]["pooling"] == "mean" and tatoeba["de"]["num_pairs"] == 6
    bucc = R.evaluate_retrieval(_LocalBucc(), encoder, tiny_tokenizer, ["de"], data=str(pairs_dir), layer=1)
    assert set(bucc["de"]) >= {"f1", "precision", "recall", "threshold", "layer", "pooling"}
    assert bucc["de"]["layer"] == 1 and 0.0 <= bucc["de"]["f1"] <= 100.0
    assert math.isfinite(bucc["de"]["threshold"])


def _first_sampled_language(task):
    from adapterstilts.data.loading import SAMPLES_DIR, local_file

    for language in task.languages:
        try:
            sources = task.sources(task.eval_split, language)
        except UserError:
            continue
        if sources and all(local_file(SAMPLES_DIR, src) is not None for src in sources):
            return language
    pytest.fail(f"task {task.name!r} is registered but has no bundled {task.eval_split!r} sample in any language")


@pytest.mark.parametrize("name, primary", [("tatoeba", "accuracy"), ("bucc2018", "f1")])
def test_evaluate_retrieval_on_bundled_sample(name, primary, encoder, tiny_tokenizer):
    from adapterstilts import tasks  # noqa: F401  (registration)

    if name not in TASKS:
        pytest.skip(f"task {name!r} is not registered yet (adapterstilts/tasks); its bundled sample test waits for it")
    task = TASKS.get(name)()
    language = _first_sampled_language(task)
    result = R.evaluate_retrieval(name, encoder, tiny_tokenizer, [language])
    assert 0.0 <= result[language][primary] <= 100.0
    assert result[language]["layer"] == R.default_layer(encoder.config.num_hidden_layers)
    assert result[language]["pooling"] == "mean"
