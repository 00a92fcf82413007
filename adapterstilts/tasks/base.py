"""What a task is: where its data comes from (in the Hub's own terms), how its raw rows map onto its
format's canonical columns, its labels, languages and metric. Tasks never preprocess or own heads:
formats do (see adapterstilts/formats)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from adapterstilts.errors import UserError
from adapterstilts.registry import Registry

SPLITS = ("train", "validation", "test")
SELECTION = "selection"  # the English development data used to select checkpoints during training


@dataclass(frozen=True)
class Source:
    """One split of one Hub dataset, e.g. Source("nyu-mll/glue", "mnli", "validation_matched").

    ``keep``/``drop`` are row filters (column, value): keep rows where column == value, drop rows
    where column == value (SNLI's label -1). ``tag`` lets ``Task.canonicalize`` tell mixed sources
    apart (anli_plus mixes ANLI, SNLI and MNLI)."""

    dataset: str
    config: str | None
    split: str
    keep: tuple[tuple[str, Any], ...] = ()
    drop: tuple[tuple[str, Any], ...] = ()
    tag: str = ""

    @property
    def local_dir(self) -> str:
        """Relative folder of this source in a local data directory (and in the bundled samples):
        ``<dataset with / as __>/<config or default>``; the split is ``<split>.jsonl`` inside it."""
        return f"{self.dataset.replace('/', '__')}/{self.config or 'default'}"

    def describe(self) -> str:
        cfg = f" config {self.config!r}" if self.config else ""
        return f"{self.dataset}{cfg} split {self.split!r}"


@dataclass(frozen=True)
class DataRequirement:
    """Set on tasks whose data cannot be downloaded (licensed), e.g. CCGbank."""

    message: str


class Task:
    """Base class. Subclasses set the class attributes and implement ``sources`` and
    ``canonicalize``; ``@register_task`` makes them available by name."""

    name: ClassVar[str]
    kind: ClassVar[str]  # "intermediate" | "target"
    format: ClassVar[str]  # a name in adapterstilts.formats.FORMATS
    metric: ClassVar[str]  # a name in adapterstilts.metrics.METRICS
    description: ClassVar[str] = ""
    labels: ClassVar[tuple[str, ...]] = ()  # classification / tagging label names, index = id
    languages: ClassVar[tuple[str, ...]] = ("en",)  # evaluation languages
    train_language: ClassVar[str] = "en"
    eval_split: ClassVar[str] = "test"  # split that zero-shot evaluation uses by default
    max_length: ClassVar[int] = 256
    doc_stride: ClassVar[int] = 128
    requires_local_data: ClassVar[DataRequirement | None] = None
    no_answer: ClassVar[bool] = False  # QA: unanswerable questions exist (SQuAD v2)
    unsupported: ClassVar[str | None] = None  # listed (e.g. in a suite) but not trainable here: the one-line reason
    null_score_threshold: ClassVar[float] = 0.0  # QA: predict "" when null score - best span > this

    def sources(self, split: str, language: str) -> list[Source]:
        """The Hub sources that make up ``split`` ("train" | "validation" | "test") in ``language``.
        Several sources are concatenated (proportional sampling for a shared head)."""
        raise NotImplementedError

    def selection_sources(self) -> list[Source]:
        """English development data for checkpoint selection (``--eval-steps``): by default the
        validation split in the training language; tasks whose only English validation set is an
        evaluation set (XQuAD) select on their training data's development set instead."""
        return self.sources("validation", self.train_language)

    def canonicalize(self, dataset, source: Source):
        """Map a raw ``datasets.Dataset`` of ``source`` onto the format's canonical columns (see
        the format's docstring). Must be a pure function of the rows."""
        raise NotImplementedError

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    def check_language(self, language: str) -> None:
        if language not in self.languages and language != self.train_language:
            raise UserError(
                f"task {self.name!r} has no language {language!r}; choose from: {', '.join(self.languages)}"
            )

    def check_split(self, split: str) -> None:
        if split not in SPLITS and split != SELECTION:
            raise UserError(f"unknown split {split!r}; choose one of: {', '.join(SPLITS)}")


TASKS: Registry[type[Task]] = Registry("task")


def register_task(cls: type[Task]) -> type[Task]:
    return TASKS.register(cls.name)(cls)


def get_task(name: str) -> Task:
    from adapterstilts import tasks  # noqa: F401  (imports every task module, filling the registry)

    cls = TASKS.get(name)
    if cls.unsupported:
        raise UserError(cls.unsupported)
    return cls()
