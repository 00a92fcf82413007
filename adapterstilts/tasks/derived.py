"""Training data derived from tasks with a seed: ``Subsample``, ``FewShot``, ``Mix``.

Each is a small declaration that names itself as plain JSON (``to_spec()``; ``derived_from_spec``
reads it back), so a run's manifest says exactly which examples it trained on and the same rows
come back from the spec alone. ``examples(data)`` loads through :func:`load_examples` (hub, local
directory or bundled sample alike) and returns canonical rows; ``fingerprint()`` names the
derivation in the feature cache key.

Sampling is deterministic: one ``numpy.random.default_rng(seed)`` permutation of the row indices.
Where the format has a ``label`` column (classification, multiple choice) the sample is stratified
by label with proportional allocation; the total is exact, rounding by largest remainder (ties go
to the smaller label id). QA (questions) and tagging (sentences) are plain seeded samples. Rows
come back in their original order.

``FewShot`` draws from the language's training split when the task declares one; otherwise from
a held-out part of its validation data (the evaluation split if there is no validation split).
Evaluation of that language and split must then score only the other rows:
:meth:`FewShot.held_out_indices` gives the rows to leave out, from the spec alone.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from adapterstilts.errors import UserError
from adapterstilts.registry import Registry
from adapterstilts.tasks.base import SPLITS, Task, get_task

DERIVED_VERSION = 1  # bump when the sampling changes (it is part of every fingerprint)
RECORD_KEYS = ("examples", "from")  # what a manifest adds to a spec; ignored when reading a spec back
LABELLED_FORMATS = ("classification", "multiple_choice")


def allocate(weights: list, total: int) -> list[int]:
    """Split ``total`` over groups proportionally to ``weights`` (exact sum): floors first, then one
    more to the largest remainders; ties go to the earlier group. Exact (rational) arithmetic."""
    shares = [Fraction(w) for w in weights]
    whole = sum(shares)
    quotas = [total * s / whole for s in shares]
    counts = [int(q) for q in quotas]  # floor: quotas are non-negative
    order = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


def sample_indices(examples, n: int, seed, *, stratify: bool, what: str) -> list[int]:
    """``n`` row indices of ``examples``, seeded, stratified by ``label`` when ``stratify``; sorted."""
    import numpy as np

    size = len(examples)
    if n > size:
        raise UserError(f"{what} has {size} examples, fewer than the {n} asked for; ask for at most {size}")
    order = np.random.default_rng(seed).permutation(size).tolist()
    if not stratify:
        return sorted(order[:n])
    labels = list(examples["label"])
    groups = sorted(Counter(labels).items())
    wanted = dict(zip([g for g, _ in groups], allocate([c for _, c in groups], n)))
    picked = []
    for i in order:
        if wanted[labels[i]] > 0:
            wanted[labels[i]] -= 1
            picked.append(i)
    return sorted(picked)


def _stratify(task: Task) -> bool:
    return task.format in LABELLED_FORMATS


def _int(spec: dict, key: str, *, minimum: int | None = None, default: Any = ...) -> int:
    value = spec.get(key, default)
    if value is ...:
        raise UserError(f"train_data {spec.get('kind')} needs {key!r}; got keys: {', '.join(spec)}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"train_data {spec.get('kind')} {key!r} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise UserError(f"train_data {spec.get('kind')} {key!r} must be at least {minimum}, got {value}")
    return value


def _str(spec: dict, key: str) -> str:
    value = spec.get(key)
    if not isinstance(value, str) or not value:
        raise UserError(f"train_data {spec.get('kind')} needs {key!r} (a name), got {value!r}")
    return value


class Derived:
    """Base class: subclasses set ``kind`` and implement ``to_spec``, ``from_spec``, ``examples``."""

    kind: ClassVar[str]
    keys: ClassVar[tuple[str, ...]]  # the spec's keys besides "kind"

    def to_spec(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "Derived":
        raise NotImplementedError

    def examples(self, data: str):
        """The derived canonical examples (a ``datasets.Dataset``)."""
        raise NotImplementedError

    def check(self, task: Task) -> None:
        """Refuse (one-line UserError) a derivation that cannot train ``task``; reads no data."""

    def record(self) -> dict[str, Any]:
        """What the manifest adds to the spec (besides the example count)."""
        return {}

    def holds_out(self, *, task: str, split: str, language: str) -> bool:
        """Whether this training data took rows of ``task``'s ``split`` in ``language`` (evaluation
        data), which evaluation must then leave out (``held_out_indices``)."""
        return False

    def held_out_indices(self, examples) -> list[int]:
        """The rows of ``examples`` (the split ``holds_out`` named, as loaded) used for training."""
        return []

    def fingerprint(self) -> str:
        body = json.dumps({"spec": self.to_spec(), "version": DERIVED_VERSION}, sort_keys=True)
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:16]

    def describe(self) -> str:
        return json.dumps(self.to_spec(), sort_keys=True)

    def _same_task(self, task: Task, name: str) -> None:
        if name != task.name:
            raise UserError(f"train_data {self.kind} draws from task {name!r} but the run trains {task.name!r}; "
                            f"set its task to {task.name!r} (or use kind 'mix' to combine tasks)")


DERIVED: Registry[type[Derived]] = Registry("train_data kind")


def register_derived(cls: type[Derived]) -> type[Derived]:
    return DERIVED.register(cls.kind)(cls)


def derived_from_spec(spec: dict[str, Any]) -> Derived:
    """The derivation a spec (``to_spec()`` output, or a manifest's ``train_data``) names."""
    if not isinstance(spec, dict) or "kind" not in spec:
        raise UserError(f"train_data must be a mapping with a 'kind' ({', '.join(DERIVED.names())}), got {spec!r}")
    cls = DERIVED.get(spec["kind"])
    spec = {k: v for k, v in spec.items() if k not in RECORD_KEYS}
    unknown = sorted(set(spec) - set(cls.keys) - {"kind"})
    if unknown:
        raise UserError(f"train_data {cls.kind} has unknown key(s) {', '.join(unknown)}; "
                        f"it takes: {', '.join(cls.keys)}")
    return cls.from_spec(spec)


def check_train_data(spec: dict[str, Any], task_name: str) -> Derived:
    """Validate a ``TrainConfig.train_data`` spec against the run's task, before any data or model."""
    derived = derived_from_spec(spec)
    derived.check(get_task(task_name))
    return derived


@register_derived
class Subsample(Derived):
    """A seeded sample of ``n`` examples of ``task``'s (English) training data; stratified by label
    where the format has labels. (``--max-train-examples`` instead keeps the first N rows.)"""

    kind = "subsample"
    keys = ("task", "n", "seed")

    def __init__(self, task: str, n: int, seed: int = 0):
        self.task, self.n, self.seed = task, n, seed

    def to_spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "task": self.task, "n": self.n, "seed": self.seed}

    @classmethod
    def from_spec(cls, spec):
        return cls(_str(spec, "task"), _int(spec, "n", minimum=1), _int(spec, "seed", default=0))

    def check(self, task: Task) -> None:
        self._same_task(task, self.task)

    def examples(self, data: str):
        from adapterstilts.data.loading import load_examples

        task = get_task(self.task)
        full = load_examples(task, "train", task.train_language, data)
        rows = sample_indices(full, self.n, self.seed, stratify=_stratify(task),
                              what=f"{task.name} training data ({task.train_language})")
        return full.select(rows)


@register_derived
class FewShot(Derived):
    """``k`` examples (sentences for tagging, questions for QA) in ``language``: from its training
    split where the task has one there, else held out from its validation (or evaluation) data."""

    kind = "fewshot"
    keys = ("task", "language", "k", "seed")

    def __init__(self, task: str, language: str, k: int, seed: int = 0):
        self.task, self.language, self.k, self.seed = task, language, k, seed

    def to_spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "task": self.task, "language": self.language, "k": self.k, "seed": self.seed}

    @classmethod
    def from_spec(cls, spec):
        return cls(_str(spec, "task"), _str(spec, "language"), _int(spec, "k", minimum=1),
                   _int(spec, "seed", default=0))

    def check(self, task: Task) -> None:
        self._same_task(task, self.task)
        task.check_language(self.language)
        self.origin()

    def origin(self) -> tuple[str, bool]:
        """(split, held_out): the split the k examples come from, and whether it is evaluation data."""
        task = get_task(self.task)
        for split, held in (("train", False), ("validation", True), (task.eval_split, True)):
            try:
                if task.sources(split, self.language):
                    return split, held
            except UserError:
                continue
        raise UserError(f"task {self.task!r} has no data in {self.language!r} to draw few-shot examples from")

    def record(self) -> dict[str, Any]:
        split, held = self.origin()
        return {"from": f"{split} (held out)" if held else split}

    def _rows(self, examples, split: str) -> list[int]:
        return sample_indices(examples, self.k, self.seed, stratify=_stratify(get_task(self.task)),
                              what=f"{self.task} {split} data in {self.language!r}")

    def examples(self, data: str):
        from adapterstilts.data.loading import load_examples

        split, _ = self.origin()
        full = load_examples(get_task(self.task), split, self.language, data)
        return full.select(self._rows(full, split))

    def holds_out(self, *, task: str, split: str, language: str) -> bool:
        origin, held = self.origin()
        return held and task == self.task and split == origin and language == self.language

    def held_out_indices(self, examples) -> list[int]:
        origin, held = self.origin()
        return self._rows(examples, origin) if held else []


@dataclass(frozen=True)
class MixSource:
    """One part of a mixture. ``data`` (hub | sample | DIR) reads this source from elsewhere than the
    run's ``--data`` (a grid sets it from ``intermediate.per_task.TASK.data``: translated SQuAD from a local
    folder beside English SQuAD from the Hub); unset, the run's data."""

    task: str
    language: str = "en"
    split: str = "train"
    data: str | None = None

    def to_spec(self) -> dict[str, str]:
        spec = {"task": self.task, "language": self.language, "split": self.split}
        return {**spec, "data": self.data} if self.data is not None else spec  # unset: the spec (and key) of before

    def describe(self) -> str:
        return f"{self.task}/{self.language}/{self.split}"


def _mix_source(value) -> MixSource:
    if isinstance(value, MixSource):
        return value
    if isinstance(value, (list, tuple)) and 1 <= len(value) <= 3 and all(isinstance(v, str) for v in value):
        return MixSource(*value)
    if isinstance(value, dict) and "task" in value and set(value) <= {"task", "language", "split", "data"}:
        return MixSource(**{k: v for k, v in value.items() if v is not None})
    raise UserError(f"train_data mix source {value!r} must be (task, language[, split]) or "
                    "{'task': ..., 'language': ..., 'split': ..., 'data': ...}")


@register_derived
class Mix(Derived):
    """Several (task, language[, split]) sources of one format and label set, as one training set:
    all of each (``size`` and ``weights`` unset), a total ``size`` split by the sources' sizes, or a
    total ``size`` split by ``weights`` (ratios; never more rows of a source than it has)."""

    kind = "mix"
    keys = ("sources", "weights", "size", "seed")

    def __init__(self, sources, weights: list[float] | None = None, size: int | None = None, seed: int = 0):
        self.sources = [_mix_source(s) for s in sources]
        self.weights = None if weights is None else [float(w) for w in weights]
        self.size, self.seed = size, seed
        if not self.sources:
            raise UserError("train_data mix needs at least one source")
        if self.weights is not None:
            if len(self.weights) != len(self.sources) or any(not w > 0 for w in self.weights):
                raise UserError(f"train_data mix weights must be {len(self.sources)} positive numbers (one per "
                                f"source), got {weights}")
            if size is None:
                raise UserError("train_data mix weights need a size (the total number of examples to draw)")
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 1):
            raise UserError(f"train_data mix size must be an integer of at least 1, got {size!r}")
        first = self._task(self.sources[0])
        for src in self.sources:
            if src.split not in SPLITS:
                raise UserError(f"train_data mix source {src.describe()}: unknown split {src.split!r}; "
                                f"choose one of: {', '.join(SPLITS)}")
            task = self._task(src)
            self._matches(src, task, first, "the first source")
            if src.split == task.eval_split:
                raise UserError(f"train_data mix source {src.describe()} is {task.name}'s evaluation split: "
                                f"training on it would score seen examples; use 'train' or a FewShot spec")
            task.sources(src.split, src.language)  # a one-line error when the task has no such data

    @staticmethod
    def _task(src: MixSource) -> Task:
        return get_task(src.task)

    @staticmethod
    def _matches(src: MixSource, task: Task, other: Task, name: str) -> None:
        if task.format != other.format or list(task.labels) != list(other.labels):
            raise UserError(f"train_data mix source {src.describe()} ({task.format}, labels {list(task.labels)}) "
                            f"does not match {name} {other.name!r} ({other.format}, labels {list(other.labels)}); "
                            "mix only sources with the same format and labels")

    def to_spec(self) -> dict[str, Any]:
        return {"kind": self.kind, "sources": [s.to_spec() for s in self.sources], "weights": self.weights,
                "size": self.size, "seed": self.seed}

    @classmethod
    def from_spec(cls, spec):
        sources = spec.get("sources")
        if not isinstance(sources, list):
            raise UserError(f"train_data mix needs 'sources', a list of (task, language[, split]), got {sources!r}")
        return cls(sources, spec.get("weights"), spec.get("size"), _int(spec, "seed", default=0))

    def check(self, task: Task) -> None:
        for src in self.sources:
            self._matches(src, self._task(src), task, "the run's task")

    def counts(self, sizes: list[int]) -> list[int]:
        """How many rows each source gives, from the sources' sizes."""
        if self.size is None:
            return list(sizes)
        if self.weights is None:
            if self.size > sum(sizes):
                raise UserError(f"train_data mix size {self.size} is more than its sources hold ({sum(sizes)}); "
                                f"ask for at most {sum(sizes)}")
            return allocate(sizes, self.size)
        counts = allocate(self.weights, self.size)
        for src, want, have in zip(self.sources, counts, sizes):
            if want > have:
                raise UserError(f"train_data mix source {src.describe()} has {have} examples but its weight asks "
                                f"for {want} of {self.size}; lower the size or its weight")
        return counts

    def examples(self, data: str):
        import datasets

        from adapterstilts.data.loading import load_examples

        parts = [load_examples(self._task(s), s.split, s.language, s.data or data) for s in self.sources]
        chosen = []
        for i, (src, part, count) in enumerate(zip(self.sources, parts, self.counts([len(p) for p in parts]))):
            if count == len(part):
                chosen.append(part)
                continue
            rows = sample_indices(part, count, [self.seed, i], stratify=_stratify(self._task(src)),
                                  what=f"mix source {src.describe()}")
            chosen.append(part.select(rows))
        return chosen[0] if len(chosen) == 1 else datasets.concatenate_datasets(chosen)
