"""``stack``: a new module trained on top of the frozen intermediate module(s), all active together
(LoRA: every module's update is added to the same weights; bottleneck: ``adapters``' ``Stack``, each
adapter's output feeding the next). The intermediates are copied into ``RUN/intermediates/``."""
from __future__ import annotations

from adapterstilts.compose.base import (MODULE_EXPR, Composition, adapters_lines, intermediate_folder_expr, peft_lines,
                                        register_composition)


@register_composition
class Stack(Composition):
    name = "stack"
    description = "a new module on top of the frozen intermediate module(s)"
    methods = frozenset({"lora", "bottleneck"})
    copies_intermediates = True
    unsupported_hint = {"full": " (a full fine-tune has no module to stack: use --compose continue)"}

    def build(self, ctx):
        encoder = ctx.encoder
        for run, name in zip(ctx.runs, ctx.names):
            encoder = ctx.method.load(encoder, run.module_dir, name, trainable=False)
        encoder = ctx.method.add(encoder, ctx.module_name, ctx.settings)
        return ctx.method.activate(encoder, ctx.names + [ctx.module_name], train=ctx.module_name), ctx.module_name

    def load(self, ctx):
        below = ctx.load_intermediates()
        name = ctx.load_module()
        return ctx.method.activate(ctx.encoder, below + [name])

    def card_snippet(self, method, entries, manifest):
        below = [(e["module_name"], intermediate_folder_expr(e)) for e in entries]
        names = ", ".join(f'"{n}"' for n, _ in below)
        if method == "lora":
            return peft_lines(below + [("default", MODULE_EXPR)]) + [
                f'model.base_model.set_adapter([{names}, "default"])  # stacked: all LoRA modules active together']
        name = manifest.get("module_name") or manifest.get("task")
        return adapters_lines(below + [(name, MODULE_EXPR)]) + [
            f'model.set_active_adapters(Stack({names}, "{name}"))']
