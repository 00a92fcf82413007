"""Suite registry. A suite (XTREME today) is one module in this folder that builds a ``Suite`` and
calls ``register_suite``; importing this package registers every suite module listed below (one
line per suite). See docs/suites.md."""
from __future__ import annotations

from adapterstilts.suites.base import (QA_CONVENTIONS, ROLES, SCORE_RULES, SUITES, Group, Protocol, Suite,
                                       SuiteScore, SuiteTask, register_suite, score_by_rule)
from adapterstilts.suites import xtreme  # noqa: F401,E402  (registration)
from adapterstilts.suites import xtreme_r  # noqa: F401,E402  (registration: XTREME-R)
from adapterstilts.suites import xglue  # noqa: F401,E402  (registration: XGLUE-Understanding)
from adapterstilts.suites.xtreme import XTREME  # noqa: E402


def get_suite(name: str) -> Suite:
    return SUITES.get(name)


def suites_of(task_name: str) -> tuple[str, ...]:
    """Names of the suites ``task_name`` belongs to (e.g. ``("xtreme",)`` for "xnli"; empty for an
    intermediate task)."""
    return tuple(name for name, suite in SUITES.items() if task_name in suite)


def score_rule(task_name: str) -> str | None:
    """How a task counts in an aggregate ("accuracy" | "f1" | "qa"), from the first suite (by name)
    that has it; None for a task no suite declares."""
    for _, suite in SUITES.items():
        if task_name in suite:
            return suite.task(task_name).score
    return None


__all__ = ["QA_CONVENTIONS", "ROLES", "SCORE_RULES", "SUITES", "Group", "Protocol", "Suite", "SuiteScore", "SuiteTask",
           "XTREME", "get_suite", "register_suite", "score_by_rule", "score_rule", "suites_of"]
