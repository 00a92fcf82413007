"""Study axes: what a grid cell varies. A cell is a mapping of axis values, not a fixed triple.

    intermediate   the row: "none", a task, "multitask", "fusion" / "merged" (all at once), an order
                   ("mnli>squad", recipe key ``orders``; a link may be a mixture: "mnli>mix:multi") or a
                   mixture ("mix:NAME", recipe key ``mixes``)
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


FULL_SPELLINGS = ("full", "null", "none")


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
            value = part.strip()
            if key == "size" and value.lower() in FULL_SPELLINGS:
                value = "full"  # one spelling of "all the data" everywhere: full (null in YAML is the same)
            out.setdefault(key, set()).add(value)
    return out


def check_only(filters: dict[str, set[str]], choices: dict[str, list[str]]) -> None:
    """Every filtered value must be one the recipe has (a typo is an error, not an empty grid)."""
    for key, values in filters.items():
        known = choices.get(key, [])
        unknown = sorted(values - set(known))
        if unknown and not known:  # "none" would read as the intermediate called none: name the axis instead
            if key == "language":
                raise UserError(f"--only language={','.join(unknown)}: the recipe's cells have no language axis (only a "
                                "few-shot recipe, with shots:, has a cell per target language; a zero-shot cell is "
                                "evaluated on all its languages: choose them with --set languages=[...]); drop "
                                "--only language=...")
            raise UserError(f"--only {key}={','.join(unknown)}: the recipe has no {key} axis; drop --only {key}=...")
        if unknown:
            plural = {"shots": "shots", "mix": "mixes"}.get(key, f"{key}s")
            raise UserError(f"--only {key}={','.join(unknown)}: not in the recipe's {plural}; choose from: "
                            f"{', '.join(known)}")


def selected(filters: dict[str, set[str]], axes: dict[str, Any]) -> bool:
    return all(key in axes and value_text(axes[key]) in values for key, values in filters.items())


def order_link(name: str) -> tuple[str, str]:
    """("mix", NAME) for a link "mix:NAME" of an order, else ("task", name)."""
    if name.startswith(MIX_PREFIX):
        return "mix", name[len(MIX_PREFIX):]
    return "task", name


def validate_axes(data: dict, fail, intermediates: list[str]) -> None:
    """The study axes of a merged recipe: sizes, orders (of intermediate tasks and "mix:NAME" mixtures),
    mixes, shots. ``fail(key, problem, fix)`` makes the one-line error naming the recipe."""
    from adapterstilts.compose import get_composition
    from adapterstilts.tasks import TASKS, get_task
    from adapterstilts.tasks.derived import check_train_data

    sizes = data["sizes"]
    if not sizes:
        raise fail("sizes", "empty list", "leave it out, or list sizes such as [1000, full] (full or null = all data)")
    if len(set(sizes)) != len(sizes) or any(n is not None and n < 1 for n in sizes):
        raise fail("sizes", f"sizes must be distinct and at least 1 (full or null = all data), got {sizes}", "fix the list")
    if sizes != [None] and "multitask" in data["intermediates"]:
        raise fail("sizes", "the size axis subsamples single-task intermediates", "drop multitask from intermediates")
    combined = get_composition(data["compose"]).combined_row
    if combined and (data["orders"] or data["mixes"]):
        raise fail("orders" if data["orders"] else "mixes", f"compose {data['compose']} makes one {combined!r} row "
                   "over all intermediates, so orders and mixtures have no row of their own",
                   "use compose: stack or continue for a study of orders or mixtures")
    for name, mix in data["mixes"].items():
        where = f"mixes.{name}"
        for i, src in enumerate(mix["sources"]):
            if src["task"] not in TASKS:
                raise fail(f"{where}.sources[{i}]", f"unknown task {src['task']!r}", "use a name from `adapterstilts tasks`")
            task = get_task(src["task"])
            if src["language"] not in (*task.languages, task.train_language):
                raise fail(f"{where}.sources[{i}]", f"{task.name} has no language {src['language']!r}",
                           f"choose from: {', '.join(task.languages)}")
        if mix.get("weights") is not None and len(mix["weights"]) != len(mix["sources"]):
            raise fail(f"{where}.weights", "one weight per source", f"give {len(mix['sources'])} weights")
        if mix.get("weights") is not None and mix.get("size") is None:
            raise fail(f"{where}.weights", "weights split a total size", f"add {where}.size")
        spec = {"kind": "mix", "sources": mix["sources"], "seed": 0,
                **{k: mix[k] for k in ("weights", "size") if mix.get(k) is not None}}
        try:
            check_train_data(spec, mix["sources"][0]["task"])
        except UserError as exc:
            raise fail(where, str(exc).rstrip("."), "fix the mixture") from None
    for i, order in enumerate(data["orders"]):
        if len(order) < 2 or len(set(order)) != len(order):
            raise fail(f"orders[{i}]", f"an order lists two or more distinct links, got {order}",
                       "e.g. orders: [[mnli, squad], [mnli, mix:multilingual]]")
        for name in order:
            kind, ref = order_link(name)
            if kind == "mix" and ref not in data["mixes"]:
                raise fail(f"orders[{i}]", f"{name!r} names no mixture of the recipe's mixes",
                           f"choose from: {', '.join(MIX_PREFIX + m for m in data['mixes']) or 'none (add mixes:)'}")
            if kind == "task" and name not in intermediates:
                raise fail(f"orders[{i}]", f"{name!r} is not an intermediate task or a mixture (an order chains "
                           "intermediates)", f"choose from: {', '.join(intermediates)} or mix:NAME")
            if kind == "mix":
                first = get_task(data["mixes"][ref]["sources"][0]["task"])
                if first.kind != "intermediate":
                    raise fail(f"orders[{i}]", f"mixture {ref!r} trains {first.name!r}, a target task, and a chain "
                               "links intermediate tasks", "list an intermediate task's source first in the mixture")
    if any(k < 0 for k in data["shots"]) or len(set(data["shots"])) != len(data["shots"]):
        raise fail("shots", f"shots are distinct counts of examples >= 0, got {data['shots']}", "e.g. [0, 5, 10]")
