"""Zero-shot evaluation of a run on every language of a task: per-language metrics, their average,
written atomically. Retrieval tasks (BUCC, Tatoeba) are scored from sentence embeddings instead."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from adapterstilts.errors import UserError
from adapterstilts.data.features import build_features
from adapterstilts.metrics.base import get_metric
from adapterstilts.model.backbone import BackboneOptions, load_tokenizer
from adapterstilts.model.inference import predict  # noqa: F401  (re-exported: evaluation's forward pass)
from adapterstilts.runs import METRICS_FILE, Run, write_json_atomic
from adapterstilts.runs.folder import check_output_place
from adapterstilts.tasks.base import Task, get_task


def parse_languages(task: Task, languages: str | list[str]) -> list[str]:
    if isinstance(languages, str):
        if not languages.strip():
            raise UserError("--languages is empty; pass 'all' or a comma list such as de,zh")
        languages = list(task.languages) if languages == "all" else [x.strip() for x in languages.split(",") if x.strip()]
    for lang in languages:
        task.check_language(lang)
    return languages


def evaluate_run(ref: str | Path, *, task_name: str | None = None, languages: str | list[str] = "all",
                 split: str | None = None, data: str | None = "hub", batch_size: int = 64, max_examples: int | None = None,
                 output: str | Path | None = None, layer: int | None = None, save_predictions: str | Path | None = None,
                 model: str | None = None, allow_pickle: bool = False, bf16: bool = False,
                 language_adapters: dict[str, str] | None = None, qa_answer_text: str | None = None,
                 log=print) -> dict[str, Any]:
    """Evaluate a run (folder or Hub id). ``model`` overrides the recorded base model (e.g. a Hub run
    trained from a local folder, or a local copy of the base)."""
    from adapterstilts.runs.refs import resolve_run

    if data is not None and data not in ("sample", "hub") and not Path(data).is_dir():
        raise UserError(f"--data {data!r} is neither 'sample', 'hub' nor an existing directory")
    if batch_size < 1 or (max_examples is not None and max_examples < 1):
        raise UserError("--batch-size and --max-examples must be at least 1")
    if output is not None:  # a folder, a file on the way or a read-only place: named before the run resolves
        check_output_place(output, file=True)
    if save_predictions is not None:
        check_output_place(save_predictions, "--save-predictions", file=True)
    run = resolve_run(str(ref), allow_pickle=allow_pickle, model=model, log=log)
    if data is None:  # the run's own data source, when it was the bundled sample or a local folder
        trained_on = (run.manifest.get("train") or {}).get("data")
        data = trained_on if trained_on == "sample" or (trained_on and Path(str(trained_on)).is_dir()) else "hub"
        if data != "hub":
            log(f"evaluating on --data {data}, the data the run was trained on (pass --data to choose)")
    options = BackboneOptions(model=model, revision=None) if model else None
    if task_name is None and run.manifest.get("head", {}).get("files"):
        from adapterstilts.model.assemble import head_for_task

        head_for_task(run, None)  # a multi-task run: says which --task values it can score
    task = get_task(task_name or run.task)
    split = split or task.eval_split
    task.check_split(split)
    _check_applies(task, save_predictions=save_predictions, layer=layer, max_examples=max_examples,
                   qa_answer_text=qa_answer_text, language_adapters=language_adapters, bf16=bf16)
    langs = _languages_present(task, languages, split, data, log)
    if run.method == "full":
        tokenizer = load_tokenizer(str(run.module_dir))
    else:
        tokenizer = load_tokenizer(model or run.base_model, None if model else run.manifest["base_model"].get("revision"))
    started = time.time()
    if task.format == "retrieval":
        per_language, extra = _evaluate_retrieval(run, task, tokenizer, langs, data=data, split=split, layer=layer,
                                                  options=options)
    else:
        per_language, extra = _evaluate_supervised(run, task, tokenizer, langs, data=data, split=split,
                                                   batch_size=batch_size, max_examples=max_examples, log=log,
                                                   all_languages=languages in ("all", ""),
                                                   save_predictions=save_predictions, options=options, bf16=bf16,
                                                   language_adapters=language_adapters, qa_answer_text=qa_answer_text)
    result = summarise(task, per_language)
    if task.format == "qa":  # the answer-text rule changes EM / F1: recorded with the scores
        hp = run.manifest.get("hyperparameters") or {}
        from adapterstilts.formats.qa import DEFAULT_ANSWER_TEXT

        result["qa_answer_text"] = qa_answer_text or hp.get("qa_answer_text") or DEFAULT_ANSWER_TEXT
    if max_examples is not None:
        result["max_examples"] = max_examples
    result.update({"run": str(run.path), "task": task.name, "split": split, "data": data,
                   "precision": "bf16" if bf16 and torch.cuda.is_available() else "fp32",
                   "seconds": round(time.time() - started, 1), **extra})
    if not getattr(run, "read_only", False):  # never write into the Hub cache; recorded first, so -o cannot lose it
        _record_in_run(run, result)
    if output:
        write_json_atomic(output, result)
    return result


def _check_applies(task: Task, *, save_predictions, layer, max_examples, qa_answer_text, language_adapters,
                   bf16: bool = False) -> None:
    """An option that does nothing for this task's format is an error, not silently ignored."""
    retrieval = task.format == "retrieval"
    if save_predictions and retrieval:
        raise UserError("--save-predictions writes the predictions of tasks with a head; retrieval scores "
                        "(bucc2018, tatoeba) are in --output")
    if language_adapters and retrieval:
        raise UserError("--language-adapters swaps adapters under a task head; retrieval tasks are scored from the "
                        "encoder: drop it")
    if max_examples is not None and retrieval:
        raise UserError(f"--max-examples does not apply to {task.name}: retrieval mines over every sentence of the "
                        "split (a subset would change the task); drop it, or limit --languages")
    if bf16 and retrieval:
        raise UserError(f"--bf16 applies to tasks scored by a head; {task.name} is scored from the encoder's hidden "
                        "states in fp32: drop --bf16")
    if layer is not None and not retrieval:
        raise UserError(f"--layer chooses the hidden layer of retrieval scoring (bucc2018, tatoeba); {task.name} is "
                        f"scored by its trained head ({task.format}): drop --layer")
    if qa_answer_text is not None:
        from adapterstilts.formats.qa import ANSWER_TEXT_MODES

        if task.format != "qa":
            raise UserError(f"--qa-answer-text applies to QA tasks (xquad, mlqa, tydiqa); {task.name} is "
                            f"{task.format}: drop it")
        if qa_answer_text not in ANSWER_TEXT_MODES:
            raise UserError(f"unknown --qa-answer-text {qa_answer_text!r}; choose one of: {', '.join(ANSWER_TEXT_MODES)}")


NOT_SCORES = {"total", "HasAns_total", "NoAns_total", "layer", "num_pairs", "best_exact_thresh", "best_f1_thresh"}


def evaluate_backbone(model: str, *, task_name: str, languages: str | list[str] = "all", split: str | None = None,
                      data: str = "hub", layer: int | None = None, revision: str | None = None,
                      output: str | Path | None = None, log=print) -> dict[str, Any]:
    """Retrieval (BUCC, Tatoeba) straight from a plain backbone: the XLM-R baseline row."""
    from adapterstilts.evaluation.retrieval import default_layer, evaluate_retrieval
    from adapterstilts.model.backbone import BackboneOptions, load_encoder

    task = get_task(task_name)
    if task.format != "retrieval":
        raise UserError(f"{task.name!r} needs a trained head; only retrieval tasks (bucc2018, tatoeba) evaluate a plain "
                        "--model: pass a RUN folder instead")
    split = split or task.eval_split
    if output:
        check_output_place(output, file=True)
    langs = _languages_present(task, languages, split, data, log)
    tokenizer = load_tokenizer(model, revision)
    from adapterstilts.model.assemble import to_inference_device

    options = BackboneOptions(model=model, revision=revision)
    encoder = to_inference_device(load_encoder(options, trainable=False), options).eval()
    layer = layer if layer is not None else default_layer(encoder.config.num_hidden_layers)
    started = time.time()
    per_language = evaluate_retrieval(task, encoder, tokenizer, langs, data=data, split=split, layer=layer)
    result = summarise(task, per_language)
    result.update({"model": model, "task": task.name, "split": split, "data": data, "layer": layer,
                   "pooling": "mean", "seconds": round(time.time() - started, 1)})
    if output:
        write_json_atomic(output, result)
    return result


def _languages_present(task: Task, languages, split: str, data: str, log) -> list[str]:
    langs = parse_languages(task, languages)
    if languages in ("all", "") and data != "hub":
        from adapterstilts.data.loading import available_languages

        present = available_languages(task, split, data, langs)
        if not present:
            raise UserError(f"--data {data} holds no {split!r} data of {task.name!r} in any language")
        if len(present) < len(langs):
            log(f"{task.name}: --data {data} covers {len(present)} of {len(langs)} languages: {', '.join(present)}")
        langs = present
    return langs


def summarise(task: Task, per_language: dict[str, dict[str, float]]) -> dict[str, Any]:
    metric = get_metric(task.metric)
    keys = sorted({k for scores in per_language.values() for k, v in scores.items()
                   if isinstance(v, (int, float)) and k not in NOT_SCORES})
    average = {k: float(np.mean([s[k] for s in per_language.values() if k in s])) for k in keys} if per_language else {}
    return {"metric": task.metric, "primary": metric.primary, "languages": per_language, "average": average}


def _language_adapters(run: Run, model, mapping: dict[str, str] | None, log):
    """A function that puts the language adapter of a language in place before it is scored (MAD-X):
    its own from ``mapping``, else the one the run was trained with (said once)."""
    if not mapping:
        return lambda lang: None
    from adapterstilts.compose import language

    if not run.manifest.get("language_adapter"):
        raise UserError(f"{run.path} was trained without --language-adapter, so there is none to swap; drop "
                        "--language-adapters")
    folders = {lang: language.resolve(ref, model=run.base_model, log=log) for lang, ref in mapping.items()}
    default = run.path / language.FOLDER
    state = {"loaded": default, "fallback": []}

    def swap(lang: str) -> None:
        folder = folders.get(lang, default)
        if lang not in folders:
            state["fallback"].append(lang)
            log(f"{lang}: no language adapter given (--language-adapters), using the training one")
        if folder != state["loaded"]:
            language.swap(model.encoder, folder)
            state["loaded"] = folder

    return swap


def _evaluate_supervised(run: Run, task: Task, tokenizer, langs, *, data, split, batch_size, max_examples, log,
                         all_languages: bool, save_predictions=None, options=None, bf16: bool = False,
                         language_adapters: dict[str, str] | None = None, qa_answer_text: str | None = None):
    from adapterstilts.model.assemble import load_run_model

    overrides = {"qa_answer_text": qa_answer_text} if qa_answer_text else None
    model, run_task, fmt = load_run_model(run, options, log, task_name=task.name, format_overrides=overrides)
    if run_task.format != task.format or list(run_task.labels) != list(task.labels):
        raise UserError(f"run {run.path} was trained on {run_task.name!r} ({run_task.format}, labels "
                        f"{list(run_task.labels)}), which cannot be scored as {task.name!r}; evaluate it on a task "
                        "with the same format and labels")
    metric = get_metric(task.metric)
    swap = _language_adapters(run, model, language_adapters, log)
    hp = run.manifest.get("hyperparameters", {})
    max_length = hp.get("max_length") or task.max_length
    stride = hp.get("doc_stride") or task.doc_stride
    per_language: dict[str, dict[str, float]] = {}
    skipped: list[str] = []
    extra: dict[str, Any] = {}
    saved: dict[str, Any] = {}
    derived = _training_data(run)
    for lang in langs:
        held = derived is not None and derived.holds_out(task=task.name, split=split, language=lang)
        try:
            kept = _without_held_out(derived, task, split, lang, data, extra, log) if held else None
            examples, features = build_features(task, fmt, tokenizer, split=split, language=lang, data=data,
                                                 max_length=max_length, stride=stride, train=False, limit=max_examples,
                                                 examples=kept, derived=f"held-out {derived.fingerprint()}" if held else None)
        except UserError:
            if data == "sample" and all_languages:
                skipped.append(lang)  # the bundled sample covers only some languages
                continue
            raise
        swap(lang)
        logits = predict(model, fmt, features, tokenizer, batch_size=batch_size, desc=f"{task.name}/{lang}", bf16=bf16)
        predictions, references, extras = fmt.postprocess(examples, features, logits, task)
        per_language[lang] = metric(predictions, references, language=lang, **extras)
        if max_examples is not None:  # a partial evaluation says so, per language
            extra.setdefault("examples", {})[lang] = len(examples)
        if language_adapters:
            extra.setdefault("language_adapters", {})[lang] = language_adapters.get(lang, "training")
        if save_predictions:
            saved[lang] = {"predictions": predictions, "references": references, "extras": extras}
    if save_predictions:
        from adapterstilts.evaluation.predictions import save_predictions as write_predictions

        write_predictions(save_predictions, task.name, saved)
    if skipped:
        log(f"{task.name}: no bundled sample for {', '.join(skipped)} (skipped)")
    if not per_language:
        raise UserError(f"no language of {task.name!r} could be evaluated with --data {data}")
    if skipped:
        extra["skipped_languages"] = skipped
    return per_language, extra


def _training_data(run: Run):
    """The run's derived training data (manifest ``train_data``), or None."""
    spec = run.manifest.get("train_data")
    if not spec:
        return None
    from adapterstilts.tasks.derived import derived_from_spec

    return derived_from_spec(spec)


def _without_held_out(derived, task: Task, split: str, lang: str, data: str, extra: dict, log):
    """The evaluation examples less those the run trained on (a FewShot held out of this split)."""
    from adapterstilts.data.loading import load_examples

    examples = load_examples(task, split, lang, data)
    held = set(derived.held_out_indices(examples))
    if len(held) >= len(examples):
        raise UserError(f"all {len(examples)} {split} examples of {task.name}/{lang} were the run's few-shot training "
                        "data; nothing is left to score: evaluate another split or language")
    log(f"{task.name}/{lang}: {len(held)} {split} examples held out (the run's few-shot training data) are not scored; "
        f"{len(examples) - len(held)} remain")
    extra.update({"held_out": len(held), "held_out_language": lang})
    return examples.select([i for i in range(len(examples)) if i not in held])


def _evaluate_retrieval(run: Run, task: Task, tokenizer, langs, *, data, split, layer, options=None):
    from adapterstilts.evaluation.retrieval import default_layer, evaluate_retrieval
    from adapterstilts.model.assemble import load_run_encoder

    encoder = load_run_encoder(run, options).eval()
    per_language = evaluate_retrieval(task, encoder, tokenizer, langs, data=data, split=split, layer=layer)
    layer = next(iter(per_language.values()))["layer"] if per_language else default_layer(encoder.config.num_hidden_layers)
    return per_language, {"layer": layer, "pooling": "mean", **_layer_table(per_language)}


def _layer_table(per_language: dict) -> dict:
    """``--layer all``: {"by_layer": {layer: {language: score, ..., "average": mean}}} (else nothing)."""
    tables = {lang: scores.pop("by_layer") for lang, scores in per_language.items() if "by_layer" in scores}
    if not tables:
        return {}
    layers = sorted({layer for table in tables.values() for layer in table})
    out = {}
    for layer in layers:
        row = {lang: float(table[layer]) for lang, table in tables.items()}
        row["average"] = float(np.mean(list(row.values())))
        out[layer] = row
    return {"by_layer": out}


def _merged(before: Any, result: dict[str, Any]) -> dict[str, Any]:
    """A new result of a task, with the languages an earlier result of the same evaluation (split, data,
    answer text) had and this one did not (evaluating `--languages de` keeps the others), averaged again."""
    same = ("split", "data", "qa_answer_text", "layer", "max_examples")
    if not isinstance(before, dict) or not isinstance(before.get("languages"), dict) or any(
            before.get(k) != result.get(k) for k in same):
        return result
    languages = {**before["languages"], **result["languages"]}
    merged = {**result, **summarise(get_task(result["task"]), languages)}
    for key in ("examples", "language_adapters"):  # per-language records follow their languages
        kept = before.get(key) if isinstance(before.get(key), dict) else {}
        values = {**{k: v for k, v in kept.items() if k not in result["languages"]}, **result.get(key, {})}
        if values:
            merged[key] = values
        else:
            merged.pop(key, None)
    return merged


def _record_in_run(run: Run, result: dict[str, Any]) -> None:
    """Keep the latest result per task in RUN/metrics.json (local, writable runs only)."""
    import json

    path = run.path / METRICS_FILE
    try:
        try:
            current = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except (UnicodeDecodeError, ValueError):
            current = None
        if not isinstance(current, dict):  # a corrupt file beside the run: keep it aside, never lose the result
            os.replace(path, path.with_name(METRICS_FILE + ".corrupt"))
            current = {}
        current[result["task"]] = _merged(current.get(result["task"]), result)
        write_json_atomic(path, current)
    except OSError:
        pass


def format_layers(result: dict[str, Any]) -> str:
    """``--layer all``: the primary score of every layer (rows) per language, and the layer used above."""
    table = result.get("by_layer")
    if not table:
        return ""
    langs = [k for k in next(iter(table.values())) if k != "average"]
    rows = [["layer"] + langs + ["average"]]
    for layer, scores in table.items():
        mark = " *" if int(layer) == int(result.get("layer", -1)) else ""
        rows.append([f"{layer}{mark}"] + [_fmt(scores[lang]) for lang in langs] + [_fmt(scores["average"])])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    best = max(table, key=lambda layer: table[layer]["average"])
    return "\n".join(lines) + (f"\n{result['primary']} by layer (0 = embeddings); * = the layer of the table above "
                                f"(the default); best on average: layer {best}")


def format_table(result: dict[str, Any]) -> str:
    keys = [k for k in result["average"] if k not in NOT_SCORES]
    primary = result["primary"]
    keys = [primary] + [k for k in keys if k != primary] if primary in keys else keys
    rows = [["language"] + keys]
    for lang, scores in result["languages"].items():
        rows.append([lang] + [_fmt(scores.get(k)) for k in keys])
    rows.append(["average"] + [_fmt(result["average"].get(k)) for k in keys])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if result.get("max_examples") is not None:
        lines.append(f"partial: the first {result['max_examples']} examples per language (--max-examples); "
                     "not comparable with a full evaluation")
    if result.get("language_adapters"):
        lines.append("language adapters: " + ", ".join(f"{k}={v}" for k, v in result["language_adapters"].items()))
    return "\n".join(lines)


def _fmt(value) -> str:
    return "-" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)
