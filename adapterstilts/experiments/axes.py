"""Study axes: what a grid cell varies. A cell is a mapping of axis values, not a fixed triple.

    intermediate   the row: "none", a task, "multitask", "fusion" / "merged" (all at once), an order
                   ("mnli>squad", recipe key ``orders``) or a mixture ("mix:NAME", recipe key ``mixes``)
    target         the target task
    seed           the seed of every training in the cell
    size           intermediate training examples (recipe key ``sizes``; None = all)
    shots          target-language examples after English target training (recipe key ``shots``)
    language       the one language a few-shot cell trains on and evaluates
    order, mix     set on the rows that are orders / mixtures (the same string as the row)

``--only KEY=V1,V2`` filters on any axis; the results store keeps each axis (see store.py), so
``report --by`` groups on any of them. Adding an axis: a recipe key (recipe.py), its values here,
and what it changes in a cell's training (plan.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapterstilts.errors import UserError

STUDY_AXES = ("size", "shots", "order", "mix")  # beyond intermediate / target / seed (and language, with shots)
AXES = ("intermediate", "target", "seed", *STUDY_AXES[:2], "language", *STUDY_AXES[2:])
ORDER_SEP = ">"
MIX_PREFIX = "mix:"


@dataclass(frozen=True)
class Row:
    """One intermediate row of the grid and what trains it."""

    label: str
    kind: str  # "none" | "task" | "multitask" | "combined" (fuse / merge over all) | "order" | "mix"
    tasks: tuple[str, ...] = ()  # the intermediate tasks (an order: first to last)
    mix: str | None = None  # the mixture's name

    def axes(self) -> dict[str, Any]:
        if self.kind == "order":
            return {"order": self.label}
        if self.kind == "mix":
            return {"mix": self.mix}
        return {}


def rows(recipe) -> list[Row]:
    """The recipe's intermediate rows, in order: baseline, tasks (or their one combined row), orders, mixes."""
    from adapterstilts.compose import get_composition

    combined = get_composition(recipe["compose"]).combined_row
    listed = [n for n in recipe["intermediates"] if n != "none"]
    out = [Row("none", "none")] if "none" in recipe["intermediates"] else []
    if combined and listed:
        out.append(Row(combined, "combined", tuple(listed)))
    else:
        out += [Row(n, "multitask" if n == "multitask" else "task", (n,)) for n in listed]
    out += [Row(ORDER_SEP.join(order), "order", tuple(order)) for order in recipe["orders"]]
    out += [Row(f"{MIX_PREFIX}{name}", "mix", (spec["sources"][0]["task"],), mix=name)
            for name, spec in recipe["mixes"].items()]
    return out


def value_text(value: Any) -> str:
    """An axis value as ``--only`` and folder names spell it (None size: "full")."""
    return "full" if value is None else str(value)


def parse_only(items: list[str] | None) -> dict[str, set[str]]:
    """``["intermediate=squad,mnli,target=xnli"]`` -> {"intermediate": {"squad", "mnli"}, "target": {"xnli"}}."""
    out: dict[str, set[str]] = {}
    key = None
    for item in items or []:
        for part in filter(None, (p.strip() for p in item.split(","))):
            if "=" in part:
                key, _, part = part.partition("=")
                key = key.strip()
                if key not in AXES:
                    raise UserError(f"--only {item!r}: unknown key {key!r}; use one of: "
                                    + ", ".join(f"{a}=..." for a in AXES))
            elif key is None:
                raise UserError(f"--only {item!r}: expected KEY=VALUE, e.g. --only intermediate=squad,target=xnli")
            out.setdefault(key, set()).add(part.strip())
    return out


def check_only(filters: dict[str, set[str]], choices: dict[str, list[str]]) -> None:
    """Every filtered value must be one the recipe has (a typo is an error, not an empty grid)."""
    for key, values in filters.items():
        known = choices.get(key, [])
        unknown = sorted(values - set(known))
        if unknown:
            plural = {"shots": "shots", "mix": "mixes"}.get(key, f"{key}s")
            raise UserError(f"--only {key}={','.join(unknown)}: not in the recipe's {plural}; choose from: "
                            f"{', '.join(known) or 'none (the recipe has no such axis)'}")


def selected(filters: dict[str, set[str]], axes: dict[str, Any]) -> bool:
    return all(key in axes and value_text(axes[key]) in values for key, values in filters.items())
