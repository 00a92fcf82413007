"""XTREME-R (Ruder et al., EMNLP 2021): ten tasks, 50 languages, English-only training data.

Groups, languages and score rules as google-research/xtreme ``evaluate.py`` (``XTREME_R_GROUP2TASK``,
``XTREME_R_TASK2LANGS``, ``METRIC_FUNCTION``): classification = XNLI + XCOPA (accuracy); structured
prediction ("tagging") = UD-POS + PAN-X (seqeval F1); question answering = XQuAD (12 languages with
Romanian) + MLQA + TyDiQA-GoldP ((EM + F1) / 2); retrieval = Tatoeba (accuracy, 41 languages) +
Mewsli-X (``map@20``); and a "multi_choice" group holding XCOPA alone, so XCOPA sits in two groups.
LAReQA is one of the ten tasks (``XTREME_R_TASK2LANGS`` lists it, with no languages) but belongs to
no group there, so it counts only in the overall score: the mean over all ten tasks, given only when
all ten are present. (The official script, as released, cannot produce that overall: LAReQA's empty
language list leaves it without ``avg_metric``; the mean over the ten tasks is what the XTREME-R paper
reports as its score.)

Task names that differ from the official folders, named rather than hidden: UD-POS, PAN-X, XQuAD and
Tatoeba are the ``udpos_r``, ``panx_r``, ``xquad_ro`` and ``tatoeba_r`` variants (``tasks/xtreme_r.py``),
whose language lists are XTREME-R's (38, 48, 12, 41); XTREME's ``udpos``, ``panx``, ``xquad`` and
``tatoeba`` keep theirs. ``OFFICIAL_NAMES`` maps them onto the official folder names for ``score``.
Where the Hub copy of a new language differs from XTREME-R's files (UD v2.7 multiword tokens,
Lithuanian HSE dev/test), ``tasks/xtreme_r.py`` says so. LAReQA is averaged over question languages
(see ``tasks/xtreme_r.py``).

Protocol (google-research/xtreme ``scripts/``; for XLM-R Large): XCOPA ``train_xcopa.sh`` SIQA then COPA,
5 epochs each, lr 3e-5, batch 2 x 16 accumulation, max length 128 (a ``StagedProtocol``: ``siqa`` is
trained first, as an intermediate task, and XCOPA continues from it; ``recipes/xtreme-r-xcopa.yaml``
runs exactly that, see docs/suites.md); Mewsli-X ``train_mewslix.sh`` 2 epochs,
lr 1e-5, batch 8 x 4, max length 64; LAReQA ``train_lareqa.sh`` SQuAD v1.1, 3 epochs, lr 2e-5, batch 4 x 4,
query 96 / answer 256 tokens; Tatoeba scored from a SQuAD-trained encoder (``run_tatoeba.sh``). XNLI,
UD-POS, PAN-X and QA as in the XTREME suite.
"""
from __future__ import annotations

from dataclasses import dataclass

from adapterstilts.suites.base import (ROLES, SCORE_RULES, Group, Protocol, Suite, SuiteTask, check_qa_convention,
                                       register_suite)
from adapterstilts.suites.xtreme import SQUAD, XTREME, _trained

# google-research/xtreme evaluate.py XTREME_R_GROUP2TASK, in our task names
OFFICIAL_GROUPS = (
    ("classification", ("xnli", "xcopa")),
    ("tagging", ("udpos_r", "panx_r")),
    ("qa", ("xquad_ro", "mlqa", "tydiqa")),
    ("retrieval", ("tatoeba_r", "mewslix")),
    ("multi_choice", ("xcopa",)),
)
OFFICIAL_NAMES = {"udpos_r": "udpos", "panx_r": "panx", "xquad_ro": "xquad",
                  "tatoeba_r": "tatoeba"}  # our task name -> evaluate.py's


@dataclass(frozen=True)
class StagedProtocol(Protocol):
    """A protocol whose English training comes in stages: ``before`` are registered tasks trained
    first (each an intermediate task here), and the task's own training then continues from the
    last of them with the composition ``compose`` (``train-target TASK -i RUN --compose continue``).
    ``recipe`` names the bundled recipe that runs the stages."""

    before: tuple[str, ...] = ()
    compose: str = "continue"
    recipe: str | None = None


@dataclass(frozen=True)
class GroupTableSuite(Suite):
    """A suite whose groups come from an explicit table (a task may sit in several groups, or in none),
    as XTREME-R's ``XTREME_R_GROUP2TASK`` has it; scoring is the base class's."""

    memberships: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self):
        by_name = {t.name: t for t in self.tasks}
        if len(by_name) != len(self.tasks):
            raise ValueError(f"suite {self.name!r} lists a task twice")
        groups = {g.key for g in self.groups}
        table = dict(self.memberships)
        if set(table) != groups:
            raise ValueError(f"suite {self.name!r}: the group table and the groups differ")
        for t in self.tasks:
            if t.score not in SCORE_RULES or t.role not in ROLES:
                raise ValueError(f"suite {self.name!r} task {t.name!r}: unknown score rule or role")
            if t.role == "fine_tune" and (t.protocol.train is None or t.protocol.epochs is None):
                raise ValueError(f"suite {self.name!r} task {t.name!r}: a fine-tuned task needs training data and epochs")
        for key, members in table.items():
            if not members or any(m not in by_name for m in members):
                raise ValueError(f"suite {self.name!r}: group {key!r} is empty or names a task outside the suite")
        check_qa_convention(self.official_qa)
        object.__setattr__(self, "_by_name", by_name)

    def group_tasks(self, key: str) -> tuple[str, ...]:
        super().group_tasks(key) if key not in dict(self.memberships) else None  # unknown key: the base's error
        return tuple(dict(self.memberships)[key])


def _xtreme(name: str) -> Protocol:
    return XTREME.task(name).protocol


XTREME_R = register_suite(GroupTableSuite(
    name="xtreme-r",
    label="XTREME-R",
    description="XTREME-R (Ruder et al. 2021): 10 tasks, 50 languages; train on English, evaluate zero-shot",
    groups=(
        Group("classification", "sentence classification"),
        Group("tagging", "structured prediction"),
        Group("qa", "question answering"),
        Group("retrieval", "retrieval"),
        Group("multi_choice", "multiple choice"),
    ),
    tasks=(
        SuiteTask("xnli", "XNLI", "classification", "accuracy", "fine_tune", _xtreme("xnli")),
        SuiteTask("xcopa", "XCOPA", "classification", "accuracy", "fine_tune",
                  StagedProtocol("Social IQa train (allenai/social_i_qa), then COPA train (aps/super_glue copa), "
                                 "as train_xcopa.sh", "test", "COPA validation", 5.0, 2, 16,
                                 before=("siqa",), compose="continue", recipe="xtreme-r-xcopa")),
        SuiteTask("udpos_r", "POS", "tagging", "f1", "fine_tune", _xtreme("udpos")),
        SuiteTask("panx_r", "NER", "tagging", "f1", "fine_tune", _xtreme("panx")),
        SuiteTask("xquad_ro", "XQuAD", "qa", "qa", "fine_tune", _xtreme("xquad")),
        SuiteTask("mlqa", "MLQA", "qa", "qa", "fine_tune", _xtreme("mlqa")),
        SuiteTask("tydiqa", "TyDiQA", "qa", "qa", "fine_tune", _xtreme("tydiqa")),
        SuiteTask("tatoeba_r", "Tatoeba", "retrieval", "accuracy", "encoder_only",
                  Protocol(train=None, eval_split="validation", selection="scored from a SQuAD v1.1-trained encoder")),
        SuiteTask("mewslix", "Mewsli-X", "retrieval", "map@20", "fine_tune",
                  _trained("Mewsli-X English Wikipedia mention-entity pairs (wikipedia_pairs-train)", "validation",
                           "wikipedia_pairs-dev", 2.0, 8, 4)),
        SuiteTask("lareqa", "LAReQA", "retrieval", "map@20", "fine_tune",
                  _trained(SQUAD + " as question / answer-sentence pairs", "validation", "SQuAD v1.1 validation",
                           3.0, 4, 4)),
    ),
    official_qa="em_f1_mean",
    memberships=OFFICIAL_GROUPS,
))
