"""MLQA answer scoring with the language-specific normalisation of the official
``mlqa_evaluation_v1.py`` (facebookresearch/MLQA), which XTREME runs for MLQA
(``third_party/evaluate_mlqa.py``, called with the context language).

Normalisation of an answer in ``language``, in this order:

1. lowercase (``str.lower``);
2. drop punctuation: every character whose Unicode category starts with "P", plus the ASCII
   ``string.punctuation`` (which adds the symbols $ + < = > ^ ` | ~; other symbols such as "€" stay);
3. drop articles, replacing each by a space (regex word boundaries, Unicode-aware):
   en a an the; es un una unos unas el la los las; de ein eine einen einem eines einer der die das
   den dem des; vi của là cái chiếc những; hi and zh none; ar: every occurrence of "ال", also
   inside a word (the official pattern ``\\sال^|ال``: its first branch can never match, since ``^``
   after three characters is never at the start of the string, so only the bare "ال" branch acts);
4. tokenise: whitespace split for en es hi vi de ar; for zh "mixed segmentation": every character
   in U+4E00..U+9FA5 (and every punctuation character) is its own token, runs of other characters
   are whitespace split ("2008年" -> "2008", "年"); tokens are joined by one space.

Exact match compares the normalised strings, F1 the overlap of their whitespace tokens, maximised
over the gold answers, as in SQuAD v1.1. Any other language is an error, as in the official script.
"""
from __future__ import annotations

import re
import unicodedata

from adapterstilts.errors import UserError
from adapterstilts.metrics.base import register_metric
from adapterstilts.metrics.squad import ASCII_PUNCTUATION, check_answers, score_max_over_golds

WHITESPACE_LANGUAGES = ("en", "es", "hi", "vi", "de", "ar")
MIXED_SEGMENTATION_LANGUAGES = ("zh",)
LANGUAGES = WHITESPACE_LANGUAGES + MIXED_SEGMENTATION_LANGUAGES

_ARTICLE_PATTERNS = {
    "en": re.compile(r"\b(?:a|an|the)\b"),
    "es": re.compile(r"\b(?:un|una|unos|unas|el|la|los|las)\b"),
    "vi": re.compile(r"\b(?:của|là|cái|chiếc|những)\b"),
    "de": re.compile(r"\b(?:ein|eine|einen|einem|eines|einer|der|die|das|den|dem|des)\b"),
}
_ARABIC_ARTICLE = "\u0627\u0644"  # "ال"
_CJK_FIRST, _CJK_LAST = "\u4e00", "\u9fa5"


def is_punctuation(ch: str) -> bool:
    """MLQA's punctuation: any Unicode "P*" category character or ASCII ``string.punctuation``."""
    return ch in ASCII_PUNCTUATION or unicodedata.category(ch).startswith("P")


def check_language(language: str | None) -> str:
    if language is None:
        raise UserError(f"metric 'mlqa' needs the answer language; pass language= one of: {', '.join(LANGUAGES)}")
    if language not in LANGUAGES:
        raise UserError(
            f"metric 'mlqa' has no normalisation for language {language!r}; choose one of: {', '.join(LANGUAGES)}"
        )
    return language


def _remove_articles(text: str, language: str) -> str:
    if language == "ar":
        return text.replace(_ARABIC_ARTICLE, " ")
    pattern = _ARTICLE_PATTERNS.get(language)  # hi, zh: no articles
    return pattern.sub(" ", text) if pattern is not None else text


def mixed_segmentation(text: str) -> list[str]:
    """zh tokens: single CJK (U+4E00..U+9FA5) or punctuation characters, other runs whitespace split."""
    tokens: list[str] = []
    pending = ""
    for ch in text:
        if _CJK_FIRST <= ch <= _CJK_LAST or is_punctuation(ch):
            tokens.extend(pending.split())
            pending = ""
            tokens.append(ch)
        else:
            pending += ch
    tokens.extend(pending.split())
    return tokens


def normalize_mlqa(text: str, language: str) -> str:
    """The official MLQA normalisation of ``text`` in ``language`` (see the module docstring)."""
    language = check_language(language)
    lowered = text.lower()
    no_punctuation = "".join(ch for ch in lowered if not is_punctuation(ch))
    no_articles = _remove_articles(no_punctuation, language)
    if language in MIXED_SEGMENTATION_LANGUAGES:
        tokens = mixed_segmentation(no_articles)
    else:
        tokens = no_articles.split()
    return " ".join(token for token in tokens if token.strip())


@register_metric("mlqa", primary="f1")
def mlqa(predictions, references, *, language=None, **extras) -> dict[str, float]:
    """MLQA: predictions list[str], references list[list[str]], ``language`` = the context/answer
    language (en es de ar hi vi zh)."""
    language = check_language(language)
    check_answers(predictions, references, "mlqa", allow_unanswerable=False)
    return score_max_over_golds(predictions, references, lambda text: normalize_mlqa(text, language))
