"""Run configuration: small dataclasses, validated early, saved with the run."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from adapterstilts.errors import UserError
from adapterstilts.model.backbone import DEFAULT_MODEL, BackboneOptions

COMPOSITIONS = ("none", "stack", "fuse", "merge", "continue")
REPORT_TO = ("auto", "none", "tensorboard", "wandb", "mlflow")


def resolve_report_to(value: str) -> str:
    """"auto": TensorBoard when it is installed, else no logging integration."""
    if value != "auto":
        return value
    import importlib.util

    return "tensorboard" if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX") else "none"


@dataclass
class TrainConfig:
    task: str
    output: str
    model: str = DEFAULT_MODEL
    revision: str | None = None
    method: str = "lora"
    compose: str = "none"
    intermediates: list[str] = field(default_factory=list)
    merge_weights: list[float] | None = None  # --compose merge: one weight per intermediate (default 1/k each)
    data: str = "hub"
    seed: int = 42
    lr: float | None = None  # None: the method's default (LoRA / bottleneck 1e-4, full 1e-5)
    batch_size: int = 32
    grad_accum: int = 1
    epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides epochs
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    adam_epsilon: float = 1e-8
    max_length: int | None = None  # None: the task's default (QA 384, others 256)
    doc_stride: int | None = None
    max_train_examples: int | None = None
    # method settings
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_target_modules: tuple[str, ...] = ("query", "value")
    adapter_config: str = "seq_bn"
    reduction_factor: int = 16
    # hardware
    load_in_8bit: bool = False
    load_in_4bit: bool = False
    bf16: bool = False
    fp16: bool = False
    gradient_checkpointing: bool = False
    report_to: str = "auto"  # auto | none | tensorboard | wandb | mlflow (the Trainer's integrations)
    logging_steps: int = 10
    save_steps: int = 0  # > 0: keep a resumable checkpoint every N steps
    eval_steps: int = 0  # > 0: score English dev every N steps and keep the best state (paper: 1000)
    patience: int = 0  # > 0: stop after this many dev evaluations without gain (paper: 30)
    overwrite: bool = False
    progress: bool = True
    allow_pickle: bool = False  # accept pickle weights in intermediate modules (trusted sources only)

    def validate(self) -> None:
        from adapterstilts.methods import METHODS

        method = METHODS.get(self.method)
        if self.compose not in COMPOSITIONS:
            raise UserError(f"unknown --compose {self.compose!r}; choose one of: {', '.join(COMPOSITIONS)}")
        if self.compose not in method.supports:
            hint = " (AdapterFusion exists for bottleneck adapters only: use --method bottleneck)" if self.compose == "fuse" else ""
            raise UserError(f"--compose {self.compose} is not available with --method {self.method}; it supports: "
                            f"{', '.join(sorted(method.supports))}{hint}")
        if self.compose == "none" and self.intermediates:
            raise UserError("--intermediate given without --compose; pass --compose stack|fuse|continue")
        if self.compose != "none" and not self.intermediates:
            raise UserError(f"--compose {self.compose} needs at least one --intermediate RUN_DIR")
        if self.merge_weights is not None and (self.compose != "merge" or len(self.merge_weights) != len(self.intermediates)):
            raise UserError("--merge-weights goes with --compose merge and takes one weight per --intermediate "
                            f"({len(self.intermediates)} given, {len(self.merge_weights)} weights)")
        if self.compose == "continue" and len(self.intermediates) != 1:
            raise UserError("--compose continue takes exactly one --intermediate (the module that keeps training)")
        for name, value in (("--batch-size", self.batch_size), ("--grad-accum", self.grad_accum)):
            if value < 1:
                raise UserError(f"{name} must be at least 1, got {value}")
        if self.lr is not None and not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}")
        if self.max_steps <= 0 and not self.epochs > 0:
            raise UserError("give --epochs > 0 or --max-steps > 0")
        if self.report_to not in REPORT_TO:
            raise UserError(f"unknown --report-to {self.report_to!r}; choose one of: {', '.join(REPORT_TO)}")
        if self.report_to in ("tensorboard", "wandb", "mlflow"):
            import importlib.util

            modules = {"tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",), "mlflow": ("mlflow",)}
            if not any(importlib.util.find_spec(m) for m in modules[self.report_to]):
                raise UserError(f"--report-to {self.report_to} needs the {self.report_to} package; install it "
                                f"(pip install {self.report_to}) or use --report-to none")
        if self.data not in ("sample", "hub"):
            from pathlib import Path

            if not Path(self.data).is_dir():
                raise UserError(f"--data {self.data!r} is neither 'sample', 'hub' nor an existing directory")
        if self.quantized and self.method != "lora":
            raise UserError("--load-in-8bit/--load-in-4bit train LoRA on a frozen quantised backbone; use --method lora")
        self.backbone().validate()

    @property
    def quantized(self) -> bool:
        return self.load_in_8bit or self.load_in_4bit

    def backbone(self) -> BackboneOptions:
        return BackboneOptions(model=self.model, revision=self.revision, load_in_8bit=self.load_in_8bit,
                               load_in_4bit=self.load_in_4bit, bf16=self.bf16, fp16=self.fp16,
                               gradient_checkpointing=self.gradient_checkpointing)

    def resolved_merge_weights(self) -> list[float]:
        k = max(1, len(self.intermediates))
        return list(self.merge_weights) if self.merge_weights is not None else [1.0 / k] * k

    def method_settings(self) -> dict[str, Any]:
        if self.method == "lora":
            return {"r": self.lora_r, "alpha": self.lora_alpha, "dropout": self.lora_dropout,
                    "target_modules": list(self.lora_target_modules)}
        if self.method == "bottleneck":
            return {"config": self.adapter_config, "reduction_factor": self.reduction_factor}
        return {}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["lora_target_modules"] = list(self.lora_target_modules)
        return out
