"""Pending launch stamps: what a launch said about itself before it spawned.

One launch leaves up to three files in `$BURN_HOME/pending/`, each written
tmp-then-rename by exactly one kind of writer, so no file is ever written by two:

- `<id>.json`   the stamp, written once by the launcher before spawn (never changed);
                the launcher holds an flock on it for its whole life, so a settling
                ingest can tell a live launcher from a dead one without trusting pids;
- `<id>.end`    the launcher's last word: exit code, end time (absent if it died);
- `<id>.claims` the sessions ingest gave this launch (written only under the ingest lock).

A stamp is settled (its record written, its files removed) by whichever ingest first sees
it ended, its launcher dead, or it older than 24 h.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

EXPIRY_S = 24 * 3600
SUFFIXES = (".claims", ".end", ".json")  # removal order: the stamp itself goes last


class Stamp:
    """A pending launch as its files say it is."""

    def __init__(self, data: dict[str, Any], path: Path) -> None:
        self.data = data
        self.path = path
        self.end: dict[str, Any] | None = None
        self.claims: list[list[str]] = []  # [harness, session] pairs

    @property
    def id(self) -> str:
        return str(self.data["launch_id"])

    @property
    def spawned(self) -> float:
        return float(self.data["spawned_epoch"])

    def claimed(self) -> set[tuple[str, str]]:
        return {(h, s) for h, s in self.claims}

    def owner_alive(self) -> bool:
        """True while the launcher still holds its flock on the stamp."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops a lock we may just have taken
        return False

    def ended_after(self, when: float) -> bool:
        try:
            return float((self.end or {})["ended_epoch"]) > when
        except (KeyError, TypeError, ValueError):
            return False  # no time in `.end` (half-written, or foreign): settle as before

    def settleable(self, now: float) -> str | None:
        """Why this stamp can be settled now, or None while its launch runs."""
        if self.end is not None:
            return "ended"
        if now - self.spawned > EXPIRY_S:
            return "expired"
        if not self.owner_alive():
            return "launcher died"
        return None


def write_json(path: Path, data: dict[str, Any], sync: bool = True) -> None:
    """Write tmp-then-rename: a reader sees the old file or the new one, never half.

    A launch's own files (its stamp, its `.end`) pass sync=False: they only carry the
    attribution of a launch in flight, and their fsyncs were a fifth of the wrapper's
    overhead. A power loss during a launch can at worst leave a stamp empty (reported by
    `load_all`, left alone) and its sessions recorded under `none`; no spend is lost (it
    is in the harness's logs until ingested, and records themselves are synced)."""
    import json  # (in each function: an ingest with no stamp to read imports none)

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, sort_keys=True)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def create_held(path: Path, data: dict[str, Any]) -> int:
    """Write a new stamp that is already locked when it appears; return the fd holding the
    flock that says its launcher lives (close it to let the stamp be settled).

    Locked before the rename, not after: a stamp seen for even a moment without its lock
    looks like a dead launcher's, and an ingest running then would settle it, empty."""
    import fcntl
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)  # not inherited by the child
    try:
        with os.fdopen(os.dup(fd), "w") as f:
            json.dump(data, f, sort_keys=True)
        fcntl.flock(fd, fcntl.LOCK_EX)  # the lock is the file's: it survives the rename
        os.replace(tmp, path)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    return fd


def hold(path: Path) -> int:
    """Open the stamp and take the flock that says its launcher lives; returns the fd."""
    import fcntl

    fd = os.open(path, os.O_RDONLY)  # O_CLOEXEC by default: the child does not inherit it
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def load_all(pending: Path, problems: list[str] | None = None) -> list[Stamp]:
    """Every stamp in `pending/`, oldest spawn first. A half-written or foreign file is
    reported and left alone (it never stops an ingest)."""
    stamps = []
    for path in _stamp_paths(pending):
        import json  # (imported once a stamp is found)

        try:
            data = json.loads(path.read_text())
            float(data["spawned_epoch"])
            str(data["launch_id"])
        except FileNotFoundError:
            continue  # settled by someone else just now
        except (OSError, ValueError, KeyError, TypeError) as e:
            if problems is not None:
                problems.append(
                    f"{path}: not a launch stamp ({e}); it is ignored — delete it if no launch is running"
                )
            continue
        stamp = Stamp(data, path)
        stamp.end = _optional(path.with_suffix(".end"))
        claims = _optional(path.with_suffix(".claims"))
        stamp.claims = list((claims or {}).get("sessions", []))
        stamps.append(stamp)
    stamps.sort(key=lambda s: (s.spawned, s.id))
    return stamps


def _stamp_paths(pending: Path) -> Iterator[Path]:
    try:
        names = os.listdir(pending)
    except FileNotFoundError:
        return
    for name in names:
        if name.endswith(".json") and not name.startswith("."):
            yield pending / name


def _optional(path: Path) -> dict[str, Any] | None:
    import json

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def save_claims(stamp: Stamp) -> None:
    write_json(stamp.path.with_suffix(".claims"), {"sessions": sorted(stamp.claims)}, sync=False)


def remove(stamp: Stamp) -> None:
    for suffix in SUFFIXES:
        stamp.path.with_suffix(suffix).unlink(missing_ok=True)


def now() -> float:
    return time.time()
