"""An exclusive advisory lock on a file, held across processes (flock)."""

from __future__ import annotations

import os
from pathlib import Path


class file_lock:
    """Hold an exclusive lock on `path` for the `with` block; released when the process dies.

    Yields True when held; with wait=False, yields False at once if another holds it.
    (A class, not contextlib.contextmanager: contextlib is not imported by a launch.)"""

    def __init__(self, path: Path, wait: bool = True) -> None:
        self.path = path
        self.wait = wait
        self._fd: int | None = None
        self._held = False

    def __enter__(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: CAS alone still keeps refs exact
            self._fd = fd
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fd = fd
            return False
        except BaseException:
            os.close(fd)
            raise
        self._fd, self._held = fd, True
        return True

    def __exit__(self, *_exc: object) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._held:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._held = False
            os.close(fd)
