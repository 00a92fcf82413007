"""What a training method is: how a module is added to an encoder, loaded, activated and saved in
its own library's format (peft for LoRA, adapters for bottleneck adapters, transformers for a full
fine-tune)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from torch import nn

from adapterstilts.registry import Registry


class Method:
    name: ClassVar[str]
    default_lr: ClassVar[float]
    library: ClassVar[str]  # "peft" | "adapters" | "transformers"

    def add(self, encoder: nn.Module, name: str, settings: dict[str, Any]) -> nn.Module:
        """Add a new trainable module; everything else stays frozen."""
        raise NotImplementedError

    def load(self, encoder: nn.Module, path: Path, name: str, *, trainable: bool) -> nn.Module:
        raise NotImplementedError

    def activate(self, encoder: nn.Module, names: list[str], *, train: str | None = None, fuse: bool = False) -> nn.Module:
        """Make ``names`` (in order: intermediates first, then the run's own module) active together.
        ``train`` names the one module that trains (all others frozen); None for inference. With
        ``fuse`` the names are fused (AdapterFusion) and ``train`` is the fusion layer."""
        raise NotImplementedError

    merge_methods: ClassVar[tuple[str, ...]] = ()  # how this method's modules can be merged (first: default)

    def merge(self, encoder: nn.Module, names: list[str], merged: str, weights: list[float], *,
              how: str | None = None, density: float | None = None, seed: int = 0) -> nn.Module:
        """Add ``merged``: the combination of the loaded modules ``names`` (frozen) with ``weights``, by
        merge method ``how`` (default: the method's first), ``density`` for the pruning methods; random
        pruning (DARE) draws from a generator seeded with ``seed``, so rebuilding gives the same merge."""
        raise NotImplementedError

    def set_trainable(self, encoder: nn.Module, name: str) -> None:
        """Make the loaded module ``name`` train again where it is (its place in a stack, merge or
        fusion kept): a finished run trained further (``init_from``)."""
        for param_name, param in encoder.named_parameters():
            if f".{name}." in param_name:
                param.requires_grad = True

    def save(self, encoder: nn.Module, name: str, path: Path) -> None:
        raise NotImplementedError

    def settings_of(self, path: Path) -> dict[str, Any]:
        """Hyperparameters of a saved module, for manifests and model cards."""
        return {}


METHODS: Registry[type[Method]] = Registry("method")


def register_method(cls: type[Method]) -> type[Method]:
    return METHODS.register(cls.name)(cls)


def get_method(name: str) -> Method:
    from adapterstilts import methods  # noqa: F401  (registration)

    return METHODS.get(name)()


def trainable_parameters(model: nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return trainable, total
