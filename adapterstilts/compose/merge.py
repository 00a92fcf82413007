"""``merge``: the frozen intermediate modules are combined into one (``merged_intermediates``) with
weights (``--merge-weights``, default 1/k each), and a new module trains on top of the merge.

- LoRA: peft's ``add_weighted_adapter(..., combination_type="cat")`` concatenates the low-rank
  factors, so the merged update is exactly sum_i w_i * B_i A_i (scaled as each module was);
- bottleneck: ``adapters``' ``average_adapter``, a weighted average of same-shaped adapters'
  parameters (unnormalised weights, as given).

``--merge-method`` picks another of peft's methods for LoRA (linear, ties, dare_linear, dare_ties,
magnitude_prune; ``--merge-density`` for the pruning ones; DARE's random masks are drawn from a
generator seeded with the run's seed, so rebuilding the run gives the same merge).

The model card rebuilds the same merge, not the modules stacked with weight 1 each."""
from __future__ import annotations

from adapterstilts.compose.base import (MERGED, MODULE_EXPR, Composition, adapters_lines, intermediate_folder_expr,
                                        peft_lines, register_composition)


@register_composition
class Merge(Composition):
    name = "merge"
    description = "a new module on top of a weighted merge of the intermediates"
    methods = frozenset({"lora", "bottleneck"})
    copies_intermediates = True
    combined_row = "merged"
    unsupported_hint = {"full": " (merging whole encoders is not supported: use --method lora or bottleneck)"}

    def build(self, ctx):
        encoder = ctx.encoder
        for run, name in zip(ctx.runs, ctx.names):
            encoder = ctx.method.load(encoder, run.module_dir, name, trainable=False)
        spec = self.spec(ctx)
        encoder = ctx.method.merge(encoder, ctx.names, MERGED, spec["merge_weights"], how=spec["merge_method"],
                                   density=spec["merge_density"], seed=spec["merge_seed"])
        encoder = ctx.method.add(encoder, ctx.module_name, ctx.settings)
        return ctx.method.activate(encoder, [MERGED, ctx.module_name], train=ctx.module_name), ctx.module_name

    def load(self, ctx):
        below = ctx.load_intermediates()
        m = ctx.run.manifest
        ctx.encoder = ctx.method.merge(ctx.encoder, below, MERGED, m["merge_weights"], how=m.get("merge_method"),
                                       density=m.get("merge_density"), seed=m.get("merge_seed", 0))
        name = ctx.load_module()
        return ctx.method.activate(ctx.encoder, [MERGED, name])

    @staticmethod
    def weights(given: list[float] | None, k: int) -> list[float]:
        return list(given) if given is not None else [1.0 / k] * k

    def spec(self, ctx) -> dict:
        return {"merge_weights": self.weights(ctx.merge_weights, len(ctx.names)),
                "merge_method": ctx.merge_method or ctx.method.merge_methods[0], "merge_density": ctx.merge_density,
                "merge_seed": ctx.seed}

    def manifest_fields(self, ctx):
        return self.spec(ctx)

    def card_snippet(self, method, entries, manifest):
        below = [(e["module_name"], intermediate_folder_expr(e)) for e in entries]
        names = ", ".join(f'"{n}"' for n, _ in below)
        weights = ", ".join(repr(float(w)) for w in manifest["merge_weights"])
        if method == "lora":
            how = manifest.get("merge_method") or "cat"
            density = f", density={manifest['merge_density']!r}" if manifest.get("merge_density") is not None else ""
            seeded = ([f"torch.manual_seed({manifest.get('merge_seed', 0)})  # DARE draws random masks"]
                      if how.startswith("dare") else [])
            return peft_lines(below) + seeded + [
                f'model.add_weighted_adapter([{names}], [{weights}], "{MERGED}", combination_type="{how}"{density})',
                f"model.load_adapter({MODULE_EXPR}, adapter_name=\"default\")",
                f'model.base_model.set_adapter(["{MERGED}", "default"])  # the merge, then the module trained on it']
        name = manifest.get("module_name") or manifest.get("task")
        return adapters_lines(below) + [
            f'model.average_adapter("{MERGED}", [{names}], weights=[{weights}], normalize_weights=False)',
            *adapters_lines([(name, MODULE_EXPR)]),
            f'model.set_active_adapters(Stack("{MERGED}", "{name}"))']
