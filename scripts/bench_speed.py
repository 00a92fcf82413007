"""Speed of the data path against plain baselines, in one run (CPU or GPU):

- feature cache: building features (tokenisation) vs loading them from the cache;
- dynamic padding: a training step on batches padded to their longest row (ours) vs padded to
  the max length (the plain baseline);
- length-sorted evaluation: predicting with batches sorted by length (ours) vs in data order.

    python scripts/bench_speed.py                       # tiny model + bundled samples, CPU, ~1 min
    python scripts/bench_speed.py --model FacebookAI/xlm-roberta-large --data hub --task xnli --device cuda

Prints a Markdown table with the ratio of each baseline's time to ours (> 1: ours is faster)."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("ADAPTERSTILTS_NO_PROGRESS", "1")


def _timed(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None, help="model id or folder (default: a fresh tiny model)")
    parser.add_argument("--data", default="sample")
    parser.add_argument("--task", default="xnli")
    parser.add_argument("--language", default="en")
    parser.add_argument("--split", default="train")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)

    import torch

    from adapterstilts.evaluation.zero_shot import predict
    from adapterstilts.data.features import build_features
    from adapterstilts.formats import get_format
    from adapterstilts.model.backbone import BackboneOptions, load_encoder, load_tokenizer
    from adapterstilts.model.assemble import TaskModel
    from adapterstilts.tasks import get_task

    work = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    os.environ["ADAPTERSTILTS_CACHE"] = str(work / "cache")
    model_id = args.model
    if model_id is None:
        from adapterstilts.tiny_model import make_tiny_model

        model_id = str(make_tiny_model(work / "tiny"))
    task = get_task(args.task)
    fmt = get_format(task.format)
    tokenizer = load_tokenizer(model_id)
    kwargs = dict(split=args.split, language=args.language, data=args.data, max_length=args.max_length,
                  stride=min(task.doc_stride, args.max_length // 3), train=True)
    build = _timed(lambda: build_features(task, fmt, tokenizer, use_cache=False, **kwargs))
    build_features(task, fmt, tokenizer, **kwargs)  # fill the cache
    cached = _timed(lambda: build_features(task, fmt, tokenizer, **kwargs), repeat=3)
    _, features = build_features(task, fmt, tokenizer, **kwargs)

    encoder = load_encoder(BackboneOptions(model=model_id), trainable=True).to(args.device)
    model = TaskModel(encoder, fmt.build_head(encoder.config.hidden_size, task).to(args.device), fmt)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    rows = [features[i % len(features)] for i in range(args.batch_size)]

    def padded_to_max(batch):
        out = {}
        for key, value in batch.items():
            if key in ("input_ids", "attention_mask") and value.shape[-1] < args.max_length:
                fill = tokenizer.pad_token_id if key == "input_ids" else 0
                value = torch.nn.functional.pad(value, (0, args.max_length - value.shape[-1]), value=fill)
            out[key] = value
        return out

    def steps(pad_to_max: bool):
        def run():
            for _ in range(args.steps):
                batch = fmt.collate(rows, tokenizer)
                batch = padded_to_max(batch) if pad_to_max else batch
                loss = model(**{k: v.to(args.device) for k, v in batch.items()})["loss"]
                loss.backward()
                optimizer.step()
                optimizer.zero_grad()
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
        return run

    dynamic = _timed(steps(False))
    fixed = _timed(steps(True))

    model.eval()
    eval_sorted = _timed(lambda: predict(model, fmt, features, tokenizer, batch_size=args.batch_size))
    shuffled = features.shuffle(seed=0)

    def unsorted():
        with torch.no_grad():
            for i in range(0, len(shuffled), args.batch_size):
                batch = fmt.collate([shuffled[j] for j in range(i, min(i + args.batch_size, len(shuffled)))], tokenizer)
                model(**{k: v.to(args.device) for k, v in batch.items() if k not in fmt.label_keys})

    eval_unsorted = _timed(unsorted)

    print(f"task {task.name}, {len(features)} features, model {model_id}, device {args.device}, "
          f"batch {args.batch_size}, max length {args.max_length}\n")
    print("| what | baseline (s) | ours (s) | baseline / ours |")
    print("|---|---:|---:|---:|")
    for name, base, ours in (("features: tokenise vs cached", build, cached),
                             (f"{args.steps} train steps: pad to max vs dynamic", fixed, dynamic),
                             ("prediction: data order vs length-sorted", eval_unsorted, eval_sorted)):
        print(f"| {name} | {base:.3f} | {ours:.3f} | {base / ours:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
