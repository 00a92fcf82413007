"""What a composition is: how a run's module combines with frozen intermediate modules.

A composition is one class (one file in this folder) that says which methods and task kinds it
supports and how many intermediates it takes, builds the encoder a training run starts from, rebuilds
a finished run's encoder for evaluation, names its report row, and renders the model card's loading
snippet with plain peft / plain adapters. Nothing outside this folder branches on composition names:
it asks the composition (``copies_intermediates``, ``combined_row``, ...).

The method x composition capability table (``adapterstilts.compose.capability_table``) is derived
from the classes' ``methods``; it drives validation, the generated tests and the README table."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from adapterstilts.errors import UserError
from adapterstilts.registry import Registry

MERGED = "merged_intermediates"  # the name of a merge's combined module inside the encoder


@dataclass
class BuildContext:
    """What a composition needs to assemble a training encoder."""

    encoder: nn.Module
    method: Any  # adapterstilts.methods.Method
    runs: list  # the intermediate Runs, in the order given
    names: list[str]  # their unique module names inside the encoder
    module_name: str  # the name of the run's own (trained) module
    settings: dict[str, Any] = field(default_factory=dict)  # the method's settings for a new module
    merge_weights: list[float] | None = None
    task: str = ""  # the task the run trains
    merge_method: str | None = None  # None: the method's default
    merge_density: float | None = None
    seed: int = 0
    fusion_gate: str = "layer"  # LoRA fusion: "layer" | "input"


@dataclass
class LoadContext:
    """What a composition needs to rebuild a finished run's encoder (frozen, for inference)."""

    encoder: nn.Module
    method: Any
    run: Any  # the finished Run
    entries: list[dict]  # the manifest's intermediates entries

    def intermediate_folder(self, entry: dict) -> Path:
        from adapterstilts.runs import INTERMEDIATES_DIR, MODULE_DIR

        return self.run.path / INTERMEDIATES_DIR / entry["module_name"] / MODULE_DIR

    def load_intermediates(self) -> list[str]:
        names = []
        for entry in self.entries:
            self.encoder = self.method.load(self.encoder, self.intermediate_folder(entry), entry["module_name"],
                                            trainable=False)
            names.append(entry["module_name"])
        return names

    def load_module(self) -> str:
        self.encoder = self.method.load(self.encoder, self.run.module_dir, self.run.module_name, trainable=False)
        return self.run.module_name


class Composition:
    name: ClassVar[str]
    description: ClassVar[str]
    methods: ClassVar[frozenset[str]]  # the methods it supports (the capability table)
    kinds: ClassVar[frozenset[str]] = frozenset({"intermediate", "target"})  # task kinds it trains
    min_intermediates: ClassVar[int] = 1
    max_intermediates: ClassVar[int | None] = None
    copies_intermediates: ClassVar[bool] = False  # the run needs the frozen intermediates at load time
    combined_row: ClassVar[str | None] = None  # a grid row over all intermediates at once ("fusion")
    unsupported_hint: ClassVar[dict[str, str]] = {}  # method -> what to do instead
    count_hint: ClassVar[str] = ""  # appended to the wrong-number-of-intermediates error

    # ---- checks ------------------------------------------------------------------------------
    def check(self, method: str, kind: str, n_intermediates: int, where: str = "--compose") -> None:
        """One-line errors for an unsupported method, task kind or number of intermediates."""
        if method not in self.methods:
            hint = self.unsupported_hint.get(method, "")
            raise UserError(f"{where} {self.name} is not available with --method {method}; it supports "
                            f"{', '.join(sorted(self.methods))}{hint}")
        if kind not in self.kinds:
            fit = [name for name, c in COMPOSITIONS.items() if kind in c.kinds]
            raise UserError(f"{where} {self.name} is not for {kind} tasks; for them choose one of: {', '.join(fit)}")
        low, high = self.min_intermediates, self.max_intermediates
        if n_intermediates < low or (high is not None and n_intermediates > high):
            count = f"exactly {low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
            raise UserError(f"{where} {self.name} takes {count} --intermediate module(s), got {n_intermediates}"
                            f"{self.count_hint}")

    def check_runs(self, runs: list) -> None:
        """Checks that need the intermediate runs (their manifests)."""
        for run in runs:
            owner = get_composition(run.compose)
            if owner.copies_intermediates:
                sources = " ".join(f"--intermediate {i.get('source', i['module_name'])}"
                                   for i in run.manifest.get("intermediates", []))
                fix = (f"pass its modules in order instead: {sources} --intermediate {run.module_dir}"
                       if self.max_intermediates is None
                       else "pass a single-module run (trained with --compose none or chain) instead")
                raise UserError(f"{run.path} is itself a {run.compose} run over other modules, which would be "
                                f"dropped here; {fix}")

    # ---- building ----------------------------------------------------------------------------
    def backbone_path(self, method: str, runs: list) -> str | None:
        """A full fine-tune starts from this encoder folder instead of the base model (None: the base)."""
        return None

    def build(self, ctx: BuildContext) -> tuple[nn.Module, str]:
        """The training encoder (run's module trainable, all else frozen) and the trained module's name."""
        raise NotImplementedError

    def load(self, ctx: LoadContext) -> nn.Module:
        """A finished run's encoder with its modules active, for inference."""
        raise NotImplementedError

    def save(self, encoder: nn.Module, method, name: str, path: Path) -> None:
        """Save the run's module (in its library's format) to ``path``."""
        method.save(encoder, name, path)

    def make_trainable(self, encoder: nn.Module, method, name: str) -> None:
        """Let a rebuilt run's own module train again (``init_from``)."""
        method.set_trainable(encoder, name)

    # ---- describing --------------------------------------------------------------------------
    def row_label(self, intermediates: list[str]) -> str:
        """The row of a results table: the intermediate, or ``combined_row`` for one over all."""
        return self.combined_row or "+".join(intermediates) or "none"

    def manifest_fields(self, ctx: BuildContext) -> dict[str, Any]:
        """Extra manifest fields that rebuilding the run needs (merge weights, a chain's order)."""
        return {}

    def card_snippet(self, method: str, entries: list[dict], manifest: dict) -> list[str]:
        """Python lines that rebuild the run's encoder with the module's own library, run after the card
        has loaded the plain base model (``base`` for peft; ``model``, after ``adapters.init(model)``, for
        adapters) and fetched the repo snapshot to ``path``. They leave the encoder in ``model``."""
        raise NotImplementedError


COMPOSITIONS: Registry[Composition] = Registry("composition")


def register_composition(cls: type[Composition]) -> type[Composition]:
    COMPOSITIONS.register(cls.name)(cls())
    return cls


def get_composition(name: str) -> Composition:
    from adapterstilts import compose  # noqa: F401  (registration)

    return COMPOSITIONS.get(name)


# ---- snippet helpers shared by the compositions -----------------------------------------------------
def peft_lines(folders: list[tuple[str, str]]) -> list[str]:
    """Load (adapter name, folder expression) pairs with plain peft: the first wraps the base model."""
    lines = []
    for i, (name, folder) in enumerate(folders):
        if i == 0:  # the base model is ``base``; peft's default adapter name needs no argument
            named = "" if name == "default" else f', adapter_name="{name}"'
            lines.append(f"model = PeftModel.from_pretrained(base, {folder}{named})")
        else:
            lines.append(f'model.load_adapter({folder}, adapter_name="{name}")')
    return lines


def adapters_lines(folders: list[tuple[str, str]]) -> list[str]:
    return [f'model.load_adapter({folder}, load_as="{name}", use_safetensors=True)' for name, folder in folders]


def intermediate_folder_expr(entry: dict) -> str:
    return f'os.path.join(path, "intermediates", "{entry["module_name"]}", "module")'


MODULE_EXPR = 'os.path.join(path, "module")'
