"""Machine-translated intermediate training data: the English task and its translate-train sets as one
task per source, so a ``Mix`` (tasks/derived.py) can combine English and translated data of one format
and label set (the ``order`` and ``mixed`` studies' mixed-language intermediate data).

- ``mnli_translated``: MNLI in English (``nyu-mll/glue`` mnli, as the ``mnli`` task) and, in the other
  14 XNLI languages, XNLI's machine-translated MNLI training sets: Hub ``facebook/xnli`` config
  ``<lang>``, split ``train`` (392,702 rows each; columns premise, hypothesis, label with the ClassLabel
  order entailment, neutral, contradiction: the same as MNLI, so the ids carry over). Only English has
  development data (MNLI validation_matched); XNLI's own dev/test sets stay the ``xnli`` target's.
- ``squad_translated``: SQuAD v1.1 and XTREME's translate-train sets, read from a local folder (they
  are not on the Hub): ``--data DIR`` with DIR laid out as google-research/xtreme's ``download/``
  folder: ``squad/train-v1.1.json`` and ``squad/dev-v1.1.json`` (English; written by its
  ``download_data.sh``) and ``squad/translate-train/squad.translate.train.en-<lang>.json`` (from the
  XTREME translations bucket, ``SQuAD/translate-train/``), each a SQuAD v1.1 JSON document. A
  translated answer whose ``answer_start`` is -1 or falls outside its context (where the translation
  lost the span) is skipped, as XTREME-based readers of these files do; translated question ids get a
  ``-<lang>`` suffix so a mixture of languages keeps ids unique.

``xnli`` itself keeps "train only in English" (its zero-shot protocol, and few-shot draws from held-out
evaluation data there); these tasks are intermediate tasks whose other languages are training data.
"""
from __future__ import annotations

from adapterstilts.errors import UserError
from adapterstilts.tasks.base import DataRequirement, Source, Task, register_task
from adapterstilts.tasks.intermediate import GLUE, NLI_LABELS, canonical_features, nli_row, no_split, project

XNLI_TRANSLATED = tuple("ar bg de el es fr hi ru sw th tr ur vi zh".split())  # facebook/xnli configs besides en
SQUAD_TRANSLATED = tuple("ar de el es hi ru th tr vi zh".split())  # XQuAD's languages besides en
SQUAD_DIR = "squad"  # google-research/xtreme download/squad/
TRANSLATE_TRAIN = "translate-train"
SQUAD_DATA = DataRequirement(
    "translated SQuAD is not on the Hub: put google-research/xtreme's download/squad/{train,dev}-v1.1.json and the "
    "translate-train files from its translations bucket (console.cloud.google.com/storage/browser/xtreme_translations, "
    "SQuAD/translate-train/squad.translate.train.en-<lang>.json) under DIR/squad/ and DIR/squad/translate-train/, then "
    "pass --data DIR (in a recipe: intermediate.per_task.squad_translated.data: DIR)")


class _Translated(Task):
    kind = "intermediate"
    eval_split = "validation"
    translated: tuple[str, ...] = ()

    def _start(self, split: str, language: str) -> None:
        self.check_split(split)
        self.check_language(language)
        if language != "en" and split != "train":
            raise UserError(f"task {self.name!r} has machine-translated training data only in {language!r}, no "
                            f"{split!r} split; use split 'train' (or 'en' for development data)")


@register_task
class MNLITranslated(_Translated):
    name = "mnli_translated"
    format = "classification"
    metric = "accuracy"
    description = "MNLI + its machine translations (XNLI translate-train, facebook/xnli), for mixed-language data"
    labels = NLI_LABELS
    languages = ("en", *XNLI_TRANSLATED)

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if language != "en":
            return [Source("facebook/xnli", language, "train", tag="xnli")]
        if split == "test":
            raise no_split(self, split, ("validation",), "GLUE test labels are hidden")
        return [Source(GLUE, "mnli", {"train": "train", "validation": "validation_matched"}[split], tag="mnli")]

    def canonicalize(self, dataset, source: Source):
        return project(dataset, nli_row, self.format)


@register_task
class SQuADTranslated(_Translated):
    name = "squad_translated"
    format = "qa"
    metric = "squad"
    description = "SQuAD v1.1 + XTREME's translate-train sets (local folder, --data DIR), for mixed-language data"
    max_length = 384
    languages = ("en", *SQUAD_TRANSLATED)
    requires_local_data = SQUAD_DATA

    def sources(self, split: str, language: str) -> list[Source]:
        self._start(split, language)
        if language != "en":
            return [Source(SQUAD_DIR, TRANSLATE_TRAIN, f"squad.translate.train.en-{language}", tag=language)]
        if split == "test":
            raise no_split(self, split, ("validation",), "SQuAD has no public test set")
        return [Source(SQUAD_DIR, ".", {"train": "train-v1.1", "validation": "dev-v1.1"}[split], tag="en")]

    def canonicalize(self, dataset, source: Source):
        import datasets

        if "data" not in dataset.column_names:
            raise UserError(f"{source.describe()} is not SQuAD v1.1 JSON (a 'data' list of articles); use the file "
                            "as XTREME released it")
        suffix = "" if source.tag == "en" else f"-{source.tag}"
        rows = []
        for document in dataset:
            for article in document["data"]:
                for paragraph in article["paragraphs"]:
                    context = paragraph["context"]
                    for qa in paragraph["qas"]:
                        answers = [(a["text"], int(a["answer_start"])) for a in qa["answers"]
                                   if 0 <= int(a["answer_start"]) and int(a["answer_start"]) + len(a["text"]) <= len(context)]
                        if not answers:
                            continue  # the translation lost the answer span
                        rows.append({"id": f"{qa['id']}{suffix}", "question": qa["question"], "context": context,
                                     "answers": {"text": [t for t, _ in answers], "answer_start": [s for _, s in answers]}})
        if not rows:
            raise UserError(f"{source.describe()} holds no question with an answer inside its context; check the file")
        return datasets.Dataset.from_list(rows, features=canonical_features(self.format))
