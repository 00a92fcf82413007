"""Training methods (LoRA, bottleneck adapters, full fine-tune). Importing registers them."""
from adapterstilts.modules.base import METHODS, Method, get_method, register_method, trainable_parameters
from adapterstilts.modules import bottleneck, full, lora  # noqa: F401,E402

__all__ = ["METHODS", "Method", "get_method", "register_method", "trainable_parameters"]
