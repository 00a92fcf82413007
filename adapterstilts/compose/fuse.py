"""``fuse``: a learned combination of several frozen intermediate modules; the fusion is the run's module.

- bottleneck: AdapterFusion (Pfeiffer et al. 2021) learns, per layer, attention over the adapters'
  outputs (``adapters``' ``Fuse``);
- LoRA: a gate per adapted layer over the K LoRA updates (compose/lora_fusion.py: ``--fusion-gate
  layer`` or ``input``, after MoLE), trained with the target's head.

A full fine-tune has no modules to fuse."""
from __future__ import annotations

from adapterstilts.compose import lora_fusion
from adapterstilts.compose.base import (MODULE_EXPR, Composition, adapters_lines, intermediate_folder_expr, peft_lines,
                                        register_composition)


@register_composition
class Fuse(Composition):
    name = "fuse"
    description = "an AdapterFusion layer over several frozen intermediate adapters"
    methods = frozenset({"bottleneck", "lora"})
    min_intermediates = 2
    copies_intermediates = True
    combined_row = "fusion"
    count_hint = " (fusion weighs several modules; with one, use --compose stack)"
    unsupported_hint = {"full": " (a full fine-tune has no modules to fuse: use --method lora or bottleneck)"}

    def build(self, ctx):
        encoder = ctx.encoder
        for run, name in zip(ctx.runs, ctx.names):
            encoder = ctx.method.load(encoder, run.module_dir, name, trainable=False)
        fusion = ",".join(ctx.names)
        if ctx.method.name == "lora":
            encoder = ctx.method.activate(encoder, ctx.names, train=fusion)  # every intermediate frozen
            lora_fusion.install(encoder, ctx.names, ctx.fusion_gate)
            return encoder, fusion
        return ctx.method.activate(encoder, ctx.names, train=fusion, fuse=True), fusion

    def load(self, ctx):
        below = ctx.load_intermediates()
        if ctx.method.name == "lora":
            encoder = ctx.method.activate(ctx.encoder, below)
            lora_fusion.load(encoder, ctx.run.module_dir)
            return encoder
        ctx.load_module()
        return ctx.method.activate(ctx.encoder, below, fuse=True)

    def save(self, encoder, method, name, path):
        if method.name == "lora":
            lora_fusion.save(encoder.lora_fusion, name.split(","), path)
        else:
            method.save(encoder, name, path)

    def make_trainable(self, encoder, method, name):
        if method.name == "lora":
            for p in encoder.lora_fusion.parameters():
                p.requires_grad = True
        else:
            method.set_trainable(encoder, name)

    def manifest_fields(self, ctx):
        return {"fusion_gate": ctx.fusion_gate} if ctx.method.name == "lora" else {}

    def card_snippet(self, method, entries, manifest):
        below = [(e["module_name"], intermediate_folder_expr(e)) for e in entries]
        if method == "lora":
            names = ", ".join(f'"{n}"' for n, _ in below)
            return peft_lines(below) + [f"model.base_model.set_adapter([{names}])", *lora_fusion.card_lines()]
        return adapters_lines(below) + [
            f"model.load_adapter_fusion({MODULE_EXPR}, set_active=True, use_safetensors=True)"]
