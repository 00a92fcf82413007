"""Zero-shot prediction speed of adapterstilts against a plain length-sorted ``Trainer.predict`` with
dynamic padding, on the same model and the same examples (issue 14).

- ``trainer``: ``AutoModelForSequenceClassification`` + ``get_peft_model`` (LoRA r 8 / alpha 16 on query
  and value) carrying the same LoRA and head weights, the features sorted by length,
  ``DataCollatorWithPadding``, ``Trainer.predict`` (eval batch ``--batch-size``);
- ``adapterstilts``: the toolkit's prediction path (``adapterstilts.model.inference.predict``, what
  ``evaluate`` runs for every language) on the toolkit's model of the same weights;
- ``full-last-layer``: the same with ``ADAPTERSTILTS_FULL_LAST_LAYER=1`` (every token through the last
  layer), to show what computing the last layer at ``<s>`` only is worth.

The model and data are the ones ``scripts/bench_train.py`` builds offline: a random XLM-R (hidden 256,
4 layers) and synthetic NLI pairs with a long-tailed length distribution (mean ~53 tokens, max 256).
The LoRA and head weights are random (not zero), so a wrong composition would show: the script checks
that both sides give the same logits (max absolute difference printed) before timing. Setups are
interleaved in one process (trainer, adapterstilts, full-last-layer, trainer, ...), each timed over
the whole set, ``--repeats`` times; reported: examples/s (median, min-max), CPU seconds, and the
ratios of medians (wall and CPU seconds) with the per-repeat ratios.

    python scripts/bench_eval.py                       # 4,000 pairs, batch 64, 5 repeats
    python scripts/bench_eval.py --threads 1           # CPU seconds measure work on a shared machine
    python scripts/bench_eval.py --tiny                # smoke test, seconds
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUPS = {"trainer": "Trainer.predict, length-sorted, dynamic padding",
          "adapterstilts": "adapterstilts predict (model/inference.py)",
          "full-last-layer": "adapterstilts predict, last layer at every token"}


def _bench_train():
    spec = importlib.util.spec_from_file_location("bench_train", ROOT / "scripts" / "bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(work: Path, shape: dict, n: int, max_length: int, seed: int = 0):
    """(toolkit model, fmt, features, tokenizer, trainer-side model, trainer-side dataset)."""
    import datasets
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from adapterstilts.config import TrainConfig
    from adapterstilts.model.assemble import build_for_training
    from adapterstilts.tasks.base import get_task

    bench = _bench_train()
    model_dir = bench.build_model(work / "model", **shape)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    stats = bench.write_data(work / "data", tokenizer, n, max_length, seed=seed)
    rows = [json.loads(line) for line in (work / "data/nyu-mll__glue/mnli/train.jsonl").read_text().splitlines()]

    config = TrainConfig(task="mnli", model=str(model_dir), output=str(work / "unused"), method="lora", lora_r=8,
                         lora_alpha=16, seed=seed)
    assembled = build_for_training(config, [])
    ours, fmt = assembled.model, assembled.fmt
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():  # random LoRA B (peft starts it at zero) and head: the weights must matter
        for name, param in ours.named_parameters():
            if param.requires_grad:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.05)
    ours.eval()

    theirs = AutoModelForSequenceClassification.from_pretrained(model_dir, num_labels=3)
    theirs = get_peft_model(theirs, LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.1,
                                               target_modules=["query", "value"]))
    mine = {n.split("encoder.", 1)[1]: p for n, p in ours.encoder.named_parameters() if "lora_" in n}
    head = dict(ours.head.named_parameters())
    with torch.no_grad():
        for name, param in theirs.named_parameters():
            if "lora_" in name:
                param.copy_(mine[name.split("roberta.encoder.", 1)[1]])
            elif "classifier.modules_to_save.default." in name:
                param.copy_(head[name.split("classifier.modules_to_save.default.", 1)[1]])
    theirs.eval()

    task = get_task("mnli")
    examples = datasets.Dataset.from_dict({"text_a": [r["premise"] for r in rows],
                                           "text_b": [r["hypothesis"] for r in rows],
                                           "label": [r["label"] for r in rows]})
    features = fmt.preprocess(examples, tokenizer, task, max_length=max_length, stride=0, train=False)
    plain = features.select_columns(["input_ids", "attention_mask"])
    lengths = [len(ids) for ids in plain["input_ids"]]
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    plain = plain.select(order)  # length-sorted, as a user who sorts does
    return ours, fmt, features, tokenizer, theirs, plain, order, stats


def run_trainer(model, dataset, tokenizer, batch_size: int, out: Path):
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    args = TrainingArguments(output_dir=str(out), per_device_eval_batch_size=batch_size, report_to=[],
                             disable_tqdm=True, use_cpu=True, dataloader_num_workers=0)
    trainer = Trainer(model=model, args=args, data_collator=DataCollatorWithPadding(tokenizer))
    return trainer.predict(dataset).predictions


def run_toolkit(model, fmt, features, tokenizer, batch_size: int, full_last_layer: bool = False):
    from adapterstilts.formats.first_token import ENV_OFF
    from adapterstilts.model.inference import predict

    before = os.environ.get(ENV_OFF)
    os.environ[ENV_OFF] = "1" if full_last_layer else "0"
    try:
        return predict(model, fmt, features, tokenizer, batch_size=batch_size, desc="bench")
    finally:
        if before is None:
            os.environ.pop(ENV_OFF, None)
        else:
            os.environ[ENV_OFF] = before


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma list of: " + ", ".join(SETUPS))
    parser.add_argument("--examples", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=64, help="evaluation batch, both sides")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--tiny", action="store_true", help="smoke test: 64 rows, hidden 32, 2 layers, 1 repeat")
    parser.add_argument("--work", default=None, help="folder for the model and data (default: a temp folder)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's); 1 makes CPU "
                        "seconds a measure of work on a machine others share")
    parser.add_argument("--json", default=None, help="also write every timing to this JSON file")
    args = parser.parse_args(argv)
    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups {sorted(unknown)}; choose from {', '.join(SETUPS)}")
    os.environ.setdefault("ADAPTERSTILTS_NO_PROGRESS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    shape = dict(layers=4, hidden=256, heads=4, intermediate=1024, vocab=None)
    if args.tiny:
        shape = dict(layers=2, hidden=32, heads=2, intermediate=64, vocab=None)
        args.examples, args.repeats = min(args.examples, 64), 1
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-eval-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    import numpy as np
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    ours, fmt, features, tokenizer, theirs, plain, order, stats = build(work, shape, args.examples, args.max_length)
    print(f"model: random XLM-R, {shape['layers']} layers, hidden {shape['hidden']}; LoRA r8/a16 query,value (random "
          f"weights); torch {torch.__version__}; {os.cpu_count()} CPUs, {torch.get_num_threads()} threads")
    print(f"data: {stats['rows']} pairs, real tokens {stats['real_tokens']:,} (mean {stats['mean']:.1f}, "
          f"p90 {stats['p90']}, max {stats['max']}); eval batch {args.batch_size}")

    # the same numbers on both sides, before any timing
    reference = np.stack(run_toolkit(ours, fmt, features, tokenizer, args.batch_size, full_last_layer=True))
    fast = np.stack(run_toolkit(ours, fmt, features, tokenizer, args.batch_size))
    stock = np.empty_like(reference)
    stock[order] = run_trainer(theirs, plain, tokenizer, args.batch_size, work / "trainer")
    print(f"max |logit difference|: adapterstilts vs Trainer {np.abs(fast - stock).max():.2e}, last layer at <s> "
          f"vs every token {np.abs(fast - reference).max():.2e}")

    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    runs = {s: [] for s in setups}
    cpu = {s: [] for s in setups}
    for repeat in range(args.repeats):
        for setup in setups:
            started, cpu_started = time.perf_counter(), time.process_time()
            if setup == "trainer":
                run_trainer(theirs, plain, tokenizer, args.batch_size, work / "trainer")
            else:
                run_toolkit(ours, fmt, features, tokenizer, args.batch_size, full_last_layer=setup == "full-last-layer")
            runs[setup].append(time.perf_counter() - started)
            cpu[setup].append(time.process_time() - cpu_started)
            print(f"  repeat {repeat + 1} {setup}: {runs[setup][-1]:.2f}s (CPU {cpu[setup][-1]:.2f}s), "
                  f"{len(features) / runs[setup][-1]:,.0f} examples/s", flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print("| setup | examples/s (median) | min-max | seconds (median) | CPU seconds (median) | repeats |")
    print("|---|---:|---:|---:|---:|---:|")
    rate = {}
    for setup in setups:
        rates = [len(features) / s for s in runs[setup]]
        rate[setup] = statistics.median(rates)
        print(f"| {SETUPS[setup]} | {rate[setup]:,.0f} | {min(rates):,.0f}-{max(rates):,.0f} | "
              f"{statistics.median(runs[setup]):.2f} | {statistics.median(cpu[setup]):.2f} | {len(rates)} |")
    print()
    if "trainer" in rate:
        for setup in setups:
            if setup != "trainer":
                pairs = [t / s for t, s in zip(runs["trainer"], runs[setup])]
                print(f"{setup}/trainer: {rate[setup] / rate['trainer']:.2f}x (ratio of medians; per repeat "
                      + ", ".join(f"{p:.2f}" for p in pairs) + ")")
                pairs = [t / s for t, s in zip(cpu["trainer"], cpu[setup])]
                print(f"{setup}/trainer in CPU seconds: {statistics.median(cpu['trainer']) / statistics.median(cpu[setup]):.2f}x "
                      "(per repeat " + ", ".join(f"{p:.2f}" for p in pairs) + ")")
    if args.json:
        Path(args.json).write_text(json.dumps({"data": stats, "shape": shape, "seconds": runs, "cpu_seconds": cpu,
                                               "examples": len(features)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
