"""``chain``: intermediate tasks trained in order. ``train-intermediate B -i RUN_A --compose chain``
starts B's module from A's (A may itself be a chain), so the module learns A, then B; a target then
stacks on, or continues, the last link like any intermediate. The order is recorded in the manifest
(``chain``: the tasks, first to last), so a study can compare A->B with B->A.

The last link's module holds everything (the earlier links were trained into it), so a chain run is
self-contained and is used as an intermediate like a single-task run."""
from __future__ import annotations

from adapterstilts.compose.base import register_composition
from adapterstilts.compose.continue_ import _Continued


def chain_of(run) -> list[str]:
    """The tasks a run's module was trained on, first to last."""
    return list(run.manifest.get("chain") or [run.task])


@register_composition
class Chain(_Continued):
    name = "chain"
    description = "an intermediate trained on from the previous intermediate's module (A -> B)"
    kinds = frozenset({"intermediate"})
    count_hint = " (the previous link of the chain)"

    def row_label(self, intermediates):
        return ">".join(intermediates)

    def manifest_fields(self, ctx):
        return {"chain": chain_of(ctx.runs[0]) + [ctx.task]}
