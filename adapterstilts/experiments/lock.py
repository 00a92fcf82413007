"""One grid driver per output folder: a lock file (``OUTPUT/.grid.lock``) holding the driver's pid,
host and start time. A second ``run`` on the same folder says who holds it and stops (or waits with
``--wait``); a lock left by a driver that died on this host is taken over, and said so."""
from __future__ import annotations

import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from adapterstilts.errors import UserError

LOCK_FILE = ".grid.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def grid_lock(root: str | Path, *, wait: bool = False, poll: float = 5.0, log=print):
    path = Path(root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {"pid": os.getpid(), "host": socket.gethostname(), "since": round(time.time(), 1)}
    said = False
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _holder(path) or {}
            if holder.get("host") == me["host"] and isinstance(holder.get("pid"), int) and not _alive(holder["pid"]):
                log(f"taking over {path}: its driver (pid {holder['pid']}) is gone")
                path.unlink(missing_ok=True)
                continue
            who = f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}"
            if not wait:
                raise UserError(f"another `adapterstilts run` ({who}) is running on {Path(root)}; wait for it, "
                                f"pass --wait to start when it ends, or remove {path} if that process is gone")
            if not said:
                log(f"waiting for the `adapterstilts run` of {who} on {Path(root)} to finish")
                said = True
            time.sleep(poll)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(me, handle)
        break
    try:
        yield
    finally:
        if (_holder(path) or {}).get("pid") == me["pid"]:
            path.unlink(missing_ok=True)
