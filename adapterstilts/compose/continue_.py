"""``continue``: the intermediate module itself keeps training on the target task (with ``--method
full``, the intermediate-trained encoder is fine-tuned further: the paper's X-STILTs). The run's
module is the continued one; nothing else is needed to rebuild it."""
from __future__ import annotations

from adapterstilts.compose.none import NoComposition
from adapterstilts.compose.base import Composition, register_composition


class _Continued(Composition):
    """Start the run's module from the (single) intermediate module, trainable."""

    methods = frozenset({"lora", "bottleneck", "full"})
    min_intermediates = 1
    max_intermediates = 1
    count_hint = " (the module that keeps training)"

    def backbone_path(self, method, runs):
        return str(runs[0].module_dir) if method == "full" else None

    def build(self, ctx):
        if ctx.method.name == "full":  # the encoder was loaded from the intermediate's folder
            return ctx.method.add(ctx.encoder, ctx.module_name, {}), ctx.module_name
        encoder = ctx.method.load(ctx.encoder, ctx.runs[0].module_dir, ctx.module_name, trainable=True)
        return ctx.method.activate(encoder, [ctx.module_name], train=ctx.module_name), ctx.module_name

    def load(self, ctx):
        return NoComposition().load(ctx)

    def card_snippet(self, method, entries, manifest):
        return NoComposition().card_snippet(method, entries, manifest)


@register_composition
class Continue(_Continued):
    name = "continue"
    description = "the intermediate module (or encoder, with full) keeps training on the target"
