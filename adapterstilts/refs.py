"""Resolving a module reference (a run folder; Hub ids come with adapterstilts.hub) to a Run."""
from __future__ import annotations

from pathlib import Path

from adapterstilts.runs import Run


def resolve_run(ref: str) -> Run:
    return Run.open(Path(ref))
