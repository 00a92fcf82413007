"""A small, randomly initialised XLM-R with a tokenizer trained offline on bundled multilingual
text: the real ``XLMRobertaConfig`` / ``XLMRobertaModel`` classes and an XLM-R-style SentencePiece
(Unigram + Metaspace) fast tokenizer, saved with ``save_pretrained`` so every ``--model`` option
accepts the folder. Used by the demo and the tests; no download involved."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

CORPUS = Path(__file__).parent / "samples" / "tokenizer_corpus.txt"
SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def corpus_lines() -> list[str]:
    """The bundled corpus plus every string in the bundled samples, so the tiny tokenizer covers
    every script the samples use."""
    lines = [line.strip() for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in sorted(CORPUS.parent.rglob("*.jsonl")):
        for row in path.read_text(encoding="utf-8").splitlines():
            if row.strip():
                lines.extend(s for s in _strings(json.loads(row)) if s.strip())
    return lines


def train_tokenizer(vocab_size: int = 2000):
    """An XLM-R-like fast tokenizer trained on the bundled multilingual corpus."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.normalizer = normalizers.NFKC()
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, unk_token="<unk>", shrinking_factor=0.75,
        show_progress=False,
    )
    lines = corpus_lines()
    tok.train_from_iterator(lines, trainer=trainer)
    tok.model = _fixed_vocabulary(tok, lines)
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", bos), ("</s>", eos)]
    )
    return XLMRobertaTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>", cls_token="<s>",
        unk_token="<unk>", pad_token="<pad>", mask_token="<mask>", model_max_length=512,
    )


def _fixed_vocabulary(tok, lines: list[str], passes: int = 3):
    """The trained pieces with scores that do not depend on the process. The Unigram trainer picks the
    same pieces every time, but it iterates hash maps seeded per process, so its scores (and the
    vocabulary order) differ from build to build. Here the scores are re-estimated deterministically:
    start from each piece's (add-one) substring frequency in the pre-tokenised corpus, then a few
    hard-EM passes (segment the corpus with the current scores, score = log of each piece's add-one
    share of the segmentation). The vocabulary is ordered by score, then piece: same seed, same bytes."""
    import math
    from collections import Counter

    from tokenizers import Tokenizer, models

    pieces = [p for p, _ in json.loads(tok.to_str())["model"]["vocab"]]
    specials = [p for p in SPECIAL_TOKENS if p in pieces]
    ordinary = sorted(p for p in pieces if p not in SPECIAL_TOKENS)
    words = [w for line in lines for w, _ in tok.pre_tokenizer.pre_tokenize_str(tok.normalizer.normalize_str(line))]
    text = "\n".join(words)
    counts = {p: text.count(p) for p in ordinary}

    def model(counts: dict[str, int]):
        total = sum(counts.values()) + len(counts)
        scored = sorted(((p, math.log((counts[p] + 1) / total)) for p in ordinary), key=lambda x: (-x[1], x[0]))
        return models.Unigram([(p, 0.0) for p in specials] + scored, unk_id=specials.index("<unk>"),
                              byte_fallback=False)

    for _ in range(passes):
        segmenter = Tokenizer(model(counts))
        usage = Counter(piece for word in words for piece in segmenter.encode(word, add_special_tokens=False).tokens)
        counts = {p: usage.get(p, 0) for p in ordinary}
    return model(counts)


def make_tiny_model(out_dir: str | os.PathLike, *, layers: int = 4, hidden: int = 64, heads: int = 4,
                    intermediate: int = 128, vocab_size: int = 2000, seed: int = 0, overwrite: bool = False) -> Path:
    """Write a tiny XLM-R (model + tokenizer) to ``out_dir`` atomically and return the path. A
    non-empty ``out_dir`` is replaced only with ``overwrite`` (and only if it holds a tiny model)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from adapterstilts.errors import UserError

    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        if not overwrite:
            raise UserError(f"{out} exists and is not empty; choose a new folder or pass --overwrite")
        if not (out / "adapterstilts_tiny.json").is_file():
            raise UserError(f"{out} does not hold a tiny model made by adapterstilts; refusing to replace it")
    from adapterstilts.runs.folder import check_output_place

    check_output_place(out, "DIRECTORY")  # a file where a folder belongs: one line, before any work
    if layers < 1 or heads < 1 or hidden < 1 or hidden % heads:
        raise UserError(f"--hidden {hidden} must be a positive multiple of the {heads} attention heads, "
                        f"and --layers at least 1 (got {layers})")
    tokenizer = train_tokenizer(vocab_size)
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate, max_position_embeddings=512 + 2, pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, type_vocab_size=1,
    )
    torch.manual_seed(seed)
    model = XLMRobertaModel(config, add_pooling_layer=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=out.parent))
    from adapterstilts.runs.folder import user_modes

    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    (tmp / "adapterstilts_tiny.json").write_text(json.dumps({"layers": layers, "hidden": hidden, "seed": seed}))
    user_modes(tmp)
    if out.exists():
        shutil.rmtree(out)
    os.replace(tmp, out)
    return out
