"""EM/F1 of the two QA answer-text rules on the bundled QA samples, with XLM-R's real tokenizer.

The rules differ only in how a predicted token span becomes text (``adapterstilts/formats/qa.py``):
``words`` (the reference: XTREME run_squad / jiant, whitespace words + get_final_text) and
``offsets`` (the exact context characters of the span). No model is involved: the same token spans
go through both rules, so every difference in the scores is the rule's. The spans are the gold
answer's tokens and four one-token misses of it (end one token earlier or later, start one token
later or earlier), the errors a trained model makes most; a miss that leaves the context or makes
an empty span is left out.

    python scripts/qa_answer_text.py                      # tokenizer from the test cache
    python scripts/qa_answer_text.py --tokenizer PATH     # any XLM-R tokenizer.json

The test cache is filled by ``pytest tests/test_real_tokenizer.py`` (see tests/xlmr_tokenizer.py).
Prints a Markdown table per task and language, and the totals."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("ADAPTERSTILTS_NO_PROGRESS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

SPANS = {"gold": (0, 0), "end-1": (0, -1), "end+1": (0, 1), "start+1": (1, 0), "start-1": (-1, 0)}
TASKS = {"xquad": "validation", "mlqa": "test", "tydiqa": "validation"}


def default_tokenizer() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "adapterstilts" / "test-assets"
    return Path(os.environ.get("ADAPTERSTILTS_TEST_ASSETS", cache)) / "xlmr-tokenizer.json"


def spans_for(feature, start_char: int, end_char: int) -> dict[str, tuple[int, int]]:
    offsets = feature["offset_mapping"]
    context = [i for i, o in enumerate(offsets) if o[0] >= 0]
    hits = [i for i in context if offsets[i][0] < end_char and offsets[i][1] > start_char]
    if not hits:
        return {}
    out = {}
    for name, (ds, de) in SPANS.items():
        s, e = hits[0] + ds, hits[-1] + de
        if s in context and e in context and s <= e:
            out[name] = (s, e)
    return out


def measure(tokenizer, task_name: str, split: str, language: str):
    import numpy as np

    from adapterstilts.data.loading import load_examples
    from adapterstilts.formats.qa import ExtractiveQA
    from adapterstilts.metrics.base import get_metric
    from adapterstilts.tasks.base import get_task

    task = get_task(task_name)
    examples = load_examples(task, split, language, "sample")
    fmt = {mode: ExtractiveQA(answer_text=mode) for mode in ("words", "offsets")}
    features = fmt["words"].preprocess(examples, tokenizer, task, max_length=384, stride=128, train=False)
    metric = get_metric(task.metric)
    rows = {}
    for name in SPANS:
        keep, logits = [], []
        for f in features:
            example = examples[f["example_index"]]
            if f["example_index"] in keep or not example["answers"]["text"]:
                continue
            start_char = example["answers"]["answer_start"][0]
            span = spans_for(f, start_char, start_char + len(example["answers"]["text"][0])).get(name)
            if span is None:
                continue
            row = np.full((len(f["input_ids"]), 2), -10.0, dtype=np.float32)
            row[span[0], 0], row[span[1], 1] = 5.0, 5.0
            keep.append(f["example_index"])
            logits.append((f, row))
        if not keep:
            continue
        subset = examples.select(keep)
        feats = [dict(f, example_index=i) for i, (f, _) in enumerate(logits)]
        scores = {}
        for mode, format_ in fmt.items():
            predictions, references, extras = format_.postprocess(subset, feats, [r for _, r in logits], task)
            scores[mode] = metric(predictions, references, language=language, **extras)
        rows[name] = (len(keep), scores)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokenizer", type=Path, default=default_tokenizer())
    args = parser.parse_args(argv)
    if not args.tokenizer.is_file():
        print(f"no tokenizer at {args.tokenizer}; run `pytest tests/test_real_tokenizer.py` once (it fetches "
              "XLM-R's tokenizer.json) or pass --tokenizer PATH", file=sys.stderr)
        return 2
    from transformers import XLMRobertaTokenizerFast

    from adapterstilts.data.loading import available_languages
    from adapterstilts.errors import UserError
    from adapterstilts.tasks.base import get_task

    tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(args.tokenizer), model_max_length=512)
    print("| task | lang | spans | n | EM words | EM offsets | F1 words | F1 offsets |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    totals: dict[str, list[float]] = {}
    for task_name, split in TASKS.items():
        task = get_task(task_name)
        for language in available_languages(task, split, "sample", list(task.languages)):
            try:
                measured = measure(tokenizer, task_name, split, language)
            except UserError:  # a language the bundled sample does not hold (tydiqa mixes languages)
                continue
            for name, (n, scores) in measured.items():
                w, o = scores["words"], scores["offsets"]
                print(f"| {task_name} | {language} | {name} | {n} | {w['exact_match']:.1f} | {o['exact_match']:.1f} | "
                      f"{w['f1']:.1f} | {o['f1']:.1f} |")
                for key, value in (("em_words", w["exact_match"]), ("em_offsets", o["exact_match"]),
                                   ("f1_words", w["f1"]), ("f1_offsets", o["f1"])):
                    totals.setdefault(f"{name}:{key}", []).extend([value] * n)
                    totals.setdefault(f"{language}:{key}", []).extend([value] * n)
                    totals.setdefault(f"all:{key}", []).extend([value] * n)
    print()
    print("| group | EM words | EM offsets | F1 words | F1 offsets |")
    print("|---|---:|---:|---:|---:|")
    groups = sorted({k.split(":")[0] for k in totals}, key=lambda g: (g == "all", g not in SPANS, g))
    for group in groups:
        vals = [sum(totals[f"{group}:{k}"]) / len(totals[f"{group}:{k}"])
                for k in ("em_words", "em_offsets", "f1_words", "f1_offsets")]
        print(f"| {group} | " + " | ".join(f"{v:.1f}" for v in vals) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
