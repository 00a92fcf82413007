"""The nine XTREME target tasks, from ``google/xtreme`` unless noted.

``sources("train", "en")`` is the English training data of the zero-shot protocol (MNLI for XNLI,
SQuAD v1.1 for XQuAD and MLQA, the English part of TyDiQA-GoldP train, PAWS-X/UD/PAN-X English).
``sources("train", lang)`` for another language returns that language's own training split where
the Hub has one (PAWS-X machine-translated train, UD and PAN-X train, TyDiQA-GoldP train), for
few-shot or translate-train experiments; elsewhere it is a one-line error. BUCC and Tatoeba have
no training data at all: they are evaluated directly from the (intermediate-trained) encoder.

Split quirks, as the Hub has them: XQuAD, TyDiQA-GoldP and Tatoeba have only ``validation``;
``bucc18`` "validation" is the BUCC sample gold set and "test" is the BUCC *training* gold set (the
official test gold is hidden), so ``eval_split`` is "test" there; UD Kazakh has train+test, UD
Tagalog/Thai/Yoruba only test. TyDiQA-GoldP mixes its languages in one set: rows are selected by the
language-name prefix of their ``id`` (``arabic-...``), in ``canonicalize``.
"""
from __future__ import annotations

from adapterstilts.errors import UserError
from adapterstilts.languages import config_names
from adapterstilts.tasks.base import Source, Task, register_task
from adapterstilts.tasks.intermediate import GLUE, NLI_LABELS, nli_row, no_split, project, squad_row

XTREME = "google/xtreme"
SQUAD_TRAIN = Source("rajpurkar/squad", None, "train", tag="squad")

UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X")  # google/xtreme udpos ClassLabel order
PANX_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")  # google/xtreme PAN-X ClassLabel order

# Per-dataset language names come from the one languages table (adapterstilts/languages.py)
UDPOS_CONFIG = config_names("udpos")  # XTREME code -> udpos.<Name> config (33 languages)
UDPOS_SPLITS = {"kk": ("train", "test"), "tl": ("test",), "th": ("test",), "yo": ("test",)}
PANX_LANGUAGES = ("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru "
                  "sw ta te th tl tr ur vi yo zh").split()
TYDIQA_NAMES = config_names("tydiqa")  # XTREME code -> TyDiQA-GoldP id prefix
TATOEBA_CONFIG = config_names("tatoeba")  # XTREME code -> tatoeba.<iso639-3> config (35; no Telugu there)


class _Target(Task):
    kind = "target"
    eval_split = "test"

    def _start(self, split: str, language: str) -> None:
        self.check_split(split)
        self.check_language(language)

    def _no_train(self, language: str, english: str) -> UserError:
        return UserError(
            f"task {self.name!r} has training data only in English ({english}), not in {language!r}; train on 'en' (zero-shot transfer)"
        )


@register_task
class XNLI(_Target):
    name = "xnli"
    format = "classification"
    metric = "accuracy"
    description = "XNLI cross-lingual NLI (train: English MNLI; eval: 15 languages)"
    labels = NLI_LABELS
    languages = tuple("ar bg de el en es fr hi ru sw th tr ur vi zh".split())

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if split == "train":
            if language != "en":
                raise self._no_train(language, "MNLI")
            return [Source(GLUE, "mnli", "train", tag="mnli")]
        return [Source(XTREME, "XNLI", split, keep=(("language", language),), tag="xnli")]

    def canonicalize(self, dataset, source: Source):
        if source.tag == "mnli":
            return project(dataset, nli_row, self.format)
        ids = {name: i for i, name in enumerate(self.labels)}

        def row(r: dict) -> dict:
            gold = str(r["gold_label"]).strip()
            if gold not in ids:
                raise UserError(f"xnli gold_label {gold!r} is not one of {', '.join(self.labels)}; check the data file")
            return {"text_a": r["sentence1"], "text_b": r["sentence2"], "label": ids[gold]}

        return project(dataset, row, self.format)


@register_task
class PAWSX(_Target):
    name = "pawsx"
    format = "classification"
    metric = "accuracy"
    description = "PAWS-X paraphrase identification (train: PAWS-X English)"
    labels = ("not_paraphrase", "paraphrase")  # the Hub's label strings "0" / "1"
    languages = ("de", "en", "es", "fr", "ja", "ko", "zh")

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        return [Source(XTREME, f"PAWS-X.{language}", split)]

    def canonicalize(self, dataset, source: Source):
        def row(r: dict) -> dict:
            return {"text_a": r["sentence1"], "text_b": r["sentence2"], "label": int(str(r["label"]).strip())}

        return project(dataset, row, self.format)


class _Tagging(_Target):
    format = "tagging"
    metric = "seqeval_f1"
    tag_column = ""

    def canonicalize(self, dataset, source: Source):
        column = self.tag_column

        def row(r: dict) -> dict:
            return {"tokens": list(r["tokens"]), "tags": [int(t) for t in r[column]]}

        return project(dataset, row, self.format)


@register_task
class UDPOS(_Tagging):
    name = "udpos"
    description = "Universal Dependencies v2.5 POS tagging (train: UD English)"
    labels = UPOS
    languages = tuple(sorted(UDPOS_CONFIG))
    tag_column = "pos_tags"

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        available = UDPOS_SPLITS.get(language, ("train", "validation", "test"))
        if split not in available:
            raise UserError(
                f"udpos.{UDPOS_CONFIG[language]} has no {split!r} split (it has {', '.join(available)}); "
                f"use --split {available[-1]}"
            )
        return [Source(XTREME, f"udpos.{UDPOS_CONFIG[language]}", split)]


@register_task
class PANX(_Tagging):
    name = "panx"
    description = "PAN-X (WikiANN) named entities PER/ORG/LOC (train: English)"
    labels = PANX_TAGS
    languages = tuple(PANX_LANGUAGES)
    tag_column = "ner_tags"

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        return [Source(XTREME, f"PAN-X.{language}", split)]


class _QA(_Target):
    format = "qa"
    metric = "squad"
    max_length = 384

    def canonicalize(self, dataset, source: Source):
        return project(dataset, squad_row, self.format)


@register_task
class XQuAD(_QA):
    name = "xquad"
    description = "XQuAD extractive QA, 11 languages (train: SQuAD v1.1; eval: validation only)"
    languages = tuple("ar de el en es hi ru th tr vi zh".split())
    eval_split = "validation"

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if split == "train":
            if language != "en":
                raise self._no_train(language, "SQuAD v1.1")
            return [SQUAD_TRAIN]
        if split == "test":
            raise no_split(self, split, ("validation",), "XQuAD is a single evaluation set")
        return [Source(XTREME, f"XQuAD.{language}", "validation")]

    def selection_sources(self) -> list[Source]:
        # XQuAD's English set is part of the evaluation: select on SQuAD v1.1 dev (the training data's)
        return [Source("rajpurkar/squad", None, "validation", tag="squad")]


@register_task
class MLQA(_QA):
    name = "mlqa"
    metric = "mlqa"
    description = "MLQA extractive QA, context and question in the same language (train: SQuAD v1.1)"
    languages = ("ar", "de", "en", "es", "hi", "vi", "zh")

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if split == "train":
            if language != "en":
                raise self._no_train(language, "SQuAD v1.1")
            return [SQUAD_TRAIN]
        return [Source(XTREME, f"MLQA.{language}.{language}", split)]


@register_task
class TyDiQA(_QA):
    name = "tydiqa"
    description = "TyDiQA-GoldP extractive QA (train: English GoldP train; eval: GoldP dev)"
    languages = tuple(sorted(TYDIQA_NAMES))
    eval_split = "validation"

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if split == "test":
            raise no_split(self, split, ("validation",), "TyDiQA-GoldP's test set is not public")
        return [Source(XTREME, "tydiqa", split, tag=TYDIQA_NAMES[language])]

    def canonicalize(self, dataset, source: Source):
        prefix = f"{source.tag}-"
        kept = dataset.filter(lambda i: str(i).startswith(prefix), input_columns="id")
        if len(kept) == 0:
            raise UserError(f"{source.describe()} has no rows whose id starts with {prefix!r}; "
                            f"evaluate other languages (--languages) or provide the data (--data DIR)")
        return project(kept, squad_row, self.format)


class _Retrieval(_Target):
    format = "retrieval"
    max_length = 512

    def _no_training(self, split: str, language: str) -> None:
        if split == "train":
            raise UserError(
                f"task {self.name!r} has no training data: it is evaluated directly from the "
                f"(intermediate-trained) encoder; use --split {self.eval_split}"
            )
        if language == "en":
            raise UserError(
                f"task {self.name!r} retrieves English translations of non-English sentences; "
                f"choose one of: {', '.join(self.languages)}"
            )

    def canonicalize(self, dataset, source: Source):
        def row(r: dict) -> dict:
            return {"source_sentence": r["source_sentence"].strip(), "target_sentence": r["target_sentence"].strip()}

        return project(dataset, row, self.format)


@register_task
class BUCC2018(_Retrieval):
    """Source = the non-English sentence, target = its English translation. "test" is the BUCC
    training gold set (the larger one, used for scoring); "validation" the sample gold set."""

    name = "bucc2018"
    metric = "bucc_f1"
    description = "BUCC 2018 parallel sentence mining x->en (no training; test = BUCC training gold)"
    languages = ("de", "fr", "ru", "zh")

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        self._no_training(split, language)
        return [Source(XTREME, f"bucc18.{language}", split)]

    def sentence_ids(self, split: str, language: str, data: str) -> tuple[list[str], list[str]]:
        """Sentence ids of the rows, in row order: google/xtreme ``bucc18`` carries them in its
        ``source_lang`` / ``target_lang`` columns ("de-000159", "en-000219"); BUCC is scored by id."""
        from adapterstilts.data.loading import load_source

        (source,) = self.sources(split, language)
        raw = load_source(self, source, data)
        return [str(i) for i in raw["source_lang"]], [str(i) for i in raw["target_lang"]]


@register_task
class Tatoeba(_Retrieval):
    """Source = the non-English sentence, target = its English translation (1000 pairs a language)."""

    name = "tatoeba"
    metric = "tatoeba_accuracy"
    description = "Tatoeba x->en sentence retrieval, 35 languages (no training; validation only)"
    languages = tuple(sorted(TATOEBA_CONFIG))
    eval_split = "validation"

    def sources(self, split: str, language: str) -> list[Source]:
        if language == "te":
            raise UserError("google/xtreme has no Telugu Tatoeba config (XTREME's 36th language); choose another language")
        self._start(split, language)
        self._no_training(split, language)
        if split == "test":
            raise no_split(self, split, ("validation",), "Tatoeba is a single evaluation set")
        return [Source(XTREME, f"tatoeba.{TATOEBA_CONFIG[language]}", "validation")]
