"""Language covariates of the distance study: URIEL distances to English (``urielplus``) and each
language's size in XLM-R's pretraining corpus (CC-100).

URIEL: ``urielplus`` (URIEL+, Khan et al. 2025), not ``lang2vec``. Both wheels ship their data, so
both work offline, but lang2vec's last PyPI release (1.1.2, March 2019) has no ``distance()`` and
no precomputed distance matrices (its GitHub ``distance`` needs a ``distances.zip`` that the wheel
lacks), while urielplus is maintained (1.3.2, 2026), ships URIEL's vectors plus the URIEL+ sources
inside the wheel and computes the six classic distances (angular distance between the languages'
feature vectors over the features both have) with ``new_distance(type, l1, l2)``. Languages are
looked up by their ISO 639-3 code from ``adapterstilts.languages``.

CC-100 sizes: Table 6 (Appendix A) of Conneau et al. 2020, "Unsupervised Cross-lingual
Representation Learning at Scale" (ACL 2020, arXiv 1911.02116), as transcribed in
github.com/mayhewsw/multilingual-data-stats (cc-100/cc-100.csv). The covariate is log10 of the token
count (millions): the paper's GiB column has known errors (uk, sv, th, zh give impossible bytes per
token; the authors confirmed uk and sv to that repository). Chinese is Simplified + Traditional (259 +
176); Burmese is the Unicode row (the Zawgyi row, 15M, is left out). Languages XLM-R was not
trained on (Yoruba, Haitian Creole, Quechua) have no row: they are left out of the partial
correlation, and the report names them."""
from __future__ import annotations

import math

DISTANCE_TYPES = ("syntactic", "genetic", "geographic", "phonological", "inventory", "featural")
CC100_SOURCE = ("XLM-R paper (Conneau et al. 2020, arXiv 1911.02116), Appendix A, Table 6, tokens (M), as "
                "transcribed in github.com/mayhewsw/multilingual-data-stats cc-100/cc-100.csv")

# ISO 639-1 -> CC-100 tokens (millions), XLM-R paper Table 6
CC100_TOKENS_M: dict[str, float] = {
    "en": 55608, "vi": 24757, "ru": 23408, "id": 22704, "fa": 13259, "sv": 12950, "ro": 10354, "de": 10297,
    "fr": 9780, "es": 9374, "no": 8494, "pt": 8405, "da": 7823, "hu": 7807, "uk": 6960, "fi": 6730, "pl": 6490,
    "ko": 5644, "bg": 5487, "nl": 5025, "it": 4983, "el": 4285, "sk": 3525, "he": 3399, "hr": 3297, "ar": 2869,
    "tr": 2736, "cs": 2498, "lt": 1835, "th": 1834, "ca": 1752, "hi": 1715, "sl": 1669, "ms": 1318, "lv": 1198,
    "sq": 918, "et": 843, "sr": 843, "az": 783, "ur": 730, "ta": 595, "tl": 556, "ja": 530, "bn": 525, "is": 505,
    "gl": 495, "kk": 476, "ka": 469, "mk": 449, "hy": 421, "la": 390, "be": 362, "ml": 313, "sw": 275, "eu": 270,
    "zh": 259 + 176, "te": 249, "mn": 248, "si": 243, "af": 242, "ne": 237, "mr": 175, "kn": 169, "eo": 157,
    "cy": 141, "gu": 140, "ps": 96, "ky": 94, "uz": 91, "ga": 86, "am": 68, "pa": 68, "ku": 66, "so": 62, "ha": 56,
    "my": 56, "sd": 50, "km": 36, "or": 36, "yi": 34, "fy": 29, "ug": 27, "mg": 25, "jv": 24, "gd": 21, "lo": 17,
    "sa": 17, "br": 16, "bs": 14, "xh": 13, "su": 10, "om": 8, "as": 5,
}


def log_cc100(code: str) -> float | None:
    tokens = CC100_TOKENS_M.get(code)
    return math.log10(tokens) if tokens else None


_URIEL = None


def _uriel():
    global _URIEL
    if _URIEL is None:
        import logging

        try:
            from urielplus import urielplus
        except ImportError:
            from adapterstilts.errors import UserError

            raise UserError("the distance study needs urielplus (URIEL distances, offline); "
                            "`pip install 'adapterstilts[report]'`") from None
        level = logging.getLogger().level
        logging.getLogger().setLevel(logging.WARNING)  # urielplus logs every distance at INFO
        try:
            _URIEL = urielplus.URIELPlus()
        finally:
            logging.getLogger().setLevel(level)
    return _URIEL


def uriel_distances(codes: list[str], types: tuple[str, ...] = DISTANCE_TYPES) -> dict[str, dict[str, float | None]]:
    """code -> {distance type: URIEL distance to English (None when URIEL has no shared features)}."""
    import logging

    from adapterstilts.languages import get_language

    uriel = _uriel()
    out: dict[str, dict[str, float | None]] = {}
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)
    try:
        for code in codes:
            iso3 = get_language(code).iso3
            out[code] = {}
            for kind in types:
                try:
                    out[code][kind] = float(uriel.new_distance(kind, "eng", iso3))
                except (ValueError, IndexError, KeyError):
                    out[code][kind] = None
    finally:
        root.setLevel(level)
    return out
