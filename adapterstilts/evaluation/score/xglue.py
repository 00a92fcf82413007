"""Scoring prediction folders in XGLUE's official layout, with the numbers of microsoft/XGLUE
``evaluation/xglue_evaluate.py`` (in percent, where the script prints fractions):

    PREDICTIONS/<TASK>/<lang>.prediction          one file per task and language (the submission layout)
    GROUND_TRUTH/MLQA/MLQA_V1/<split>/<split>-context-<lang>-question-<lang>.json
    GROUND_TRUTH/PAWSX/<lang>/<split>_2k.tsv      a header line, then rows whose last tab field is the label
    GROUND_TRUTH/XNLI/<lang>.<split>              rows whose last tab field is the label
    GROUND_TRUTH/{NER,POS}/<lang>.<split>         "word ... TAG" lines, sentences split by blank / -DOCSTART- lines
    GROUND_TRUTH/{NC,QADSM,QAM,WPR}/xglue.<task>.<lang>.<split>   rows whose last tab field is the label

``split`` is ``dev`` or ``test`` (the script's ``--split``). A task is scored when its folder is in
both trees; then every language of the script's ``task2lg`` must have both files (the script stops
with FileNotFoundError: here one line naming the file). Per language, as the script computes it:

- NC, XNLI, PAWS-X, QADSM, QAM: ``(preds == labels).mean()`` over the stripped prediction lines (a
  blank line is the prediction "") and the labels; the two must be as long (numpy cannot compare
  otherwise). A label outside the task's set simply counts as wrong.
- NER: seqeval F1, POS: seqeval precision (XGLUE's "accuracy", see ``metrics/xglue.py``), on the
  prediction lines (each stripped line is a tag; a blank line ends a sentence; a blank line while no
  sentence is open is read as the tag "", which seqeval cannot chunk: an error here) and the gold
  files' last fields. A predicted sentence shorter than its gold one is padded with "O"; fewer
  predicted sentences than gold ones is an error (the script fails indexing); seqeval then chunks
  each side on its own, so longer or extra predicted sentences shift positions and count as wrong
  chunks, as there.
- WPR: rows belong to one query while the first tab field of the gold rows repeats; the script zips
  predictions with gold rows (extra rows on either side are dropped), scores ``ndcg_score`` of each
  query with two or more rows and averages the queries; predictions and labels must be numbers.
- MLQA: ``mlqa_evaluation_v1`` F1 for the language (unanswered questions score 0); EM is kept too.

Each task is the mean over its languages, and the suite aggregates them (``suites/xglue.py``): the
XGLUE-Understanding score is the mean of the nine tasks, given only when all nine are there (the
script averages whichever tasks it was given). QG and NTG (BLEU-4) are listed as not scored. The
script's arrays of tag sequences need numpy < 1.24 (ragged arrays); the rules above are what it
computes there.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError
from adapterstilts.evaluation.score import readers

# xglue_evaluate.py task2lg, the folder name -> our task
TASK2LG = {
    "NER": "de en es nl",
    "POS": "pl ar ru bg de el en es fr hi it nl pt th tr ur vi zh",
    "NC": "de en es fr ru",
    "MLQA": "ar de en es hi vi zh",
    "XNLI": "ar bg de el en es fr hi ru sw th tr ur vi zh",
    "PAWSX": "de en es fr",
    "QADSM": "de en fr",
    "WPR": "de en es fr it pt zh",
    "QAM": "de en fr",
}
FOLDERS = {"xglue_ner": "NER", "xglue_pos": "POS", "xglue_nc": "NC", "mlqa": "MLQA", "xnli": "XNLI",
           "xglue_pawsx": "PAWSX", "xglue_qadsm": "QADSM", "xglue_wpr": "WPR", "xglue_qam": "QAM"}
GENERATION = ("QG", "NTG")
SPLITS = ("dev", "test")


def label_file(root: Path, folder: str, language: str, split: str) -> Path:
    if folder == "MLQA":
        return root / "MLQA" / "MLQA_V1" / split / f"{split}-context-{language}-question-{language}.json"
    if folder == "PAWSX":
        return root / "PAWSX" / language / f"{split}_2k.tsv"
    if folder in ("XNLI", "NER", "POS"):
        return root / folder / f"{language}.{split}"
    return root / folder / f"xglue.{folder.lower()}.{language}.{split}"


def _lines(path: Path) -> list[str]:
    return readers._text_lines(path)


def _last_field(line: str) -> str:
    return line.split("\t")[-1].strip()


def _accuracy(folder: str, pred: Path, gold: Path) -> dict[str, float]:
    predictions = [line.strip() for line in _lines(pred)]
    rows = _lines(gold)
    if folder == "PAWSX":  # load_pawsx_data: skip the header, skip blank rows
        labels = [_last_field(line) for line in rows[1:] if line.strip()]
    else:
        labels = [_last_field(line) for line in rows]
    if len(predictions) != len(labels):
        raise UserError(f"{pred}: {len(predictions)} prediction lines but {gold} has {len(labels)} labels; "
                        "xglue_evaluate.py compares them one to one")
    if not labels:
        raise UserError(f"{gold}: no labels to score")
    return {"accuracy": 100.0 * sum(p == g for p, g in zip(predictions, labels)) / len(labels)}


def _tag_sentences(pred: Path, gold: Path) -> tuple[list[list[str]], list[list[str]]]:
    """load_ner_pos_data, line for line."""
    predictions, current = [], []
    for number, line in enumerate(_lines(pred), 1):
        if not line.strip() and current:
            predictions.append(current)
            current = []
            continue
        if not line.strip():
            raise UserError(f"{pred}:{number}: a blank line with no open sentence is read as the tag \"\" by "
                            "xglue_evaluate.py, which seqeval cannot score; separate sentences by one blank line")
        current.append(line.strip())
    if current:
        predictions.append(current)
    labels, current = [], []
    for line in _lines(gold):
        if line.strip() and not line.startswith("-DOCSTART-"):
            current.append(line.split()[-1].strip())
        elif current:
            labels.append(current)
            current = []
    if current:
        labels.append(current)
    if len(predictions) < len(labels):
        raise UserError(f"{pred}: {len(predictions)} predicted sentences but {gold} has {len(labels)}; "
                        "give one blank-line separated sentence of tags per gold sentence")
    if not labels:
        raise UserError(f"{gold}: no sentences to score")
    for index, gold_tags in enumerate(labels):
        predictions[index] = predictions[index] + ["O"] * (len(gold_tags) - len(predictions[index]))
    return predictions, labels


def _chunk_scores(predictions, labels) -> tuple[float, float, float]:
    """seqeval 0.0.12 precision, recall, F1 (fractions), each side chunked on its own."""
    from adapterstilts.metrics.seqeval import extract_chunks

    predicted, gold = set(extract_chunks(predictions)), set(extract_chunks(labels))
    correct = len(predicted & gold)
    p = correct / len(predicted) if predicted else 0.0
    r = correct / len(gold) if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r > 0 else 0.0)


def _number(value: str, path: Path, index: int) -> float:
    try:
        return float(value)
    except ValueError:
        raise UserError(f"{path}: row {index + 1} holds {value!r}, not a relevance number (float() fails in "
                        "xglue_evaluate.py)") from None


def _wpr(pred: Path, gold: Path) -> dict[str, float]:
    from adapterstilts.metrics.xglue import ndcg

    predictions = [line.strip() for line in _lines(pred)]
    labels, guids, guid, last = [], [], 0, ""
    for line in _lines(gold):
        query = line.split("\t")[0]
        if query != last and last:
            guid += 1
        last = query
        labels.append(_last_field(line))
        guids.append(guid)
    queries: dict[int, tuple[list[float], list[float]]] = {}
    for index, (p, g, q) in enumerate(zip(predictions, labels, guids)):  # zip: the script's truncation
        scores, golds = queries.setdefault(q, ([], []))
        scores.append(_number(p, pred, index))
        golds.append(_number(g, gold, index))
    values = [ndcg(golds, scores) for scores, golds in queries.values() if len(golds) >= 2]
    if not values:
        raise UserError(f"{gold}: no query with two or more pages; nDCG needs a ranked list per query")
    return {"ndcg": 100.0 * sum(values) / len(values)}


def score_language(folder: str, pred: Path, gold: Path, language: str) -> dict[str, float]:
    if folder == "MLQA":
        from adapterstilts.evaluation.score.official import score_files

        return score_files("mlqa", pred, gold, language)
    if folder == "WPR":
        return _wpr(pred, gold)
    if folder in ("NER", "POS"):
        p, r, f1 = _chunk_scores(*_tag_sentences(pred, gold))
        if folder == "POS":
            return {"accuracy": 100.0 * p}
        return {"f1": 100.0 * f1, "precision": 100.0 * p, "recall": 100.0 * r}
    return _accuracy(folder, pred, gold)


def score_xglue_folder(predictions_dir, labels_dir, split: str = "test", qa_convention: str | None = None) -> dict[str, Any]:
    """Every XGLUE understanding task whose folder is in both trees, per language, averaged and
    aggregated by the ``xglue`` suite; returns what ``score_folder`` returns."""
    from adapterstilts.evaluation.score.official import _subfolders, folder_result
    from adapterstilts.suites import get_suite

    if split not in SPLITS:
        raise UserError(f"unknown XGLUE --split {split!r}; choose one of: {', '.join(SPLITS)}")
    suite = get_suite("xglue")
    predictions_dir, labels_dir = Path(predictions_dir), Path(labels_dir)
    present = _subfolders(predictions_dir, "predictions") & _subfolders(labels_dir, "labels")
    per_language: dict[str, dict[str, dict[str, float]]] = {}
    for task, folder in FOLDERS.items():
        if folder not in present:
            continue
        scores = {}
        for language in TASK2LG[folder].split():
            pred, gold = predictions_dir / folder / f"{language}.prediction", label_file(labels_dir, folder, language, split)
            for path in (pred, gold):
                if not path.is_file():
                    raise UserError(f"{path} is not available: xglue_evaluate.py needs every {folder} language "
                                    f"({TASK2LG[folder]}) for --split {split}")
            scores[language] = score_language(folder, pred, gold, language)
        per_language[task] = scores
    unsupported = [f"{g} (generation, BLEU-4: needs a sequence-to-sequence backbone)" for g in GENERATION if g in present]
    return folder_result(suite, per_language, FOLDERS, present - set(GENERATION), unsupported, qa_convention)
