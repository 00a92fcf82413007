"""What the user sees while a command works: progress bars that tests and CI can silence
(ADAPTERSTILTS_NO_PROGRESS=1), drawn only on a terminal (a log file gets lines, not carriage returns;
ADAPTERSTILTS_PROGRESS=1 forces bars), one bar at a time, and log lines that never land inside a bar.

- :func:`progress`: a bar over an iterable, unless another bar is already on screen (evaluation on the
  dev set inside training keeps the training bar alone);
- :func:`bar_safe`: wraps a ``log`` function so a line printed while a bar is shown clears the bar,
  prints, and redraws it (tqdm's ``external_write_mode``), instead of being glued to the bar;
- :func:`console`: library output is routed the same way, and a warning repeated by a library (the same
  text from another call site, another training of a grid) is printed once: Python warnings, the
  transformers logger's handler, and logging's last-resort handler (libraries that log with no handler
  configured). datasets' per-call bars (map / filter) are switched off unless
  HF_DATASETS_DISABLE_PROGRESS_BARS=0 asks for them."""
from __future__ import annotations

import logging
import os
import sys
import warnings

_installed = False
_seen: set[str] = set()  # texts of the warnings already printed in this process


def progress_enabled(requested: bool = True) -> bool:
    """Whether the user sees progress at all (bars on a terminal, log lines elsewhere)."""
    return requested and os.environ.get("ADAPTERSTILTS_NO_PROGRESS", "") not in ("1", "true", "yes")


def bars_enabled(requested: bool = True) -> bool:
    """Whether to draw bars: only on a terminal. In a file (a SLURM log, ``| tee``) a bar is a run of
    carriage returns; there training prints its log lines instead. ADAPTERSTILTS_PROGRESS=1 forces bars."""
    if not progress_enabled(requested):
        return False
    if os.environ.get("ADAPTERSTILTS_PROGRESS", "") in ("1", "true", "yes"):
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stderr
        return False


def bar_shown() -> bool:
    """Whether a tqdm bar (ours or the Trainer's) is open now."""
    from tqdm import std

    return bool(getattr(std.tqdm, "_instances", None))


def progress(iterable, *, desc: str, total: int | None = None, enabled: bool = True):
    if not bars_enabled(enabled) or bar_shown():  # one bar at a time, and only on a terminal
        return iterable
    console()
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def bar_safe(log):
    """``log`` that clears an open bar before its line and redraws the bar after it."""
    if getattr(log, "bar_safe", False):
        return log

    def write(message: str) -> None:
        if not bar_shown():
            log(message)
            return
        from tqdm import tqdm

        with tqdm.external_write_mode(file=sys.stderr):
            log(message)

    write.bar_safe = True  # type: ignore[attr-defined]
    return write


def _write(line: str) -> None:
    bar_safe(lambda text: print(text, file=sys.stderr, flush=True))(line)


def _once(text: str) -> bool:
    """True the first time ``text`` is seen in this process."""
    key = " ".join(text.split())
    if key in _seen:
        return False
    _seen.add(key)
    return True


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    text = str(message).strip()
    if _once(f"{category.__name__}: {text}"):
        first = text.splitlines()[0] if text else ""
        more = " ..." if "\n" in text else ""
        _write(f"warning: {first}{more} ({category.__name__}, {os.path.basename(filename)}:{lineno})")


class _OnceHandler(logging.Handler):
    """Library log records as lines that respect the bars, each text once."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a library's malformed record: not ours to fail on
            return
        if _once(f"{record.name}: {text}"):
            _write(text)


def console() -> None:
    """Route library warnings and log lines around the bars, each repeated text once (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    warnings.showwarning = _show_warning
    handler = _OnceHandler(logging.WARNING)
    logging.lastResort = handler  # records of loggers with no handler anywhere (no logging configured)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_default_handler()  # its own stderr handler: replaced by the bar-safe, once-only one
        hf_logging.add_handler(handler)
    except Exception:  # an unusual transformers build: its default handler stays
        pass
    if os.environ.get("HF_DATASETS_DISABLE_PROGRESS_BARS", "1") != "0":
        try:
            from datasets.utils.logging import disable_progress_bar

            disable_progress_bar()
        except Exception:
            pass
