"""Harness log readers: one module per harness behind one registry.

A reader turns the bytes of one log file, from a cursor on, into usage events. It never
holds a whole file in memory, never raises on bad input (bad lines are counted by
reason), and leaves a half-written last line for the next run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol


class UsageEvent(NamedTuple):
    """One billed response (or one cumulative step) of a harness session.

    Immutable; a named tuple rather than a frozen dataclass because readers make one per
    log line with usage, and a frozen dataclass costs ten times as much to build.
    """

    harness: str  # claude | codex | opencode
    session: str  # the harness session id; subagent spend carries its parent's id
    key: str  # unique per response within the session, for exactly-once counting
    timestamp: str  # UTC, 2026-11-23T10:00:00Z
    model: str | None
    usage: dict[str, int | None]  # TOKEN_KINDS; None = the source does not say
    granularity: str = "per-message"  # see burn.ledger.usage.GRANULARITIES
    agent: str | None = None  # the agent the harness itself names (a subagent type)
    cwd: str | None = None
    cost_micros: int | None = None  # a cost the source itself reports
    tier: str = "base"  # "long" when a request crossed the model's long-context threshold
    # When the event sums several API requests (an OpenCode message's steps): the largest
    # single request's prompt, since a long-context price applies per request.
    request_prompt: int | None = None


@dataclass
class Cursor:
    """Where the last read of a file stopped."""

    inode: int = 0
    size: int = 0
    offset: int = 0  # bytes consumed up to the end of the last complete line
    meta: dict[str, str] = field(default_factory=dict)  # reader state that outlives a read


@dataclass
class ReadResult:
    events: list[UsageEvent] = field(default_factory=list)
    cursor: Cursor = field(default_factory=Cursor)
    lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count
    problems: list[str] = field(default_factory=list)  # "file:line: reason", first few
    # Names the harness gives its agents: link key (an event's `agent`) -> agent name.
    labels: dict[str, str] = field(default_factory=dict)


class Reader(Protocol):
    harness: str

    def roots(self) -> list[Path]:
        """Where this harness keeps its logs (its own env var, else its default)."""
        ...

    def files(self, root: Path) -> Iterator[Path]:
        """Every log file under a root."""
        ...

    def read(self, path: Path, cursor: Cursor) -> ReadResult:
        """Events from `cursor` on; the returned cursor is where the next read starts."""
        ...


def env_root(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else Path(default).expanduser()


def find_files(root: Path, suffix: str) -> list[Path]:
    """Every path under `root` whose name ends with `suffix`, sorted as strings: what
    `sorted(root.rglob("*" + suffix), key=str)` finds (symlinked directories are not
    entered, unreadable ones skipped), in half its time."""
    found: list[str] = []
    stack = [str(root)]
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith(suffix):
                found.append(entry.path)
            try:
                if entry.is_dir() and not entry.is_symlink():
                    stack.append(entry.path)
            except OSError:
                pass
    found.sort()
    return [Path(p) for p in found]
