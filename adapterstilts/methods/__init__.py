"""Training methods (LoRA, bottleneck adapters, full fine-tune). Importing registers them."""
from adapterstilts.methods.base import METHODS, Method, get_method, register_method, trainable_parameters
from adapterstilts.methods import bottleneck, full, lora  # noqa: F401,E402

__all__ = ["METHODS", "Method", "get_method", "register_method", "trainable_parameters"]
