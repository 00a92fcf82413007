"""Scoring prediction files in the official XTREME / XTREME-R layout, with the numbers of
google-research/xtreme ``evaluate.py``:

    PREDICTIONS/<task>/test-<lang>.<suffix>     LABELS/<task>/test-<lang>.<suffix>

- a task is scored when its folder is in both PREDICTIONS and LABELS (other folders are ignored);
  then every language of the suite's official list must have both files (the official script stops
  with FileNotFoundError: here a one-line UserError naming the file);
- the suffix is ``json`` for QA tasks (and Mewsli-X), ``jsonl`` for multiple choice (XCOPA), ``tsv``
  otherwise (``get_suffix``); the task's registered metric (``get_task(name).metric``) picks the
  reader and ``get_metric`` scores one language;
- accuracy is the official ``correct / len(predictions)`` with ``p == l`` on what the readers give
  (stripped lines; XCOPA's JSON values, so ``1.0`` equals ``1`` and ``"1"`` does not), so a label
  outside the task's label set counts as wrong, never as an error (Tatoeba's rows are compared as
  the strings they are);
- Mewsli-X (``map@20``): ``utils_mewslix.evaluate`` with k=20: for every gold example (the label
  file's ``{id: [gold entity]}``, its first entry stripped) the reciprocal rank of the gold among the
  first 20 predicted ids, 0 when absent or unpredicted; the mean over the gold examples (0 for none);
- LAReQA: ``evaluate.py`` lists no languages and has no reader for it (its score comes from
  ``utils_lareqa.mean_avg_prec_at_k`` inside ``evaluate_retrieval.py``). ``score`` reads it in
  Mewsli-X's shape, ``lareqa/test-<lang>.json`` = ``{question id: [candidate ids, best first]}``
  against ``{question id: [every relevant candidate id]}``, for the task's 11 XQuAD-R languages, and
  scores ``average_precision_at_k`` at k=20 (divisor min(#relevant, 20), a repeated id counted once),
  an unpredicted question 0; the official LAReQA number pools all questions of all languages, which
  equals the mean of the language means when every language has as many questions (XQuAD-R: 1190);
- a question without a prediction scores 0 (SQuAD v1.1 / MLQA scripts); predictions for questions
  not in the labels are ignored; label-line tasks need as many prediction lines as label lines;
- each metric is macro-averaged over the languages and the suite's ``aggregate`` gives the task
  scores (QA by (EM + F1) / 2 officially, or F1), the complete groups, and the overall score only
  when every task of the suite is present.

The language lists are the official ``XTREME_TASK2LANGS`` / ``XTREME_R_TASK2LANGS`` (they differ
from what the Hub has: the official Tatoeba list includes Telugu); a task with no official list
(LAReQA) or of another suite is scored on its registered ``languages``. XGLUE's own layout
(``<TASK>/<lang>.prediction``) is read by ``evaluation/score/xglue.py``.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any, Callable, Mapping

from adapterstilts.errors import UserError
from adapterstilts.evaluation.score import readers

_XTREME = {
    "pawsx": "de en es fr ja ko zh",
    "xnli": "ar bg de el en es fr hi ru sw th tr ur vi zh",
    "panx": "ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my "
            "zh kk tr et fi hu",
    "udpos": "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh",
    "bucc2018": "de fr ru zh",
    "tatoeba": "ar he vi id jv tl eu ml ta te af nl de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw zh kk tr "
               "et fi hu",
    "xquad": "en es de el ru tr ar vi th zh hi",
    "mlqa": "en es de ar hi vi zh",
    "tydiqa": "en ar bn fi id ko ru sw te",
}
_XTREME_R = {
    "xnli": _XTREME["xnli"],
    "panx": _XTREME["panx"] + " qu pl uk az lt pa gu ro",
    "udpos": _XTREME["udpos"] + " lt pl uk wo ro",
    "tatoeba": _XTREME["tatoeba"] + " az lt pl uk ro",
    "xcopa": "et ht id it qu sw ta th tr vi zh",
    "lareqa": "",
    "mewslix": "ar de en es fa ja pl ro ta tr uk",
    "xquad": _XTREME["xquad"] + " ro",
    "mlqa": _XTREME["mlqa"],
    "tydiqa": _XTREME["tydiqa"],
}
OFFICIAL_LANGUAGES: dict[str, dict[str, tuple[str, ...]]] = {
    suite: {task: tuple(langs.split()) for task, langs in table.items()}
    for suite, table in (("xtreme", _XTREME), ("xtreme-r", _XTREME_R))
}
QA_METRICS = ("squad", "mlqa", "squad_v2")


def official_names(suite) -> dict[str, str]:
    """{our task name: the official folder name} where they differ (XTREME-R's ``xquad_ro`` is the
    official ``xquad``): the suite's ``official_names`` when it has one, else the ``OFFICIAL_NAMES``
    table of the module that defines the suite's class (``suites/xtreme_r.py``)."""
    names = getattr(suite, "official_names", None)
    if names is None:
        module = importlib.import_module(type(suite).__module__)
        names = getattr(module, "OFFICIAL_NAMES", {})
    return dict(names)


def languages_of(suite_name: str | None, task, folder: str | None = None) -> tuple[str, ...]:
    """The languages a task is scored on: the suite's official list (under the task's official
    folder name) when it has one, else the task's own (LAReQA: the official list is empty)."""
    official = OFFICIAL_LANGUAGES.get(suite_name or "", {})
    if official.get(folder or task.name):
        return official[folder or task.name]
    return tuple(task.languages)


def suffix_of(task) -> str:
    """``get_suffix``: json for QA and Mewsli-X (and LAReQA, read in Mewsli-X's shape), jsonl for
    multiple choice, tsv otherwise."""
    if task.format == "qa" or task.metric in QA_METRICS or task.metric == "map_at_20":
        return "json"
    if task.format == "multiple_choice":
        return "jsonl"
    return "tsv"


# --------------------------------------------------------------------------------- one language
def _same_length(predictions: list, labels: list, prediction_file: Path, label_file: Path, unit: str) -> None:
    if len(predictions) != len(labels):
        raise UserError(f"{prediction_file}: {len(predictions)} {unit} but {label_file} has {len(labels)}; "
                        f"give one prediction per label")
    if not labels:
        raise UserError(f"{label_file}: no {unit} to score")


def official_accuracy(predictions: list, labels: list) -> dict[str, float]:
    """evaluate.py ``accuracy``: ``p == l`` on the values as read, over ``len(predictions)``."""
    return {"accuracy": 100.0 * sum(int(p == label) for p, label in zip(predictions, labels)) / len(predictions)}


def _labels(task, metric, prediction_file, label_file, language, options):
    """Label lines (XNLI, PAWS-X, Tatoeba's row indices) or XCOPA's JSON lines, scored by the official
    accuracy (the task's own metric would refuse a float or a null label that evaluate.py just counts)."""
    read = readers.read_jsonl_labels if task.format == "multiple_choice" else readers.read_label_lines
    predictions, labels = read(prediction_file), read(label_file)
    _same_length(predictions, labels, prediction_file, label_file, "lines")
    return official_accuracy(predictions, labels)


def _ranked(task, metric, prediction_file, label_file, language, options):
    """Mewsli-X (one gold entity: its first listed id, stripped) and LAReQA (every listed id relevant)
    by AP@20, which for one relevant id is the reciprocal rank utils_mewslix computes."""
    from adapterstilts.metrics.ranking import TOP_K, average_precision_at_k

    golds = readers.read_id_lists(label_file, "gold id list")
    predicted = readers.read_id_lists(prediction_file, "ranked prediction")
    single = getattr(task, "single_gold", False)
    total = 0.0
    for example, ids in golds.items():
        if not ids:
            raise UserError(f"{label_file}: example {example!r} has no gold id; the official scorer needs one "
                            "(utils_mewslix reads labels[0]; LAReQA divides by the number of relevant answers)")
        relevant = [ids[0].strip()] if single else ids
        total += average_precision_at_k(relevant, predicted.get(example, []), TOP_K)
    return {"map@20": 100.0 * total / len(golds) if golds else 0.0}


def _tags(task, metric, prediction_file, label_file, language, options):
    predictions, starts = readers.read_tag_sentences(prediction_file)
    labels, _ = readers.read_tag_sentences(label_file)
    for path in (prediction_file, label_file):  # evaluate.py reads such a line whole: the same score, and a warning
        spaced = readers.spaced_tag_lines(path)
        if spaced:
            number, line = spaced[0]
            print(f"warning: {path}:{number}: {line!r} is not one tag ({len(spaced)} such line(s)); the official "
                  "format is one tag per line, and like evaluate.py's read_tag, score takes the whole line as the "
                  "tag, scored as it stands: write the tags alone, one per line", file=sys.stderr)
    _same_length(predictions, labels, prediction_file, label_file, "sentences (blank-line separated)")
    for index, (pred, gold) in enumerate(zip(predictions, labels)):
        if len(pred) != len(gold):
            raise UserError(f"{prediction_file}:{starts[index]}: sentence {index + 1} has {len(pred)} tags but "
                            f"{len(gold)} in {label_file}")
    return metric(predictions, labels, language=language)


def _pairs(task, metric, prediction_file, label_file, language, options):
    predictions, labels = readers.read_pair_lines(prediction_file), readers.read_pair_lines(label_file)
    return metric(predictions, labels, language=language, extracted=True)


def _qa(task, metric, prediction_file, label_file, language, options):
    questions = readers.squad_questions(label_file)
    answers = readers.squad_predictions(prediction_file)
    if not questions:
        raise UserError(f"{label_file}: no questions to score")
    if task.metric == "squad_v2":
        return _squad_v2(metric, questions, answers, prediction_file, language, options)
    for qid, golds in questions:
        if not golds and qid in answers:
            raise UserError(f"{label_file}: question {qid!r} has no gold answer; the official SQuAD v1.1 / MLQA "
                            "scripts need one (score SQuAD v2 files with --task squad_v2)")
    return metric([answers.get(qid) for qid, _ in questions], [golds for _, golds in questions], language=language)


def _squad_v2(metric, questions, answers, prediction_file, language, options):
    """evaluate-v2.0.py: questions in label order, or (with no-answer scores) in the na-prob file's
    key order, which is the order its threshold search walks ties in."""
    missing = [qid for qid, _ in questions if qid not in answers]
    if missing:
        raise UserError(f"{prediction_file}: no prediction for question {missing[0]!r} ({len(missing)} missing); the "
                        "official SQuAD v2.0 script cannot score missing predictions: predict \"\" for no answer")
    extras: dict[str, Any] = {}
    na_file = options.get("na_probs")
    if na_file is not None:
        na = readers.na_probabilities(Path(na_file))
        absent = [qid for qid, _ in questions if qid not in na]
        if absent:
            raise UserError(f"{na_file}: no no-answer score for question {absent[0]!r} ({len(absent)} missing)")
        rank = {qid: i for i, qid in enumerate(na)}
        questions = sorted(questions, key=lambda q: rank[q[0]])
        extras["na_probs"] = [na[qid] for qid, _ in questions]
    if options.get("na_prob_thresh") is not None:
        extras["na_prob_thresh"] = float(options["na_prob_thresh"])
    return metric([answers[qid] for qid, _ in questions], [golds for _, golds in questions], language=language,
                  **extras)


SCORERS: dict[str, Callable[..., dict[str, float]]] = {
    "accuracy": _labels,
    "tatoeba_accuracy": _labels,
    "map_at_20": _ranked,
    "seqeval_f1": _tags,
    "token_accuracy": _tags,
    "bucc_f1": _pairs,
    "squad": _qa,
    "mlqa": _qa,
    "squad_v2": _qa,
}


def score_files(task_name: str, prediction_file: str | Path, label_file: str | Path, language: str | None = None,
                **options: Any) -> dict[str, float]:
    """Scores of one prediction file against one label file in the official format of the task's
    metric. ``options``: ``na_probs`` (a JSON file) and ``na_prob_thresh`` for SQuAD v2."""
    from adapterstilts.metrics import get_metric
    from adapterstilts.tasks import get_task

    task = get_task(task_name)
    scorer = SCORERS.get(task.metric)
    if scorer is None:
        raise UserError(f"task {task.name!r} has metric {task.metric!r}, which `score` cannot read official files for "
                        f"yet (it reads: {', '.join(sorted(SCORERS))})")
    prediction_file, label_file = Path(prediction_file), Path(label_file)
    for path, what in ((prediction_file, "predictions"), (label_file, "labels")):
        if not path.is_file():
            raise UserError(f"{what} file {path} does not exist")
    return dict(scorer(task, get_metric(task.metric), prediction_file, label_file, language, options))


# ----------------------------------------------------------------------------------- a folder
def _subfolders(path: Path, what: str) -> set[str]:
    if not path.is_dir():
        raise UserError(f"{what} folder {path} does not exist; give a folder with one subfolder per task "
                        "(e.g. xnli/test-de.tsv), as google-research/xtreme's evaluate.py reads it")
    return {p.name for p in path.iterdir() if p.is_dir()}


def score_folder(predictions_dir: str | Path, labels_dir: str | Path, suite: str = "xtreme",
                 qa_convention: str | None = None, split: str = "test") -> dict[str, Any]:
    """Every task of ``suite`` whose folder is in both ``predictions_dir`` and ``labels_dir``, scored
    per language, averaged per task, and aggregated by the suite (see the module docstring).

    A task whose metric has no official-file reader here is left out and named in ``unsupported``
    (so the suite has no overall score). ``suite="xglue"`` reads XGLUE's own layout instead
    (``evaluation/score/xglue.py``; ``split`` picks its ground-truth files, dev or test).

    Returns {"suite", "qa_convention", "description", "tasks": {task: {"label", "metric", "folder",
    "languages": {lang: scores}, "average": {metric: mean}, "score"}}, "groups", "overall",
    "missing", "ignored", "unsupported"}."""
    from adapterstilts.suites import get_suite
    from adapterstilts.tasks import get_task

    the_suite = get_suite(suite)
    if the_suite.name == "xglue":
        from adapterstilts.evaluation.score.xglue import score_xglue_folder

        return score_xglue_folder(predictions_dir, labels_dir, split=split, qa_convention=qa_convention)
    if split != "test":
        raise UserError(f"--split {split!r} is for XGLUE's ground-truth files; the {the_suite.label} layout "
                        "reads test-<lang> files only")
    predictions_dir, labels_dir = Path(predictions_dir), Path(labels_dir)
    predicted, labelled = _subfolders(predictions_dir, "predictions"), _subfolders(labels_dir, "labels")
    per_language: dict[str, dict[str, dict[str, float]]] = {}
    folders = official_names(the_suite)
    unsupported: list[str] = []
    for suite_task in the_suite.tasks:
        folder = folders.get(suite_task.name, suite_task.name)
        if folder not in predicted or folder not in labelled:
            continue
        task = get_task(suite_task.name)
        languages = languages_of(the_suite.name, task, folder)
        if task.metric not in SCORERS:
            unsupported.append(f"{folder} ({task.metric})")
            continue
        if not languages:
            continue  # no official language list (LAReQA in evaluate.py): nothing to score
        suffix = suffix_of(task)
        scores = {}
        for language in languages:
            name = f"test-{language}.{suffix}"
            prediction_file, label_file = predictions_dir / folder / name, labels_dir / folder / name
            for path in (prediction_file, label_file):
                if not path.is_file():
                    raise UserError(f"{path} is not available: the official evaluate.py needs test-<lang>.{suffix} "
                                    f"for every {folder} language ({' '.join(languages)})")
            scores[language] = score_files(task.name, prediction_file, label_file, language)
        per_language[task.name] = scores
    return folder_result(the_suite, per_language, folders, predicted & labelled, unsupported, qa_convention)


def folder_result(the_suite, per_language: dict, folders: Mapping[str, str], present: set[str],
                  unsupported: list[str], qa_convention: str | None) -> dict[str, Any]:
    """The suite's aggregate of ``per_language`` scores as ``score_folder`` returns it; ``present``:
    the folders found on both sides (those of no suite task are listed as ignored)."""
    from adapterstilts.suites.base import language_means
    from adapterstilts.tasks import get_task

    aggregate = the_suite.aggregate(per_language, qa_convention)
    tasks = {
        name: {"label": the_suite.label_of(name), "metric": get_task(name).metric,
               "folder": folders.get(name, name), "languages": langs,
               "average": language_means(langs), "score": aggregate.tasks[name]}
        for name, langs in per_language.items()
    }
    ignored = sorted(present - {folders.get(n, n) for n in the_suite.names})
    return {"suite": the_suite.name, "suite_label": the_suite.label, "qa_convention": aggregate.qa_convention,
            "description": aggregate.description, "tasks": tasks,
            "groups": {g.key: aggregate.groups[g.key] for g in the_suite.groups if g.key in aggregate.groups},
            "group_labels": {g.key: g.label for g in the_suite.groups}, "overall": aggregate.overall,
            "missing": list(aggregate.missing), "ignored": ignored, "unsupported": unsupported}


def language_table(scores: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    """{metric: {language: value}}, the official output's per-task layout."""
    out: dict[str, dict[str, float]] = {}
    for language, values in scores.items():
        for key, value in values.items():
            out.setdefault(key, {})[language] = value
    return out
