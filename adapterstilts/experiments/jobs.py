"""The intermediate runs a plan needs (plan.py), each made once: a single task (at a size), a mixture
of tasks and languages ("mix:NAME", tasks/derived.py ``Mix``), and the links of an order ("a>b", or
with mixtures "mnli>mix:multilingual"), each link trained from the previous link's module (compose chain).
Runs are keyed by their folder (row, method, seed, size), so a link, a mixture or a task that several
rows (or several recipes sharing ``intermediate_output``) need is trained once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adapterstilts.errors import UserError
from adapterstilts.experiments.axes import MIX_PREFIX, ORDER_SEP, Row, order_link
from adapterstilts.experiments.recipe import SPECIAL_INTERMEDIATES, Recipe


@dataclass(frozen=True)
class Intermediate:
    name: str  # the row: an intermediate task, "multitask", an order "a>b" or a mixture "mix:NAME"
    seed: int
    path: str
    tasks: tuple[str, ...]
    blocked: str | None = None
    task: str = ""  # the task this run trains (an order: its last link's; a mixture: its first source's)
    size: int | None = None  # the size axis: a stratified subsample of this many examples
    train_data: dict | None = None  # a derived-data spec (tasks/derived.py)
    after: str | None = None  # an order's previous link (its run folder): this one is chained on it


def _data_block(recipe: Recipe, phase: str, task: str) -> str | None:
    from adapterstilts.tasks import get_task

    data = recipe.settings(phase, task).get("data") or recipe["data"]
    spec = get_task(task)
    if data == "hub" and spec.requires_local_data is not None:
        return f"{task} needs local data: set {phase}.per_task.{task}.data=DIR ({spec.requires_local_data.message})"
    return None


def _folder(name: str) -> str:
    return name.replace(ORDER_SEP, "-then-").replace(MIX_PREFIX, "mix-")


class _Jobs:
    """The intermediate runs a plan needs, each made once (keyed by row, seed and size)."""

    def __init__(self, recipe: Recipe, root: Path):
        self.recipe, self.root, self.made = recipe, root, {}
        self.method = recipe["method"]

    def path(self, name: str, seed: int, size: int | None) -> str:
        suffix = f"-size{size}" if size is not None else ""
        return str(self.root / f"{_folder(name)}-{self.method}-seed{seed}{suffix}")

    def get(self, row: Row, seed: int, size: int | None) -> list[Intermediate]:
        """The runs a row needs, as its cells list them (a combined row: one per task)."""
        if row.kind == "combined":
            return [self.single(n, seed, size) for n in row.tasks]
        if row.kind == "order":
            return [self.order(row.tasks, seed, size)]
        if row.kind == "mix":
            return [self.mix(row.mix, seed, size)]
        return [self.single(row.tasks[0], seed, size)]

    def _remember(self, job: Intermediate) -> Intermediate:
        return self.made.setdefault(job.path, job)

    def single(self, name: str, seed: int, size: int | None) -> Intermediate:
        recipe = self.recipe
        path = self.path(name, seed, size)
        if path in self.made:
            return self.made[path]
        members = tuple(recipe["multitask_tasks"] or [t for t in recipe["intermediates"] if t not in SPECIAL_INTERMEDIATES]
                        ) if name == "multitask" else (name,)
        from adapterstilts.experiments.plan import intermediate_trainer

        try:
            intermediate_trainer(name)
            blocked = next(filter(None, (_data_block(recipe, "intermediate", t) for t in members)), None)
        except UserError as exc:
            blocked = str(exc)
        if name == "multitask" and not members and not blocked:
            blocked = "multitask needs tasks: list them in multitask_tasks or in intermediates"
        spec = {"kind": "subsample", "task": name, "n": size, "seed": seed} if size is not None else None
        return self._remember(Intermediate(name, seed, path, members, blocked, task=name, size=size, train_data=spec))

    def order(self, links: tuple[str, ...], seed: int, size: int | None) -> Intermediate:
        """The chain of an order: each link (an intermediate task or a mixture "mix:NAME") trained from the
        previous link's module. A prefix shared by several orders, and a first link that is also a row of
        its own, is trained once."""
        previous = self.link(links[0], seed, size)
        for k in range(1, len(links)):
            name = ORDER_SEP.join(links[:k + 1])
            path = self.path(name, seed, size)
            if path not in self.made:
                task, train_data, tasks, blocked = self._link_data(links[k], seed, size)
                self._remember(Intermediate(name, seed, path, (*previous.tasks, *tasks), previous.blocked or blocked,
                                            task=task, size=size, train_data=train_data, after=previous.path))
            previous = self.made[path]
        return previous

    def link(self, name: str, seed: int, size: int | None) -> Intermediate:
        kind, ref = order_link(name)
        return self.mix(ref, seed, size) if kind == "mix" else self.single(name, seed, size)

    def _link_data(self, name: str, seed: int, size: int | None):
        """(task, train_data, tasks, blocked) of one link trained on top of another."""
        kind, ref = order_link(name)
        if kind == "mix":
            return self._mix_data(ref, seed, size)
        spec = {"kind": "subsample", "task": name, "n": size, "seed": seed} if size is not None else None
        return name, spec, (name,), _data_block(self.recipe, "intermediate", name)

    def _mix_data(self, mix: str, seed: int, size: int | None):
        """(task, train_data, tasks, blocked) of mixture ``mix``: the run trains its first source's task; a
        source whose task has its own ``intermediate.per_task.TASK.data`` is read from there."""
        recipe, spec = self.recipe, self.recipe["mixes"][mix]
        task = spec["sources"][0]["task"]
        run_data = recipe.settings("intermediate", task).get("data") or recipe["data"]
        sources = []
        for src in spec["sources"]:
            own = recipe.settings("intermediate", src["task"]).get("data") or recipe["data"]
            sources.append({k: v for k, v in src.items() if v is not None} | ({"data": own} if own != run_data else {}))
        total = spec.get("size") or size
        train_data = {"kind": "mix", "sources": sources, "seed": seed,
                      **({"size": total} if total is not None else {}),
                      **({"weights": spec["weights"]} if spec.get("weights") is not None else {})}
        tasks = tuple(dict.fromkeys(s["task"] for s in spec["sources"]))
        blocked = next(filter(None, (_data_block(recipe, "intermediate", t) for t in tasks)), None)
        return task, train_data, tasks, blocked

    def mix(self, mix: str, seed: int, size: int | None) -> Intermediate:
        if self.recipe["mixes"][mix].get("size") is not None:
            size = None  # a mixture of fixed size is one run, whatever the size axis says
        label = f"{MIX_PREFIX}{mix}"
        path = self.path(label, seed, size)
        if path in self.made:
            return self.made[path]
        task, train_data, tasks, blocked = self._mix_data(mix, seed, size)
        return self._remember(Intermediate(label, seed, path, tasks, blocked, task=task, size=size,
                                           train_data=train_data))
