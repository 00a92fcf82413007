"""XGLUE (Liang et al. 2020, arXiv 2004.01401): the understanding tasks, from ``microsoft/xglue``.

``microsoft/xglue`` is a loading-script dataset (read through the Hub's Parquet conversion, see
``data/loading.py``). Its configs are ``ner pos mlqa nc xnli paws-x qadsm wpr qam qg ntg``; every config
has one English ``train`` split and per-language ``validation.<lang>`` / ``test.<lang>`` splits (the
XGLUE test labels were released on 2020-11-26, so ``test.<lang>`` is labelled and is the evaluation
split here, as ``test`` is for XTREME; checkpoints are selected on ``validation.en``). Schema and
ClassLabel orders are the loading script's:

- ner: ``words`` [str], ``ner`` [ClassLabel O B-PER I-PER B-ORG I-ORG B-LOC I-LOC B-MISC I-MISC]
  (CoNLL-2002/2003, en de es nl; not PAN-X, so not the XTREME ``panx`` task);
- pos: ``words`` [str], ``pos`` [ClassLabel, the 17 UPOS tags in XTREME's order] (UD 2.5, 17 languages
  on the Hub; XGLUE's own scorer also lists Portuguese, which the Hub loader does not have);
- nc: ``news_title``, ``news_body``, ``news_category`` (ClassLabel, 10 categories, order below);
- paws-x: ``sentence1``, ``sentence2``, ``label`` (ClassLabel different/same); XGLUE keeps 4 of the
  7 PAWS-X languages, so it is its own task (the XTREME ``pawsx`` task averages over 7);
- qadsm: ``query``, ``ad_title``, ``ad_description``, ``relevance_label`` (ClassLabel Bad/Good);
- wpr: ``query``, ``web_page_title``, ``web_page_snippet``, ``relavance_label`` (sic; ClassLabel
  Bad Fair Good Excellent Perfect = relevance 0..4);
- qam: ``question``, ``answer``, ``label`` (ClassLabel False/True);
- qg: ``answer_passage``, ``question``; ntg: ``news_body``, ``news_title`` (generation: refused).

XGLUE's XNLI (XNLI 1.0 dev/test in the same 15 languages, MNLI training data) and MLQA (MLQA v1
dev/test ``context-<l>-question-<l>``, the same 7 languages, SQuAD v1.1 training data, the same
official ``mlqa_evaluation_v1.py``) are literally XTREME's, so the XGLUE suite reuses the ``xnli`` and
``mlqa`` tasks; only the score differs (XGLUE scores MLQA by F1 alone: the suite's QA convention).

How rows become format columns (our choice; XGLUE's baseline code was not read): NC is (title, body);
QADSM is (query, ad title + " " + ad description); WPR is (query, page title + " " + snippet); QAM is
(question, answer). WPR is trained as 5-way relevance classification of each (query, page) pair; the
predicted relevance label is the ranking score, exactly as XGLUE's prediction files hold a label per
line, and nDCG is computed per query (``metrics/xglue.py``).

The generation tasks (QG, NTG; BLEU-4) need a sequence-to-sequence backbone: they are registered so
that listings show them, and refused in one line wherever a task object is asked for.
"""
from __future__ import annotations

from adapterstilts.errors import UserError
from adapterstilts.tasks.base import Source, Task, register_task
from adapterstilts.tasks.intermediate import project
from adapterstilts.tasks.xtreme import UPOS

XGLUE = "microsoft/xglue"

NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")  # microsoft/xglue ner
NC_CATEGORIES = ("foodanddrink", "sports", "travel", "finance", "lifestyle", "news", "entertainment", "health", "video",
                 "autos")  # microsoft/xglue nc ClassLabel order
WPR_RELEVANCE = ("Bad", "Fair", "Good", "Excellent", "Perfect")  # ids 0..4 = XGLUE's relevance ratings

# Evaluation languages per config, as the loading script's _LANGUAGES lists them (English included)
LANGUAGES = {
    "ner": ("de", "en", "es", "nl"),
    "pos": tuple(sorted("en de es nl bg el fr pl tr vi zh ur hi it ar ru th".split())),
    "nc": ("de", "en", "es", "fr", "ru"),
    "paws-x": ("de", "en", "es", "fr"),
    "qadsm": ("de", "en", "fr"),
    "wpr": ("de", "en", "es", "fr", "it", "pt", "zh"),
    "qam": ("de", "en", "fr"),
    "qg": ("de", "en", "es", "fr", "it", "pt"),
    "ntg": ("de", "en", "es", "fr", "ru"),
}


class _XGLUE(Task):
    kind = "target"
    eval_split = "test"
    config = ""  # the microsoft/xglue config

    def sources(self, split: str, language: str) -> list[Source]:
        self.check_split(split)
        self.check_language(language)
        if split == "train":
            if language != "en":
                raise UserError(f"task {self.name!r} has training data only in English (XGLUE {self.config} train), "
                                f"not in {language!r}; train on 'en' (zero-shot transfer)")
            return [Source(XGLUE, self.config, "train")]
        return [Source(XGLUE, self.config, f"{split}.{language}")]


class _Tagging(_XGLUE):
    format = "tagging"
    tag_column = ""

    def canonicalize(self, dataset, source: Source):
        column = self.tag_column

        def row(r: dict) -> dict:
            return {"tokens": list(r["words"]), "tags": [int(t) for t in r[column]]}

        return project(dataset, row, self.format)


@register_task
class XGLUENER(_Tagging):
    name = "xglue_ner"
    metric = "seqeval_f1"  # XGLUE scores NER with seqeval's f1_score, as XTREME does PAN-X
    description = "XGLUE NER (CoNLL-2002/2003 PER/ORG/LOC/MISC; train: English; eval: de en es nl)"
    labels = NER_TAGS
    languages = LANGUAGES["ner"]
    config = "ner"
    tag_column = "ner"


@register_task
class XGLUEPOS(_Tagging):
    name = "xglue_pos"
    metric = "xglue_pos"
    description = "XGLUE POS (UD 2.5; train: English; eval: 17 languages; scored as XGLUE's scorer does)"
    labels = UPOS
    languages = LANGUAGES["pos"]
    config = "pos"
    tag_column = "pos"


class _Classification(_XGLUE):
    format = "classification"
    metric = "accuracy"
    label_column = "label"

    def pair(self, r: dict) -> tuple[str, str]:
        raise NotImplementedError

    def canonicalize(self, dataset, source: Source):
        column, n = self.label_column, self.num_labels

        def row(r: dict) -> dict:
            label = int(r[column])
            if not 0 <= label < n:
                raise UserError(f"{source.describe()}: {column} {label} is not a class id 0..{n - 1}; check the data file")
            text_a, text_b = self.pair(r)
            return {"text_a": text_a, "text_b": text_b, "label": label}

        return project(dataset, row, self.format)


def _join(*parts: str) -> str:
    return " ".join(p.strip() for p in parts if p and p.strip())


@register_task
class XGLUENC(_Classification):
    name = "xglue_nc"
    description = "XGLUE news classification, 10 categories (train: English; eval: de en es fr ru)"
    labels = NC_CATEGORIES
    languages = LANGUAGES["nc"]
    config = "nc"
    label_column = "news_category"

    def pair(self, r: dict) -> tuple[str, str]:
        return r["news_title"], r["news_body"]


@register_task
class XGLUEPAWSX(_Classification):
    name = "xglue_pawsx"
    description = "XGLUE PAWS-X paraphrase identification, 4 languages (train: PAWS-X English)"
    labels = ("different", "same")
    languages = LANGUAGES["paws-x"]
    config = "paws-x"

    def pair(self, r: dict) -> tuple[str, str]:
        return r["sentence1"], r["sentence2"]


@register_task
class XGLUEQADSM(_Classification):
    name = "xglue_qadsm"
    description = "XGLUE query-ad matching, Bad/Good (train: English; eval: de en fr)"
    labels = ("Bad", "Good")
    languages = LANGUAGES["qadsm"]
    config = "qadsm"
    label_column = "relevance_label"

    def pair(self, r: dict) -> tuple[str, str]:
        return r["query"], _join(r["ad_title"], r["ad_description"])


@register_task
class XGLUEWPR(_Classification):
    """Each (query, page) row is classified into a relevance rating 0..4; the predicted rating ranks
    the pages of a query. XGLUE groups rows into queries by runs of the same query string, so every
    row carries its query as the classification format's optional ``group`` column; the format hands
    it to the metric as ``groups=`` (``metrics/xglue.py``: nDCG per query, averaged over queries)."""

    name = "xglue_wpr"
    metric = "xglue_ndcg"
    description = "XGLUE web page ranking: relevance 0-4 per (query, page), nDCG per query (train: English)"
    labels = WPR_RELEVANCE
    languages = LANGUAGES["wpr"]
    config = "wpr"
    label_column = "relavance_label"  # sic, as the Hub names it

    def pair(self, r: dict) -> tuple[str, str]:
        return r["query"], _join(r["web_page_title"], r["web_page_snippet"])

    def canonicalize(self, dataset, source: Source):
        return super().canonicalize(dataset, source).add_column("group", [str(q) for q in dataset["query"]])


@register_task
class XGLUEQAM(_Classification):
    name = "xglue_qam"
    description = "XGLUE question-answer matching, False/True (train: English; eval: de en fr)"
    labels = ("False", "True")
    languages = LANGUAGES["qam"]
    config = "qam"

    def pair(self, r: dict) -> tuple[str, str]:
        return r["question"], r["answer"]


class _Generation(_XGLUE):
    """A generation task: listed, never built. ``unsupported`` is the one-line refusal."""

    format = "generation"
    metric = "bleu4"


def _refusal(name: str, what: str) -> str:
    return (f"task {name!r} ({what}, scored by BLEU-4) is a generation task: it needs a sequence-to-sequence "
            "backbone and adapterstilts trains encoder-only models (XLM-R); choose an XGLUE understanding task")


@register_task
class XGLUEQG(_Generation):
    name = "xglue_qg"
    description = "XGLUE question generation (BLEU-4): needs a seq2seq backbone, not supported"
    languages = LANGUAGES["qg"]
    config = "qg"
    unsupported = _refusal("xglue_qg", "question generation")


@register_task
class XGLUENTG(_Generation):
    name = "xglue_ntg"
    description = "XGLUE news title generation (BLEU-4): needs a seq2seq backbone, not supported"
    languages = LANGUAGES["ntg"]
    config = "ntg"
    unsupported = _refusal("xglue_ntg", "news title generation")


GENERATION_TASKS = ("xglue_qg", "xglue_ntg")
