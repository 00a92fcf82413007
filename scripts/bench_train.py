"""LoRA training speed and learning of adapterstilts against a plain transformers Trainer + peft
script, on identical work (issue 14):

- (a) ``plain``: the tutorial recipe, every row padded to the max length;
- (b) ``tuned``: the same with the two stock options, dynamic padding (``DataCollatorWithPadding``)
  and ``group_by_length=True``;
- (c) ``adapterstilts``: ``adapterstilts train-intermediate mnli --data DIR --model DIR`` (the public
  command), with the same synthetic data written in MNLI's schema.

Everything is built offline: a random XLM-R (hidden 256, 4 layers; ``--device cuda``: XLM-R Large
shapes) with the tiny offline-trained tokenizer, and synthetic NLI pairs with a long-tailed length
distribution (log-normal, mean ~53 tokens, p90 ~89, max 256). Same hyperparameters everywhere: LoRA
r 8 / alpha 16 / dropout 0.1 on query and value, batch 16, lr 1e-3 with 10 % linear warmup, weight
decay 0.01, fp32, logging every 10 steps. The label is decided by a cue word in the hypothesis, so
the loss falls and the curves say whether each setup learns.

Each run is its own process; the setups are interleaved (a b c a b c ...), and each repeat uses its
own seed (42, 43, ...), so the loss spread across repeats is the seed noise a difference in loss
must exceed. Reported per setup: real (non-padding) tokens per second of the training loop
(the Trainer's ``train_runtime``), train seconds, train CPU seconds (``time.process_time`` around
``Trainer.train`` in the run's process; with ``--threads 1`` a measure of the work done that other
processes on a shared machine disturb far less than wall time), process seconds (start-up included),
the mean training loss of each epoch and the loss curve; then the ratios c/a and c/b of the medians,
in wall time and in train CPU seconds, and the load average at the start and the end.

    python scripts/bench_train.py                                   # CPU, 3 repeats, 1 epoch (~10 min on 2 cores)
    python scripts/bench_train.py --setups tuned,adapterstilts --epochs 3 --repeats 2   # learning over epochs
    python scripts/bench_train.py --setups tuned,adapterstilts --threads 1   # on a shared machine: compare train CPU s
    python scripts/bench_train.py --device cuda                     # XLM-R Large shapes, bf16 off (fp32)
    python scripts/bench_train.py --tiny                            # smoke test, seconds
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUPS = {"plain": "(a) Trainer + peft, padded to max length",
          "tuned": "(b) Trainer + peft, dynamic padding + group_by_length",
          "before": "(c0) adapterstilts from --before (an older copy of the package)",
          "adapterstilts": "(c) adapterstilts train-intermediate"}
SHORT = {"plain": "a", "tuned": "b", "before": "c0", "adapterstilts": "c"}
CUES = {0: ["certainly", "indeed", "surely"], 1: ["perhaps", "maybe", "possibly"], 2: ["never", "nobody", "nothing"]}
LARGE = dict(layers=24, hidden=1024, heads=16, intermediate=4096, vocab=250002)  # FacebookAI/xlm-roberta-large


# ---------------------------------------------------------------- model and data (built once per bench)

def build_model(folder: Path, *, layers: int, hidden: int, heads: int, intermediate: int, vocab: int | None,
                seed: int = 0) -> Path:
    """A random XLM-R of the given shape with the tiny offline-trained tokenizer (no download)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from adapterstilts.tiny_model import train_tokenizer

    tokenizer = train_tokenizer()
    config = XLMRobertaConfig(
        vocab_size=max(vocab or 0, len(tokenizer)), hidden_size=hidden, num_hidden_layers=layers,
        num_attention_heads=heads, intermediate_size=intermediate, max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id, type_vocab_size=1, layer_norm_eps=1e-5)
    torch.manual_seed(seed)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    return folder


def target_lengths(n: int, rng: random.Random, max_length: int) -> list[int]:
    """Pair lengths in tokens (specials included): log-normal with median 46.7 and sigma 0.503, which gives
    mean 53 and p90 89 before clipping to [12, max_length]; the longest row is max_length."""
    lengths = [min(max_length, max(12, round(rng.lognormvariate(math.log(46.7), 0.503)))) for _ in range(n)]
    if lengths:
        lengths[max(range(n), key=lengths.__getitem__)] = max_length
    return lengths


def write_data(data_dir: Path, tokenizer, n: int, max_length: int, seed: int = 0) -> dict:
    """``n`` synthetic NLI pairs in GLUE MNLI's schema at ``data_dir/nyu-mll__glue/mnli/train.jsonl``.
    Words are whole pre-tokens (Metaspace splits on spaces), so a pair's token count is the sum of its
    words' counts plus the four special tokens, and each pair hits its target length exactly."""
    rng = random.Random(seed)
    cues = {w for words in CUES.values() for w in words}
    words = sorted({w for line in _corpus() for w in line.split() if w.isalpha() and w.isascii()} - cues)
    cost = dict(zip(words, (len(ids) for ids in tokenizer(words, add_special_tokens=False)["input_ids"])))
    singles = [w for w in words if cost[w] == 1]
    cue_cost = {w: len(tokenizer(w, add_special_tokens=False)["input_ids"]) for w in cues}

    def text(budget: int, forced: str | None = None) -> str:
        out, left = [], budget - (cue_cost[forced] if forced else 0)
        while left > 0:
            word = rng.choice(words) if left > 4 else rng.choice(singles)
            if cost[word] <= left:
                out.append(word)
                left -= cost[word]
        if forced:
            out.insert(rng.randrange(len(out) + 1), forced)
        return " ".join(out)

    rows = []
    for i, total in enumerate(target_lengths(n, rng, max_length)):
        label = rng.randrange(3)
        cue = rng.choice(CUES[label])
        body = total - 4  # <s> A </s></s> B </s>
        hyp = max(cue_cost[cue] + 1, round(body * rng.uniform(0.2, 0.4)))
        rows.append({"premise": text(body - hyp), "hypothesis": text(hyp, cue), "label": label, "idx": i})
    folder = data_dir / "nyu-mll__glue" / "mnli"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.jsonl", "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    enc = tokenizer([r["premise"] for r in rows], [r["hypothesis"] for r in rows], truncation=True,
                    max_length=max_length)
    lengths = sorted(len(ids) for ids in enc["input_ids"])
    return {"rows": n, "real_tokens": sum(lengths), "mean": sum(lengths) / n, "p50": lengths[n // 2],
            "p90": lengths[int(0.9 * (n - 1))], "max": lengths[-1]}


def _corpus() -> list[str]:
    from adapterstilts.tiny_model import CORPUS

    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in sorted((CORPUS.parent / "nyu-mll__glue").rglob("*.jsonl")):
        for row in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(row)
            lines.extend(str(record.get(k, "")) for k in ("premise", "hypothesis", "sentence1", "sentence2",
                                                           "question1", "question2"))
    return lines


# ---------------------------------------------------------------- one run (in its own process)

def worker(args) -> dict:
    """(a) or (b): the Trainer + peft script a user writes."""
    import datasets
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments, default_data_collator)

    tuned = args.worker == "tuned"
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    raw = datasets.load_dataset("json", data_files=str(Path(args.data) / "nyu-mll__glue/mnli/train.jsonl"),
                                split="train")

    def tokenize(batch):
        return tokenizer(batch["premise"], batch["hypothesis"], truncation=True, max_length=args.max_length,
                         padding=False if tuned else "max_length")

    train = raw.map(tokenize, batched=True, remove_columns=["premise", "hypothesis", "idx"])
    train = train.rename_column("label", "labels")
    torch.manual_seed(args.seed)  # LoRA's initialisation
    model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=3)
    model = get_peft_model(model, LoraConfig(task_type=TaskType.SEQ_CLS, r=8, lora_alpha=16, lora_dropout=0.1,
                                             target_modules=["query", "value"]))
    training_args = TrainingArguments(
        output_dir=str(Path(args.output) / "checkpoints"), per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr, num_train_epochs=args.epochs, warmup_ratio=0.1, weight_decay=0.01,
        lr_scheduler_type="linear", logging_steps=10, save_strategy="no", report_to=[], seed=args.seed,
        data_seed=args.seed, use_cpu=args.device == "cpu", disable_tqdm=True, dataloader_num_workers=0,
        group_by_length=tuned)
    collator = DataCollatorWithPadding(tokenizer) if tuned else default_data_collator
    trainer = Trainer(model=model, args=training_args, train_dataset=train, data_collator=collator)
    cpu = time.process_time()
    trainer.train()
    return {"log_history": trainer.state.log_history, "train_cpu_s": time.process_time() - cpu}


# (c) runs the public command; this prefix times the CPU seconds of its Trainer.train the same way
PROBE = """
import os, runpy, sys, time
import transformers
_train = transformers.Trainer.train
def train(self, *args, **kwargs):
    cpu = time.process_time()
    try:
        return _train(self, *args, **kwargs)
    finally:
        with open(os.environ["BENCH_TRAIN_CPU_FILE"], "w") as handle:
            handle.write(repr(time.process_time() - cpu))
transformers.Trainer.train = train
sys.argv = ["adapterstilts", *sys.argv[1:]]
runpy.run_module("adapterstilts", run_name="__main__", alter_sys=True)
"""


def run_once(setup: str, args, model: Path, data: Path, work: Path, seed: int) -> dict:
    out = work / f"{setup}-{seed}"
    env = {**os.environ, "ADAPTERSTILTS_NO_PROGRESS": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
           "ADAPTERSTILTS_CACHE": str(work / "cache"), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    common = ["--model", str(model), "--data", str(data), "--batch-size", str(args.batch_size), "--epochs",
              str(args.epochs), "--lr", str(args.lr), "--max-length", str(args.max_length), "--seed", str(seed)]
    if args.threads:  # also what torch reads at start-up for its intra-op threads
        env.update(OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    cpu_file = work / f"{setup}-{seed}.cpu"
    env["BENCH_TRAIN_CPU_FILE"] = str(cpu_file)
    if setup == "before":  # the same command, with an older copy of the package first on the path
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(args.before).resolve()), env.get("PYTHONPATH")]))
    if setup in ("adapterstilts", "before"):
        command = [sys.executable, "-c", PROBE, "train-intermediate", "mnli", *common, "--method", "lora",
                   "--lora-r", "8", "--lora-alpha", "16", "--report-to", "none", "--output", str(out), "--overwrite"]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", setup, *common, "--device",
                   args.device, "--output", str(out)]
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=work)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{setup} failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    if setup in ("adapterstilts", "before"):
        history = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines() if line.strip()]
        train_cpu = float(cpu_file.read_text())
    else:
        recorded = json.loads((out / "result.json").read_text())
        history, train_cpu = recorded["log_history"], recorded["train_cpu_s"]
    final = next(h for h in history if "train_runtime" in h)
    losses = [(h["step"], h["epoch"], h["loss"]) for h in history if "loss" in h]
    return {"setup": setup, "seed": seed, "process_s": seconds, "train_s": final["train_runtime"], "train_cpu_s": train_cpu,
            "train_loss": final["train_loss"], "losses": losses}


# ---------------------------------------------------------------- report

def epoch_means(losses: list, epochs: int) -> list[float]:
    by_epoch: dict[int, list[float]] = {}
    for _, epoch, loss in losses:
        by_epoch.setdefault(min(epochs - 1, max(0, math.ceil(epoch) - 1)), []).append(loss)
    return [statistics.mean(by_epoch[e]) for e in sorted(by_epoch)]


def report(runs: list[dict], stats: dict, args) -> str:
    tokens = stats["real_tokens"] * args.epochs
    setups = [s for s in SETUPS if any(r["setup"] == s for r in runs)]
    med = {}
    lines = ["| setup | real tokens/s (median) | train s (median) | train CPU s (median) | process s (median) | "
             + " | ".join(f"loss epoch {e + 1} (median, min-max)" for e in range(args.epochs)) + " | repeats |",
             "|---|---:|---:|---:|---:|" + "---:|" * args.epochs + "---:|"]
    for setup in setups:
        mine = [r for r in runs if r["setup"] == setup]
        rates = [tokens / r["train_s"] for r in mine]
        med[setup] = statistics.median(rates)
        per_epoch = [epoch_means(r["losses"], args.epochs) for r in mine]
        cells = []
        for e in range(args.epochs):
            values = [p[e] for p in per_epoch if len(p) > e]
            cells.append(f"{statistics.median(values):.4f} ({min(values):.4f}-{max(values):.4f})" if values else "-")
        lines.append(f"| {SETUPS[setup]} | {med[setup]:,.0f} | {statistics.median(r['train_s'] for r in mine):.1f} | "
                     f"{statistics.median(r['train_cpu_s'] for r in mine):.1f} | "
                     f"{statistics.median(r['process_s'] for r in mine):.1f} | " + " | ".join(cells)
                     + f" | {len(mine)} |")
    out = ["\n".join(lines), ""]
    if "adapterstilts" in med:
        for base in ("plain", "tuned", "before"):
            if base in med:
                pairs = _paired(runs, "adapterstilts", base, tokens)
                out.append(f"c/{SHORT[base]}: {med['adapterstilts'] / med[base]:.2f}x (ratio of medians; per repeat "
                           + ", ".join(f"{p:.2f}" for p in pairs) + ")")
                cpu = {k: statistics.median(r["train_cpu_s"] for r in runs if r["setup"] == k) for k in (base, "adapterstilts")}
                out.append(f"c/{SHORT[base]} in train CPU seconds (the same work per CPU second; steadier than wall "
                           f"time on a shared machine): {cpu[base] / cpu['adapterstilts']:.2f}x (per repeat "
                           + ", ".join(f"{p:.2f}" for p in _paired(runs, "adapterstilts", base, 1.0, "train_cpu_s")) + ")")
    out.append("")
    out.append("loss curves (step: loss, logged every 10 steps; first repeat's seed):")
    for setup in setups:
        first = next(r for r in runs if r["setup"] == setup)
        out.append(f"  {SHORT[setup]} seed {first['seed']}: " + " ".join(f"{s}:{loss:.3f}" for s, _, loss in first["losses"]))
    return "\n".join(out)


def _paired(runs, ours, base, tokens, key="train_s") -> list[float]:
    """Per-repeat ratios (same seed, neighbouring in time: the interleaving pairs them)."""
    by_seed = {}
    for r in runs:
        by_seed.setdefault(r["seed"], {})[r["setup"]] = r
    return [(tokens / s[ours][key]) / (tokens / s[base][key]) for s in by_seed.values()
            if ours in s and base in s]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--setups", default="plain,tuned,adapterstilts", help="comma list of: " + ", ".join(SETUPS))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=1, help="several: the learning check over epochs")
    parser.add_argument("--examples", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--layers", type=int, default=None, help="default 4 (cuda: 24)")
    parser.add_argument("--hidden", type=int, default=None, help="default 256 (cuda: 1024)")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of each run (OMP_NUM_THREADS; default: "
                        "torch's). 1 makes train CPU seconds a measure of work on a machine others share")
    parser.add_argument("--tiny", action="store_true", help="smoke test: 64 rows, batch 4, hidden 32, 2 layers, 1 repeat")
    parser.add_argument("--work", default=None, help="folder for the model, data and runs (default: a temp folder)")
    parser.add_argument("--before", default=None, help="a folder holding an older copy of the adapterstilts package "
                        "(DIR/adapterstilts/): adds the setup 'before' (c0), the same command run with it")
    parser.add_argument("--json", default=None, help="also write every run's numbers to this JSON file")
    # internal: one Trainer + peft run
    parser.add_argument("--worker", choices=("plain", "tuned"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=42, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = worker(args)
        Path(args.output).mkdir(parents=True, exist_ok=True)
        (Path(args.output) / "result.json").write_text(json.dumps(result))
        return 0

    setups = [s.strip() for s in args.setups.split(",") if s.strip()]
    if args.before and "before" not in setups:
        setups.insert(setups.index("adapterstilts") if "adapterstilts" in setups else len(setups), "before")
    if "before" in setups and not args.before:
        parser.error("the setup 'before' needs --before DIR")
    unknown = set(setups) - set(SETUPS)
    if unknown:
        parser.error(f"unknown setups {sorted(unknown)}; choose from {', '.join(SETUPS)}")
    shape = dict(layers=4, hidden=256, heads=4, intermediate=1024, vocab=None)
    if args.device == "cuda":
        shape = dict(LARGE)
    if args.tiny:
        shape = dict(layers=2, hidden=32, heads=2, intermediate=64, vocab=None)
        args.examples, args.repeats, args.batch_size = min(args.examples, 64), 1, 4
    if args.layers:
        shape["layers"] = args.layers
    if args.hidden:
        shape.update(hidden=args.hidden, intermediate=4 * args.hidden, heads=max(1, args.hidden // 64))
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-train-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    model = build_model(work / "model", **shape)
    from transformers import AutoTokenizer

    stats = write_data(work / "data", AutoTokenizer.from_pretrained(model), args.examples, args.max_length)
    import torch
    import transformers

    print(f"model: random XLM-R, {shape['layers']} layers, hidden {shape['hidden']}, {shape['heads']} heads; "
          f"device {args.device}; torch {torch.__version__}, transformers {transformers.__version__}; "
          f"{os.cpu_count()} CPUs")
    print(f"data: {stats['rows']} pairs, real tokens {stats['real_tokens']:,} (mean {stats['mean']:.1f}, "
          f"p50 {stats['p50']}, p90 {stats['p90']}, max {stats['max']}); batch {args.batch_size}, "
          f"{args.epochs} epoch(s), lr {args.lr}, LoRA r8/a16 query,value, fp32")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; threads per run: "
          f"{args.threads or 'default'}")
    runs = []
    for repeat in range(args.repeats):
        for setup in setups:
            run = run_once(setup, args, work / "model", work / "data", work / "runs", 42 + repeat)
            runs.append(run)
            print(f"  repeat {repeat + 1} {setup}: train {run['train_s']:.1f}s, process {run['process_s']:.1f}s, "
                  f"train CPU {run['train_cpu_s']:.1f}s, {stats['real_tokens'] * args.epochs / run['train_s']:,.0f} real tokens/s, "
                  f"loss {run['train_loss']:.4f}", flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print()
    print(report(runs, stats, args))
    if args.json:
        Path(args.json).write_text(json.dumps({"data": stats, "shape": shape, "runs": runs}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
