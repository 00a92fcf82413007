"""Run configuration: small dataclasses, validated early, saved with the run."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Optional

from adapterstilts.errors import UserError
from adapterstilts.model.backbone import DEFAULT_MODEL, BackboneOptions

REPORT_TO = ("auto", "none", "tensorboard", "wandb", "mlflow")


def resolve_report_to(value: str) -> str:
    """"auto": TensorBoard when it is installed, else no logging integration."""
    if value != "auto":
        return value
    import importlib.util

    return "tensorboard" if importlib.util.find_spec("tensorboard") or importlib.util.find_spec("tensorboardX") else "none"


@dataclass
class TrainConfig:
    """One training run. Each field's ``metadata`` holds its help text; fields offered on the command line
    also carry their ``flag`` (and optionally ``short``, ``commands``: the training commands that offer it,
    default all; ``cli_type`` / ``cli_default`` where the command-line value differs from the field's).
    ``"cli": False`` marks a setting reached through recipes or the library only. ``min`` is checked by
    :meth:`check_values`. Declaration order is the order of the options in ``--help``."""

    task: str = field(metadata={"help": "Task to train (the command's TASK argument).", "cli": False})
    intermediates: list[str] = field(default_factory=list, metadata={
        "help": "Intermediate run folder or Hub id (repeatable).", "flag": "--intermediate", "short": "-i",
        "commands": ("train-intermediate", "train-target"), "cli_type": Optional[list[str]], "cli_default": None})
    compose: str = field(default="none", metadata={
        "help": "none | stack | fuse | merge | continue | chain (README: which methods take part in which).",
        "flag": "--compose", "commands": ("train-intermediate", "train-target")})
    merge_weights: list[float] | None = field(default=None, metadata={
        "help": "--compose merge: comma list, one weight per intermediate (default 1/k).", "flag": "--merge-weights",
        "commands": ("train-target",), "cli_type": Optional[str]})  # the command parses the comma list
    merge_method: str | None = field(default=None, metadata={
        "help": "--compose merge: cat (LoRA default: the exact weighted sum) | linear (bottleneck default) | ties | "
                "dare_linear | dare_ties | magnitude_prune (peft's methods; LoRA only).",
        "flag": "--merge-method", "commands": ("train-target",)})
    merge_density: float | None = field(default=None, metadata={
        "help": "--merge-method ties / dare_* / magnitude_prune: the share of each module's values kept (0-1].",
        "flag": "--merge-density", "commands": ("train-target",)})
    fusion_gate: str = field(default="layer", metadata={
        "help": "--compose fuse --method lora: layer (K learned weights per layer) | input (a gate on each token, "
                "as MoLE).", "flag": "--fusion-gate", "commands": ("train-target",)})
    model: str = field(default=DEFAULT_MODEL, metadata={
        "help": "Base model id or local folder (see make-tiny-model).", "flag": "--model"})
    revision: str | None = field(default=None, metadata={
        "help": "Base model revision on the Hub.", "flag": "--revision"})
    method: str = field(default="lora", metadata={
        "help": "lora (peft) | bottleneck (adapters) | full.", "flag": "--method"})
    # keyword-only, so that it can sit here in --help order; the commands default it to runs/<name>
    output: str = field(kw_only=True, metadata={
        "help": "Run folder to write (default runs/...).", "flag": "--output", "short": "-o",
        "cli_type": Optional[Path], "cli_default": None})
    data: str = field(default="hub", metadata={
        "help": "'hub', 'sample' (bundled, offline) or a local DIR.", "flag": "--data"})
    seed: int = field(default=42, metadata={
        "help": "Random seed (set before any module is created).", "flag": "--seed"})
    lr: float | None = field(default=None, metadata={  # None: the method's default
        "help": "Learning rate (default by --method: lora 3e-4, the LoRA paper's RoBERTa-large GLUE setting; "
                "bottleneck 1e-4, the adapters papers' (Pfeiffer/Poth et al. 2021); full 1e-5, jiant's X-STILTs "
                "setting).", "flag": "--lr"})
    batch_size: int = field(default=32, metadata={"help": "Per-device batch size.", "flag": "--batch-size", "min": 1})
    grad_accum: int = field(default=1, metadata={
        "help": "Gradient accumulation steps.", "flag": "--grad-accum", "min": 1})
    epochs: float = field(default=3.0, metadata={"help": "Training epochs.", "flag": "--epochs"})
    max_steps: int = field(default=-1, metadata={  # -1: not set, train --epochs
        "help": "Stop after N optimizer steps (overrides --epochs).", "flag": "--max-steps"})
    warmup_ratio: float = field(default=0.1, metadata={"help": "Share of steps with a linear warmup.", "cli": False})
    weight_decay: float = field(default=0.01, metadata={"help": "AdamW weight decay.", "cli": False})
    max_grad_norm: float = field(default=1.0, metadata={"help": "Gradient clipping norm.", "cli": False})
    adam_epsilon: float = field(default=1e-8, metadata={"help": "AdamW epsilon.", "cli": False})
    max_length: int | None = field(default=None, metadata={  # None: the task's default (QA 384, others 256)
        "help": "Max tokens (default: task's, QA 384).", "flag": "--max-length", "min": 8})
    doc_stride: int | None = field(default=None, metadata={
        "help": "QA: overlap of the windows over a long context (default: the task's, scaled).", "cli": False})
    max_train_examples: int | None = field(default=None, metadata={
        "help": "Use only the first N examples.", "flag": "--max-train-examples", "min": 1})
    train_data: dict | None = field(default=None, metadata={  # None: the task's English training data
        "help": "Derived training data as a spec (tasks/derived.py: subsample, fewshot, mix), "
                "e.g. {'kind': 'subsample', 'task': 'mnli', 'n': 1000, 'seed': 1}; set by recipes and study axes.",
        "cli": False})
    init_from: str | None = field(default=None, metadata={  # few-shot studies: the English target run
        "help": "A finished run of the same task to train further: its composition, intermediates, module and "
                "head are the starting point (no --intermediate, --compose none).", "cli": False})
    qa_answer_text: str = field(default="words", metadata={
        "help": "QA: words (the answer mapped to the context's words, as XTREME's run_squad and jiant) | offsets "
                "(the exact characters of the predicted pieces; better for zh / ja / th). docs/fidelity.md",
        "flag": "--qa-answer-text", "commands": ("train-intermediate", "train-target")})
    tagging_label_piece: str = field(default="first", metadata={
        "help": "Tagging: the piece that carries a word's label: first (XTREME) | first_non_space (skip a bare "
                "'▁', as XLM-R gives Chinese characters). docs/fidelity.md",
        "flag": "--tagging-label-piece", "commands": ("train-intermediate", "train-target")})
    language_adapter: str | None = field(default=None, metadata={
        "help": "A language adapter (adapters bottleneck: folder or Hub id) stacked frozen under the module "
                "(MAD-X; --method bottleneck); evaluate --language-adapters swaps in each language's.",
        "flag": "--language-adapter", "commands": ("train-intermediate", "train-target")})
    # method settings
    lora_r: int = field(default=8, metadata={"help": "LoRA rank.", "flag": "--lora-r", "min": 1})
    lora_alpha: int = field(default=16, metadata={"help": "LoRA alpha.", "flag": "--lora-alpha"})
    lora_dropout: float = field(default=0.1, metadata={"help": "LoRA dropout.", "cli": False})
    lora_target_modules: tuple[str, ...] = field(default=("query", "value"), metadata={
        "help": "Backbone modules that get LoRA matrices.", "cli": False})
    adapter_config: str = field(default="seq_bn", metadata={"help": "adapters' bottleneck config name.", "cli": False})
    reduction_factor: int = field(default=16, metadata={
        "help": "Bottleneck adapter reduction factor.", "flag": "--reduction-factor", "min": 1})
    # hardware
    load_in_8bit: bool = field(default=False, metadata={
        "help": "Load the frozen backbone in 8 bit (bitsandbytes).", "flag": "--load-in-8bit"})
    load_in_4bit: bool = field(default=False, metadata={
        "help": "Load the frozen backbone in 4 bit NF4 (bitsandbytes).", "flag": "--load-in-4bit"})
    bf16: bool = field(default=False, metadata={"help": "bf16 mixed precision.", "flag": "--bf16"})
    fp16: bool = field(default=False, metadata={"help": "fp16 mixed precision.", "flag": "--fp16"})
    gradient_checkpointing: bool = field(default=False, metadata={
        "help": "Trade compute for activation memory.", "flag": "--gradient-checkpointing"})
    length_grouping: bool = field(default=True, metadata={  # training/trainer.py: LengthGroupedBatches
        "help": "Batch training rows of similar length (little padding; shuffled megabatches keep the order "
                "random). Off: random batches.", "cli": False})
    report_to: str = field(default="auto", metadata={  # the Trainer's logging integrations
        "help": "auto (TensorBoard when installed) | none | tensorboard | wandb | mlflow.", "flag": "--report-to"})
    logging_steps: int = field(default=10, metadata={"help": "Log the training loss every N steps.", "cli": False})
    save_steps: int = field(default=0, metadata={
        "help": "Keep a resumable checkpoint every N steps (0: off).", "flag": "--save-steps",
        "commands": ("train-intermediate", "train-target")})
    overwrite: bool = field(default=False, metadata={
        "help": "Replace a non-empty output folder.", "flag": "--overwrite"})
    eval_steps: int = field(default=0, metadata={  # paper: 1000
        "help": "Score English dev every N steps, keep the best (0: off).", "flag": "--eval-steps",
        "commands": ("train-intermediate", "train-target")})
    patience: int = field(default=0, metadata={  # paper: 30
        "help": "Stop after N dev evaluations without gain (0: never).", "flag": "--patience",
        "commands": ("train-intermediate", "train-target")})
    progress: bool = field(default=True, metadata={"help": "Show progress bars.", "cli": False})
    allow_pickle: bool = field(default=False, metadata={
        "help": "Accept pickle weights (*.bin, *.pt) in modules: trusted sources only.", "flag": "--allow-pickle",
        "commands": ("train-target",)})

    def check_values(self) -> None:
        """The checks of single values that need no I/O (the ``min`` in each field's metadata, --lr,
        --epochs / --max-steps): one line each, before any model or data is touched."""
        for f in fields(self):
            low, value = f.metadata.get("min"), getattr(self, f.name)
            if low is not None and value is not None and value < low:
                raise UserError(f"{f.metadata.get('flag', f.name)} must be at least {low}, got {value}")
        if self.lr is not None and not self.lr > 0:
            raise UserError(f"--lr must be positive, got {self.lr}")
        if self.max_steps != -1 and self.max_steps <= 0:
            raise UserError(f"--max-steps {self.max_steps}: give --max-steps > 0, or leave it out to train --epochs")
        if self.max_steps == -1 and not self.epochs > 0:
            raise UserError(f"--epochs {self.epochs}: give --epochs > 0 or --max-steps > 0")

    def validate(self) -> None:
        self.check_values()
        from adapterstilts.methods import METHODS

        METHODS.get(self.method)  # an unknown method: one line listing the known ones
        from adapterstilts.compose import COMPOSITIONS, get_composition
        from adapterstilts.tasks import get_task

        if self.compose not in COMPOSITIONS:
            raise UserError(COMPOSITIONS.unknown(self.compose, "--compose"))
        get_composition(self.compose).check(self.method, get_task(self.task).kind, len(self.intermediates))
        from adapterstilts.formats.qa import ANSWER_TEXT_MODES
        from adapterstilts.formats.tagging import LABEL_PIECES

        if self.qa_answer_text not in ANSWER_TEXT_MODES:
            raise UserError(f"unknown --qa-answer-text {self.qa_answer_text!r}; choose one of: "
                            f"{', '.join(ANSWER_TEXT_MODES)}")
        if self.tagging_label_piece not in LABEL_PIECES:
            raise UserError(f"unknown --tagging-label-piece {self.tagging_label_piece!r}; choose one of: "
                            f"{', '.join(LABEL_PIECES)}")
        if self.language_adapter and self.method != "bottleneck":
            raise UserError("--language-adapter stacks an adapters bottleneck adapter under the task module; use "
                            "--method bottleneck")
        if self.init_from and (self.intermediates or self.compose != "none"):
            raise UserError("init_from trains a finished run further with its own composition and intermediates; "
                            "give no --intermediate and --compose none")
        if len(set(self.intermediates)) != len(self.intermediates):
            twice = next(i for i in self.intermediates if self.intermediates.count(i) > 1)
            raise UserError(f"--intermediate {twice} is given twice; give each intermediate module once")
        self._check_merge()
        from adapterstilts.compose.lora_fusion import GATES

        if self.fusion_gate not in GATES:
            raise UserError(f"unknown --fusion-gate {self.fusion_gate!r}; choose one of: {', '.join(GATES)}")
        if self.fusion_gate != "layer" and not (self.compose == "fuse" and self.method == "lora"):
            raise UserError("--fusion-gate goes with --compose fuse --method lora")
        if self.merge_weights is not None and (self.compose != "merge" or len(self.merge_weights) != len(self.intermediates)):
            raise UserError("--merge-weights goes with --compose merge and takes one weight per --intermediate "
                            f"({len(self.intermediates)} given, {len(self.merge_weights)} weights)")
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
        if self.train_data is not None:  # derived training data: kind, sizes, task, format and labels
            from adapterstilts.tasks.derived import check_train_data

            check_train_data(self.train_data, self.task)
        self.backbone().validate()

    def _check_merge(self) -> None:
        from adapterstilts.methods import get_method

        if self.compose != "merge":
            if self.merge_method is not None or self.merge_density is not None:
                raise UserError("--merge-method / --merge-density go with --compose merge")
            return
        allowed = get_method(self.method).merge_methods
        how = self.merge_method or allowed[0]
        if how not in allowed:
            raise UserError(f"--merge-method {how} is not available for --method {self.method}; choose one of: "
                            f"{', '.join(allowed)}")
        pruning = how in ("ties", "dare_linear", "dare_ties", "magnitude_prune")
        if pruning and (self.merge_density is None or not 0 < self.merge_density <= 1):
            raise UserError(f"--merge-method {how} prunes each module: give --merge-density in (0, 1], e.g. 0.5")
        if not pruning and self.merge_density is not None:
            chosen = "" if self.merge_method else " (the default)"
            raise UserError(f"--merge-method {how}{chosen} keeps every value, so --merge-density does not apply; "
                            "pass --merge-method ties, dare_linear, dare_ties or magnitude_prune with it")

    @property
    def quantized(self) -> bool:
        return self.load_in_8bit or self.load_in_4bit

    def backbone(self) -> BackboneOptions:
        return BackboneOptions(model=self.model, revision=self.revision, load_in_8bit=self.load_in_8bit,
                               load_in_4bit=self.load_in_4bit, bf16=self.bf16, fp16=self.fp16,
                               gradient_checkpointing=self.gradient_checkpointing)

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
