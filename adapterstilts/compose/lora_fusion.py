"""LoRA fusion: a learned, layer-wise combination of K frozen intermediate LoRA modules.

In every adapted layer the K updates are weighted by a gate and summed,

    h = W x + sum_k g_k(x) * s_k * B_k A_k x,      g = softmax(z / T)

with one of two gates (``--fusion-gate``):

- ``layer`` (default): z is a learned vector of K logits per adapted layer, the same for every token.
  Cheap (K numbers a layer), stable on small target data, and readable: the weights say which module
  each layer relies on.
- ``input``: z = x W_g + b_g per token (a K-way linear gate on the layer's input), the gating of MoLE
  (Mixture of LoRA Experts, Wu et al. 2024, arXiv 2404.13628), which conditions the mixture on the
  input; more parameters (d x K a layer) and more data needed.

Both start uniform (zero logits), i.e. from the average of the modules. The gates train with the
target's head; the intermediate modules stay frozen. They are saved as ``fusion.safetensors`` with
``fusion_config.json`` (gate kind, module names, temperature, the layers) in the run's module folder,
beside the intermediates copied into ``RUN/intermediates/``; the model card shows the plain peft +
torch code that rebuilds the same forward (``card_lines``)."""
from __future__ import annotations

import json
import types
from pathlib import Path

import torch
from torch import nn

CONFIG_FILE = "fusion_config.json"
WEIGHTS_FILE = "fusion.safetensors"
GATES = ("layer", "input")


def lora_layers(encoder, names: list[str]) -> dict[str, nn.Module]:
    """The peft LoRA layers (by module path in the peft model) that hold every one of ``names``."""
    return {path: m for path, m in encoder.named_modules()
            if hasattr(m, "lora_A") and hasattr(m, "base_layer") and all(n in m.lora_A for n in names)}


class FusionGates(nn.Module):
    """One gate per adapted layer; parameter names are the layer paths with "." as "__"."""

    def __init__(self, layers: dict[str, nn.Module], k: int, gate: str, temperature: float = 1.0):
        super().__init__()
        self.gate, self.temperature, self.paths = gate, temperature, list(layers)
        if gate == "layer":
            self.logits = nn.ParameterDict({_key(p): nn.Parameter(torch.zeros(k)) for p in layers})
        else:
            self.linears = nn.ModuleDict({_key(p): nn.Linear(m.base_layer.in_features, k) for p, m in layers.items()})
            for linear in self.linears.values():
                nn.init.zeros_(linear.weight)
                nn.init.zeros_(linear.bias)

    def weights(self, path: str, x: torch.Tensor) -> torch.Tensor:
        """Gate weights for layer ``path``: shape (K,) for a layer gate, (..., K) per token for an input gate."""
        if self.gate == "layer":
            z = self.logits[_key(path)]
        else:
            linear = self.linears[_key(path)]
            z = nn.functional.linear(x.to(linear.weight.dtype), linear.weight, linear.bias)
        return torch.softmax(z / self.temperature, dim=-1)

    def tensors(self) -> dict[str, torch.Tensor]:
        """Safetensors keys: the layer path (+ ".weight" / ".bias" for an input gate)."""
        out = {}
        for path in self.paths:
            if self.gate == "layer":
                out[path] = self.logits[_key(path)].detach().contiguous().cpu()
            else:
                linear = self.linears[_key(path)]
                out[f"{path}.weight"] = linear.weight.detach().contiguous().cpu()
                out[f"{path}.bias"] = linear.bias.detach().contiguous().cpu()
        return out

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        with torch.no_grad():
            for path in self.paths:
                if self.gate == "layer":
                    self.logits[_key(path)].copy_(tensors[path])
                else:
                    self.linears[_key(path)].weight.copy_(tensors[f"{path}.weight"])
                    self.linears[_key(path)].bias.copy_(tensors[f"{path}.bias"])


def _key(path: str) -> str:
    return path.replace(".", "__")


def install(encoder, names: list[str], gate: str = "layer", temperature: float = 1.0) -> FusionGates:
    """Replace the forward of every LoRA layer holding ``names`` by the gated sum of their updates, and
    attach the (trainable) gates to the encoder as ``encoder.lora_fusion``."""
    layers = lora_layers(encoder, names)
    if not layers:
        raise ValueError(f"no LoRA layer holds all of {names}")
    gates = FusionGates(layers, len(names), gate, temperature)
    device = next(encoder.parameters()).device
    gates.to(device)
    for path, layer in layers.items():
        layer.forward = types.MethodType(_fused_forward(gates, path, list(names)), layer)
    encoder.lora_fusion = gates
    return gates


def _fused_forward(gates: FusionGates, path: str, names: list[str]):
    def forward(layer, x, *args, **kwargs):
        result = layer.base_layer(x, *args, **kwargs)
        weights = gates.weights(path, x)
        for k, name in enumerate(names):
            dropped = layer.lora_dropout[name](x.to(layer.lora_A[name].weight.dtype))
            delta = layer.lora_B[name](layer.lora_A[name](dropped)) * layer.scaling[name]
            result = result + (weights[..., k:k + 1] if weights.dim() > 1 else weights[k]) * delta.to(result.dtype)
        return result

    return forward


def save(gates: FusionGates, names: list[str], folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(gates.tensors(), str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    config = {"type": "lora_fusion", "gate": gates.gate, "temperature": gates.temperature, "names": list(names),
              "layers": gates.paths}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")


def load(encoder, folder: Path) -> FusionGates:
    from safetensors.torch import load_file

    config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    gates = install(encoder, config["names"], config["gate"], config.get("temperature", 1.0))
    gates.load_tensors(load_file(str(folder / WEIGHTS_FILE)))
    for p in gates.parameters():
        p.requires_grad = False
    return gates


def mean_weights(gates: FusionGates) -> list[float]:
    """The gate weights of a layer gate averaged over layers (for reports and tests)."""
    with torch.no_grad():
        stacked = torch.stack([torch.softmax(gates.logits[_key(p)] / gates.temperature, -1) for p in gates.paths])
    return stacked.mean(0).tolist()


def card_lines() -> list[str]:
    """Plain peft + torch code (after the intermediates are loaded into ``model``) that applies the
    saved gates exactly as ``install`` does."""
    return [
        'fusion = json.load(open(os.path.join(path, "module", "fusion_config.json")))',
        'gates = load_file(os.path.join(path, "module", "fusion.safetensors"))',
        "",
        "def fused(layer, key):  # the gated sum of the intermediate LoRA updates",
        "    def forward(x, *args, **kwargs):",
        "        out = layer.base_layer(x, *args, **kwargs)",
        '        if fusion["gate"] == "layer":',
        "            z = gates[key]",
        "        else:",
        '            z = torch.nn.functional.linear(x, gates[key + ".weight"], gates[key + ".bias"])',
        '        w = torch.softmax(z / fusion["temperature"], dim=-1)',
        '        for k, name in enumerate(fusion["names"]):',
        "            delta = layer.lora_B[name](layer.lora_A[name](x)) * layer.scaling[name]",
        "            out = out + (w[..., k:k + 1] if w.dim() > 1 else w[k]) * delta",
        "        return out",
        "    return forward",
        "",
        'for key in fusion["layers"]:',
        "    layer = model.get_submodule(key)",
        "    layer.forward = fused(layer, key)",
    ]
