"""The burn home: where the ledger, index, stamps and logs live, and the host id."""

from __future__ import annotations

import os
import re
from pathlib import Path

from burn.store.config import burn_home
from burn.store.locking import file_lock
from burn.store.tuples import NamedTuple


class Home(NamedTuple):
    root: Path

    @classmethod
    def default(cls) -> Home:
        return cls(burn_home())

    @property
    def repo_path(self) -> Path:
        return self.root / "ledger.git"

    @property
    def index_path(self) -> Path:
        return self.root / "index.sqlite"

    @property
    def personas_dir(self) -> Path:
        return self.root / "personas"

    @property
    def pending_dir(self) -> Path:
        return self.root / "pending"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    @property
    def lock_path(self) -> Path:
        return self.root / "lock"

    def lock(self) -> file_lock:
        """The home-wide writer lock (flock): held around every ref update."""
        return file_lock(self.lock_path)

    def host_id(self) -> str:
        """A stable id for this machine's record chain, created on first use."""
        path = self.root / "host-id"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        self.root.mkdir(parents=True, exist_ok=True)
        # (os.uname and os.urandom: what socket.gethostname and secrets.token_hex return,
        # without importing socket, selectors and random into a first ingest: ~4 ms)
        if hasattr(os, "uname"):
            node = os.uname().nodename
        else:  # (Windows)
            import socket

            node = socket.gethostname()
        host = re.sub(r"[^a-z0-9-]+", "-", node.lower()).strip("-")[:32]
        candidate = f"{host or 'host'}-{os.urandom(4).hex()}"
        tmp = path.with_name(f".host-id.{os.getpid()}")
        tmp.write_text(candidate + "\n")
        try:
            os.link(tmp, path)  # first writer wins; a racing process reads the winner
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return path.read_text().strip()


def work_tree(start: Path) -> Path | None:
    """The nearest ancestor of `start` that is a git work tree (holds `.git`)."""
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None
