"""The frozen (or, with ``--method full``, trained) encoder: loading, quantisation, identity.

The backbone is always the plain encoder (``AutoModel``, for XLM-R an ``XLMRobertaModel`` without
pooler), so saved LoRA modules load onto ``AutoModel.from_pretrained(base)`` with plain peft and
bottleneck modules with plain ``adapters``."""
from __future__ import annotations

import hashlib
import os
import json
from dataclasses import dataclass

from adapterstilts.errors import UserError

DEFAULT_MODEL = "FacebookAI/xlm-roberta-large"
ARCHITECTURE_KEYS = (
    "model_type", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size",
    "max_position_embeddings", "type_vocab_size",
)


@dataclass(frozen=True)
class BackboneOptions:
    model: str = DEFAULT_MODEL
    revision: str | None = None
    load_in_8bit: bool = False
    load_in_4bit: bool = False
    bf16: bool = False
    fp16: bool = False
    gradient_checkpointing: bool = False

    @property
    def quantized(self) -> bool:
        return self.load_in_8bit or self.load_in_4bit

    def validate(self) -> None:
        if self.load_in_8bit and self.load_in_4bit:
            raise UserError("--load-in-8bit and --load-in-4bit exclude each other; pick one")
        if self.bf16 and self.fp16:
            raise UserError("--bf16 and --fp16 exclude each other; pick one")


def config_fingerprint(config) -> str:
    """Short hash of the architecture fields that decide whether a module fits a backbone."""
    fields = {k: getattr(config, k, None) for k in ARCHITECTURE_KEYS}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def architecture(config) -> dict:
    return {k: getattr(config, k, None) for k in ARCHITECTURE_KEYS}


def check_quantization_possible(options: BackboneOptions) -> None:
    """Fail before any work when k-bit loading cannot work on this machine."""
    if not options.quantized:
        return
    flag = "--load-in-8bit" if options.load_in_8bit else "--load-in-4bit"
    import torch

    if not torch.cuda.is_available():
        raise UserError(f"{flag} needs a CUDA GPU (bitsandbytes quantises on the GPU) and none is available; "
                        "drop the flag to train in full precision on this machine")
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:  # ImportError, or a broken CUDA setup inside bitsandbytes
        raise UserError(f"{flag} needs bitsandbytes, which could not be imported ({type(exc).__name__}); "
                        "install it with `pip install 'adapterstilts[quant]'`") from exc


def _check_local(model: str, revision: str | None = None) -> None:
    """A local folder must exist; a Hub id must be cached or the Hub reachable (fail fast offline)."""
    from pathlib import Path

    from adapterstilts.network import hub_reachable, model_cached, offline

    looks_local = model.startswith((".", "/", "~")) or model.count("/") > 1 or Path(model).exists()
    if looks_local:
        if not Path(model).expanduser().is_dir():
            raise UserError(f"model folder {model!r} does not exist; pass --model with a Hub id or an existing folder "
                            "(`adapterstilts make-tiny-model DIR` builds an offline one)")
        return
    if offline() and not model_cached(model, revision=revision):
        raise UserError(f"{model!r} is not in the local Hugging Face cache and offline mode is on (HF_HUB_OFFLINE): "
                        "unset it to download, or pass --model DIR with a local copy "
                        "(`adapterstilts make-tiny-model DIR` builds an offline one)")
    if not offline() and not model_cached(model, revision=revision) and not hub_reachable():
        raise UserError(f"cannot reach the Hugging Face Hub to download {model!r} and it is not in the local cache; "
                        "connect once to cache it, or pass --model DIR with a local copy "
                        "(`adapterstilts make-tiny-model DIR` builds an offline one)")


def load_config(model: str, revision: str | None = None):
    from transformers import AutoConfig

    _check_local(model, revision)
    try:
        return AutoConfig.from_pretrained(model, revision=revision)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load model config {model!r} ({str(exc).splitlines()[0][:160]}); pass --model DIR "
                        "with a local model folder, or connect to the Hub (`adapterstilts make-tiny-model DIR` "
                        "builds an offline one)") from exc


def load_tokenizer(model: str, revision: str | None = None):
    from transformers import AutoTokenizer

    _check_local(model, revision)
    try:
        return AutoTokenizer.from_pretrained(model, revision=revision, use_fast=True)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load the tokenizer of {model!r} ({str(exc).splitlines()[0][:160]}); pass --model "
                        "DIR with a local model folder") from exc


def load_encoder(options: BackboneOptions, *, path: str | None = None, trainable: bool = False):
    """Load the encoder (from ``path`` when given, e.g. a full fine-tune's saved encoder)."""
    import torch
    from transformers import AutoModel

    options.validate()
    check_quantization_possible(options)
    source = path or options.model
    kwargs: dict = {"revision": None if path else options.revision}
    config = load_config(source, kwargs["revision"])
    if config.model_type in ("xlm-roberta", "roberta", "bert", "xlm-roberta-xl"):
        kwargs["add_pooling_layer"] = False
    if options.quantized:
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if options.bf16 else (torch.float16 if options.fp16 else torch.float32)
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_8bit=options.load_in_8bit, load_in_4bit=options.load_in_4bit,
            bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute, bnb_4bit_use_double_quant=True,
        )
        # each process of a multi-GPU launch loads onto its own GPU (LOCAL_RANK is set by accelerate / torchrun)
        kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", torch.cuda.current_device()))}
    try:
        encoder = AutoModel.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load model {source!r} ({str(exc).splitlines()[0][:160]}); pass --model DIR with a "
                        "local model folder") from exc
    if options.quantized:
        from peft import prepare_model_for_kbit_training

        encoder = prepare_model_for_kbit_training(
            encoder, use_gradient_checkpointing=options.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif options.gradient_checkpointing:
        encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        encoder.enable_input_require_grads()
    for p in encoder.parameters():
        p.requires_grad = trainable
    return encoder
