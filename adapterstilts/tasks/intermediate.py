"""The nine English intermediate tasks of X-STILTs (Phang et al. 2020), each mapped from its Hub
dataset onto its format's canonical columns.

Where the Hub's own test split has no gold labels (GLUE, HellaSwag, Cosmos QA, CommonsenseQA) or
there is no test split at all (SQuAD), asking for ``test`` is a one-line error pointing to
``validation``, which is what the paper evaluates intermediate tasks on.

Helpers at the top (``project``, the canonical ``Features`` per format, the row mappers for NLI
and SQuAD-style QA) are shared with :mod:`adapterstilts.tasks.xtreme`.
"""
from __future__ import annotations

from typing import Any, Callable

from adapterstilts.errors import UserError
from adapterstilts.tasks.base import DataRequirement, Source, Task, register_task

NLI_LABELS = ("entailment", "neutral", "contradiction")  # GLUE/SNLI/ANLI ClassLabel order; XNLI maps onto it
GLUE = "nyu-mll/glue"


def canonical_features(fmt: str):
    """The ``datasets.Features`` of a format's canonical columns (see adapterstilts/formats/base.py).
    Every part of a multi-source task gets exactly these, so the parts concatenate."""
    from datasets import Features, List, Value

    string, integer = Value("string"), Value("int64")
    columns: dict[str, Any] = {
        "classification": {"text_a": string, "text_b": string, "label": integer},
        "qa": {
            "id": string, "question": string, "context": string,
            "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
        },
        "multiple_choice": {"id": string, "question": string, "choices": List(Value("string")), "label": integer},
        "tagging": {"tokens": List(Value("string")), "tags": List(integer)},
        "retrieval": {"source_sentence": string, "target_sentence": string},
    }[fmt]
    return Features(columns)


def project(dataset, row_fn: Callable[[dict], dict], fmt: str):
    """Replace every raw column by the canonical columns ``row_fn`` computes from one row."""
    return dataset.map(row_fn, remove_columns=dataset.column_names, features=canonical_features(fmt))


def no_split(task: Task, split: str, available: tuple[str, ...], why: str = "") -> UserError:
    reason = f" ({why})" if why else ""
    return UserError(
        f"task {task.name!r} has no {split!r} split{reason}; use --split {' or '.join(available)}"
    )


def nli_row(row: dict) -> dict:
    """GLUE MNLI / SNLI / ANLI rows: premise, hypothesis, label (ClassLabel ids, -1 = no gold)."""
    return {"text_a": row["premise"], "text_b": row["hypothesis"], "label": int(row["label"])}


def squad_row(row: dict) -> dict:
    """SQuAD-format rows (rajpurkar/squad(_v2), and google/xtreme XQuAD/MLQA/tydiqa)."""
    answers = row["answers"]
    return {
        "id": str(row["id"]),
        "question": row["question"],
        "context": row["context"],
        "answers": {"text": list(answers["text"]), "answer_start": [int(s) for s in answers["answer_start"]]},
    }


class _EnglishTask(Task):
    kind = "intermediate"
    languages = ("en",)
    eval_split = "validation"
    # split name -> Hub split names (several are concatenated)
    hub_splits: dict[str, tuple[str, ...]] = {}
    hub_id: str = ""
    hub_config: str | None = None
    no_split_reason: str = ""

    def sources(self, split: str, language: str) -> list[Source]:
        self.check_split(split)
        self.check_language(language)
        if split not in self.hub_splits:
            raise no_split(self, split, (self.eval_split,), self.no_split_reason)
        return [Source(self.hub_id, self.hub_config, s) for s in self.hub_splits[split]]


@register_task
class ANLIPlus(Task):
    """ANLI rounds 1-3 + SNLI + MNLI as one 3-way NLI task with one shared head (the paper's
    "ANLI+"). The three sources are concatenated (proportional sampling). Dev/test are ANLI's own
    dev_r1..r3 / test_r1..r3: the task is named after ANLI and ANLI dev is its hardest part; MNLI
    matched dev is available as the ``mnli`` task."""

    name = "anli_plus"
    kind = "intermediate"
    format = "classification"
    metric = "accuracy"
    description = "ANLI r1-r3 + SNLI + MNLI, one 3-way NLI head (dev/test: ANLI r1-r3)"
    labels = NLI_LABELS
    languages = ("en",)
    eval_split = "validation"

    def sources(self, split: str, language: str) -> list[Source]:
        self.check_split(split)
        self.check_language(language)
        rounds = ("r1", "r2", "r3")
        if split == "train":
            return [Source("facebook/anli", None, f"train_{r}", tag="anli") for r in rounds] + [
                Source("stanfordnlp/snli", None, "train", drop=(("label", -1),), tag="snli"),
                Source(GLUE, "mnli", "train", tag="mnli"),
            ]
        hub = "dev" if split == "validation" else "test"
        return [Source("facebook/anli", None, f"{hub}_{r}", tag="anli") for r in rounds]

    def canonicalize(self, dataset, source: Source):
        return project(dataset, nli_row, self.format)


@register_task
class MNLI(_EnglishTask):
    name = "mnli"
    format = "classification"
    metric = "accuracy"
    description = "MultiNLI (GLUE), 3-way entailment; dev = validation_matched"
    labels = NLI_LABELS
    hub_id, hub_config = GLUE, "mnli"
    hub_splits = {"train": ("train",), "validation": ("validation_matched",)}
    no_split_reason = "GLUE test labels are hidden"

    def canonicalize(self, dataset, source: Source):
        return project(dataset, nli_row, self.format)


@register_task
class QQP(_EnglishTask):
    name = "qqp"
    format = "classification"
    metric = "accuracy_f1"
    description = "Quora Question Pairs (GLUE), duplicate question detection"
    labels = ("not_duplicate", "duplicate")
    hub_id, hub_config = GLUE, "qqp"
    hub_splits = {"train": ("train",), "validation": ("validation",)}
    no_split_reason = "GLUE test labels are hidden"

    def canonicalize(self, dataset, source: Source):
        def row(r: dict) -> dict:
            return {"text_a": r["question1"], "text_b": r["question2"], "label": int(r["label"])}

        return project(dataset, row, self.format)


@register_task
class SQuAD(_EnglishTask):
    name = "squad"
    format = "qa"
    metric = "squad"
    description = "SQuAD v1.1 extractive QA (Wikipedia paragraphs)"
    max_length = 384
    hub_id = "rajpurkar/squad"
    hub_splits = {"train": ("train",), "validation": ("validation",)}
    no_split_reason = "SQuAD has no public test set"

    def canonicalize(self, dataset, source: Source):
        return project(dataset, squad_row, self.format)


@register_task
class SQuADv2(SQuAD):
    name = "squad_v2"
    metric = "squad_v2"
    description = "SQuAD 2.0 extractive QA with unanswerable questions"
    hub_id = "rajpurkar/squad_v2"
    no_answer = True


@register_task
class HellaSwag(_EnglishTask):
    """Context = ``ctx_a``; each choice = ``ctx_b`` + ending (the sentence the endings complete)."""

    name = "hellaswag"
    format = "multiple_choice"
    metric = "accuracy"
    description = "HellaSwag commonsense sentence completion (4 endings)"
    hub_id = "Rowan/hellaswag"
    hub_splits = {"train": ("train",), "validation": ("validation",)}
    no_split_reason = "HellaSwag test labels are hidden"

    def canonicalize(self, dataset, source: Source):
        def row(r: dict) -> dict:
            lead = (r["ctx_b"] or "").strip()
            choices = [f"{lead} {e.strip()}".strip() for e in r["endings"]]
            label = str(r["label"]).strip()
            return {"id": str(r["ind"]), "question": r["ctx_a"], "choices": choices,
                    "label": int(label) if label else -1}

        return project(dataset, row, self.format)


@register_task
class CosmosQA(_EnglishTask):
    """First segment = context + question; choices = answer0..answer3."""

    name = "cosmosqa"
    format = "multiple_choice"
    metric = "accuracy"
    description = "Cosmos QA commonsense reading comprehension (4 choices)"
    hub_id = "allenai/cosmos_qa"
    hub_splits = {"train": ("train",), "validation": ("validation",)}
    no_split_reason = "Cosmos QA test labels are hidden"

    def canonicalize(self, dataset, source: Source):
        def row(r: dict) -> dict:
            return {"id": str(r["id"]), "question": f"{r['context'].strip()} {r['question'].strip()}",
                    "choices": [r[f"answer{i}"] for i in range(4)], "label": int(r["label"])}

        return project(dataset, row, self.format)


@register_task
class CommonsenseQA(_EnglishTask):
    """Label = position of ``answerKey`` among ``choices.label`` (A-E)."""

    name = "commonsenseqa"
    format = "multiple_choice"
    metric = "accuracy"
    description = "CommonsenseQA (5 choices); evaluated on validation (test has no labels)"
    hub_id = "tau/commonsense_qa"
    hub_splits = {"train": ("train",), "validation": ("validation",)}
    no_split_reason = "CommonsenseQA test labels are hidden"

    def canonicalize(self, dataset, source: Source):
        def row(r: dict) -> dict:
            keys = list(r["choices"]["label"])
            key = (r["answerKey"] or "").strip()
            return {"id": str(r["id"]), "question": r["question"], "choices": list(r["choices"]["text"]),
                    "label": keys.index(key) if key in keys else -1}

        return project(dataset, row, self.format)



@register_task
class SocialIQa(_EnglishTask):
    """Social IQa (Sap et al. 2019), the first training stage of XTREME-R's XCOPA protocol
    (google-research/xtreme ``scripts/train_xcopa.sh``: ``run_xcopa.py --task siqa``, then ``--task
    xcopa`` from the SIQA-trained model). Hub ``allenai/social_i_qa`` (a loading script, read through
    its Parquet conversion): context, question, answerA/B/C, label "1".."3" as a *string* (older
    copies end it with a newline: stripped). First segment = ``"{context} {question}"``, each answer
    the second, as ``run_xcopa.py`` builds them; max length 128 as ``train_xcopa.sh``."""

    name = "siqa"
    format = "multiple_choice"
    metric = "accuracy"
    description = "Social IQa social commonsense QA (3 choices; XTREME-R trains it before COPA for XCOPA)"
    hub_id = "allenai/social_i_qa"
    hub_splits = {"train": ("train",), "validation": ("validation",)}
    no_split_reason = "Social IQa's test labels are hidden"
    max_length = 128  # scripts/train_xcopa.sh MAXL

    def canonicalize(self, dataset, source: Source):
        where = source.describe()

        def row(r: dict) -> dict:
            label = str(r["label"]).strip()
            if label not in ("1", "2", "3"):
                raise UserError(f"{where}: Social IQa label {r['label']!r} is not \"1\", \"2\" or \"3\"; check the data file")
            return {"id": "", "question": f"{r['context']} {r['question']}",
                    "choices": [r["answerA"], r["answerB"], r["answerC"]], "label": int(label) - 1}

        return project(dataset, row, self.format)

# A default inventory of frequent CCGbank lexical categories, written by hand (NOT the official
# 425-category list of Clark & Curran, which is derived from the licensed data). Categories outside
# it map to "<unk>" (id 0). For a faithful setup, subclass CCG with ``labels`` = the categories seen
# at least 10 times in your sections 02-21 (plus "<unk>" first) and register it under a new name.
CCG_SUPERTAGS = (
    "<unk>", "N", "NP", "N/N", "NP[nb]/N", ",", ".", "conj", ":", ";", "LRB", "RRB", "LQU", "RQU", "PR",
    "PP", "PP/NP", "NP\\NP", "NP/NP", "N/PP", "(N/N)/(N/N)", "(NP\\NP)/NP", "(NP\\NP)\\(NP\\NP)",
    "(NP\\NP)/(S[dcl]\\NP)", "(NP\\NP)/(S[dcl]/NP)", "(NP\\NP)/S[dcl]", "(NP\\NP)/(S[to]\\NP)",
    "S/S", "(S/S)/NP", "(S/S)/S[dcl]", "(S\\NP)\\(S\\NP)", "(S\\NP)/(S\\NP)", "((S\\NP)\\(S\\NP))/NP",
    "((S\\NP)\\(S\\NP))/S[dcl]", "((S\\NP)\\(S\\NP))\\((S\\NP)\\(S\\NP))", "S[dcl]\\S[dcl]",
    "(S[dcl]\\S[dcl])\\NP", "S[dcl]/S[dcl]", "S[em]/S[dcl]", "S[wq]/(S[q]/NP)",
    "S[dcl]\\NP", "(S[dcl]\\NP)/NP", "((S[dcl]\\NP)/NP)/NP", "(S[dcl]\\NP)/PP", "((S[dcl]\\NP)/PP)/NP",
    "(S[dcl]\\NP)/S[dcl]", "(S[dcl]\\NP)/S[em]", "(S[dcl]\\NP)/(S[b]\\NP)", "(S[dcl]\\NP)/(S[to]\\NP)",
    "((S[dcl]\\NP)/(S[to]\\NP))/NP", "(S[dcl]\\NP)/(S[pt]\\NP)", "(S[dcl]\\NP)/(S[ng]\\NP)",
    "(S[dcl]\\NP)/(S[pss]\\NP)", "(S[dcl]\\NP)/(S[adj]\\NP)",
    "S[b]\\NP", "(S[b]\\NP)/NP", "(S[b]\\NP)/PP", "(S[b]\\NP)/(S[to]\\NP)", "(S[b]\\NP)/(S[adj]\\NP)",
    "(S[b]\\NP)/(S[ng]\\NP)", "(S[b]\\NP)/(S[pss]\\NP)", "(S[b]\\NP)/(S[pt]\\NP)",
    "(S[to]\\NP)/(S[b]\\NP)", "S[ng]\\NP", "(S[ng]\\NP)/NP", "(S[ng]\\NP)/PP", "(S[ng]\\NP)/(S[to]\\NP)",
    "S[pt]\\NP", "(S[pt]\\NP)/NP", "(S[pt]\\NP)/PP", "(S[pt]\\NP)/(S[pss]\\NP)", "(S[pt]\\NP)/(S[ng]\\NP)",
    "S[pss]\\NP", "(S[pss]\\NP)/PP", "S[adj]\\NP", "(S[adj]\\NP)/PP", "(S[adj]\\NP)\\NP",
)


@register_task
class CCG(_EnglishTask):
    """CCG supertagging on CCGbank (LDC2005T13): licensed, so only from a local directory.

    Expected layout under ``--data DIR``: ``DIR/ccgbank/default/{train,validation,test}.jsonl``
    (standard split: sections 02-21 / 00 / 23), one sentence per line:
    ``{"id": "wsj_0001.1", "tokens": ["Pierre", ...], "tags": ["N/N", ...]}`` with ``tags`` the lexical
    category strings exactly as in the AUTO files (ids into ``CCG_SUPERTAGS`` are accepted too).
    Categories outside ``CCG_SUPERTAGS`` become ``<unk>``."""

    name = "ccg"
    format = "tagging"
    metric = "token_accuracy"
    description = "CCGbank supertagging (licensed LDC2005T13: local data only, --data DIR)"
    labels = CCG_SUPERTAGS
    hub_id = "ccgbank"
    hub_splits = {"train": ("train",), "validation": ("validation",), "test": ("test",)}
    requires_local_data = DataRequirement(
        "CCGbank is licensed (LDC2005T13) and not on the Hub; convert it to DIR/ccgbank/default/"
        "{train,validation,test}.jsonl with rows {\"tokens\": [...], \"tags\": [category strings]} and pass --data DIR"
    )

    def canonicalize(self, dataset, source: Source):
        index = {tag: i for i, tag in enumerate(self.labels)}
        size = len(self.labels)

        def tag_id(tag) -> int:
            if isinstance(tag, str):
                return index.get(tag.strip(), 0)
            if isinstance(tag, int) and 0 <= tag < size:
                return tag
            raise UserError(f"ccg tag {tag!r} is neither a category string nor an id below {size}; fix the converted data")

        def row(r: dict) -> dict:
            tokens, tags = list(r["tokens"]), list(r["tags"])
            if len(tokens) != len(tags):
                raise UserError(
                    f"ccg sentence {r.get('id', '?')!r} has {len(tokens)} tokens but {len(tags)} tags; fix the converted data"
                )
            return {"tokens": tokens, "tags": [tag_id(t) for t in tags]}

        return project(dataset, row, self.format)
