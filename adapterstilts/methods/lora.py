"""LoRA through peft. The trained module of a run is always peft's "default" adapter, so the saved
folder (``adapter_config.json`` + ``adapter_model.safetensors``) loads with plain
``PeftModel.from_pretrained(AutoModel.from_pretrained(base), folder)``. Intermediate modules stacked
under it are loaded frozen under their own names and stay active during training and evaluation."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from adapterstilts.errors import UserError
from adapterstilts.methods.base import Method, register_method

TRAINED = "default"
DEFAULTS = {"r": 8, "alpha": 16, "dropout": 0.1, "target_modules": ["query", "value"]}


def _is_peft(model) -> bool:
    from peft import PeftModel

    return isinstance(model, PeftModel)


@register_method
class LoRA(Method):
    name = "lora"
    default_lr = 3e-4  # LoRA paper (Hu et al. 2021), RoBERTa-large on MNLI/QQP with r=8, alpha=16 (GLUE: 2e-4..4e-4)
    library = "peft"

    def add(self, encoder, name, settings):
        from peft import LoraConfig, get_peft_model

        s = {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}}
        config = LoraConfig(r=int(s["r"]), lora_alpha=int(s["alpha"]), lora_dropout=float(s["dropout"]),
                            target_modules=list(s["target_modules"]), bias="none")
        if _is_peft(encoder):
            encoder.add_adapter(TRAINED, config)
            return encoder
        return get_peft_model(encoder, config, adapter_name=TRAINED)

    def load(self, encoder, path, name, *, trainable):
        from peft import PeftModel

        if not (Path(path) / "adapter_config.json").is_file():
            raise UserError(f"{path} holds no peft LoRA module (adapter_config.json is missing)")
        label = TRAINED if trainable else name
        if _is_peft(encoder) and label in encoder.peft_config:
            raise UserError(f"two LoRA modules are both named {label!r}; give each intermediate its own task")
        if _is_peft(encoder):
            encoder.load_adapter(str(path), adapter_name=label, is_trainable=trainable)
            return encoder
        return PeftModel.from_pretrained(encoder, str(path), adapter_name=label, is_trainable=trainable)

    def activate(self, encoder, names, *, train=None, fuse=False):
        if fuse:
            raise UserError("--compose fuse needs bottleneck adapters (AdapterFusion has no LoRA version yet); "
                            "use --method bottleneck, or --compose stack with LoRA")
        if not names:
            return encoder
        encoder.base_model.set_adapter(list(names), inference_mode=train is None)
        frozen = [n for n in names if n != train]
        for param_name, param in encoder.named_parameters():
            if "lora_" in param_name and any(f".{n}." in param_name or param_name.endswith(f".{n}") for n in frozen):
                param.requires_grad = False
        return encoder

    # peft's add_weighted_adapter: "cat" concatenates the low-rank factors, so the merged update is
    # exactly sum_i w_i * B_i A_i; "linear" adds sqrt(w_i * scale_i)-weighted factors (same ranks); "ties",
    # "dare_linear", "dare_ties" and "magnitude_prune" prune each factor to ``density`` first
    merge_methods = ("cat", "linear", "ties", "dare_linear", "dare_ties", "magnitude_prune")

    def merge(self, encoder, names, merged, weights, *, how=None, density=None, seed=0):
        import torch

        how = how or self.merge_methods[0]
        with torch.random.fork_rng(devices=[]):  # DARE's random pruning: the same masks when rebuilt
            torch.manual_seed(seed)
            try:
                encoder.base_model.add_weighted_adapter(list(names), list(weights), merged, combination_type=how,
                                                        density=density)
            except ValueError as exc:  # e.g. "linear" over modules of different ranks
                raise UserError(f"--merge-method {how} cannot merge these modules ({str(exc).splitlines()[0]}); use "
                                "--merge-method cat, which merges modules of any rank exactly") from None
        return encoder

    def save(self, encoder, name, path):
        encoder.save_pretrained(str(path), selected_adapters=[TRAINED], safe_serialization=True)

    def settings_of(self, path: Path) -> dict[str, Any]:
        cfg = json.loads((Path(path) / "adapter_config.json").read_text())
        return {"r": cfg.get("r"), "alpha": cfg.get("lora_alpha"), "dropout": cfg.get("lora_dropout"),
                "target_modules": sorted(cfg.get("target_modules") or [])}
