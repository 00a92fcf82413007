"""Bottleneck adapters through the ``adapters`` library (sequential bottleneck, "seq_bn" = Pfeiffer
config by default). Saved as ``adapters`` saves them (``adapter_config.json`` +
``adapter_model.safetensors``), so ``model.load_adapter(folder, use_safetensors=True)`` on an
``adapters.init``-ed model loads them without us. Stacking uses ``adapters.composition.Stack``,
fusion ``Fuse`` (AdapterFusion)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError
from adapterstilts.methods.base import Method, register_method

DEFAULTS = {"config": "seq_bn", "reduction_factor": 16}


def _ensure_init(encoder):
    import logging

    import adapters

    # "adapters available but none are activated" fires between loading and activating: not a problem
    logging.getLogger("adapters.model_mixin").setLevel(logging.ERROR)
    if not hasattr(encoder, "adapters_config"):
        adapters.init(encoder)
    return encoder


@register_method
class Bottleneck(Method):
    name = "bottleneck"
    default_lr = 1e-4  # adapters' bottleneck / AdapterFusion papers' setting (Pfeiffer et al. 2021; Poth et al. 2021)
    library = "adapters"

    def add(self, encoder, name, settings):
        from adapters import AdapterConfig

        s = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
        encoder = _ensure_init(encoder)
        config = AdapterConfig.load(s["config"], reduction_factor=int(s["reduction_factor"]))
        encoder.add_adapter(name, config=config)
        encoder.train_adapter(name)
        return encoder

    def load(self, encoder, path, name, *, trainable):
        is_fusion = (Path(path) / "adapter_fusion_config.json").is_file()
        if not is_fusion and not (Path(path) / "adapter_config.json").is_file():
            raise UserError(f"{path} holds no bottleneck adapter (adapter_config.json is missing)")
        encoder = _ensure_init(encoder)
        if is_fusion:
            encoder.load_adapter_fusion(str(path), load_as=name, set_active=False, use_safetensors=True)
        else:
            encoder.load_adapter(str(path), load_as=name, set_active=False, use_safetensors=True)
        if trainable and not is_fusion:
            encoder.train_adapter(name)
        return encoder

    def activate(self, encoder, names, *, train=None, fuse=False):
        from adapters.composition import Fuse, Stack

        if fuse:
            if not names:
                raise UserError("--compose fuse needs at least one --intermediate bottleneck module")
            fusion = Fuse(*names)
            if train:  # a new fusion layer trains; the fused adapters stay frozen
                if encoder.adapters_config.get_fusion(fusion.name)[0] is None:
                    encoder.add_adapter_fusion(fusion)
                encoder.train_adapter_fusion(fusion)
            else:
                encoder.set_active_adapters(fusion)
            return encoder
        if not names:
            return encoder
        if train:
            encoder.train_adapter(train)  # freezes everything but ``train``
        encoder.set_active_adapters(Stack(*names) if len(names) > 1 else names[0])
        return encoder

    # adapters averages bottleneck adapters' parameters ("linear"); its other strategies are for LoRA
    merge_methods = ("linear",)

    def merge(self, encoder, names, merged, weights, *, how=None, density=None, seed=0):
        encoder.average_adapter(merged, list(names), weights=list(weights), normalize_weights=False)
        return encoder

    def save(self, encoder, name, path):
        if "," in name:  # a fusion layer: its name is the comma-joined adapter names
            encoder.save_adapter_fusion(str(path), name, use_safetensors=True)
        else:
            encoder.save_adapter(str(path), name, with_head=False, use_safetensors=True)

    def settings_of(self, path: Path) -> dict[str, Any]:
        if (Path(path) / "adapter_fusion_config.json").is_file():
            return json.loads((Path(path) / "adapter_fusion_config.json").read_text()).get("config", {})
        cfg = json.loads((Path(path) / "adapter_config.json").read_text()).get("config", {})
        return {"config": cfg.get("architecture", "bottleneck"), "reduction_factor": cfg.get("reduction_factor"),
                "non_linearity": cfg.get("non_linearity")}
