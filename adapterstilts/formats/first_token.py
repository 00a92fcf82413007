"""The last encoder layer at the first token only, for formats whose head reads nothing but ``<s>``
(sentence classification, multiple choice).

A transformer layer mixes tokens only in its attention; everything after it (attention output
projection, residual + LayerNorm, feed-forward, adapters on those outputs) is per token. So the
``<s>`` row of the last layer's output needs the query of ``<s>`` only, against the keys and values of
all tokens. :func:`first_token_encode` runs the last layer that way: it calls the layer's own
self-attention module as cross-attention (queries from ``hidden[:, :1]``, keys and values from
``hidden``, the attention mask's first query row) and its own output, intermediate and output modules
on that one row, so LoRA (peft) on query / key / value, bottleneck adapters and fusion (``adapters``)
on the outputs all run as they are. Same maths as the full layer for the ``<s>`` row (tests/
test_speed_paths.py: logits, loss and gradients within 1e-5); it skips, in forward and backward, the
last layer's query projection, attention, output projection and feed-forward for every other token:
about 10/12 of the last layer's matmul FLOPs (on 4 layers ~21 % of the encoder's, on 24 ~3.5 %).

Where the layer is not one this module knows (another architecture, relative position embeddings,
gradient checkpointing, a decoder, prefix tuning or prompt tuning, which add key / value rows or
tokens), the plain forward runs. ``ADAPTERSTILTS_FULL_LAST_LAYER=1`` turns the shortcut off."""
from __future__ import annotations

import functools
import inspect
import os

import torch
from torch import nn

ENV_OFF = "ADAPTERSTILTS_FULL_LAST_LAYER"
# Post-LayerNorm encoder layers whose forward is attention -> output -> intermediate -> output. Not
# XLM-R XL / XXL (XLMRobertaXLLayer): pre-LayerNorm, its LayerNorms sit in forward paths this module skips.
_KNOWN_LAYERS = ("XLMRobertaLayer", "RobertaLayer", "BertLayer", "CamembertLayer")
_KNOWN_ATTENTION = ("XLMRobertaAttention", "RobertaAttention", "BertAttention", "CamembertAttention")


def enabled() -> bool:
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("1", "true", "yes")


def _base(encoder: nn.Module) -> nn.Module:
    get = getattr(encoder, "get_base_model", None)  # peft
    return get() if callable(get) else encoder


def last_layer(encoder: nn.Module) -> nn.Module | None:
    """The encoder's last transformer layer when it can run at the first token only, else None."""
    base = _base(encoder)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    config = getattr(base, "config", None)
    if not isinstance(layers, nn.ModuleList) or not len(layers) or config is None:
        return None
    layer = layers[-1]
    attention = getattr(layer, "attention", None)
    if not (_defined_by(type(layer), "forward", _KNOWN_LAYERS)
            and _defined_by(type(layer), "feed_forward_chunk", _KNOWN_LAYERS)
            and _defined_by(type(attention), "forward", _KNOWN_ATTENTION)):
        return None  # an unknown layer, or a subclass that overrides what this module re-implements
    self_attention = getattr(attention, "self", None)
    if self_attention is None or not all(hasattr(layer, n) for n in ("intermediate", "output")):
        return None
    if getattr(config, "is_decoder", False) or getattr(layer, "gradient_checkpointing", False):
        return None
    if getattr(self_attention, "position_embedding_type", "absolute") != "absolute":
        return None  # relative positions depend on the query positions
    if not _takes_cross_attention(type(self_attention)):
        return None  # a transformers version whose self-attention takes no separate key / value states
    if getattr(layer, "chunk_size_feed_forward", 0):
        return None
    adapters_config = getattr(base, "adapters_config", None)
    if adapters_config is not None and not _only_token_wise_adapters(base, adapters_config):
        return None
    return layer


def _defined_by(cls: type, name: str, known: tuple[str, ...]) -> bool:
    """True when ``cls.<name>`` is the method of one of the ``known`` transformers classes (not an override)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass.__name__ in known
    return False


@functools.lru_cache(maxsize=None)
def _takes_cross_attention(cls) -> bool:
    try:
        return "encoder_hidden_states" in inspect.signature(cls.forward).parameters
    except (TypeError, ValueError):
        return False


def _only_token_wise_adapters(base: nn.Module, adapters_config) -> bool:
    """True when every adapter the ``adapters`` library holds acts per token on layer outputs
    (bottleneck adapters, fusion of them); prefix tuning, prompt tuning, ReFT etc. are not."""
    try:
        from adapters import AdapterConfig, BnConfig, ConfigUnion

        for name in list(adapters_config.adapters):
            config = adapters_config.get(name)
            if isinstance(config, dict):
                config = AdapterConfig.load(config)
            parts = config.configs if isinstance(config, ConfigUnion) else [config]
            if not all(isinstance(part, BnConfig) for part in parts):
                return False
    except Exception:  # an adapters version this code does not know: take the plain path
        return False
    return True


def _first_token_layer_forward(layer: nn.Module):
    def forward(hidden_states, attention_mask=None, head_mask=None, encoder_hidden_states=None,
                encoder_attention_mask=None, past_key_values=None, output_attentions=False, cache_position=None,
                **kwargs):
        # contiguous: a strided 3-D input makes nn.Linear take a path that depends on whether its weight
        # requires grad, so a trained model and the same weights reloaded frozen would differ in the last bit
        first = hidden_states[:, :1].contiguous()
        mask = attention_mask
        if mask is not None and mask.dim() == 4 and mask.shape[-2] > 1:
            mask = mask[:, :, :1, :]  # the first query's row of an expanded [batch, 1, query, key] mask
        context = layer.attention.self(first, attention_mask=mask, head_mask=head_mask,
                                       encoder_hidden_states=hidden_states, output_attentions=output_attentions)
        attention_output = layer.attention.output(context[0], first)
        layer_output = layer.output(layer.intermediate(attention_output), attention_output)
        return (layer_output,) + tuple(context[1:])

    return forward


class _FirstTokenLastLayer:
    """Within the block, the layer computes (and returns) the first token's row only."""

    def __init__(self, layer: nn.Module | None):
        self.layer = layer

    def __enter__(self):
        if self.layer is not None:
            self.layer.forward = _first_token_layer_forward(self.layer)
        return self.layer is not None

    def __exit__(self, *exc):
        if self.layer is not None and "forward" in vars(self.layer):
            del self.layer.forward  # the class's forward again
        return False


def first_token_encode(encoder: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The last hidden state at the first token, ``[batch, hidden]``: the same values as
    ``encode(encoder, batch)[:, 0]``, with the last layer computed at that token only when it can be."""
    from adapterstilts.formats.base import encode

    layer = last_layer(encoder) if enabled() else None
    if layer is not None and "forward" in vars(layer):
        layer = None  # someone else patched this layer's forward: leave it alone
    with _FirstTokenLastLayer(layer):
        hidden = encode(encoder, batch)
    return hidden[:, 0]
