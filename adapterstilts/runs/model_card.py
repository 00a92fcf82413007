"""The README.md model card of a pushed run, rendered from its (sanitised) manifest and metrics.

The layout is the plain-text template below; each ``$name`` is filled by a small function. The card
holds no local path (the manifest it reads is already sanitised by ``adapterstilts.runs.hub``) and no
token (nothing here reads one)."""
from __future__ import annotations

import re
from string import Template
from typing import Any

TEMPLATE = Template("""\
---
$front_matter
---

# $title

$summary

## Module

| | |
|---|---|
$details

## Hyperparameters

| name | value |
|---|---|
$hyperparameters

## Results

$results

## How to use

### With adapterstilts

```bash
$cli_usage
```

$library_usage$toolkit_usage

## Framework versions

$versions

## Citation

The method (English intermediate-task training for zero-shot cross-lingual transfer):

```bibtex
$citation
```
""")

CITATION = """\
@inproceedings{phang-etal-2020-english,
  title     = {English Intermediate-Task Training Improves Zero-Shot Cross-Lingual Transfer Too},
  author    = {Phang, Jason and Calixto, Iacer and Htut, Phu Mon and Pruksachatkun, Yada and Liu, Haokun and
               Vania, Clara and Kann, Katharina and Bowman, Samuel R.},
  booktitle = {Proceedings of the 1st Conference of the Asia-Pacific Chapter of the Association for Computational
               Linguistics and the 10th International Joint Conference on Natural Language Processing},
  pages     = {557--575},
  year      = {2020},
  address   = {Suzhou, China},
  publisher = {Association for Computational Linguistics},
  eprint    = {2005.13013},
  archivePrefix = {arXiv}
}"""

METHOD_NAMES = {"lora": "LoRA (peft)", "bottleneck": "bottleneck adapter (adapters)", "full": "full fine-tune"}
LIBRARY_TAG = {"lora": "peft", "bottleneck": "adapter-transformers", "full": "transformers"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")
_SKIP_METRIC_KEYS = {"total", "HasAns_total", "NoAns_total", "layer"}


def is_hub_id(name: Any) -> bool:
    return isinstance(name, str) and bool(_HUB_ID.match(name))


def human_size(n: int | float | None) -> str:
    if n is None:
        return "unknown"
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)


def _value(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v) or "-"
    text = str(v).replace("|", "\\|")
    return f"`{text}`" if text.startswith("<") else text  # <local:...> placeholders are not HTML


def _settings(manifest: dict) -> str:
    settings = manifest.get("method_settings") or {}
    return ", ".join(f"{k}={_value(v)}" for k, v in settings.items()) or "-"


def _base_text(manifest: dict) -> str:
    base = manifest.get("base_model") or {}
    name = base.get("name")
    if is_hub_id(name):
        rev = f" (revision {base['revision']})" if base.get("revision") else ""
        return f"[{name}](https://huggingface.co/{name}){rev}"
    return f"a local model folder ({_value(name)}), not on the Hub: load a model with the architecture below"


def front_matter(manifest: dict, metrics: dict | None) -> str:
    from huggingface_hub import ModelCardData

    base = (manifest.get("base_model") or {}).get("name")
    method = manifest.get("method", "")
    from adapterstilts.suites import suites_of

    task = manifest.get("task", "")
    evaluated = [t for t in (metrics or {}) if isinstance(t, str)]
    suites = sorted({s for t in [task, *evaluated] for s in suites_of(t)}) or (
        ["xtreme"] if manifest.get("kind") == "intermediate" else [])  # an intermediate module serves the targets
    tags = ["adapterstilts", "stilts", *suites, "zero-shot-cross-lingual-transfer", method, task]
    if manifest.get("compose") not in (None, "none"):
        tags.append(f"compose-{manifest['compose']}")
    languages = sorted({lang for result in (metrics or {}).values() if isinstance(result, dict)
                        for lang in (result.get("languages") or {})})
    data = ModelCardData(library_name=LIBRARY_TAG.get(method), base_model=base if is_hub_id(base) else None,
                         tags=[t for t in dict.fromkeys(tags) if t], language=languages or None)
    return data.to_yaml()


def details(manifest: dict) -> str:
    base = manifest.get("base_model") or {}
    arch = base.get("architecture") or {}
    arch_text = ", ".join(f"{k} {v}" for k, v in arch.items() if v is not None) or "-"
    head = manifest.get("head") or {}
    labels = f"; labels: {', '.join(head['labels'])}" if head.get("labels") else ""
    trainable, total = manifest.get("trainable_parameters"), manifest.get("total_parameters")
    share = f" of {total:,} ({100 * trainable / total:.2f}%)" if trainable and total else ""
    train = manifest.get("train") or {}
    loss = train.get("training_loss")
    rows = [
        ("base model", _base_text(manifest)),
        ("base architecture", arch_text),
        ("base config hash", f"`{base.get('config_hash', '-')}`"),
        ("task", f"{manifest.get('task')} ({manifest.get('kind', '-')}, {manifest.get('format', '-')}{labels})"),
        ("method", f"{METHOD_NAMES.get(manifest.get('method'), manifest.get('method'))}: {_settings(manifest)}"),
        ("composition", composition(manifest)),
        ("trainable parameters", f"{trainable:,}{share}" if isinstance(trainable, int) else "-"),
        ("module size on disk", f"{human_size(manifest.get('module_size_bytes'))} (`module/`)"),
        ("training", f"{train.get('steps', '-')} steps, final training loss "
                     f"{loss:.4f}" if isinstance(loss, float) else f"{train.get('steps', '-')} steps"),
        ("training data", f"{_value(train.get('data'))}, {train.get('features', '-')} features"),
        ("seed", _value(manifest.get("seed"))),
    ]
    return "\n".join(f"| {k} | {v} |" for k, v in rows)


def composition(manifest: dict) -> str:
    from adapterstilts.compose import get_composition

    compose = manifest.get("compose", "none")
    entries = manifest.get("intermediates") or []
    if compose == "none" or not entries:
        return "none (a single module on the frozen base model)" if manifest.get("method") != "full" else "none"
    parts = [f"{e.get('module_name')} ({e.get('task')}, from {_value(e.get('source'))})" for e in entries]
    extra = ""
    if manifest.get("merge_weights"):
        extra += f"; merge weights {_value(manifest['merge_weights'])}"
    if manifest.get("chain"):
        extra += f"; trained in the order {' -> '.join(manifest['chain'])}"
    copies = " (copies in `intermediates/`)" if get_composition(compose).copies_intermediates else ""
    return f"{compose} on intermediates: " + "; ".join(parts) + extra + copies


def hyperparameters(manifest: dict) -> str:
    hp = manifest.get("hyperparameters") or {}
    return "\n".join(f"| {k} | {_value(v)} |" for k, v in hp.items()) or "| - | - |"


def results(metrics: dict | None) -> str:
    if not metrics:
        return "No evaluation results were recorded for this run (run `adapterstilts evaluate RUN` before pushing)."
    blocks = []
    for task, result in metrics.items():
        if not isinstance(result, dict) or not result.get("languages"):
            continue
        per_lang = result["languages"]
        keys = sorted({k for s in per_lang.values() for k, v in s.items()
                       if isinstance(v, (int, float)) and k not in _SKIP_METRIC_KEYS})
        primary = result.get("primary")
        if primary in keys:
            keys = [primary] + [k for k in keys if k != primary]
        head = (f"### {task} ({result.get('metric', '-')}, split {result.get('split', '-')}, "
                f"data {_value(result.get('data', '-'))})")
        lines = [head, "", "| language | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
        for lang, scores in per_lang.items():
            lines.append(f"| {lang} | " + " | ".join(_score(scores.get(k)) for k in keys) + " |")
        average = result.get("average") or {}
        lines.append("| **average** | " + " | ".join(_score(average.get(k)) for k in keys) + " |")
        if result.get("max_examples") is not None:
            lines.append(f"\nPartial: the first {result['max_examples']} examples per language (`--max-examples`); "
                         "not comparable with a full evaluation.")
        if isinstance(result.get("language_adapters"), dict) and result["language_adapters"]:
            lines.append("\nLanguage adapters: " + ", ".join(f"{k} {_value(v)}"
                                                              for k, v in result["language_adapters"].items()) + ".")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) or "No per-language results were recorded for this run."


def _score(v: Any) -> str:
    return "-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)


def cli_usage(manifest: dict, repo_id: str) -> str:
    method = manifest.get("method", "lora")
    lines = []
    if manifest.get("kind") in ("intermediate", "external"):
        compose = "continue" if method == "full" else "stack"
        lines.append("# the intermediate module of a target task (add @REVISION to pin a version)")
        lines.append(f"adapterstilts train-target xnli --intermediate {repo_id} --compose {compose} --method {method}")
    if manifest.get("head"):
        lines.append("# zero-shot evaluation with its own head, on every language of its task")
        local_base = not is_hub_id((manifest.get("base_model") or {}).get("name")) and method != "full"
        lines.append(f"adapterstilts evaluate {repo_id}" + (" --model BASE_MODEL" if local_base else ""))
    return "\n".join(lines) or f"# a {manifest.get('kind')} run: see the library instructions below"


def toolkit_usage(manifest: dict, repo_id: str) -> str:
    """Python that loads the whole run with adapterstilts: base model, intermediates, module and its task
    head, as it was evaluated (the library code above gives the encoder only)."""
    if not manifest.get("head") or (manifest.get("head") or {}).get("files"):
        return ""  # no head (or one per task: `evaluate --task` picks it)
    method = manifest.get("method")
    local_base = not is_hub_id((manifest.get("base_model") or {}).get("name")) and method != "full"
    imports = ["from adapterstilts.model.assemble import load_run_model"]
    if local_base:
        imports.append("from adapterstilts.model.backbone import BackboneOptions")
    imports.append("from adapterstilts.runs.refs import resolve_run")
    options = ', BackboneOptions(model="BASE_MODEL", revision=None)' if local_base else ""
    code = [*imports, "",
            f'run = resolve_run("{repo_id}")  # the Hub repo (HF_HUB_OFFLINE=1: from the cache), or a local copy',
            f"task_model, task, fmt = load_run_model(run{options})  # + intermediates, module, "
            f"{manifest.get('task')} head; eval mode",
            "encoder = task_model.encoder  # the same encoder as the code above"]
    return "\n\n### The whole model, with its head (adapterstilts)\n\n```python\n" + "\n".join(code) + "\n```"


def library_usage(manifest: dict, repo_id: str) -> str:
    """Python that rebuilds the run's encoder with the module's own library. The composition renders
    the lines after the base model is loaded, so the card rebuilds exactly the model that was trained
    and evaluated (a merge is merged again, a fusion fused)."""
    from adapterstilts.compose import get_composition

    method = manifest.get("method")
    base = (manifest.get("base_model") or {}).get("name")
    base_id = base if is_hub_id(base) else "BASE_MODEL"
    note = "" if is_hub_id(base) else ("\nReplace `BASE_MODEL` with the base model it was trained on (it was a "
                                       "local folder when this run was pushed; see the architecture above).\n")
    head = ("\nThe task head (`head.safetensors`, a plain `safetensors` file of the "
            f"{(manifest.get('head') or {}).get('format', 'task')} head) is adapterstilts-specific; the code above "
            "gives the encoder's hidden states.\n") if manifest.get("head") else ""
    if method not in ("lora", "bottleneck"):
        code = ["from transformers import AutoModel, AutoTokenizer", "",
                f'model = AutoModel.from_pretrained("{repo_id}", subfolder="module", add_pooling_layer=False)',
                f'tokenizer = AutoTokenizer.from_pretrained("{repo_id}", subfolder="module")']
        return ("### With plain transformers\n\nThe fine-tuned encoder is saved with `save_pretrained` in `module/`:"
                "\n\n```python\n" + "\n".join(code) + f"\n```\n{head}")
    composition = get_composition(manifest.get("compose") or "none")
    entries = (manifest.get("intermediates") or []) if composition.copies_intermediates else []
    lines = composition.card_snippet(method, entries, manifest)
    patterns = '["module/*", "intermediates/*"]' if entries else '["module/*"]'
    load_base = f'{"base" if method == "lora" else "model"} = AutoModel.from_pretrained("{base_id}", add_pooling_layer=False)'
    fetch = f'path = snapshot_download("{repo_id}", allow_patterns={patterns})'
    text = "\n".join(lines)
    uses = [imp for needle, imp in (("json.", "import json"), ("torch.", "import torch")) if needle in text]
    uses_st = ["from safetensors.torch import load_file"] if "load_file(" in text else []
    if method == "lora":
        code = ["import os", *uses, "", "from huggingface_hub import snapshot_download", "from peft import PeftModel",
                *uses_st, "from transformers import AutoModel", "", load_base, fetch, *lines]
        if not entries:
            code.append(f'# online, peft also takes the subfolder directly: PeftModel.from_pretrained(base, '
                        f'"{repo_id}", subfolder="module")')
        intro = ("### With plain peft\n\nThe LoRA module is a standard peft adapter in the `module/` subfolder "
                 "(fetching the subfolder first works online and from the cache with HF_HUB_OFFLINE=1):")
    else:
        stack_import = ["from adapters.composition import Stack"] if any("Stack(" in line for line in lines) else []
        code = ["import os", "", "import adapters", *stack_import, "from huggingface_hub import snapshot_download",
                "from transformers import AutoModel", "", load_base, "adapters.init(model)", fetch, *lines]
        intro = ("### With plain adapters\n\nThe bottleneck adapter is saved by `adapters` in the `module/` subfolder "
                 "(`adapters` loads Hub repos from their root only, so fetch the subfolder first):")
    return f"{intro}\n\n```python\n" + "\n".join(code) + f"\n```\n{note}{head}"


def versions(manifest: dict) -> str:
    items = manifest.get("versions") or {}
    return "\n".join(f"- {k} {v}" for k, v in items.items()) or "- unknown"


def render_card(manifest: dict, metrics: dict | None, repo_id: str) -> str:
    """README.md text for ``repo_id`` from a sanitised manifest and metrics (``RUN/metrics.json``)."""
    method = METHOD_NAMES.get(manifest.get("method"), manifest.get("method"))
    task, kind = manifest.get("task"), manifest.get("kind", "")
    base = (manifest.get("base_model") or {}).get("name")
    on = f" on intermediate module(s) ({manifest['compose']})" if manifest.get("compose") not in (None, "none") else ""
    summary = (f"A {method} module for the {kind} task **{task}**{on}, trained with "
               f"adapterstilts on top of the frozen base model `{base}`, for English "
               "intermediate-task training (STILTs) and zero-shot cross-lingual transfer. The folder "
               "layout: `manifest.json` (what was trained, how), `module/` (the module in its library's own "
               "format), `head.safetensors` (the task head), `metrics.json` (evaluation results), "
               "`intermediates/` (frozen modules it builds on, if any).")
    if manifest.get("method") == "full":
        summary = summary.replace(" on top of the frozen base model", " starting from the base model")
    return TEMPLATE.substitute(
        front_matter=front_matter(manifest, metrics).strip(),
        title=f"{repo_id}: {task} ({manifest.get('method')})",
        summary=summary,
        details=details(manifest),
        hyperparameters=hyperparameters(manifest),
        results=results(metrics),
        cli_usage=cli_usage(manifest, repo_id),
        library_usage=library_usage(manifest, repo_id).rstrip(),
        toolkit_usage=toolkit_usage(manifest, repo_id),
        versions=versions(manifest),
        citation=CITATION,
    )
