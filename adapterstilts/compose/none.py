"""``none``: one new module on the plain backbone (the baseline of every table), or, with
``--method full``, the whole encoder fine-tuned from the base model."""
from __future__ import annotations

from adapterstilts.compose.base import MODULE_EXPR, Composition, adapters_lines, peft_lines, register_composition


@register_composition
class NoComposition(Composition):
    name = "none"
    description = "a new module on the plain backbone (the baseline)"
    methods = frozenset({"lora", "bottleneck", "full"})
    min_intermediates = 0
    max_intermediates = 0
    count_hint = " (to build on intermediate modules pass --compose stack, fuse, merge or continue)"

    def build(self, ctx):
        encoder = ctx.method.add(ctx.encoder, ctx.module_name, ctx.settings)
        return ctx.method.activate(encoder, [ctx.module_name], train=ctx.module_name), ctx.module_name

    def load(self, ctx):
        name = ctx.load_module()
        return ctx.method.activate(ctx.encoder, [name])

    def row_label(self, intermediates):
        return "none"

    def card_snippet(self, method, entries, manifest):
        if method == "lora":
            return peft_lines([("default", MODULE_EXPR)])
        name = manifest.get("module_name") or manifest.get("task")
        return adapters_lines([(name, MODULE_EXPR)]) + [f'model.set_active_adapters("{name}")']
