"""Retrieval evaluation (Tatoeba, BUCC 2018) straight from an encoder, without target training.

Sentence embeddings are the mean over non-padding tokens (attention mask, special tokens included) of
one hidden layer, ``hidden_states[layer]`` with 0 = embeddings output, so layer 14 of XLM-R Large is the
14th transformer block: the XTREME baseline as jiant runs it (``pooler_type="mean"``, ``layer=14``;
XTREME's own ``--specific_layer 13`` indexes the block outputs without the embeddings, the same state).
Similarity is cosine. Layer and pooling move results a lot, so both are returned with every score.

- Tatoeba (XTREME ``third_party/evaluate_retrieval.py`` + ``utils_retrieve.similarity_search``): the
  non-English (source) sentences are indexed and each English (target) sentence retrieves its top-1
  neighbour; correct when it is the aligned row. ``query="source"`` searches the other way.
- BUCC (XTREME ``utils_retrieve.mine_bitext`` with its defaults, as ``run_retrieval.py`` calls it:
  ``retrieval="max"``, ``margin="ratio"``, ``neighborhood=4``, cosine, threshold 0): see :func:`mine_bucc`;
  the F1-optimal threshold search lives in ``adapterstilts.metrics.retrieval``.
"""
from __future__ import annotations

from typing import Sequence

import torch

from adapterstilts.errors import UserError

POOLING = "mean"
RETRIEVAL_MODES = ("max", "fwd", "bwd", "intersect")
_FAISS_MIN_PAIRS = 50_000_000  # query x key products above which faiss (when installed) is used


# ------------------------------------------------------------------------------------------ embeddings
def default_layer(num_layers: int) -> int:
    """Layer 14 of 24 (XTREME's retrieval baseline), scaled to other depths: round(n * 14 / 24), >= 1."""
    if num_layers < 1:
        raise UserError(f"an encoder needs at least one layer, got {num_layers}")
    return max(1, round(num_layers * 14 / 24))


def _config(encoder):
    config = getattr(encoder, "config", None)
    if config is None and hasattr(encoder, "get_base_model"):  # peft
        config = getattr(encoder.get_base_model(), "config", None)
    if config is None:
        raise UserError(f"cannot find the config of encoder {type(encoder).__name__}")
    return config


def num_layers(encoder) -> int:
    """Number of transformer layers of a plain, peft-wrapped or adapters-initialised encoder."""
    return int(_config(encoder).num_hidden_layers)


def embed_sentences(encoder, tokenizer, sentences: Sequence[str], *, layer, max_length: int = 512,
                    batch_size: int = 32, device=None):
    """(N, H) float32 mean-pooled ``hidden_states[layer]`` of each sentence, in input order; with a list
    of layers, {layer: (N, H)} from the same forward passes (``evaluate --layer all``).

    Sentences are tokenized with the special tokens, truncated to ``max_length``, batched by length
    (longest first) and padded on the right; the encoder is only called with ``input_ids``,
    ``attention_mask`` and ``output_hidden_states=True``, in eval mode and without gradients (its
    train/eval mode is restored afterwards)."""
    n_layers = num_layers(encoder)
    wanted = list(layer) if isinstance(layer, (list, tuple, range)) else [layer]
    for one in wanted:
        if not 0 <= one <= n_layers:
            raise UserError(f"layer {one} is out of range: the encoder has {n_layers} layers (choose 0..{n_layers})")
    if batch_size < 1:
        raise UserError(f"batch_size must be at least 1, got {batch_size}")
    hidden = int(_config(encoder).hidden_size)
    if not sentences:
        empty = torch.zeros(0, hidden, dtype=torch.float32)
        return {one: empty for one in wanted} if len(wanted) > 1 or isinstance(layer, (list, tuple, range)) else empty
    if device is None:
        device = next(iter(encoder.parameters())).device
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = tokenizer(list(sentences), truncation=True, max_length=max_length)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    outs = {one: torch.zeros(len(ids), hidden, dtype=torch.float32) for one in wanted}
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.no_grad():
            for start in range(0, len(order), batch_size):
                rows = order[start:start + batch_size]
                width = max(len(ids[i]) for i in rows)
                input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for r, i in enumerate(rows):
                    input_ids[r, : len(ids[i])] = torch.tensor(ids[i], dtype=torch.long)
                    mask[r, : len(ids[i])] = 1
                input_ids, mask = input_ids.to(device), mask.to(device)
                outputs = encoder(input_ids=input_ids, attention_mask=mask, output_hidden_states=True)
                states = getattr(outputs, "hidden_states", None)
                if states is None:
                    raise UserError(f"encoder {type(encoder).__name__} returned no hidden_states")
                for one in wanted:  # pool in fp32 even for fp16 models
                    outs[one][rows] = mean_pool(states[one].float(), mask).cpu()
    finally:
        encoder.train(was_training)
    return outs if isinstance(layer, (list, tuple, range)) else outs[wanted[0]]


def mean_pool(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``states`` (B, L, H) over the positions where ``mask`` (B, L) is 1."""
    weights = mask.to(states.dtype).unsqueeze(-1)
    return (states * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


# ------------------------------------------------------------------------------------- neighbour search
def _normalise(x: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.normalize(torch.as_tensor(x).float(), p=2, dim=1)


def _faiss_module():
    try:
        import faiss  # optional, used for large sets only
    except ImportError:
        return None
    return faiss


def nearest_neighbours(queries: torch.Tensor, keys: torch.Tensor, k: int, *,
                       chunk_size: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact cosine k-nearest keys of every query: (scores, indices), both (Q, min(k, K)), best first.

    Chunked matmul + topk in torch; with faiss installed and more than 5e7 query x key products, a
    faiss ``IndexFlatIP`` over the normalised vectors (same exact search)."""
    q, kv = _normalise(queries), _normalise(keys)
    k = min(int(k), kv.shape[0])
    if k <= 0 or q.shape[0] == 0:
        return torch.zeros(q.shape[0], 0), torch.zeros(q.shape[0], 0, dtype=torch.long)
    faiss = _faiss_module() if q.shape[0] * kv.shape[0] >= _FAISS_MIN_PAIRS else None
    if faiss is not None:
        index = faiss.IndexFlatIP(kv.shape[1])
        index.add(kv.numpy())
        scores, indices = index.search(q.numpy(), k)
        return torch.from_numpy(scores), torch.from_numpy(indices).long()
    all_scores, all_indices = [], []
    for start in range(0, q.shape[0], chunk_size):
        sims = q[start:start + chunk_size] @ kv.T
        scores, indices = sims.topk(k, dim=1)
        all_scores.append(scores)
        all_indices.append(indices)
    return torch.cat(all_scores), torch.cat(all_indices)


def tatoeba_predictions(src_emb: torch.Tensor, tgt_emb: torch.Tensor, *, query: str = "target") -> list[int]:
    """Top-1 cosine neighbour per query. ``query="target"`` (XTREME): for each target (English)
    sentence, the index of the nearest source sentence; ``query="source"``: the reverse."""
    if query not in ("target", "source"):
        raise UserError(f"query must be 'target' or 'source', got {query!r}")
    queries, keys = (tgt_emb, src_emb) if query == "target" else (src_emb, tgt_emb)
    _, indices = nearest_neighbours(queries, keys, 1)
    return indices[:, 0].tolist() if indices.shape[1] else [-1] * int(queries.shape[0])


def tatoeba_accuracy(src_emb: torch.Tensor, tgt_emb: torch.Tensor, *, query: str = "target") -> float:
    """Percent of aligned rows (row i of ``src_emb`` translates row i of ``tgt_emb``) whose top-1 cosine
    neighbour is their partner; direction as in :func:`tatoeba_predictions`."""
    from adapterstilts.metrics.retrieval import top1_accuracy

    if src_emb.shape[0] != tgt_emb.shape[0]:
        raise UserError(f"Tatoeba needs aligned rows: {src_emb.shape[0]} sources vs {tgt_emb.shape[0]} targets")
    predictions = tatoeba_predictions(src_emb, tgt_emb, query=query)
    return top1_accuracy(predictions, list(range(len(predictions))))


# ------------------------------------------------------------------------------------------ BUCC mining
def neighbourhood_means(src_emb: torch.Tensor, tgt_emb: torch.Tensor, k: int = 4):
    """Mean cosine of each source to its min(k, T) nearest targets and of each target to its
    min(k, S) nearest sources, plus the neighbour lists: (fwd_sim, fwd_ind, fwd_mean, bwd_sim, bwd_ind,
    bwd_mean); similarities float64."""
    fwd_sim, fwd_ind = nearest_neighbours(src_emb, tgt_emb, k)
    bwd_sim, bwd_ind = nearest_neighbours(tgt_emb, src_emb, k)
    fwd_sim, bwd_sim = fwd_sim.double(), bwd_sim.double()
    return fwd_sim, fwd_ind, fwd_sim.mean(dim=1), bwd_sim, bwd_ind, bwd_sim.mean(dim=1)


def margin_scores(src_emb: torch.Tensor, tgt_emb: torch.Tensor, k: int = 4) -> torch.Tensor:
    """Full (S, T) ratio-margin matrix (Artetxe & Schwenk 2019):

        score(x, y) = cos(x, y) / ( sum_{z in NN_k(x)} cos(x, z) / 2k + sum_{z in NN_k(y)} cos(y, z) / 2k )

    with NN_k(x) the k nearest targets of x and NN_k(y) the k nearest sources of y (k capped at the set
    size, as XTREME does). For inspection and small sets; :func:`mine_bucc` scores only neighbours."""
    _, _, fwd_mean, _, _, bwd_mean = neighbourhood_means(src_emb, tgt_emb, k)
    cos = _normalise(src_emb).double() @ _normalise(tgt_emb).double().T
    return cos / ((fwd_mean[:, None] + bwd_mean[None, :]) / 2)


def mine_bucc(src_emb: torch.Tensor, tgt_emb: torch.Tensor, k: int = 4, *, retrieval: str = "max",
              threshold: float = 0.0) -> list[tuple[int, int, float]]:
    """Mined candidate pairs ``(source index, target index, margin score)`` as XTREME's ``mine_bitext``
    (mode "mine", ratio margin, cosine) writes them.

    Each source is scored against its k nearest targets and keeps the best by margin (forward); each
    target likewise against its k nearest sources (backward). ``retrieval``:
    - ``"fwd"`` / ``"bwd"``: every forward / backward best pair;
    - ``"intersect"``: forward pairs whose target's backward best is that same source;
    - ``"max"`` (XTREME's default): forward and backward pairs pooled, sorted by decreasing score and
      taken greedily so each source and each target is used once, keeping those scoring > ``threshold``.
    """
    if retrieval not in RETRIEVAL_MODES:
        raise UserError(f"retrieval must be one of {', '.join(RETRIEVAL_MODES)}, got {retrieval!r}")
    n_src, n_tgt = int(src_emb.shape[0]), int(tgt_emb.shape[0])
    if n_src == 0 or n_tgt == 0:
        return []
    fwd_sim, fwd_ind, fwd_mean, bwd_sim, bwd_ind, bwd_mean = neighbourhood_means(src_emb, tgt_emb, k)
    fwd_scores = fwd_sim / ((fwd_mean[:, None] + bwd_mean[fwd_ind]) / 2)
    bwd_scores = bwd_sim / ((bwd_mean[:, None] + fwd_mean[bwd_ind]) / 2)
    fwd_max, fwd_arg = fwd_scores.max(dim=1)
    bwd_max, bwd_arg = bwd_scores.max(dim=1)
    fwd_best = fwd_ind.gather(1, fwd_arg[:, None])[:, 0].tolist()  # target chosen by each source
    bwd_best = bwd_ind.gather(1, bwd_arg[:, None])[:, 0].tolist()  # source chosen by each target
    fwd_max, bwd_max = fwd_max.tolist(), bwd_max.tolist()
    if retrieval == "fwd":
        return [(i, j, fwd_max[i]) for i, j in enumerate(fwd_best)]
    if retrieval == "bwd":
        return [(i, j, bwd_max[j]) for j, i in enumerate(bwd_best)]
    if retrieval == "intersect":
        return [(i, j, fwd_max[i]) for i, j in enumerate(fwd_best) if bwd_best[j] == i]
    pooled = [(i, j, fwd_max[i]) for i, j in enumerate(fwd_best)] + [(i, j, bwd_max[j]) for j, i in enumerate(bwd_best)]
    order = sorted(range(len(pooled)), key=lambda n: -pooled[n][2])  # stable: forward first on ties
    seen_src, seen_tgt, mined = set(), set(), []
    for n in order:
        i, j, score = pooled[n]
        if i in seen_src or j in seen_tgt:
            continue
        seen_src.add(i)
        seen_tgt.add(j)
        if score > threshold:
            mined.append((i, j, score))
    return mined


# ------------------------------------------------------------------------------------------- evaluation
def _unique(sentences: Sequence[str]) -> tuple[list[str], list[int]]:
    """Unique sentences in first-seen order, and the unique index of every input row."""
    index: dict[str, int] = {}
    rows = [index.setdefault(s, len(index)) for s in sentences]
    return list(index), rows


def _score_tatoeba(metric, language, src, tgt, embed):
    if len(src) != len(tgt):
        raise UserError(f"Tatoeba needs aligned rows: {len(src)} sources vs {len(tgt)} targets")
    predictions = tatoeba_predictions(embed(src), embed(tgt), query="target")
    return metric(predictions, list(range(len(tgt))), language=language)


def _first_id_per_line(ids: Sequence[str], sentences: Sequence[str]) -> tuple[list[str], list[str]]:
    """The gold rows repeat a sentence once per gold pair it is in; the reference's ``.id``/``.txt``
    files hold it once per id. Keep the first row of every id, in order."""
    seen: set[str] = set()
    kept_ids, kept_sentences = [], []
    for sid, sentence in zip(ids, sentences):
        if sid not in seen:
            seen.add(sid)
            kept_ids.append(sid)
            kept_sentences.append(sentence)
    return kept_ids, kept_sentences


def _score_bucc(metric, language, src, tgt, embed, src_ids=None, tgt_ids=None):
    """Mine over the unique sentences, then key candidates and gold by sentence id as the reference
    (``read_sent2id`` / ``read_candidate2score``): a text under several ids gets none, so its mined
    pairs are dropped while its gold pairs still count. Without ids each text is its own id."""
    from adapterstilts.metrics.retrieval import candidates_by_id, sentence_ids

    src_ids = list(src) if src_ids is None else [str(i).strip() for i in src_ids]
    tgt_ids = list(tgt) if tgt_ids is None else [str(i).strip() for i in tgt_ids]
    src_unique, _ = _unique(src)
    tgt_unique, _ = _unique(tgt)
    mined = mine_bucc(embed(src_unique), embed(tgt_unique), k=4)
    candidates = candidates_by_id([(src_unique[i], tgt_unique[j], score) for i, j, score in mined],
                                  sentence_ids(*_first_id_per_line(src_ids, src)),
                                  sentence_ids(*_first_id_per_line(tgt_ids, tgt)))
    return metric(candidates, list(zip(src_ids, tgt_ids)), language=language)


_SCORERS = {"tatoeba_accuracy": _score_tatoeba, "bucc_f1": _score_bucc}


def evaluate_retrieval(task, encoder, tokenizer, languages: Sequence[str], *, data: str = "sample",
                       split: str | None = None, layer: int | None = None, max_length: int = 512,
                       batch_size: int = 32) -> dict[str, dict[str, float]]:
    """Score ``encoder`` on a retrieval task (a ``Task`` or its name) in each language.

    Rows come from ``adapterstilts.data.load_examples(task, split, language, data)`` in the retrieval
    format (``source_sentence`` / ``target_sentence``, aligned pairs; stripped of surrounding
    whitespace as XTREME reads its text files). The task's metric decides the protocol:

    - ``tatoeba_accuracy``: every row is a translation pair; English targets retrieve among sources.
    - ``bucc_f1``: the Hugging Face ``google/xtreme`` ``bucc18.<lang>`` configs hold only the gold pairs
      (one row per gold alignment; its ``source_lang`` / ``target_lang`` columns carry the sentence
      ids), not the full monolingual corpora the official task mines from. So mining runs over the
      unique source and unique target sentences present, the gold is the given pairs, and the
      threshold is chosen to maximise F1 on them. Every sentence then has a partner, so scores are
      higher than on the official corpora (which add unaligned distractors): compare like with like.
      Candidates and gold are keyed by sentence id as the reference keys them (a task's
      ``sentence_ids(split, language, data)`` gives them; a text under several ids gets none, see
      ``metrics.retrieval.sentence_ids``); a task without ids is keyed by sentence text.

    Returns {language: {metric scores..., "layer": layer, "pooling": "mean", "num_pairs": n}}; the
    layer defaults to :func:`default_layer` of the encoder depth and is always recorded.
    """
    from adapterstilts.data.loading import load_examples
    from adapterstilts.metrics import get_metric
    from adapterstilts.tasks import get_task

    if isinstance(task, str):
        task = get_task(task)
    scorer = _SCORERS.get(task.metric)
    if scorer is None:
        raise UserError(f"task {task.name!r} has metric {task.metric!r}, not a retrieval metric "
                        f"({', '.join(sorted(_SCORERS))})")
    metric = get_metric(task.metric)
    split = split or task.eval_split
    every = layer == "all"
    layer = default_layer(num_layers(encoder)) if layer in (None, "all") else int(layer)
    layers = list(range(num_layers(encoder) + 1)) if every else [layer]
    memo: dict[tuple, dict] = {}

    def embed_all(sentences):  # one forward for every layer asked for, shared by the scorers
        key = tuple(sentences)
        if key not in memo:
            memo[key] = embed_sentences(encoder, tokenizer, sentences, layer=layers, max_length=max_length,
                                        batch_size=batch_size)
        return memo[key]

    def embed_at(one):
        return lambda sentences: embed_all(sentences)[one]

    embed = embed_at(layer)

    results: dict[str, dict[str, float]] = {}
    for language in languages:
        task.check_language(language)
        examples = load_examples(task, split, language, data)
        src = [str(s).strip() for s in examples["source_sentence"]]
        tgt = [str(t).strip() for t in examples["target_sentence"]]
        ids = getattr(task, "sentence_ids", None)
        if task.metric == "bucc_f1" and callable(ids):
            src_ids, tgt_ids = ids(split, language, data)
            if len(src_ids) != len(src) or len(tgt_ids) != len(tgt):
                raise UserError(f"task {task.name!r} gave {len(src_ids)}/{len(tgt_ids)} sentence ids for {len(src)} rows")
            scores = dict(scorer(metric, language, src, tgt, embed, src_ids, tgt_ids))
        else:
            scores = dict(scorer(metric, language, src, tgt, embed))
        if every:  # the primary score at every layer, from the same embeddings
            by_layer = {}
            for one in layers:
                if one == layer:
                    by_layer[one] = scores[metric.primary]
                    continue
                at = embed_at(one)
                if task.metric == "bucc_f1" and callable(ids):
                    other = scorer(metric, language, src, tgt, at, src_ids, tgt_ids)
                else:
                    other = scorer(metric, language, src, tgt, at)
                by_layer[one] = float(dict(other)[metric.primary])
            scores["by_layer"] = by_layer
        memo.clear()
        scores.update({"layer": layer, "pooling": POOLING, "num_pairs": len(src)})
        results[language] = scores
    return results
