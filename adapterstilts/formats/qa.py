"""Extractive question answering (SQuAD, XQuAD, MLQA, TyDiQA-GoldP): a start and an end logit per
token, contexts longer than the window split into overlapping windows.

Features (one row per window):
- always: ``input_ids``, ``attention_mask``, ``example_index`` (row of the example it came from);
- train: ``start_positions`` / ``end_positions``, token indices of the first answer inside this
  window, or 0 (the ``<s>`` token) when the window does not hold the whole answer or the question
  has none;
- eval: ``offset_mapping``, one ``[char_start, char_end]`` pair per token into the example's
  context; tokens outside the context (``<s>``, the question, separators) hold ``[-1, -1]``
  (``NO_OFFSET``) rather than None, so the Arrow column is a plain list of int pairs that survives
  caching and any ``with_format``.

Windows: the question (leading whitespace stripped, cut to ``MAX_QUESTION_TOKENS`` tokens) is
repeated in every window; the context is cut with ``truncation="only_second"`` and consecutive
windows share ``stride`` context tokens (the tokenizer's ``stride``, i.e. the task's doc stride).

Eval features also carry ``pieces``: the tokenizer's piece strings of the window (``""`` outside
the context), which the reference answer text is rebuilt from.

Postprocessing keeps, per window, the ``N_BEST`` highest start and end logits over context tokens,
scores every valid pair (end >= start, at most ``MAX_ANSWER_TOKENS`` tokens) as start + end logit
and takes the best span over all windows of the example. How the span becomes answer text is the
format's ``answer_text`` setting (``ExtractiveQA(answer_text=...)``; it changes postprocessing
only, never the features):

- ``"words"`` (default, the reference): what XTREME's ``third_party/run_squad.py`` (through
  ``compute_predictions_logits`` / ``get_final_text`` of the transformers commit it pins) and jiant's
  ``squad_style`` postprocessing do. The span is widened to the whitespace-separated words of the
  context that hold its first and last token (``orig_text``, words joined by one space); the
  pieces' own text (``pred_text``: pieces joined, "▁" read as a space, whitespace collapsed) is
  looked up in a cased BERT basic tokenisation of ``orig_text`` (control characters dropped,
  punctuation and CJK ideographs split off) and, when found with a one-to-one character alignment,
  projected back onto ``orig_text``; otherwise ``orig_text`` itself is the answer. So a span that
  ends inside a word returns the characters of its pieces ("Хель" of "Хельсинки"), exactly as the
  reference does, and a lookup that fails returns whole words. That failure is systematic for
  unsegmented CJK text: the basic tokenisation spaces out every ideograph, so a prediction of two
  or more Chinese characters returns the whole space-free run of the context around it (often a
  sentence or more), which is how the reference scores Chinese (jiant skips ``get_final_text`` for
  zh and returns ``pred_text`` instead). Text normalised by SentencePiece (full-width forms,
  ligatures, composed combining marks) also falls back to whole words.
- ``"offsets"``: the exact slice of the original context between the span's character offsets
  (whitespace at either end trimmed: XLM-R's "▁" tokens may carry the preceding space in their
  offsets; combining marks right after the end kept: in decomposed text XLM-R's offsets stop at
  the base letter), so scripts without spaces (Chinese, Japanese, Thai) and unusual splits come back
  verbatim. Better for unsegmented scripts, but not comparable with published XTREME numbers.
  ``docs/fidelity.md`` gives the measured difference (``scripts/qa_answer_text.py``).

With ``task.no_answer`` the null score is the minimum over windows of start[0] + end[0]; "" is
predicted when null - best span > ``task.null_score_threshold``, and the per-example difference
goes to ``extras["na_probs"]``.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch import nn

from adapterstilts.errors import UserError
from adapterstilts.formats.base import Format, encode, pad_sequences, register_format

NO_OFFSET = (-1, -1)  # offset_mapping entry of tokens outside the context
MAX_QUESTION_TOKENS = 64  # as the original BERT SQuAD code's max_query_length
N_BEST = 20
MAX_ANSWER_TOKENS = 30
NO_SPAN_NA_PROB = 1e6  # na_probs value when an example has no valid span at all (empty context)
ANSWER_TEXT_MODES = ("words", "offsets")
DEFAULT_ANSWER_TEXT = "words"  # the reference (XTREME run_squad / jiant); see the module docstring
# XTREME's SQuAD reader (processors/squad.py) splits a context into words at these characters only
CONTEXT_SPACE = frozenset(" \t\r\n\u202f")


def _column(rows, name: str) -> list:
    """A column of a ``datasets.Dataset`` or of a list of dicts."""
    if hasattr(rows, "column_names"):
        return rows[name]
    return [row[name] for row in rows]


def _has_column(rows, name: str) -> bool:
    if hasattr(rows, "column_names"):
        return name in rows.column_names
    return bool(rows) and name in rows[0]


def question_budget(tokenizer, max_length: int) -> tuple[int, int]:
    """(most question tokens kept, fewest context tokens a window then still has)."""
    specials = tokenizer.num_special_tokens_to_add(pair=True)
    cap = min(MAX_QUESTION_TOKENS, max(1, (max_length - specials) // 2))
    return cap, max_length - specials - cap


def _cut_questions(questions: list[str], tokenizer, cap: int) -> list[str]:
    """Strip leading whitespace and cut each question to at most ``cap`` tokens (at a token's
    character end, so the kept part tokenizes as before)."""
    questions = [q.lstrip() for q in questions]
    enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
    out = []
    for question, ids, offsets in zip(questions, enc["input_ids"], enc["offset_mapping"]):
        keep = cap
        while len(ids) > cap and keep > 0:  # re-tokenizing a prefix rarely adds a token: re-check
            question = question[: offsets[keep - 1][1]]
            ids = tokenizer(question, add_special_tokens=False)["input_ids"]
            keep -= 1
        out.append(question)
    return out


def answer_token_span(offsets, sequence_ids, start_char: int, end_char: int) -> tuple[int, int]:
    """Token indices (start, end) of the characters [start_char, end_char) of the context inside
    one window, or (0, 0) when the window does not hold all of them."""
    context = [i for i, s in enumerate(sequence_ids) if s == 1]
    if not context or end_char <= start_char:
        return 0, 0
    first, last = context[0], context[-1]
    if offsets[first][0] > start_char or offsets[last][1] < end_char:
        return 0, 0
    start = next(i for i in context if offsets[i][1] > start_char)
    end = max((i for i in context if offsets[i][0] < end_char), default=start)
    return (start, end) if end >= start else (0, 0)


def check_answer_text(mode: str) -> str:
    if mode not in ANSWER_TEXT_MODES:
        raise UserError(f"unknown QA answer text {mode!r}; use one of {', '.join(ANSWER_TEXT_MODES)}")
    return mode


@register_format
class ExtractiveQA(Format):
    name = "qa"
    preprocess_version = 2  # 2: eval features carry ``pieces``
    label_keys = ("start_positions", "end_positions")

    def __init__(self, answer_text: str = DEFAULT_ANSWER_TEXT):
        self.answer_text = check_answer_text(answer_text)

    # ----------------------------------------------------------------------------- preprocess
    def preprocess(self, examples, tokenizer, task, *, max_length: int, stride: int, train: bool):
        if not getattr(tokenizer, "is_fast", False):
            raise UserError("extractive QA needs a fast tokenizer (character offsets); load it with use_fast=True")
        cap, room = question_budget(tokenizer, max_length)
        if not 0 <= stride < room:
            raise UserError(
                f"QA doc stride {stride} must be at least 0 and smaller than {room} (max length {max_length} "
                f"minus up to {cap} question tokens and the special tokens); lower the stride or raise the max length"
            )

        def tokenize(batch, indices):
            questions = _cut_questions(batch["question"], tokenizer, cap)
            enc = tokenizer(
                questions, batch["context"], truncation="only_second", max_length=max_length, stride=stride,
                return_overflowing_tokens=True, return_offsets_mapping=True, padding=False,
            )
            out: dict[str, list] = {"input_ids": [], "attention_mask": [], "example_index": []}
            if train:
                out["start_positions"], out["end_positions"] = [], []
            else:
                out["offset_mapping"], out["pieces"] = [], []
            for i, row in enumerate(enc["overflow_to_sample_mapping"]):
                offsets, seq_ids = enc["offset_mapping"][i], enc.sequence_ids(i)
                out["input_ids"].append(enc["input_ids"][i])
                out["attention_mask"].append(enc["attention_mask"][i])
                out["example_index"].append(indices[row])
                if train:
                    answers = batch["answers"][row]
                    start, end = 0, 0
                    if answers and answers["text"]:
                        start_char = int(answers["answer_start"][0])
                        end_char = start_char + len(answers["text"][0])
                        start, end = answer_token_span(offsets, seq_ids, start_char, end_char)
                    out["start_positions"].append(start)
                    out["end_positions"].append(end)
                else:
                    out["offset_mapping"].append(
                        [list(o) if s == 1 else list(NO_OFFSET) for o, s in zip(offsets, seq_ids)]
                    )
                    out["pieces"].append([p if s == 1 else "" for p, s in zip(enc.tokens(i), seq_ids)])
            return out

        return examples.map(
            tokenize, batched=True, with_indices=True, remove_columns=examples.column_names, desc="tokenize"
        )

    # ----------------------------------------------------------------------------- batching
    def collate(self, features: list[dict[str, Any]], tokenizer) -> dict[str, torch.Tensor]:
        batch = {
            "input_ids": pad_sequences([f["input_ids"] for f in features], tokenizer.pad_token_id),
            "attention_mask": pad_sequences([f["attention_mask"] for f in features], 0),
        }
        for key in self.label_keys:
            if features[0].get(key) is not None:
                batch[key] = torch.tensor([f[key] for f in features], dtype=torch.long)
        return batch

    # ----------------------------------------------------------------------------- model
    def build_head(self, hidden_size: int, task) -> nn.Module:
        return nn.Linear(hidden_size, 2)

    def forward(self, encoder, head, batch):
        logits = head(encode(encoder, batch))  # (B, L, 2): start, end
        out = {"logits": logits}
        if "start_positions" in batch and "end_positions" in batch:
            start_loss = nn.functional.cross_entropy(logits[..., 0].float(), batch["start_positions"])
            end_loss = nn.functional.cross_entropy(logits[..., 1].float(), batch["end_positions"])
            out["loss"] = (start_loss + end_loss) / 2
        return out

    # ----------------------------------------------------------------------------- postprocess
    def postprocess(self, examples, features, logits, task):
        contexts = _column(examples, "context")
        answers = _column(examples, "answers")
        example_index = _column(features, "example_index")
        offset_mapping = _column(features, "offset_mapping")
        if len(logits) != len(example_index):
            raise ValueError(f"got logits for {len(logits)} features, expected {len(example_index)}")
        by_example: dict[int, list[int]] = defaultdict(list)
        for feature, row in enumerate(example_index):
            by_example[int(row)].append(feature)

        no_answer = bool(getattr(task, "no_answer", False))
        threshold = float(getattr(task, "null_score_threshold", 0.0))
        mode = self.answer_text
        pieces = _column(features, "pieces") if _has_column(features, "pieces") else None
        predictions: list[str] = []
        na_probs: list[float] = []
        for row, context in enumerate(contexts):
            best_score, best_text, null_score = -np.inf, "", np.inf
            for feature in by_example.get(row, []):
                offsets = np.asarray(offset_mapping[feature], dtype=np.int64).reshape(-1, 2)
                scores = np.asarray(logits[feature], dtype=np.float64)[: len(offsets)]
                null_score = min(null_score, float(scores[0, 0] + scores[0, 1]))
                span = _best_span(scores, offsets)
                if span is not None and span[0] > best_score:
                    best_score = span[0]
                    start, end = span[1], span[2]
                    if mode == "offsets":
                        best_text = context[offsets[start, 0] : _past_marks(context, int(offsets[end, 1]))].strip()
                    else:
                        span_pieces = None if pieces is None else pieces[feature][start : end + 1]
                        best_text = reference_answer(context, offsets[start : end + 1], span_pieces)
            if no_answer:
                if np.isfinite(best_score):
                    diff = null_score - best_score
                else:
                    diff = NO_SPAN_NA_PROB
                na_probs.append(float(diff))
                predictions.append("" if diff > threshold else best_text)
            else:
                predictions.append(best_text)
        references = [list(a["text"]) if a else [] for a in answers]
        extras = {"na_probs": na_probs} if no_answer else {}
        return predictions, references, extras


def _past_marks(context: str, end: int) -> int:
    """``end`` moved past combining marks that follow it: with decomposed text (NFD) XLM-R's offsets
    end at a base letter and leave out its accents, which belong to the answer."""
    while 0 <= end < len(context) and unicodedata.category(context[end]).startswith("M"):
        end += 1
    return end


def _best_span(scores: np.ndarray, offsets: np.ndarray) -> tuple[float, int, int] | None:
    """(score, start token, end token) of the best valid span in one window, or None."""
    in_context = offsets[:, 0] >= 0
    if not in_context.any():
        return None
    start_logits = np.where(in_context, scores[:, 0], -np.inf)
    end_logits = np.where(in_context, scores[:, 1], -np.inf)
    k = min(N_BEST, int(in_context.sum()))
    starts = np.argsort(-start_logits, kind="stable")[:k]
    ends = np.argsort(-end_logits, kind="stable")[:k]
    pair = start_logits[starts][:, None] + end_logits[ends][None, :]
    length = ends[None, :] - starts[:, None] + 1
    pair = np.where((length >= 1) & (length <= MAX_ANSWER_TOKENS), pair, -np.inf)
    i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
    if not np.isfinite(pair[i, j]):
        return None
    return float(pair[i, j]), int(starts[i]), int(ends[j])


# --------------------------------------------------------------------------------- reference answer text
# The rule of XTREME's run_squad and jiant (see the module docstring), written from its description:
# whitespace words of the context, the pieces' text, a cased BERT basic tokenisation of the words and
# a character projection that falls back to the whole words.

def context_words(context: str) -> tuple[list[str], list[int]]:
    """The context's whitespace-separated words (split at ``CONTEXT_SPACE`` only, as XTREME's reader)
    and, per character, the index of the word it belongs to (a space belongs to the word before)."""
    words: list[str] = []
    char_to_word: list[int] = []
    after_space = True
    for char in context:
        if char in CONTEXT_SPACE:
            after_space = True
        else:
            if after_space:
                words.append(char)
            else:
                words[-1] += char
            after_space = False
        char_to_word.append(len(words) - 1)
    return words, char_to_word


def pieces_text(pieces: list[str]) -> str:
    """The text of sub-word pieces as the tokenizer spells it, whitespace collapsed: SentencePiece's
    "▁" read as a space (XLM-R), or WordPiece's "##" glued to the piece before (mBERT)."""
    if any(p.startswith("##") for p in pieces) and not any("▁" in p for p in pieces):
        text = " ".join(pieces).replace(" ##", "").replace("##", "")
    else:
        text = "".join(pieces).replace("▁", " ")
    return " ".join(text.split())


def _is_cjk(cp: int) -> bool:
    """CJK unified ideographs (and extensions, compatibility ideographs): BERT's "Chinese characters".
    Hangul, hiragana and katakana are not among them."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or 0x2A700 <= cp <= 0x2B73F
            or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
            or 0x2F800 <= cp <= 0x2FA1F)


def _is_punctuation(char: str) -> bool:
    cp = ord(char)  # every non-alphanumeric ASCII character counts, as in BERT
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_basic_space(char: str) -> bool:
    return char in " \t\n\r" or unicodedata.category(char) == "Zs"


def basic_tokens(text: str) -> str:
    """BERT's basic tokenisation, cased (XLM-R: no lower-casing, no accent stripping), joined by
    spaces: NUL, U+FFFD and control/format characters dropped, whitespace made a space, CJK
    ideographs and punctuation made tokens of their own. No Unicode normalisation, as in the
    transformers commit XTREME pins."""
    chars: list[str] = []
    for char in text:
        cp = ord(char)
        if cp == 0 or cp == 0xFFFD or (char not in "\t\n\r" and unicodedata.category(char).startswith("C")):
            continue
        if _is_basic_space(char):
            chars.append(" ")
        elif _is_cjk(cp) or _is_punctuation(char):
            chars.extend((" ", char, " "))
        else:
            chars.append(char)
    return " ".join("".join(chars).split())


def _without_spaces(text: str) -> tuple[str, list[int]]:
    """``text`` less its " " characters, and the position in ``text`` of each kept character."""
    kept = [i for i, c in enumerate(text) if c != " "]
    return "".join(text[i] for i in kept), kept


def project_prediction(pred_text: str, orig_text: str) -> str:
    """The part of ``orig_text`` that ``pred_text`` (the pieces' text) spells, found through the basic
    tokenisation of ``orig_text``; ``orig_text`` whenever that alignment fails (the reference's
    ``get_final_text`` rule, cased)."""
    tok_text = basic_tokens(orig_text)
    start = tok_text.find(pred_text)
    if start < 0:
        return orig_text
    end = start + len(pred_text) - 1
    orig_ns, orig_positions = _without_spaces(orig_text)
    tok_ns, tok_positions = _without_spaces(tok_text)
    if len(orig_ns) != len(tok_ns):
        return orig_text
    tok_to_ns = {position: i for i, position in enumerate(tok_positions)}
    if start not in tok_to_ns or end not in tok_to_ns:  # a match that starts or ends on a space
        return orig_text
    return orig_text[orig_positions[tok_to_ns[start]] : orig_positions[tok_to_ns[end]] + 1]


def _word_of(span: tuple[int, int], char_to_word: list[int], context: str) -> int:
    """Word of a token: that of its first non-space character (a bare "▁" piece's offsets cover the
    next character, so it joins the word it precedes, as when XTREME tokenises word by word)."""
    begin, end = int(span[0]), int(span[1])
    for i in range(begin, min(end, len(context))):
        if context[i] not in CONTEXT_SPACE:
            return char_to_word[i]
    return char_to_word[min(begin, len(context) - 1)]


def reference_answer(context: str, offsets, pieces: list[str] | None) -> str:
    """Answer text of the tokens with character ``offsets`` (first to last token of the span) and
    piece strings ``pieces`` (None: the context's own characters stand in for them) by the
    reference rule: whole words, narrowed to the pieces' text when it aligns."""
    if not context:
        return ""
    words, char_to_word = context_words(context)
    if not words:
        return ""
    first, last = _word_of(offsets[0], char_to_word, context), _word_of(offsets[-1], char_to_word, context)
    orig_text = " ".join(words[max(first, 0) : last + 1])
    if pieces is None:
        pred_text = " ".join(context[int(offsets[0][0]) : int(offsets[-1][1])].split())
    else:
        pred_text = pieces_text(list(pieces))
    return project_prediction(pred_text, orig_text)
