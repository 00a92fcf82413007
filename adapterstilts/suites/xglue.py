"""XGLUE (Liang et al. 2020): the XGLUE-Understanding score over its nine understanding tasks.

The official score (XGLUE README, 2020-09-14 update; the ``microsoft/xglue`` dataset card) is the
XGLUE-Understanding Score = the unweighted mean of NER, POS, NC, MLQA, XNLI, PAWS-X, QADSM, WPR and
QAM, each task the mean over its languages (``xglue_evaluate.py``: ``results["avg"]``). Per task, as
the scorer computes it: NER seqeval F1; POS its "accuracy" (seqeval precision, ``metrics/xglue.py``);
NC, XNLI, PAWS-X, QADSM, QAM accuracy; MLQA F1 (no EM: ``qa_convention="f1"`` is the official one
here); WPR nDCG per query. The scorer prints fractions; this suite works in percent like XTREME's.

Groups are XGLUE's own task categories: single-input understanding (NER, POS, NC) and pair-input
understanding (MLQA, XNLI, PAWS-X, QADSM, WPR, QAM). The generation tasks QG and NTG (BLEU-4, the
XGLUE-Generation Score) are registered (``xglue_qg``, ``xglue_ntg``) but need a sequence-to-sequence
backbone, so they are not part of this suite's tasks or score.

XNLI and MLQA are XTREME's tasks (same data: ``tasks/xglue.py``). Protocol: English training data
only; epochs and batches follow the XTREME protocol of this toolkit for the tasks XTREME shares
(XNLI 2, PAWS-X 5, POS 10, NER 10, MLQA 2) and 2 epochs for the XGLUE-only sentence-pair tasks
(NC, QADSM, WPR, QAM); XGLUE's own baseline settings were not verified (Unicoder's scripts not read).
"""
from __future__ import annotations

from adapterstilts.suites.base import Group, Protocol, Suite, SuiteTask, register_suite
from adapterstilts.tasks.xglue import GENERATION_TASKS

SQUAD = "SQuAD v1.1 train (rajpurkar/squad)"


def _trained(train: str, selection: str, epochs: float, batch_size: int = 8, grad_accum: int = 4) -> Protocol:
    """A fine-tuned task's protocol, evaluated on its labelled test split; classification/tagging batch 8 x 4."""
    return Protocol(train, "test", selection, epochs, batch_size, grad_accum)


def _xglue(config: str, epochs: float = 2.0) -> Protocol:
    return _trained(f"XGLUE {config} English train (microsoft/xglue {config})", f"microsoft/xglue {config} validation.en",
                    epochs)


XGLUE = register_suite(Suite(
    name="xglue",
    label="XGLUE-Understanding",
    description=("XGLUE (Liang et al. 2020): the 9 understanding tasks, train on English, evaluate zero-shot; "
                 f"generation tasks {' and '.join(GENERATION_TASKS)} are listed but need a seq2seq backbone"),
    groups=(
        Group("single_input", "single-input understanding"),
        Group("pair_input", "pair-input understanding"),
    ),
    tasks=(
        SuiteTask("xglue_ner", "NER", "single_input", "f1", "fine_tune", _xglue("ner", 10.0)),
        SuiteTask("xglue_pos", "POS", "single_input", "accuracy", "fine_tune", _xglue("pos", 10.0)),
        SuiteTask("xglue_nc", "NC", "single_input", "accuracy", "fine_tune", _xglue("nc")),
        SuiteTask("mlqa", "MLQA", "pair_input", "qa", "fine_tune",
                  _trained(SQUAD, "MLQA English validation (MLQA.en.en)", 2.0, 4, 4)),
        SuiteTask("xnli", "XNLI", "pair_input", "accuracy", "fine_tune",
                  _trained("MNLI train (nyu-mll/glue mnli)", "XNLI validation, English", 2.0)),
        SuiteTask("xglue_pawsx", "PAWS-X", "pair_input", "accuracy", "fine_tune", _xglue("paws-x", 5.0)),
        SuiteTask("xglue_qadsm", "QADSM", "pair_input", "accuracy", "fine_tune", _xglue("qadsm")),
        SuiteTask("xglue_wpr", "WPR", "pair_input", "ndcg", "fine_tune", _xglue("wpr")),
        SuiteTask("xglue_qam", "QAM", "pair_input", "accuracy", "fine_tune", _xglue("qam")),
    ),
    official_qa="f1",
))
