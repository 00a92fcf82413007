"""Progress bars that tests and CI can silence (ADAPTERSTILTS_NO_PROGRESS=1)."""
from __future__ import annotations

import os


def progress_enabled(requested: bool = True) -> bool:
    return requested and os.environ.get("ADAPTERSTILTS_NO_PROGRESS", "") not in ("1", "true", "yes")


def progress(iterable, *, desc: str, total: int | None = None, enabled: bool = True):
    if not progress_enabled(enabled):
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)
