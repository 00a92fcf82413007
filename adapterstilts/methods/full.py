"""Full fine-tuning: every encoder weight trains; the module is the whole encoder, saved with
``save_pretrained`` (safetensors) so ``AutoModel.from_pretrained(folder)`` loads it."""
from __future__ import annotations

from adapterstilts.errors import UserError
from adapterstilts.methods.base import Method, register_method


@register_method
class Full(Method):
    name = "full"
    default_lr = 1e-5
    library = "transformers"

    def add(self, encoder, name, settings):
        for p in encoder.parameters():
            p.requires_grad = True
        return encoder

    def load(self, encoder, path, name, *, trainable):
        raise UserError("a full fine-tune is loaded as the backbone itself, not on top of one")  # see modeling

    def activate(self, encoder, names, *, train=None, fuse=False):
        return encoder

    def set_trainable(self, encoder, name):
        for p in encoder.parameters():
            p.requires_grad = True

    def save(self, encoder, name, path):
        encoder.save_pretrained(str(path), safe_serialization=True)
