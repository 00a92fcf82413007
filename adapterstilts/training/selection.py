"""Model selection on the English development set during training, as in the paper's protocol
(jiant: evaluate every N steps, keep the best, stop after P evaluations without gain).

The best state kept is only what trains (the module's trainable parameters and the head), copied to
CPU memory, so selection costs a few MB for LoRA / bottleneck runs."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from adapterstilts.metrics.base import get_metric


class DevSelection(TrainerCallback):
    def __init__(self, *, model, task, fmt, tokenizer, examples, features, every: int, patience: int,
                 batch_size: int = 64, log=print):
        self.model, self.task, self.fmt, self.tokenizer = model, task, fmt, tokenizer
        self.examples, self.features = examples, features
        self.every, self.patience, self.batch_size, self.log = every, patience, batch_size, log
        self.metric = get_metric(task.metric)
        self.best_score: float | None = None
        self.best_step = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.history: list[dict[str, Any]] = []
        self.bad_evals = 0

    def score(self) -> dict[str, float]:
        from adapterstilts.model.inference import predict

        was_training = self.model.training
        logits = predict(self.model, self.fmt, self.features, self.tokenizer, batch_size=self.batch_size, desc="dev")
        self.model.train(was_training)
        predictions, references, extras = self.fmt.postprocess(self.examples, self.features, logits, self.task)
        return self.metric(predictions, references, language=self.task.train_language, **extras)

    def _trainable_state(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().to("cpu", copy=True) for n, p in self.model.named_parameters() if p.requires_grad}

    def on_step_end(self, args, state, control, **kwargs):
        if self.every <= 0 or state.global_step % self.every:
            return control
        self._evaluate(state.global_step, control)
        return control

    def on_train_end(self, args, state, control, **kwargs):
        if self.every > 0 and (not self.history or self.history[-1]["step"] != state.global_step):
            self._evaluate(state.global_step, control)
        if self.best_state is not None:
            params = dict(self.model.named_parameters())
            with torch.no_grad():
                for name, value in self.best_state.items():
                    params[name].copy_(value.to(params[name].device))
            self.log(f"selected step {self.best_step} ({self.metric.primary} {self.best_score:.2f} on English dev)")
        return control

    def _evaluate(self, step: int, control) -> None:
        scores = self.score()
        value = float(scores[self.metric.primary])
        self.history.append({"step": step, **{k: v for k, v in scores.items() if isinstance(v, (int, float))}})
        if self.best_score is None or value > self.best_score:
            self.best_score, self.best_step, self.bad_evals = value, step, 0
            self.best_state = self._trainable_state()
        else:
            self.bad_evals += 1
            if self.patience > 0 and self.bad_evals >= self.patience:
                self.log(f"early stop at step {step}: no gain in {self.patience} evaluations")
                control.should_training_stop = True

    # --- resumable: the selection state travels with each checkpoint -------------------------------
    STATE_FILE = "dev_selection.safetensors"
    INFO_FILE = "dev_selection.json"

    def on_save(self, args, state, control, **kwargs):
        from safetensors.torch import save_file

        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        if not folder.is_dir():
            return control
        if self.best_state is not None:
            save_file({k: v.contiguous() for k, v in self.best_state.items()}, str(folder / self.STATE_FILE))
        info = {"best_score": self.best_score, "best_step": self.best_step, "bad_evals": self.bad_evals,
                "history": self.history}
        (folder / self.INFO_FILE).write_text(json.dumps(info))
        return control

    def resume_from(self, checkpoint: Path) -> None:
        from safetensors.torch import load_file

        info_path = Path(checkpoint) / self.INFO_FILE
        if not info_path.is_file():
            return
        info = json.loads(info_path.read_text())
        self.best_score, self.best_step = info["best_score"], info["best_step"]
        self.bad_evals, self.history = info["bad_evals"], info["history"]
        state_path = Path(checkpoint) / self.STATE_FILE
        self.best_state = load_file(str(state_path)) if state_path.is_file() else None

    def summary(self) -> dict[str, Any]:
        return {"metric": self.metric.primary, "best_step": self.best_step, "best_score": self.best_score,
                "every": self.every, "patience": self.patience, "history": self.history}
