"""``fuse``: an AdapterFusion layer (Pfeiffer et al. 2021) learns, per layer, attention over the
outputs of several frozen intermediate bottleneck adapters; the fusion layer is the run's module.
``adapters`` has no fusion for LoRA modules, so LoRA is refused with a one-line error."""
from __future__ import annotations

from adapterstilts.compose.base import (MODULE_EXPR, Composition, adapters_lines, intermediate_folder_expr,
                                        register_composition)


@register_composition
class Fuse(Composition):
    name = "fuse"
    description = "an AdapterFusion layer over several frozen intermediate adapters"
    methods = frozenset({"bottleneck"})
    min_intermediates = 2
    copies_intermediates = True
    combined_row = "fusion"
    count_hint = " (fusion weighs several modules; with one, use --compose stack)"
    unsupported_hint = {"lora": " (AdapterFusion exists for bottleneck adapters only: use --method bottleneck)",
                        "full": " (AdapterFusion exists for bottleneck adapters only: use --method bottleneck)"}

    def build(self, ctx):
        encoder = ctx.encoder
        for run, name in zip(ctx.runs, ctx.names):
            encoder = ctx.method.load(encoder, run.module_dir, name, trainable=False)
        fusion = ",".join(ctx.names)
        return ctx.method.activate(encoder, ctx.names, train=fusion, fuse=True), fusion

    def load(self, ctx):
        below = ctx.load_intermediates()
        ctx.load_module()
        return ctx.method.activate(ctx.encoder, below, fuse=True)

    def card_snippet(self, method, entries, manifest):
        below = [(e["module_name"], intermediate_folder_expr(e)) for e in entries]
        return adapters_lines(below) + [
            f"model.load_adapter_fusion({MODULE_EXPR}, set_active=True, use_safetensors=True)"]
