"""Peak memory and step time of intermediate-task training at XLM-R Large shapes.

Builds a randomly initialised XLM-R Large (the real ``xlm-roberta-large`` configuration, written out
below: nothing is downloaded), saves it to a temporary folder, then for each setup loads it the way
``adapterstilts train-intermediate`` does (``modules.backbone.load_encoder`` with the same
BackboneOptions, so 8/4-bit go through ``from_pretrained`` + ``BitsAndBytesConfig`` + k-bit
preparation), adds the module with ``modules.lora`` / ``modules.full``, a classification head, AdamW
and gradient clipping, runs a few warm-up steps and then timed steps on random tokens, and reports the
peak memory of the training steps (weights, gradients, optimizer state and activations) and the mean
step time, with each setup's ratio to the fp32 full fine-tune. Every setup runs in its own process.

Memory is ``torch.cuda.max_memory_allocated`` on a GPU. On the CPU it is the process's peak resident
memory during the steps (Linux VmHWM, reset after loading) less its resident memory before loading:
the same tensors, held by a different allocator, so a stand-in for GPU figures, not a substitute.

    .venv/bin/python scripts/bench_memory.py                       # GPU, XLM-R Large, batch 32 x 256
    .venv/bin/python scripts/bench_memory.py --batch-size 8 --rows 8bit-lora,8bit-lora-gc
    .venv/bin/python scripts/bench_memory.py --device cpu --batch-size 4 --warmup 0 --steps 1
    .venv/bin/python scripts/bench_memory.py --tiny --device cpu   # smoke test: tiny shapes, seconds

Quantised rows need bitsandbytes (``pip install -e '.[quant]'``; on the CPU 0.48 or newer); where it
cannot quantise they are skipped with a note. See docs/benchmarks.md."""
from __future__ import annotations

import argparse
import gc
import json
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from adapterstilts.model.backbone import BackboneOptions

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# FacebookAI/xlm-roberta-large's config.json, architecture fields.
XLMR_LARGE = dict(vocab_size=250002, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                  intermediate_size=4096, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                  hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                  pad_token_id=1, bos_token_id=0, eos_token_id=2)
TINY = dict(XLMR_LARGE, vocab_size=1000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
            intermediate_size=128)


@dataclass(frozen=True)
class Setup:
    """One row: a training method on a backbone loaded as ``options`` says (the CLI's own options)."""

    key: str
    label: str
    method: str
    options: BackboneOptions = BackboneOptions(model="")

    @property
    def quantized(self) -> bool:
        return self.options.quantized


SETUPS = {s.key: s for s in (
    Setup("fp32-full", "fp32 full fine-tune", "full"),
    Setup("bf16-lora", "bf16 LoRA", "lora", BackboneOptions(model="", bf16=True)),
    Setup("8bit-lora", "8-bit LoRA (bf16 compute)", "lora", BackboneOptions(model="", bf16=True, load_in_8bit=True)),
    Setup("4bit-lora", "4-bit NF4 LoRA (bf16 compute)", "lora", BackboneOptions(model="", bf16=True, load_in_4bit=True)),
    Setup("8bit-lora-gc", "8-bit LoRA + gradient checkpointing", "lora",
          BackboneOptions(model="", bf16=True, load_in_8bit=True, gradient_checkpointing=True)),
)}
DEFAULT_ROWS = "fp32-full,bf16-lora,8bit-lora,4bit-lora,8bit-lora-gc"


@dataclass
class Result:
    setup: Setup
    peak_bytes: int | None = None
    step_seconds: float | None = None
    trainable: int | None = None
    note: str = ""


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default=None, help="cuda | cpu (default: cuda when available)")
    p.add_argument("--tiny", action="store_true", help="tiny config and shapes (a CPU smoke test)")
    p.add_argument("--batch-size", type=int, default=None, help="sequences per step (default 32; tiny 4)")
    p.add_argument("--seq-len", type=int, default=None, help="tokens per sequence (default 256; tiny 32)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 3; tiny 1)")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 10; tiny 2)")
    p.add_argument("--rows", default=DEFAULT_ROWS, help=f"comma list of setups: {', '.join(SETUPS)}")
    p.add_argument("--lora-r", type=int, default=8)
    p.add_argument("--lora-alpha", type=int, default=16)
    p.add_argument("--out", type=Path, default=None, help="also write the Markdown table here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)  # one setup, in this process
    p.add_argument("--model-dir", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    small = args.tiny
    args.batch_size = args.batch_size or (4 if small else 32)
    args.seq_len = args.seq_len or (32 if small else 256)
    args.warmup = args.warmup if args.warmup is not None else (1 if small else 3)
    args.steps = args.steps or (2 if small else 10)
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in SETUPS]
    if unknown:
        p.error(f"unknown --rows {', '.join(unknown)}; choose from {', '.join(SETUPS)}")
    args.rows = rows
    return args


def write_random_model(config_fields: dict, folder: Path) -> None:
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    config = XLMRobertaConfig(**config_fields)
    XLMRobertaModel(config, add_pooling_layer=False).save_pretrained(folder, safe_serialization=True)


def build(setup: Setup, model_dir: Path, device, args):
    """The model a training run would assemble, through the project's own backbone and module code."""
    import torch

    from adapterstilts.formats.base import get_format
    from adapterstilts.model.assemble import TaskModel
    from adapterstilts.methods import get_method, trainable_parameters
    from adapterstilts.model.backbone import load_encoder
    from adapterstilts.tasks.base import get_task

    options = replace(setup.options, model=str(model_dir))
    method = get_method(setup.method)
    encoder = load_encoder(options, trainable=setup.method == "full")
    name = "default" if setup.method == "lora" else "bench"
    settings = {"r": args.lora_r, "alpha": args.lora_alpha, "dropout": 0.1, "target_modules": ["query", "value"]}
    if setup.method == "full":  # as modeling.build_for_training: the whole encoder trains
        encoder = method.add(encoder, name, {})
    else:
        encoder = method.add(encoder, name, settings)
        encoder = method.activate(encoder, [name], train=name)
    task = get_task("mnli")
    fmt = get_format(task.format)
    head = fmt.build_head(encoder.config.hidden_size, task)
    model = TaskModel(encoder, head, fmt, quantized=setup.quantized)
    if setup.quantized:
        model.head.to(device)  # the quantised encoder was placed on the GPU by from_pretrained
    else:
        model.to(device)
    model.train()
    trainable, _ = trainable_parameters(model)
    lr = 1e-5 if setup.method == "full" else 1e-4
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, eps=1e-8,
                                  weight_decay=0.01)
    return model, optimizer, trainable


class PeakMemory:
    """Peak memory from ``start()`` on. CUDA: the caching allocator's peak of allocated bytes. CPU:
    the process's peak resident set (VmHWM, reset by writing 5 to /proc/self/clear_refs) less the
    resident set measured at construction, before the model was loaded."""

    def __init__(self, device):
        import torch

        self.cuda = device.type == "cuda"
        self.device = device
        gc.collect()
        if self.cuda:
            torch.cuda.empty_cache()
        else:
            self.baseline = _proc_status_bytes("VmRSS")

    def start(self) -> None:
        import torch

        if self.cuda:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")

    def peak(self) -> int:
        import torch

        if self.cuda:
            return torch.cuda.max_memory_allocated(self.device)
        return _proc_status_bytes("VmHWM") - self.baseline


def _proc_status_bytes(key: str) -> int:
    with open("/proc/self/status") as handle:
        return int(re.search(rf"^{key}:\s+(\d+) kB", handle.read(), re.M).group(1)) * 1024


def run_setup(setup: Setup, model_dir: Path, device, vocab: int, args) -> Result:
    import torch

    from adapterstilts.errors import UserError

    cuda = device.type == "cuda"
    memory = PeakMemory(device)
    try:
        model, optimizer, trainable = build(setup, model_dir, device, args)
    except UserError as exc:  # e.g. bitsandbytes missing, or it cannot quantise here
        return Result(setup, note=f"skipped: {exc}")
    except torch.cuda.OutOfMemoryError:
        return Result(setup, note="out of memory while loading")
    g = torch.Generator().manual_seed(0)
    batch = {
        "input_ids": torch.randint(5, vocab, (args.batch_size, args.seq_len), generator=g).to(device),
        "attention_mask": torch.ones(args.batch_size, args.seq_len, dtype=torch.long).to(device),
        "labels": torch.randint(0, 3, (args.batch_size,), generator=g).to(device),
    }
    params = [p for p in model.parameters() if p.requires_grad]
    times = []
    try:
        for step in range(args.warmup + args.steps):
            if step == args.warmup:  # the steady state: code loaded, optimizer state allocated
                memory.start()
            if cuda:
                torch.cuda.synchronize(device)
            start = time.perf_counter()
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=setup.options.bf16):
                loss = model(**batch)["loss"]
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if cuda:
                torch.cuda.synchronize(device)
            if step >= args.warmup:
                times.append(time.perf_counter() - start)
        return Result(setup, memory.peak(), sum(times) / len(times), trainable)
    except torch.cuda.OutOfMemoryError:
        return Result(setup, memory.peak(), None, trainable, note="out of memory")


def _import_libraries() -> None:
    import importlib

    for name in ("transformers", "peft", "adapterstilts.model.assemble", "adapterstilts.methods.lora",
                 "adapterstilts.methods.full", "adapterstilts.formats.classification", "bitsandbytes"):
        try:
            importlib.import_module(name)
        except ImportError:  # bitsandbytes is optional: its rows are skipped with a note
            pass


def run_isolated(key: str, model_dir: Path, argv: list[str]) -> Result:
    """One setup in a fresh process, so no setup inherits another's allocator state."""
    command = [sys.executable, str(Path(__file__).resolve()), *argv, "--child", key, "--model-dir", str(model_dir)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
        return Result(SETUPS[key], note=f"failed: {reason}")
    fields = json.loads(lines[-1])
    return Result(SETUPS[key], fields["peak_bytes"], fields["step_seconds"], fields["trainable"], fields["note"])


def table(results: list[Result]) -> str:
    base = next((r for r in results if r.setup.key == "fp32-full" and r.step_seconds), None)

    def ratio(value, reference):
        return f"{value / reference:.2f}" if value is not None and reference else "-"

    lines = ["| setup | peak memory (GiB) | memory vs fp32 full | step time (ms) | time vs fp32 full | "
             "trainable parameters | note |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        mem = f"{r.peak_bytes / 2**30:.2f}" if r.peak_bytes is not None else "-"
        step = f"{r.step_seconds * 1000:.1f}" if r.step_seconds is not None else "-"
        lines.append(f"| {r.setup.label} | {mem} | {ratio(r.peak_bytes, base and base.peak_bytes)} | {step} | "
                     f"{ratio(r.step_seconds, base and base.step_seconds)} | "
                     f"{f'{r.trainable:,}' if r.trainable is not None else '-'} | {r.note} |")
    return "\n".join(lines)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    import torch

    out = [f"CUDA {torch.version.cuda}"] if torch.version.cuda else []
    for name in ("torch", "transformers", "peft", "bitsandbytes", "accelerate"):
        try:
            out.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            out.append(f"{name} not installed")
    return ", ".join(out)


def main(argv=None) -> int:
    import torch

    args = parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but no CUDA GPU is available; use --device cpu", file=sys.stderr)
        return 2
    fields = TINY if args.tiny else XLMR_LARGE
    if args.child:
        import logging

        logging.getLogger("bitsandbytes.backends.cpu.ops").setLevel(logging.ERROR)
        _import_libraries()  # so that the memory baseline holds the code, and the peak only the run
        r = run_setup(SETUPS[args.child], args.model_dir, device, fields["vocab_size"], args)
        print(json.dumps({"peak_bytes": r.peak_bytes, "step_seconds": r.step_seconds, "trainable": r.trainable,
                          "note": r.note}))
        return 0
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        "CPU (peak resident memory, a stand-in for GPU memory)"
    print(f"# bench_memory: {'tiny config' if args.tiny else 'XLM-R Large shapes (random weights)'} on {where}")
    print(f"batch {args.batch_size} x {args.seq_len} tokens, {args.warmup} warm-up + {args.steps} timed steps, "
          f"LoRA r={args.lora_r} alpha={args.lora_alpha} on query/value, AdamW, grad clip 1.0")
    print(f"versions: {versions()}")
    child_argv = ["--device", device.type, "--batch-size", str(args.batch_size), "--seq-len", str(args.seq_len),
                  "--warmup", str(args.warmup), "--steps", str(args.steps), "--lora-r", str(args.lora_r),
                  "--lora-alpha", str(args.lora_alpha)] + (["--tiny"] if args.tiny else [])
    with tempfile.TemporaryDirectory(prefix="bench-xlmr-") as tmp:
        write_random_model(fields, Path(tmp))
        results = []
        for key in args.rows:
            results.append(run_isolated(key, Path(tmp), child_argv))
            print(f"  {SETUPS[key].label}: done", file=sys.stderr, flush=True)
    text = table(results)
    print()
    print(text)
    notes = [f"- {r.setup.label}: {r.note}" for r in results if r.note]
    if notes:
        print()
        print("\n".join(notes))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
