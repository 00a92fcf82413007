"""Readers for the official XTREME prediction and label files (google-research/xtreme ``evaluate.py``),
each turning one file into the inputs of a registered metric. The reading rules are the official
ones; anything the official script would crash on (or silently misread) is a UserError naming the
file and line.

- label lines (``read_label``): one label per line, each line stripped; a blank line is the label "".
- tag files (``read_tag``): one tag per line (stripped); a blank line ends a sentence (two blank lines
  in a row give an empty sentence); the last sentence needs no blank line after it.
- id-pair lines (BUCC): label lines, each split on tabs (evaluate.py ``bucc_f1``).
- Tatoeba index lines: label lines, compared as the stripped strings they are (``accuracy``): a
  prediction "02" or "[2]" is simply wrong against "2", as there.
- SQuAD JSON (``read_squad``): a file with a top-level ``data`` gives ``data``, any other JSON is used
  as is; labels are the SQuAD ``data`` list, predictions a ``{question id: answer text}`` object.
- XCOPA JSON lines (``read_xcopa``): one JSON object per line, its ``label`` is the label.
- ranked id lists (Mewsli-X, read by ``read_squad`` there; LAReQA here in the same shape): a JSON
  object ``{example id: [candidate ids, best first]}``; labels the same shape holding the gold ids.

A label outside the task's label set is not an error anywhere: the official comparisons (``p == l``,
seqeval's chunks, set intersections, ``p == gold``) simply count it as wrong, and so does ``score``.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError


def _read_text(path: Path) -> str:
    """The file's text, or one line naming the file (and the line of a byte that is not UTF-8)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder, not a file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}:{text_line_of(path, exc.start)}: not UTF-8 text") from None


def _text_lines(path: Path) -> list[str]:
    """The file's lines without their line ends, as ``for line in f`` yields them (no extra empty
    line after a final newline)."""
    text = _read_text(path)
    # str.splitlines would also split on \x0b, \x1c, \u2028...: split on \n only, as Python's file
    # iteration does in text mode (universal newlines: \r\n and \r become \n)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def text_line_of(path: Path, byte_offset: int) -> int:
    return path.read_bytes()[:byte_offset].count(b"\n") + 1


def read_label_lines(path: Path) -> list[str]:
    """``read_label``: every line, stripped."""
    return [line.strip() for line in _text_lines(path)]




def read_pair_lines(path: Path) -> list[tuple[str, ...]]:
    """BUCC: label lines split on tabs (``source-id<TAB>target-id``); blank lines are kept (``("",)``)."""
    return [tuple(line.split("\t")) for line in read_label_lines(path)]


def read_tag_sentences(path: Path) -> tuple[list[list[str]], list[int]]:
    """``read_tag``: (sentences of tags, the line number each sentence starts on)."""
    sentences: list[list[str]] = []
    starts: list[int] = []
    current: list[str] = []
    start = 1
    for number, line in enumerate(_text_lines(path), 1):
        line = line.strip()
        if line:
            if not current:
                start = number
            current.append(line)
        else:
            sentences.append(current)
            starts.append(start if current else number)
            current = []
    if current:
        sentences.append(current)
        starts.append(start)
    return sentences, starts


def spaced_tag_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, line) of the tag lines holding whitespace inside, e.g. ``word<TAB>B-PER`` (CoNLL
    columns). The official ``read_tag`` keeps such a line whole as the tag (scored as wrong, silently),
    so ``score`` reads it the same way and warns (see ``official._tags``)."""
    return [(number, line.strip()) for number, line in enumerate(_text_lines(path), 1)
            if len(line.split()) > 1]


def read_jsonl_labels(path: Path) -> list[Any]:
    """``read_xcopa``: the ``label`` of the JSON object on every line."""
    labels = []
    for number, line in enumerate(_text_lines(path), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{path}:{number}: not a JSON object ({exc.msg})") from None
        if not isinstance(row, dict) or "label" not in row:
            raise UserError(f"{path}:{number}: needs a JSON object with a \"label\"")
        labels.append(row["label"])
    return labels


def read_json(path: Path) -> Any:
    text = _read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def read_squad(path: Path) -> Any:
    """``read_squad``: ``content["data"]`` when the top level has it, else the content."""
    content = read_json(path)
    if isinstance(content, dict) and "data" in content:
        return content["data"]
    return content


def squad_questions(path: Path) -> list[tuple[str, list[str]]]:
    """(question id, gold answer texts) of every question of a SQuAD-format label file, in order
    (a repeated id counts every time, as the official loop counts questions)."""
    articles = read_squad(path)
    if not isinstance(articles, list):
        raise UserError(f"{path}: a SQuAD label file needs {{\"data\": [{{\"paragraphs\": [{{\"qas\": [...]}}]}}]}}")
    questions = []
    for a, article in enumerate(articles):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise UserError(f"{path}: data[{a}] has no \"paragraphs\" list")
        for p, paragraph in enumerate(paragraphs):
            qas = paragraph.get("qas") if isinstance(paragraph, dict) else None
            if not isinstance(qas, list):
                raise UserError(f"{path}: data[{a}].paragraphs[{p}] has no \"qas\" list")
            for q, qa in enumerate(qas):
                where = f"data[{a}].paragraphs[{p}].qas[{q}]"
                if not isinstance(qa, dict) or "id" not in qa or not isinstance(qa.get("answers"), list):
                    raise UserError(f"{path}: {where} needs an \"id\" and an \"answers\" list")
                texts = []
                for answer in qa["answers"]:
                    if not isinstance(answer, dict) or not isinstance(answer.get("text"), str):
                        raise UserError(f"{path}: {where} (id {qa['id']}) has an answer without a \"text\" string")
                    texts.append(answer["text"])
                questions.append((str(qa["id"]), texts))
    return questions


def _id_map(path: Path, content, what: str, shape: str, valid, kind: str) -> dict:
    """A JSON object ``{question id: value}`` whose every value passes ``valid``, else one line naming it."""
    if not isinstance(content, dict):
        raise UserError(f"{path}: a {what} file is a JSON object {shape}")
    for qid, value in content.items():
        if not valid(value):
            raise UserError(f"{path}: the {what} of question {qid!r} is {value!r}, not {kind}")
    return content


def squad_predictions(path: Path) -> dict[str, str]:
    """``{question id: answer text}`` of a prediction file (through ``read_squad`` like the official)."""
    return _id_map(path, read_squad(path), "QA prediction", '{"question id": "answer text"}',
                   lambda v: isinstance(v, str), "a string")


def na_probabilities(path: Path) -> dict[str, float]:
    """SQuAD v2 no-answer scores ``{question id: number}``, in file order."""
    content = _id_map(path, read_json(path), "no-answer probability", '{"question id": number}',
                      lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number")
    return {qid: float(value) for qid, value in content.items()}


def read_id_lists(path: Path, what: str) -> dict[str, list[str]]:
    """``{example id: [ids]}`` (Mewsli-X / LAReQA predictions and labels), through ``read_squad`` as
    evaluate.py reads Mewsli-X; every value a list of strings, else one line naming it."""
    return _id_map(path, read_squad(path), what, '{"example id": ["candidate id", ...]}',
                   lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v), "a list of id strings")
