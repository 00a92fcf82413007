"""Research questions as one-command studies: each a recipe under ``recipes/studies/`` (XLM-R Large,
seeds >= 3) with a ``-tiny`` twin (the bundled tiny model and samples, offline, minutes on a CPU), run
through the ordinary grid (``load_recipe`` / ``expand`` / ``run_grid``: resumable, any executor), and
an analysis that turns its results store into ``OUTPUT/report.md`` with tables, plots (PNG + PDF) and
statistics (``stats.py``, on scipy).

    adapterstilts studies                       the studies, one line each, with their cost on XLM-R Large
    adapterstilts study NAME [--tiny] [--set KEY=V] [--executor ...] [--dry-run]
    adapterstilts report runs/study-NAME        the report again, from the store

A study's output folder holds ``study.json`` (which study, tiny or not), so ``report`` knows which
analysis to run. The full recipes share one intermediate folder (``runs/studies/intermediate``), so a
module two studies need (MNLI at a size, a mixture) is trained once; the tiny twins keep theirs inside
their own output (their tiny model is built there).

Adding a study: a module here with ``analyse(frame, out, meta) -> list[str]`` (markdown blocks), a
``Study`` entry in ``STUDIES`` below, and ``recipes/studies/NAME.yaml`` + ``NAME-tiny.yaml``."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from adapterstilts.errors import UserError

STUDY_FILE = "study.json"
TINY_NOTE = ("This is the --tiny variant: a random tiny model, a few training steps and a handful of sample "
             "examples. It proves the machinery (training, evaluation, store, statistics, plots), not the "
             "science; its numbers mean nothing.")


@dataclass(frozen=True)
class Study:
    name: str
    question: str
    module: str  # adapterstilts.analysis.studies.<module>: analyse(frame, out, meta)
    axis: str  # the study axis (or "language")

    def recipe(self, tiny: bool = False) -> Path:
        from adapterstilts.experiments.recipe import RECIPES_DIR

        path = RECIPES_DIR / "studies" / f"{self.name}{'-tiny' if tiny else ''}.yaml"
        if not path.is_file():
            raise UserError(f"study {self.name}: its recipe {path} is missing; reinstall adapterstilts")
        return path

    def analysis(self):
        import importlib

        return importlib.import_module(f"adapterstilts.analysis.studies.{self.module}")


STUDIES: dict[str, Study] = {s.name: s for s in (
    Study("scaling", "English intermediate data at 1k..full vs multilingual data of equal size (XNLI, PAWS-X)",
          "scaling", "size"),
    Study("fewshot", "intermediate + English target training, then k in {0,5,10,50,100} target-language examples "
                     "(XTREME-R)", "fewshot", "shots"),
    Study("distance", "URIEL distance to English vs the zero-shot drop, controlling for CC-100 size", "distance",
          "language"),
    Study("order", "order of intermediate training: none, English, mixed-language, chains (XGLUE)", "order", "order"),
    Study("mixed", "0/25/50/75/100% non-English intermediate data at a fixed size (XTREME score)", "mixed", "mix"),
)}


def get_study(name: str) -> Study:
    if name not in STUDIES:
        raise UserError(f"unknown study {name!r}; choose one of: {', '.join(STUDIES)} (`adapterstilts studies`)")
    return STUDIES[name]


def load_study_recipe(name: str, *, tiny: bool = False, overrides: list[str] | None = None):
    from adapterstilts.experiments.recipe import load_recipe

    return load_recipe(get_study(name).recipe(tiny), overrides)


def mark(output: str | Path, name: str, tiny: bool) -> None:
    """Write ``study.json`` into the study's output folder (what ``report`` reads)."""
    from adapterstilts.runs import write_json_atomic

    Path(output).mkdir(parents=True, exist_ok=True)
    write_json_atomic(Path(output) / STUDY_FILE, {"study": name, "tiny": tiny})


def study_of(path: str | Path) -> dict | None:
    """``study.json`` of an output folder (or of the folder of a results.sqlite), else None."""
    path = Path(path)
    folder = path.parent if path.is_file() else path
    try:
        return json.loads((folder / STUDY_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


__all__ = ["STUDIES", "STUDY_FILE", "Study", "TINY_NOTE", "get_study", "load_study_recipe", "mark", "study_of"]
