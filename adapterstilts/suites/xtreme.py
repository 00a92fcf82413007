"""XTREME (Hu et al. 2020): nine tasks, 40 languages, English-only training data.

Groups and score rules as google-research/xtreme ``evaluate.py`` (``XTREME_GROUP2TASK``): sentence
classification (XNLI, PAWS-X: accuracy), structured prediction (UD-POS, PAN-X: seqeval F1), question
answering (XQuAD, MLQA, TyDiQA-GoldP: (EM + F1) / 2 in the official score, F1 in the X-STILTs paper)
and sentence retrieval (BUCC: F1 of the mined pairs; Tatoeba: top-1 accuracy). The official score is
the mean over the nine tasks, shown only when all nine are there.

Target protocol (jiant, as Phang et al. 2020 ran it): epochs XNLI 2, PAWS-X 5, POS 10, NER 10, QA 2;
effective batch 32 for classification and tagging (8 per device x 4 accumulation steps), 16 for QA
(4 x 4). BUCC and Tatoeba get no target training: they are scored straight from the encoder.
Evaluation splits as the Hub has them (``tasks/xtreme.py``): XQuAD, TyDiQA-GoldP and Tatoeba have only
validation; BUCC's "test" is its training gold set (the official test gold is hidden). Checkpoints are
selected on English development data: the task's own English validation split, except XQuAD, whose
English set is part of the evaluation (SQuAD v1.1 validation instead).
"""
from __future__ import annotations

from adapterstilts.suites.base import Group, Protocol, Suite, SuiteTask, register_suite

SQUAD = "SQuAD v1.1 train (rajpurkar/squad)"


def _trained(train: str, eval_split: str, selection: str, epochs: float, batch_size: int = 8,
             grad_accum: int = 4) -> Protocol:
    """A fine-tuned task's protocol; the default batch is classification/tagging's (8 x 4 = 32)."""
    return Protocol(train, eval_split, selection, epochs, batch_size, grad_accum)


XTREME = register_suite(Suite(
    name="xtreme",
    label="XTREME",
    description="XTREME (Hu et al. 2020): 9 tasks, 40 languages; train on English, evaluate zero-shot",
    groups=(
        Group("classification", "sentence classification"),
        Group("tagging", "structured prediction"),
        Group("qa", "question answering"),
        Group("retrieval", "sentence retrieval"),
    ),
    tasks=(
        SuiteTask("xnli", "XNLI", "classification", "accuracy", "fine_tune",
                  _trained("MNLI train (nyu-mll/glue mnli)", "test", "XNLI validation, English", 2.0)),
        SuiteTask("pawsx", "PAWS-X", "classification", "accuracy", "fine_tune",
                  _trained("PAWS-X English train (google/xtreme PAWS-X.en)", "test",
                           "PAWS-X English validation", 5.0)),
        SuiteTask("udpos", "POS", "tagging", "f1", "fine_tune",
                  _trained("UD English train (google/xtreme udpos.English)", "test", "UD English validation", 10.0)),
        SuiteTask("panx", "NER", "tagging", "f1", "fine_tune",
                  _trained("PAN-X English train (google/xtreme PAN-X.en)", "test", "PAN-X English validation", 10.0)),
        SuiteTask("xquad", "XQuAD", "qa", "qa", "fine_tune",
                  _trained(SQUAD, "validation", "SQuAD v1.1 validation", 2.0, 4, 4)),
        SuiteTask("mlqa", "MLQA", "qa", "qa", "fine_tune",
                  _trained(SQUAD, "test", "MLQA English validation (MLQA.en.en)", 2.0, 4, 4)),
        SuiteTask("tydiqa", "TyDiQA", "qa", "qa", "fine_tune",
                  _trained("TyDiQA-GoldP English train (google/xtreme tydiqa, english- ids)", "validation",
                           "TyDiQA-GoldP English validation", 2.0, 4, 4)),
        SuiteTask("bucc2018", "BUCC", "retrieval", "f1", "encoder_only", Protocol(train=None, eval_split="test")),
        SuiteTask("tatoeba", "Tatoeba", "retrieval", "accuracy", "encoder_only",
                  Protocol(train=None, eval_split="validation")),
    ),
    official_qa="em_f1_mean",
))
