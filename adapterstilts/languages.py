"""One table of the languages the benchmarks use, and the per-dataset names each language goes by.

Codes: ``code`` is the ISO 639-1 code XTREME uses everywhere (file names, the Hub's ``PAN-X.<code>``
configs); ``iso3`` the ISO 639-3 code of the same language (the macrolanguage code where ISO 639-1
names a macrolanguage: ``zho``, ``fas``, ``swa``, ``msa``, ``est``, ``ara``). Datasets do not agree
on names, so each one's own spelling is a column here rather than a dictionary in its task module:

- ``udpos``: the language part of ``google/xtreme`` ``udpos.<Name>`` (33 languages);
- ``tatoeba``: the ISO 639-3 code of ``google/xtreme`` ``tatoeba.<code>``; Tatoeba files the
  *individual* language, so Chinese is ``cmn`` (Mandarin), Persian ``pes`` (Iranian Persian) and
  Swahili ``swh``; Telugu, XTREME's 36th Tatoeba language, has no config on the Hub (None here);
- ``tydiqa``: the prefix of TyDiQA-GoldP example ids (``arabic-...``), the only way to tell its
  mixed-language rows apart.

``family`` / ``genus`` follow the language-family column of the XTREME paper (Hu et al. 2020, Table
of languages) at the granularity of a family and, for Indo-European and the larger families, a
branch; ``script`` is the writing system the datasets use. They are descriptive columns for tables
and for grouping results (e.g. transfer by family); linguistic distances come from URIEL instead.
"""
from __future__ import annotations

from dataclasses import dataclass

from adapterstilts.errors import UserError


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1, as XTREME names languages
    iso3: str  # ISO 639-3 (macrolanguage code where ISO 639-1 is a macrolanguage)
    name: str  # English name
    family: str
    genus: str  # branch / subfamily ("" for isolates and one-branch families)
    script: str
    udpos: str | None = None  # google/xtreme udpos.<udpos>
    tatoeba: str | None = None  # google/xtreme tatoeba.<tatoeba>
    tydiqa: str | None = None  # TyDiQA-GoldP id prefix


IE = "Indo-European"
L = Language
TABLE: tuple[Language, ...] = (
    L("af", "afr", "Afrikaans", IE, "Germanic", "Latin", udpos="Afrikaans", tatoeba="afr"),
    L("ar", "ara", "Arabic", "Afro-Asiatic", "Semitic", "Arabic", udpos="Arabic", tatoeba="ara", tydiqa="arabic"),
    L("bg", "bul", "Bulgarian", IE, "Slavic", "Cyrillic", udpos="Bulgarian", tatoeba="bul"),
    L("bn", "ben", "Bengali", IE, "Indo-Aryan", "Bengali", tatoeba="ben", tydiqa="bengali"),
    L("de", "deu", "German", IE, "Germanic", "Latin", udpos="German", tatoeba="deu"),
    L("el", "ell", "Greek", IE, "Hellenic", "Greek", udpos="Greek", tatoeba="ell"),
    L("en", "eng", "English", IE, "Germanic", "Latin", udpos="English", tydiqa="english"),
    L("es", "spa", "Spanish", IE, "Romance", "Latin", udpos="Spanish", tatoeba="spa"),
    L("et", "est", "Estonian", "Uralic", "Finnic", "Latin", udpos="Estonian", tatoeba="est"),
    L("eu", "eus", "Basque", "Basque", "", "Latin", udpos="Basque", tatoeba="eus"),
    L("fa", "fas", "Persian", IE, "Iranian", "Perso-Arabic", udpos="Persian", tatoeba="pes"),
    L("fi", "fin", "Finnish", "Uralic", "Finnic", "Latin", udpos="Finnish", tatoeba="fin", tydiqa="finnish"),
    L("fr", "fra", "French", IE, "Romance", "Latin", udpos="French", tatoeba="fra"),
    L("he", "heb", "Hebrew", "Afro-Asiatic", "Semitic", "Hebrew", udpos="Hebrew", tatoeba="heb"),
    L("hi", "hin", "Hindi", IE, "Indo-Aryan", "Devanagari", udpos="Hindi", tatoeba="hin"),
    L("hu", "hun", "Hungarian", "Uralic", "Ugric", "Latin", udpos="Hungarian", tatoeba="hun"),
    L("id", "ind", "Indonesian", "Austronesian", "Malayo-Polynesian", "Latin", udpos="Indonesian", tatoeba="ind",
      tydiqa="indonesian"),
    L("it", "ita", "Italian", IE, "Romance", "Latin", udpos="Italian", tatoeba="ita"),
    L("ja", "jpn", "Japanese", "Japonic", "", "Kanji and kana", udpos="Japanese", tatoeba="jpn"),
    L("jv", "jav", "Javanese", "Austronesian", "Malayo-Polynesian", "Latin", tatoeba="jav"),
    L("ka", "kat", "Georgian", "Kartvelian", "", "Georgian", tatoeba="kat"),
    L("kk", "kaz", "Kazakh", "Turkic", "Kipchak", "Cyrillic", udpos="Kazakh", tatoeba="kaz"),
    L("ko", "kor", "Korean", "Koreanic", "", "Hangul", udpos="Korean", tatoeba="kor", tydiqa="korean"),
    L("ml", "mal", "Malayalam", "Dravidian", "South Dravidian", "Malayalam", tatoeba="mal"),
    L("mr", "mar", "Marathi", IE, "Indo-Aryan", "Devanagari", udpos="Marathi", tatoeba="mar"),
    L("ms", "msa", "Malay", "Austronesian", "Malayo-Polynesian", "Latin"),
    L("my", "mya", "Burmese", "Sino-Tibetan", "Lolo-Burmese", "Myanmar"),
    L("nl", "nld", "Dutch", IE, "Germanic", "Latin", udpos="Dutch", tatoeba="nld"),
    L("pt", "por", "Portuguese", IE, "Romance", "Latin", udpos="Portuguese", tatoeba="por"),
    L("ru", "rus", "Russian", IE, "Slavic", "Cyrillic", udpos="Russian", tatoeba="rus", tydiqa="russian"),
    L("sw", "swa", "Swahili", "Niger-Congo", "Bantu", "Latin", tatoeba="swh", tydiqa="swahili"),
    L("ta", "tam", "Tamil", "Dravidian", "South Dravidian", "Tamil", udpos="Tamil", tatoeba="tam"),
    L("te", "tel", "Telugu", "Dravidian", "South-Central Dravidian", "Telugu", udpos="Telugu", tydiqa="telugu"),
    L("th", "tha", "Thai", "Kra-Dai", "Tai", "Thai", udpos="Thai", tatoeba="tha"),
    L("tl", "tgl", "Tagalog", "Austronesian", "Malayo-Polynesian", "Latin", udpos="Tagalog", tatoeba="tgl"),
    L("tr", "tur", "Turkish", "Turkic", "Oghuz", "Latin", udpos="Turkish", tatoeba="tur"),
    L("ur", "urd", "Urdu", IE, "Indo-Aryan", "Perso-Arabic", udpos="Urdu", tatoeba="urd"),
    L("vi", "vie", "Vietnamese", "Austroasiatic", "Vietic", "Latin", udpos="Vietnamese", tatoeba="vie"),
    L("yo", "yor", "Yoruba", "Niger-Congo", "Volta-Niger", "Latin", udpos="Yoruba"),
    L("zh", "zho", "Chinese", "Sino-Tibetan", "Sinitic", "Han", udpos="Chinese", tatoeba="cmn"),
    # XTREME-R's additional languages (no per-dataset names here: XTREME's tasks keep their language lists)
    L("az", "aze", "Azerbaijani", "Turkic", "Oghuz", "Latin"),
    L("gu", "guj", "Gujarati", IE, "Indo-Aryan", "Gujarati"),
    L("ht", "hat", "Haitian Creole", "French Creole", "", "Latin"),
    L("lt", "lit", "Lithuanian", IE, "Baltic", "Latin"),
    L("pa", "pan", "Punjabi", IE, "Indo-Aryan", "Gurmukhi"),
    L("pl", "pol", "Polish", IE, "Slavic", "Latin"),
    L("qu", "que", "Quechua", "Quechuan", "", "Latin"),
    L("ro", "ron", "Romanian", IE, "Romance", "Latin"),
    L("uk", "ukr", "Ukrainian", IE, "Slavic", "Cyrillic"),
    L("wo", "wol", "Wolof", "Niger-Congo", "Atlantic", "Latin"),
)
del L

LANGUAGES: dict[str, Language] = {lang.code: lang for lang in TABLE}
DATASET_FIELDS = ("udpos", "tatoeba", "tydiqa")


def get_language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise UserError(f"unknown language code {code!r}; choose one of: {', '.join(LANGUAGES)} "
                        "(ISO 639-1; add a row to adapterstilts/languages.py for a new one)") from None


def config_names(dataset: str) -> dict[str, str]:
    """{ISO 639-1 code: the dataset's own name for it} over the languages that dataset has, e.g.
    ``config_names("udpos")["fa"] == "Persian"``; ``dataset`` is one of ``DATASET_FIELDS``."""
    if dataset not in DATASET_FIELDS:
        raise UserError(f"no per-dataset names for {dataset!r}; choose one of: {', '.join(DATASET_FIELDS)}")
    return {lang.code: getattr(lang, dataset) for lang in TABLE if getattr(lang, dataset)}
