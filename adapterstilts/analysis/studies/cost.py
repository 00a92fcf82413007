"""A study's cost on XLM-R Large, estimated from its training steps.

steps of one training = ceil(examples x epochs / (batch_size x grad_accum)) (``max_steps`` when the
recipe sets it), summed over every intermediate module and target run the expanded grid trains
(each module once, as the grid trains it; evaluation is not counted). GPU-hours = steps x the time
of one step at the run's shape.

Step time: no GPU has been lent to this project yet (docs/benchmarks.md), so the time of one step is
not measured but derived, and printed as an assumption: XLM-R Large has ~304M non-embedding
parameters (560M less the 250,002 x 1,024 embedding matrix); a training step costs ~6 FLOPs per
parameter per token (forward 2, backward 4), so a batch of 32 x 256 tokens is 6 x 3.04e8 x 8,192 =
1.49e13 FLOPs; at 40% of an A100's 312 TFLOP/s bf16 peak that is 0.12 s per step (full fine-tune). A
LoRA / bottleneck step skips the frozen weights' gradients (~2/3 of the compute): 0.08 s. Steps of
other shapes scale with their tokens (batch x grad_accum x max_length).

Where the step time comes from (``step_time``; every estimate says which one it used), first found:
``--step-time SECONDS`` (per 32 x 256 full fine-tune step; LoRA x 2/3); ``--bench FILE``, the output of
``scripts/bench_memory.py`` run on the GPU (``| tee FILE``, or its ``--out`` table): the fp32 full
fine-tune and bf16 LoRA rows, scaled from the batch x length it printed (32 x 256 when the file does not
say); ``docs/bench-results.md`` of a source checkout, read the same way when it exists and was not
measured on a CPU; else the derived value above.

Training-set sizes are the Hub train splits (approximate where marked); a subsample, a mixture with
a size or a few-shot run uses its own count."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from adapterstilts.errors import UserError

FULL_STEP_S = 0.12  # derived, see above (A100, bf16, 40% MFU, batch 32 x 256)
PEFT_FRACTION = 2 / 3  # LoRA / bottleneck: no weight gradients for the frozen backbone
REFERENCE_TOKENS = 32 * 256
STEP_TIME_SOURCE = ("assumed (derived, not measured): 6 x 304M non-embedding parameters x 8,192 tokens at 40% of an A100's "
                    "312 TFLOP/s bf16 = 0.12 s per 32 x 256 full fine-tune step, LoRA x 2/3 (see "
                    "adapterstilts/analysis/studies/cost.py; measure with scripts/bench_memory.py, pass --bench or --step-time)")

# English (or source-language) training examples of each task's train split on the Hub.
TRAIN_SIZES: dict[str, int] = {
    "mnli": 392_702, "qqp": 363_846, "squad": 87_599, "squad_v2": 130_319, "hellaswag": 39_905,
    "cosmosqa": 25_262, "commonsenseqa": 9_741, "anli_plus": 162_865 + 549_367 + 392_702, "ccg": 39_604,
    "xnli": 392_702, "pawsx": 49_401, "udpos": 21_253, "panx": 20_000, "xquad": 87_599, "xquad_ro": 87_599,
    "mlqa": 87_599, "tydiqa": 3_696, "xcopa": 400, "mewslix": 116_000, "lareqa": 87_599,
    "xglue_ner": 14_987, "xglue_pos": 25_376, "xglue_nc": 100_000, "xglue_pawsx": 49_401, "xglue_qadsm": 100_000,
    "xglue_wpr": 99_997, "xglue_qam": 100_000,
    "mnli_translated": 392_702, "squad_translated": 87_599,  # per language (a translation can lose a few questions)
}
APPROXIMATE = ("udpos", "mewslix", "ccg", "xglue_pos", "xglue_ner", "squad_translated")
DEFAULT_SIZE = 50_000  # a task missing from the table (said in the estimate)


DEFAULT_BENCH = Path(__file__).resolve().parents[3] / "docs" / "bench-results.md"  # a source checkout's
FULL_ROW, LORA_ROW = "fp32 full fine-tune", "bf16 LoRA"  # scripts/bench_memory.py row labels


@dataclass(frozen=True)
class StepTime:
    """Seconds per 32 x 256-token step, full fine-tune and LoRA, and where they come from."""

    full: float
    peft: float
    source: str


def read_bench(path: Path) -> tuple[dict[str, float], tuple[int, int] | None, str | None, str | None]:
    """Step seconds per row label of a bench_memory.py output, its (batch, length), its device and its
    model configuration ("tiny config" with --tiny; None where the file does not say: a bare ``--out`` table)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read --bench {path} ({exc.strerror}); pass the output of scripts/bench_memory.py") from None
    found = re.search(r"^# bench_memory: (.*?) on (.+)$", text, re.M)
    config, device = (found.group(1).strip(), found.group(2).strip()) if found else (None, None)
    shape = re.search(r"^batch (\d+) x (\d+) tokens", text, re.M)
    header = None
    times: dict[str, float] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if "step time (ms)" in cells:
            header = cells.index("step time (ms)")
        elif header is not None and len(cells) > header and re.fullmatch(r"[0-9.]+", cells[header]):
            times[cells[0]] = float(cells[header]) / 1000
    return times, (int(shape.group(1)), int(shape.group(2))) if shape else None, device, config


def step_time(seconds: float | None = None, bench: Path | None = None) -> StepTime:
    """The step time an estimate uses, in the order the module docstring gives."""
    if seconds is not None:
        if not seconds > 0:
            raise UserError(f"--step-time must be a positive number of seconds, got {seconds}")
        return StepTime(seconds, seconds * PEFT_FRACTION, f"given: --step-time {seconds} s per 32 x 256 full "
                                                          "fine-tune step, LoRA x 2/3")
    path = bench if bench is not None else DEFAULT_BENCH
    if bench is None and not path.is_file():
        return StepTime(FULL_STEP_S, FULL_STEP_S * PEFT_FRACTION, STEP_TIME_SOURCE)
    times, shape, device, config = read_bench(path)
    problem = None
    if device and "cpu" in device.lower():
        problem = f"{path} was measured on a CPU ({device}), which says nothing about GPU time"
    elif config and "tiny" in config.lower():
        problem = (f"{path} was measured on the tiny test model ({config}, bench_memory.py --tiny), which says "
                   "nothing about XLM-R Large's step time")
    elif FULL_ROW not in times and LORA_ROW not in times:
        problem = f"{path} has no step time of the {FULL_ROW!r} or {LORA_ROW!r} row"
    if problem:
        if bench is not None:
            raise UserError(f"--bench: {problem}; run scripts/bench_memory.py on the GPU and pass its output")
        return StepTime(FULL_STEP_S, FULL_STEP_S * PEFT_FRACTION, f"{STEP_TIME_SOURCE} ({problem}: not used)")
    batch, length = shape or (32, 256)
    scale = REFERENCE_TOKENS / (batch * length)
    full = times[FULL_ROW] * scale if FULL_ROW in times else times[LORA_ROW] * scale / PEFT_FRACTION
    peft = times[LORA_ROW] * scale if LORA_ROW in times else full * PEFT_FRACTION
    rows = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in times.items() if k in (FULL_ROW, LORA_ROW))
    return StepTime(full, peft, f"measured: {path} ({rows} per {batch} x {length} step"
                                f"{'' if shape else ', shape not in the file: assumed 32 x 256'}; device "
                                f"{device or 'not in the file'})")


@dataclass
class Cost:
    trainings: int
    steps: int
    full_hours: float
    peft_hours: float
    unknown: list[str]

    def text(self) -> str:
        extra = f"; sizes assumed {DEFAULT_SIZE:,} for {', '.join(self.unknown)}" if self.unknown else ""
        return (f"{self.trainings} trainings, {self.steps:,} steps: ~{self.full_hours:,.0f} GPU-h full fine-tune, "
                f"~{self.peft_hours:,.0f} GPU-h LoRA{extra}")


def _size(task: str, unknown: set[str]) -> int:
    if task not in TRAIN_SIZES:
        unknown.add(task)
    return TRAIN_SIZES.get(task, DEFAULT_SIZE)


def _steps(examples: int, settings: dict) -> tuple[int, float]:
    batch = settings.get("batch_size", 8) * settings.get("grad_accum", 1)
    length = settings.get("max_length") or 256
    if settings.get("max_steps"):
        steps = int(settings["max_steps"])
    else:
        steps = math.ceil(examples * float(settings.get("epochs", 1.0)) / batch)
    return steps, batch * length / REFERENCE_TOKENS


def estimate(plan, step_time: float | StepTime = FULL_STEP_S) -> Cost:
    """Steps and GPU-hours of everything ``plan`` (an expanded grid) trains (``step_time``: seconds per
    32 x 256 full fine-tune step, LoRA x 2/3, or a ``StepTime``)."""
    times = step_time if isinstance(step_time, StepTime) else StepTime(step_time, step_time * PEFT_FRACTION, "")
    from adapterstilts.tasks import get_task

    recipe, unknown = plan.recipe, set()
    steps = 0
    weighted = 0.0
    trainings = 0
    for job in plan.jobs.values():
        if job.blocked:
            continue
        spec = job.train_data or {}
        if spec.get("kind") == "subsample" and spec.get("n"):
            n = spec["n"]
        elif spec.get("kind") == "mix":
            n = spec.get("size") or sum(_size(s["task"], unknown) for s in spec["sources"])
        elif job.name == "multitask":
            n = sum(_size(t, unknown) for t in job.tasks)
        else:
            n = _size(job.task or job.name, unknown)
        settings = recipe.settings("intermediate", job.task or job.name)
        if settings.get("max_length") is None and get_task(job.task or job.name).format == "qa":
            settings["max_length"] = 384
        s, scale = _steps(n, settings)
        steps, weighted, trainings = steps + s, weighted + s * scale, trainings + 1
    seen = set()
    for cell in plan.cells:
        if cell.blocked or not cell.run or cell.run in seen:
            continue
        seen.add(cell.run)
        if cell.shots:
            n, settings = cell.shots, recipe.settings("fewshot", cell.target)
            if cell.base and cell.base not in seen:  # the English run it continues
                seen.add(cell.base)
                s, scale = _steps(_size(cell.target, unknown), recipe.settings("target", cell.target))
                steps, weighted, trainings = steps + s, weighted + s * scale, trainings + 1
        else:
            n, settings = _size(cell.target, unknown), recipe.settings("target", cell.target)
        if settings.get("max_length") is None and get_task(cell.target).format == "qa":
            settings["max_length"] = 384
        s, scale = _steps(n, settings)
        steps, weighted, trainings = steps + s, weighted + s * scale, trainings + 1
    return Cost(trainings, steps, weighted * times.full / 3600, weighted * times.peft / 3600, sorted(unknown))
