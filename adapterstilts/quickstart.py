"""The offline quickstart (`make demo`): the whole method on the bundled tiny XLM-R and samples.

1. build the tiny model (random XLM-R, offline-trained tokenizer);
2. train an English intermediate module (MNLI, LoRA);
3. train the target (XNLI's English training data) with a new LoRA stacked on the frozen MNLI module;
4. evaluate zero-shot on every XNLI language that has a bundled sample, and on Tatoeba retrieval
   from the intermediate module.
The same library functions run XLM-R Large on the Hub data; only --model and --data differ."""
from __future__ import annotations

from pathlib import Path

from adapterstilts.config import TrainConfig


def run_quickstart(output: Path, *, steps: int = 120, overwrite: bool = False, log=print) -> dict:
    from adapterstilts.evaluation.zero_shot import evaluate_run, format_table
    from adapterstilts.tiny_model import make_tiny_model
    from adapterstilts.training.pipeline import train

    from adapterstilts.errors import UserError

    if not overwrite and (output / "mnli-lora").exists():
        raise UserError(f"{output} holds an earlier quickstart; pass --overwrite or choose another --output")
    output.mkdir(parents=True, exist_ok=True)
    model_dir = output / "tiny-xlmr"
    if not (model_dir / "config.json").is_file():
        log(f"[1/4] building the tiny offline XLM-R in {model_dir}")
        make_tiny_model(model_dir)
    else:
        log(f"[1/4] reusing the tiny model in {model_dir}")
    common = dict(model=str(model_dir), data="sample", batch_size=8, max_steps=steps, lr=5e-3, seed=0,
                  logging_steps=max(1, steps // 5), overwrite=overwrite)
    log("[2/4] intermediate task: mnli with a LoRA module on the frozen backbone")
    inter = train(TrainConfig(task="mnli", output=str(output / "mnli-lora"), method="lora", **common), log=log)
    log("[3/4] target task: xnli (English training data) with a new LoRA stacked on the mnli module")
    target = train(TrainConfig(task="xnli", output=str(output / "xnli-stack-lora"), method="lora", compose="stack",
                               intermediates=[str(inter.path)], **common), log=log)
    log("[4/4] zero-shot evaluation on every language with a bundled sample")
    results = {"xnli": evaluate_run(target.path, languages="all", data="sample", output=output / "xnli-results.json",
                                    log=log)}
    log(format_table(results["xnli"]))
    try:
        results["tatoeba"] = evaluate_run(inter.path, task_name="tatoeba", languages="all", data="sample",
                                          output=output / "tatoeba-results.json", log=log)
        log(format_table(results["tatoeba"]))
    except Exception as exc:  # retrieval is a bonus in the quickstart; say why it did not run
        log(f"tatoeba retrieval skipped: {exc}")
    log(f"done: run folders and results are in {output}")
    return results
