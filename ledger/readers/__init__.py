"""Harness log readers: one module per harness behind one registry.

A reader turns the bytes of one log file, from a cursor on, into usage events. It never
holds a whole file in memory, never raises on bad input (bad lines are counted by
reason), and leaves a half-written last line for the next run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

from burn.store.tuples import NamedTuple

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any, Protocol

    from .listings import Listings
else:
    Protocol = object  # (Reader is a protocol for type checkers only)


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


# (Plain classes, not dataclasses: importing dataclasses is a tenth of what the launch
# wrapper imports.)
class Cursor:
    """Where the last read of a file stopped."""

    def __init__(
        self, inode: int = 0, size: int = 0, offset: int = 0, meta: dict[str, str] | None = None
    ) -> None:
        self.inode = inode
        self.size = size
        self.offset = offset  # bytes consumed up to the end of the last complete line
        self.meta: dict[str, str] = {} if meta is None else meta  # reader state that outlives a read

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Cursor) and vars(self) == vars(other)

    def __repr__(self) -> str:
        return f"Cursor(inode={self.inode}, size={self.size}, offset={self.offset}, meta={self.meta})"


# The row one report of a response becomes (folded by session in responses.fold).
ROW_FIELDS = (
    "harness", "session", "key", "agent", "model", "tier", "granularity", "ts", "cwd",
    "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_5m_tokens",
    "cache_write_1h_tokens", "reasoning_tokens", "cost_micros",
)  # fmt: skip
Span = list[str]  # first and last timestamp


class ReadResult:
    """What a reader found in one file: usage `events`, or, from a reader that reads many
    lines, the same already as `rows` (ROW_FIELDS, one per report in file order, with the
    price tier and model set as `ingest_read` sets them for an event) and their `spans`
    ((harness, session, agent or "") -> first and last timestamp). Never both."""

    def __init__(self, cursor: Cursor | None = None) -> None:
        self.events: list[UsageEvent] = []
        self.rows: list[tuple[Any, ...]] = []
        self.spans: dict[tuple[str, str, str], Span] = {}
        self.folded = 0  # reports folded into the row of the same response just before them
        self.cursor = Cursor() if cursor is None else cursor
        self.lines = 0
        self.skipped: Counter[str] = Counter()  # reason -> count
        self.problems: list[str] = []  # "file:line: reason", first few
        # Names the harness gives its agents: link key (an event's `agent`) -> agent name.
        self.labels: dict[str, str] = {}


class Reader(Protocol):
    harness: str
    unreadable: list[str]  # "dir: cannot list: reason" for each directory files() could not list
    listings: Listings | None  # directory listings of an earlier ingest, set by the engine

    def roots(self) -> list[Path]:
        """Where this harness keeps its logs (its own env var, else its default)."""
        ...

    def files(self, root: Path) -> Iterator[Path | str]:
        """Every log file under a root (a string or a Path: `read` takes either back)."""
        ...

    def read(self, path: str | Path, cursor: Cursor) -> ReadResult:
        """Events from `cursor` on; the returned cursor is where the next read starts."""
        ...

    # Optional: `prepare(pricing)`, called before an ingest reads: imports what `read` needs
    # (before a big read is shared with a forked helper, see ingest_read.read_logs) and
    # takes the price table whose tiers `rows` carry (None: every row is "base").


def utf8_text(text: str) -> bool:
    """Whether a name from the file system is UTF-8: os.listdir gives the bytes of one that
    is not as surrogates, which SQLite and JSON refuse."""
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def env_root(var: str, default: str) -> Path:
    value = os.environ.get(var)
    return Path(value).expanduser() if value else Path(default).expanduser()


def find(
    base: Path, match: Callable[[str], bool], unreadable: list[str], listings: Listings | None = None
) -> list[Path]:
    """`find_paths` as Path objects."""
    return [Path(p) for p in find_paths(base, match, unreadable, listings)]


def find_paths(
    base: Path | str, match: Callable[[str], bool], unreadable: list[str], listings: Listings | None = None
) -> list[str]:
    """Files under `base` whose names match, sorted as strings. A directory that cannot be
    listed is noted in `unreadable` and the walk goes on (Path.rglob would skip it
    silently); a missing one is not an error (a harness never installed, a directory
    removed meanwhile). Symlinked directories are not entered. (os.scandir by hand: half
    the time of os.walk or rglob on a large history.) With `listings`, a directory
    unchanged since an earlier ingest listed it is not listed again (see listings.py)."""
    from .listings import list_names

    found: list[str] = []
    stack = [str(base)]
    if listings is not None and os.path.isdir(stack[0]) and not listings.trusts(stack[0]):
        listings = None  # (a file system that may not move mtimes: listed every time)
    if listings is not None:
        listings.bases.add(stack[0])
    while stack:
        top = stack.pop()
        try:
            names = list_names(top) if listings is None else listings.names(top)
        except FileNotFoundError:
            continue
        except OSError as e:
            unreadable.append(f"{top}: cannot list: {e.strerror}")
            continue
        prefix = top if top.endswith("/") else top + "/"  # (what os.scandir's entry.path is)
        for name in names:
            if name[-1] == "/":
                stack.append(prefix + name[:-1])
            elif match(name):
                found.append(prefix + name)
    found.sort()
    return found  # (strings: making a Path of each costs most of a listing with nothing new)
