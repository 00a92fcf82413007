"""What a benchmark suite is: its tasks (registry names), how each is shown, grouped, trained and
scored, and how the task scores add up to the suite's score.

The scoring rules follow XTREME's official ``evaluate.py`` (google-research/xtreme), which other
suites of its kind (XTREME-R) share:

1. a task's score is the *macro* average over its languages of each metric (every language weighs
   the same, whatever its test-set size);
2. the number a task contributes is, by its ``score`` rule: "qa" -> (EM + F1) / 2 in the official
   convention (``qa_convention="em_f1_mean"``), or F1 alone as many papers report it, X-STILTs
   included (``"f1"``); "f1" -> F1 (seqeval F1 for tagging, BUCC's mined-pair F1); "accuracy" ->
   accuracy; "map@20" -> mean average precision at 20 (XTREME-R's Mewsli-X and LAReQA, the key
   ``evaluate.py`` reports); "ndcg" -> nDCG averaged over queries (XGLUE's WPR);
3. the overall score is the unweighted mean over the tasks, given only when *every* task of the
   suite is present; a group's score (XTREME's sentence classification, structured prediction,
   question answering, sentence retrieval) only when every task of that group is present.

Every description this module writes names the QA convention it used, since the two conventions
differ by several points on QA and so on the overall score.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from adapterstilts.errors import UserError
from adapterstilts.registry import Registry

QA_CONVENTIONS = {
    "f1": "QA tasks scored by F1",
    "em_f1_mean": "QA tasks scored by (EM + F1) / 2 as XTREME's official evaluate.py",
}
SCORE_RULES = {  # a task's score rule -> how descriptions name it; every rule but "qa" is a metric key
    "accuracy": "accuracy", "f1": "F1", "qa": "QA convention", "map@20": "mAP@20", "ndcg": "nDCG",
}
ROLES = {
    "fine_tune": "trained on its English training data, then evaluated zero-shot on every language",
    "encoder_only": "no task training: evaluated directly from the (intermediate-trained) encoder",
}


def check_qa_convention(qa_convention: str) -> None:
    if qa_convention not in QA_CONVENTIONS:
        raise UserError(f"unknown QA convention {qa_convention!r}; choose one of: {', '.join(QA_CONVENTIONS)}")


def task_average(per_language: Mapping[str, Mapping[str, float]], key: str) -> float:
    """Unweighted (macro) mean of ``per_language[lang][key]`` over the languages given."""
    if not per_language:
        raise UserError(f"no languages to average {key!r} over")
    missing = [lang for lang, scores in per_language.items() if key not in scores]
    if missing:
        raise UserError(f"score {key!r} is missing for language(s): {', '.join(missing)}")
    return sum(float(scores[key]) for scores in per_language.values()) / len(per_language)


def language_means(per_language: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Each metric's macro average over the languages, for the metrics every language has."""
    if not per_language:
        raise UserError("no languages to average over")
    keys = set.intersection(*(set(scores) for scores in per_language.values()))
    return {key: task_average(per_language, key) for key in sorted(keys)}


def _exact_match(task: str, scores: Mapping[str, float]) -> float:
    for key in ("exact_match", "exact"):  # squad / mlqa name it exact_match, squad_v2 exact
        if key in scores:
            return float(scores[key])
    raise UserError(f"task {task!r}: the (EM + F1) / 2 convention needs an 'exact_match' score")


def score_by_rule(rule: str | None, task: str, scores: Mapping[str, float], qa_convention: str) -> float:
    """One number for a task from its language-averaged ``scores``. ``rule`` None (a task no suite
    declares): F1 when reported, else accuracy."""
    check_qa_convention(qa_convention)
    got = ", ".join(sorted(scores)) or "none"
    if rule == "qa":
        if "f1" not in scores:
            raise UserError(f"task {task!r}: QA scores need an 'f1'; got: {got}")
        if qa_convention == "em_f1_mean":
            return (_exact_match(task, scores) + float(scores["f1"])) / 2
        return float(scores["f1"])
    for key in (rule,) if rule else ("f1", "accuracy"):
        if key in scores:
            return float(scores[key])
    wanted = f"an {rule!r} score" if rule else "an 'f1' or 'accuracy' score"
    raise UserError(f"task {task!r}: no {wanted} to average; got: {got}")


@dataclass(frozen=True)
class Protocol:
    """How a task is trained and evaluated in the suite. ``batch_size`` is per device; the effective
    batch is ``batch_size * grad_accum`` (on one device). ``train`` / ``selection`` describe the
    English training data and the development data checkpoints are selected on (None: no training)."""

    train: str | None
    eval_split: str
    selection: str | None = None
    epochs: float | None = None
    batch_size: int | None = None
    grad_accum: int | None = None

    @property
    def effective_batch(self) -> int | None:
        return None if self.batch_size is None else self.batch_size * (self.grad_accum or 1)


@dataclass(frozen=True)
class SuiteTask:
    name: str  # a name in adapterstilts.tasks.TASKS
    label: str  # column header, e.g. "PAWS-X"
    group: str  # a Group key of the suite
    score: str  # a key of SCORE_RULES
    role: str  # a key of ROLES
    protocol: Protocol


@dataclass(frozen=True)
class Group:
    key: str  # as the official scorer names it, e.g. "qa"
    label: str  # e.g. "question answering"


@dataclass(frozen=True)
class SuiteScore:
    """The suite's aggregate. ``overall`` is None unless every task is present; ``groups`` holds
    only complete groups. ``tasks`` are the per-task numbers that went in."""

    suite: str
    qa_convention: str
    tasks: dict[str, float]
    groups: dict[str, float]
    overall: float | None
    missing: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class Suite:
    name: str
    label: str
    description: str
    groups: tuple[Group, ...]
    tasks: tuple[SuiteTask, ...]
    official_qa: str = "em_f1_mean"  # the convention of the suite's own scorer
    _by_name: dict[str, SuiteTask] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        by_name = {t.name: t for t in self.tasks}
        if len(by_name) != len(self.tasks):
            raise ValueError(f"suite {self.name!r} lists a task twice")
        groups = {g.key for g in self.groups}
        for t in self.tasks:
            if t.group not in groups or t.score not in SCORE_RULES or t.role not in ROLES:
                raise ValueError(f"suite {self.name!r} task {t.name!r}: unknown group, score rule or role")
            if t.role == "fine_tune" and (t.protocol.train is None or t.protocol.epochs is None):
                raise ValueError(f"suite {self.name!r} task {t.name!r}: a fine-tuned task needs training data and epochs")
        for g in self.groups:
            if not any(t.group == g.key for t in self.tasks):
                raise ValueError(f"suite {self.name!r}: group {g.key!r} has no task")
        check_qa_convention(self.official_qa)
        object.__setattr__(self, "_by_name", by_name)

    # ------------------------------------------------------------------------------ membership
    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    def __contains__(self, task: object) -> bool:
        return task in self._by_name

    def task(self, name: str) -> SuiteTask:
        if name not in self._by_name:
            raise UserError(f"task {name!r} is not part of suite {self.name!r}; its tasks: {', '.join(self.names)}")
        return self._by_name[name]

    def label_of(self, name: str) -> str:
        """The task's display label; other names (e.g. "average") are returned unchanged."""
        return self._by_name[name].label if name in self._by_name else name

    def group_tasks(self, key: str) -> tuple[str, ...]:
        if key not in {g.key for g in self.groups}:
            raise UserError(f"suite {self.name!r} has no group {key!r}; choose one of: "
                            f"{', '.join(g.key for g in self.groups)}")
        return tuple(t.name for t in self.tasks if t.group == key)

    def trained_tasks(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks if t.role == "fine_tune")

    def recipe_per_task(self, batch_size: int, grad_accum: int) -> dict[str, dict[str, float | int]]:
        """Recipe ``target.per_task`` settings from the protocol: every trained task's epochs, and its
        batch size and accumulation where they differ from the phase-wide ``batch_size``/``grad_accum``."""
        out: dict[str, dict[str, float | int]] = {}
        for t in self.tasks:
            if t.role != "fine_tune":
                continue
            p = t.protocol
            settings: dict[str, float | int] = {"epochs": float(p.epochs)}  # type: ignore[arg-type]
            if p.batch_size is not None and (p.batch_size, p.grad_accum or 1) != (batch_size, grad_accum):
                settings.update(batch_size=p.batch_size, grad_accum=p.grad_accum or 1)
            out[t.name] = settings
        return out

    # ------------------------------------------------------------------------------ scoring
    def task_score(self, name: str, scores: Mapping[str, float], qa_convention: str | None = None) -> float:
        """One number for a task of the suite from its language-averaged ``scores``."""
        return score_by_rule(self.task(name).score, name, scores, qa_convention or self.official_qa)

    def rules_text(self, qa_convention: str, tasks=None) -> str:
        """How the (given, else all) tasks are scored; always names the QA convention."""
        by_rule: dict[str, list[str]] = {}
        for t in self.tasks:
            if t.score != "qa" and (tasks is None or t.name in tasks):
                by_rule.setdefault(SCORE_RULES[t.score], []).append(t.label)
        rules = "".join(f"{', '.join(labels)} by {rule}; " for rule, labels in by_rule.items())
        return f"{QA_CONVENTIONS[qa_convention]}; {rules}each task a macro average over its languages"

    def aggregate(self, per_language: Mapping[str, Mapping[str, Mapping[str, float]]],
                  qa_convention: str | None = None) -> SuiteScore:
        """The suite's score from ``{task: {language: {metric: value}}}`` (the official way: each
        metric macro-averaged over the languages, then the task's rule)."""
        means = {task: language_means(langs) for task, langs in per_language.items()}
        return self.aggregate_means(means, qa_convention)

    def aggregate_means(self, task_means: Mapping[str, Mapping[str, float]],
                        qa_convention: str | None = None) -> SuiteScore:
        """The suite's score from each task's language-averaged scores ``{task: {metric: value}}``."""
        qa = qa_convention or self.official_qa
        check_qa_convention(qa)
        for name in task_means:
            self.task(name)  # a task outside the suite is an error, not silently dropped
        scores = {t.name: self.task_score(t.name, task_means[t.name], qa) for t in self.tasks if t.name in task_means}
        missing = tuple(n for n in self.names if n not in scores)
        groups = {}
        for g in self.groups:
            members = self.group_tasks(g.key)
            if all(n in scores for n in members):
                groups[g.key] = sum(scores[n] for n in members) / len(members)
        overall = None if missing else sum(scores.values()) / len(scores)
        if overall is not None:
            head = f"{self.label} score: mean over all {len(self.tasks)} tasks"
        else:
            head = (f"no {self.label} score: the official score needs every task (missing: {', '.join(missing)}); "
                    f"group scores for complete groups only ({', '.join(groups) or 'none'})")
        description = f"{head}; {self.rules_text(qa)}"
        return SuiteScore(self.name, qa, scores, groups, overall, missing, description)

    def mean_over(self, task_means: Mapping[str, Mapping[str, float]], qa_convention: str) -> tuple[float, str]:
        """(mean of the given tasks' scores, a description). A report's row mean: it equals the suite
        score when exactly the suite's tasks are given, and its description says so or says that the
        official score needs every task. Tasks outside the suite count by F1 when reported, else accuracy."""
        check_qa_convention(qa_convention)
        if not task_means:
            raise UserError("no task scores to average")
        values = [score_by_rule(self._by_name[t].score if t in self else None, t, s, qa_convention)
                  for t, s in task_means.items()]
        tasks = list(task_means)
        covered = sum(1 for t in self.names if t in task_means)
        n = len(self.tasks)
        if covered == n and len(tasks) == n:
            scope = f"all {n} {self.label} tasks (the {self.label} score)"
        else:
            scope = (f"{len(tasks)} task(s) ({covered} of the {n} {self.label} tasks; not the official "
                     f"{self.label} score, which needs every task)")
        description = f"mean over {scope}: {', '.join(tasks)}; {self.rules_text(qa_convention, tasks)}"
        if any(t not in self for t in tasks):
            description += "; tasks outside the suite by F1 when reported, else accuracy"
        return sum(values) / len(values), description


SUITES: Registry[Suite] = Registry("suite")


def register_suite(suite: Suite) -> Suite:
    """Make ``suite`` available by name (``get_suite``); a suite module calls this once."""
    return SUITES.register(suite.name)(suite)
