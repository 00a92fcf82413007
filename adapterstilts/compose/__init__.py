"""Compositions: how a run's module combines with intermediate modules (none, stack, fuse, merge,
continue, chain), one file each, and the method x composition capability table derived from them."""
from adapterstilts.compose.base import (COMPOSITIONS, MERGED, BuildContext, Composition, LoadContext, get_composition,
                                        register_composition)
from adapterstilts.compose import chain, continue_, fuse, merge, none, stack  # noqa: F401,E402  (registration)

METHOD_ORDER = ("lora", "bottleneck", "full")


def names() -> list[str]:
    """Composition names in the order users meet them."""
    order = ("none", "stack", "fuse", "merge", "continue", "chain")
    return sorted(COMPOSITIONS.names(), key=lambda n: (order.index(n) if n in order else len(order), n))


def capability_table() -> dict[tuple[str, str], bool]:
    """(method, composition) -> supported."""
    return {(m, c): m in COMPOSITIONS.get(c).methods for m in METHOD_ORDER for c in names()}


def capability_markdown() -> str:
    """The README's method x composition table, generated (a test keeps the README in step)."""
    table = capability_table()
    head = "| `--method` | " + " | ".join(f"`{c}`" for c in names()) + " |"
    rows = [head, "|---" * (len(names()) + 1) + "|"]
    for m in METHOD_ORDER:
        rows.append(f"| `{m}` | " + " | ".join("yes" if table[m, c] else "-" for c in names()) + " |")
    return "\n".join(rows)


__all__ = ["COMPOSITIONS", "MERGED", "BuildContext", "Composition", "LoadContext", "capability_markdown",
           "capability_table", "get_composition", "names", "register_composition"]
