"""The frozen (or, with ``--method full``, trained) encoder: loading, quantisation, identity.

The backbone is always the plain encoder (``AutoModel``, for XLM-R an ``XLMRobertaModel`` without
pooler), so saved LoRA modules load onto ``AutoModel.from_pretrained(base)`` with plain peft and
bottleneck modules with plain ``adapters``."""
from __future__ import annotations

import functools
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


# tensors whose values identify a checkpoint: the word embeddings (their first rows) and the first
# layer's query weight; a fine-tune or another pre-training of the same architecture changes both
FINGERPRINT_TENSORS = ("word_embeddings.weight", "layer.0.attention.self.query.weight")
FINGERPRINT_ROWS = 4096


def weights_fingerprint(model: str, revision: str | None = None) -> str | None:
    """Short hash of a few fixed weight tensors of the base model (read from its safetensors file,
    whatever dtype or quantisation it is loaded with), so a module put on another checkpoint of the same
    architecture (same config hash) can be told apart. None when the weights are not in safetensors or
    not available locally (then nothing is compared)."""
    files = _safetensors_files(model, revision)
    if not files:
        return None
    key = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(set(files.values())))
    return _fingerprint_of(key, tuple(sorted(files.items())))


def _safetensors_files(model: str, revision: str | None) -> dict[str, "os.PathLike"]:
    """tensor name -> the safetensors file holding it (one file, or the shards of an index)."""
    from pathlib import Path

    def local(name: str) -> Path | None:
        folder = Path(model).expanduser()
        if folder.is_dir():
            return folder / name if (folder / name).is_file() else None
        try:
            from huggingface_hub import try_to_load_from_cache

            found = try_to_load_from_cache(model, name, revision=revision)
        except Exception:  # an id the cache cannot hold: nothing to compare
            return None
        return Path(found) if isinstance(found, str) else None

    try:
        single = local("model.safetensors")
        if single is not None:
            from safetensors import safe_open

            with safe_open(str(single), framework="pt") as handle:
                return {name: single for name in handle.keys()}
        index = local("model.safetensors.index.json")
        if index is not None:
            weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
            shards = {shard: local(shard) for shard in set(weight_map.values())}
            if all(shards.values()):
                return {name: shards[shard] for name, shard in weight_map.items()}
    except (OSError, ValueError, KeyError, TypeError):  # unreadable: nothing to compare
        return None
    return None


@functools.lru_cache(maxsize=16)
def _fingerprint_of(key: tuple, files: tuple) -> str | None:
    import torch
    from safetensors import safe_open

    names = sorted(dict(files))
    # (tensor, the name it is hashed under): a suffix, so "roberta." prefixes of a task model do not count
    chosen = [(next((n for n in names if n.endswith(suffix)), None), suffix) for suffix in FINGERPRINT_TENSORS]
    chosen = [(n, label) for n, label in chosen if n] or [(n, n) for n in names[:2]]  # other naming: first tensors
    digest = hashlib.sha256()
    location = dict(files)
    try:
        for name, label in chosen:
            with safe_open(str(location[name]), framework="pt") as handle:
                piece = handle.get_slice(name)
                shape = piece.get_shape()
                tensor = piece[:FINGERPRINT_ROWS] if shape else handle.get_tensor(name)
            digest.update(f"{label}:{list(shape)}".encode())
            digest.update(tensor.to(torch.float32).contiguous().numpy().tobytes())
    except (OSError, ValueError, RuntimeError):  # a truncated or odd file: nothing to compare
        return None
    return digest.hexdigest()[:16]


def architecture(config) -> dict:
    return {k: getattr(config, k, None) for k in ARCHITECTURE_KEYS}


def quantization_device() -> str:
    """Where a k-bit backbone lives: the GPU when there is one, else the CPU (bitsandbytes >= 0.48)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def check_quantization_possible(options: BackboneOptions) -> None:
    """Fail before any work when k-bit loading cannot work on this machine.

    bitsandbytes quantises on CUDA GPUs and, from 0.48 on, on the CPU too (slowly: meant for tests and
    small models). Rather than guessing from version numbers, quantise a tiny tensor on the device the
    backbone would use, the way loading will."""
    if not options.quantized:
        return
    flag = "--load-in-8bit" if options.load_in_8bit else "--load-in-4bit"
    try:
        import bitsandbytes  # noqa: F401
    except Exception as exc:  # ImportError, or a broken CUDA setup inside bitsandbytes
        raise UserError(f"{flag} needs bitsandbytes, which could not be imported ({type(exc).__name__}); "
                        "install it with `pip install 'adapterstilts[quant]'`") from exc
    device = quantization_device()
    problem = _quantization_probe(options.load_in_8bit, device)
    if problem:
        raise UserError(f"{flag}: bitsandbytes cannot quantise on this machine's {device.upper()} ({problem}); "
                        "use a CUDA GPU, upgrade bitsandbytes (`pip install 'adapterstilts[quant]'`), "
                        "or drop the flag to train in full precision")


def _quantization_probe(eight_bit: bool, device: str) -> str | None:
    """None when bitsandbytes quantises a small matrix on ``device``, else a short reason."""
    import torch

    try:
        import bitsandbytes.functional as bnbf

        sample = torch.randn(64, 64, device=device, dtype=torch.float16 if device == "cuda" else torch.float32)
        if eight_bit:
            bnbf.int8_vectorwise_quant(sample)
        else:
            bnbf.quantize_4bit(sample, quant_type="nf4")
    except Exception as exc:  # any backend failure means loading would fail the same way
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}" if str(exc) else type(exc).__name__
    return None


def _check_local(model: str, revision: str | None = None) -> None:
    """A local folder must exist; a Hub id must be cached or the Hub reachable (fail fast offline)."""
    from pathlib import Path

    from adapterstilts.network import hub_reachable, model_cached, offline

    looks_local = model.startswith((".", "/", "~")) or model.count("/") > 1 or Path(model).exists()
    if looks_local:
        if not Path(model).expanduser().is_dir():
            raise UserError(f"model folder {model!r} does not exist; pass --model with a Hub id or an existing folder "
                            "(`adapterstilts make-tiny-model DIR` builds an offline one)")
        _check_weights(Path(model).expanduser())
        return
    if offline() and not model_cached(model, revision=revision):
        raise UserError(f"{model!r} is not in the local Hugging Face cache and offline mode is on (HF_HUB_OFFLINE): "
                        "unset it to download, or pass --model DIR with a local copy "
                        "(`adapterstilts make-tiny-model DIR` builds an offline one)")
    if not offline() and not model_cached(model, revision=revision) and not hub_reachable():
        raise UserError(f"cannot reach the Hugging Face Hub to download {model!r} and it is not in the local cache; "
                        "connect once to cache it, or pass --model DIR with a local copy "
                        "(`adapterstilts make-tiny-model DIR` builds an offline one)")


def _unreadable_weights(file) -> UserError:
    return UserError(f"{file} is not a readable safetensors file (truncated or corrupt); download / build the "
                     "model again")


def _check_weights(folder) -> None:
    """A local model's safetensors files have whole headers (a truncated download or copy is named now,
    not a SafetensorError traceback once the model loads). Reads headers only."""
    from safetensors import safe_open

    for file in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(str(file), framework="pt"):
                pass
        except Exception as exc:  # SafetensorError (header), OSError: unreadable either way
            raise _unreadable_weights(file) from exc


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
        if quantization_device() == "cuda":
            kwargs["device_map"] = {"": int(os.environ.get("LOCAL_RANK", torch.cuda.current_device()))}
        else:
            kwargs["device_map"] = {"": "cpu"}
    from safetensors import SafetensorError

    try:
        encoder = AutoModel.from_pretrained(source, **kwargs)
    except SafetensorError as exc:  # a cached Hub file (a local folder's are checked in _check_local)
        raise UserError(f"model {source!r} has a safetensors file that is not readable (truncated or corrupt: "
                        f"{str(exc).splitlines()[0][:120]}); download / build the model again") from exc
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load model {source!r} ({str(exc).splitlines()[0][:160]}); pass --model DIR with a "
                        "local model folder") from exc
    if options.quantized:
        encoder = _prepare_kbit(encoder, options)
    elif options.gradient_checkpointing:
        encoder.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        encoder.enable_input_require_grads()
    for p in encoder.parameters():
        p.requires_grad = trainable
    return encoder


def _prepare_kbit(encoder, options: BackboneOptions):
    """peft's k-bit training preparation (freeze, layer norms and biases in fp32, input gradients for
    checkpointing), with two changes that matter for memory at XLM-R Large shapes:

    - gradient checkpointing is the reentrant kind: bitsandbytes' 8-bit matmul keeps its input on the
      autograd context rather than saving it for backward, so non-reentrant checkpointing (which
      works through saved-tensor hooks) frees nothing there; the reentrant kind runs the forward
      without a graph, so those inputs go (8-bit LoRA at batch 32 x 256, CPU stand-in: 12.4 -> 4.6 GiB;
      docs/benchmarks.md);
    - the word embeddings stay in the 16 bits bitsandbytes loaded them in: peft upcasts them to fp32,
      which for XLM-R's 250k x 1024 matrix adds 0.5 GB and gains nothing (the frozen lookup holds only
      16-bit values; its sum with the fp32 position embeddings is fp32 again)."""
    from peft import prepare_model_for_kbit_training

    embeddings = encoder.get_input_embeddings()
    loaded_dtype = embeddings.weight.dtype
    encoder = prepare_model_for_kbit_training(
        encoder, use_gradient_checkpointing=options.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": True},
    )
    if embeddings.weight.dtype != loaded_dtype:
        embeddings.weight.data = embeddings.weight.data.to(loaded_dtype)
    return encoder
