"""The queue that carries a commit's attribution from the git hooks into the ledger.

A commit's hooks start one Python process, `prepare-commit-msg`'s. It writes what it found
to `$BURN_HOME/pending-attributions/prepared-<id>.json` and leaves a pointer to it in the
work tree's git dir (`burn-attribution`, shell assignments the `post-commit` shim sources).
After the commit, the shim (no Python) writes the note with git, renames the entry to
`commit-<sha>-<commit time>.json` and starts a background writer. That writer, or else the
next burn command or hook to open the ledger's index (`Ledger.index`), appends the
`kind=attribution` record and only then deletes the entry, so a writer that dies loses
nothing. Appending holds an flock on the entry (a second writer waits, then finds it gone)
and is skipped when the index already has the commit's attribution (a writer that died
between the append and the delete), so each commit is recorded once.

Importing this module costs nothing (`os`, `time`): every burn command checks the queue.
"""

from __future__ import annotations

import os
import time

QUEUE = "pending-attributions"  # under the burn home
POINTER = "burn-attribution"  # under the git dir of the work tree (the name older shims test)
PREPARED, COMMITTED = "prepared-", "commit-"
PENDING_MAX_AGE_S = 3600  # a prepared entry older than this belonged to an aborted commit
READER_WAIT_S = 2.0  # how long a command waits for an entry another writer is appending

TYPE_CHECKING = False  # (typing costs a hook ~5 ms of imports)
if TYPE_CHECKING:
    import sqlite3
    from typing import Any

    from .ledger import Ledger


def queue_dir(home: str | os.PathLike[str]) -> str:
    return os.path.join(home, QUEUE)


def queued(home: str | os.PathLike[str]) -> bool:
    """Commits whose attribution record is still to be appended (one listdir)."""
    try:
        return any(name.startswith(COMMITTED) for name in os.listdir(queue_dir(home)))
    except (FileNotFoundError, NotADirectoryError):
        return False


# -- written by prepare-commit-msg -----------------------------------------------------------


def json_text(db: sqlite3.Connection, value: Any) -> str:
    """`value` (dicts, lists, str, int, float, None) as JSON, keys sorted, with SQLite's
    json_quote: the hook never imports the json module (it brings re, ~5 ms)."""
    if isinstance(value, dict):
        items = (f"{json_text(db, str(k))}:{json_text(db, value[k])}" for k in sorted(value))
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(json_text(db, v) for v in value) + "]"
    if isinstance(value, bool) or not isinstance(value, str | int | float | type(None)):
        raise TypeError(f"cannot write {type(value).__name__} as JSON here")
    text: str = db.execute("SELECT json_quote(?)", (value,)).fetchone()[0]
    return text


def note_tail(db: sqlite3.Connection, mode: str, launches: list[dict[str, Any]]) -> str:
    """The commit's note without its first field: `{"commit":"<sha>",` + this is the whole
    note (keys sorted, so `commit` comes first), for the shim, which knows the sha."""
    return json_text(db, {"launches": launches, "mode": mode, "schema": 1})[1:]


def note_text(db: sqlite3.Connection, sha: str, mode: str, launches: list[dict[str, Any]]) -> str:
    return '{"commit":' + json_text(db, sha) + "," + note_tail(db, mode, launches)


def write_prepared(
    db: sqlite3.Connection, home: str, git_dir: str, top: str, mode: str, launches: list[dict[str, Any]]
) -> str:
    """Queue the attribution of the commit being made; point the work tree's post-commit at
    it. Returns the entry's path."""
    qdir = queue_dir(home)
    os.makedirs(qdir, exist_ok=True)
    entry = os.path.join(qdir, f"{PREPARED}{os.getpid()}-{time.time_ns()}.json")
    record = {"schema": 1, "mode": mode, "at": time.time(), "top": top, "launches": launches}
    _write(entry, json_text(db, record) + "\n")
    expect = " ".join(str(x.get("record") or x["launch_id"]) for x in launches)
    assignments = {"burn_entry": entry, "burn_expect": expect, "burn_note": note_tail(db, mode, launches)}
    _write(
        os.path.join(git_dir, POINTER),
        "".join(f"{k}={shell_quote(v)}\n" for k, v in assignments.items()),
    )
    return entry


def _write(path: str, text: str) -> None:
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"


def read_pointer(git_dir: str) -> dict[str, str] | None:
    """What prepare-commit-msg left for post-commit (see write_prepared), or None."""
    try:
        with open(os.path.join(git_dir, POINTER)) as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        key, sep, quoted = line.partition("=")
        if sep and len(quoted) >= 2 and quoted[0] == quoted[-1] == "'":
            out[key] = quoted[1:-1].replace("'\\''", "'")
    return out if out.get("burn_entry") else None


def discard(git_dir: str) -> None:
    """Forget what a commit that never happened (aborted, or made without burn) left."""
    pointer = read_pointer(git_dir)
    if pointer is not None and os.path.basename(pointer["burn_entry"]).startswith(PREPARED):
        _unlink(pointer["burn_entry"])
    _unlink(os.path.join(git_dir, POINTER))  # (also the empty one the post-commit shim left)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def commit_entry(entry: str, sha: str, when: int) -> str:
    """The queue name of the attribution of commit `sha` (made at `when`)."""
    return os.path.join(os.path.dirname(entry), f"{COMMITTED}{sha}-{when}.json")


# -- appended by the background writer, or by whoever opens the index next -------------------


def complete(ledger: Ledger, wait_s: float | None = READER_WAIT_S) -> list[str]:
    """Append the attribution records of every queued commit; returns their record ids.
    Called by `Ledger.index` (which has set itself before: the appends go into it). An
    entry another writer holds is waited for up to `wait_s` (None: as long as it takes),
    then left to that writer: a read is not held up by a writer stuck behind the home lock."""
    qdir = queue_dir(ledger.home.root)
    try:
        names = sorted(os.listdir(qdir))
    except FileNotFoundError:
        return []
    now = time.time()
    done = []
    for name in names:
        path = os.path.join(qdir, name)
        if name.startswith(PREPARED):
            try:
                if now - os.stat(path).st_mtime > PENDING_MAX_AGE_S:
                    os.unlink(path)  # its commit was aborted long ago
            except FileNotFoundError:
                pass
            continue
        sha, _, when = name[len(COMMITTED) : -len(".json")].partition("-")
        if name.startswith(COMMITTED) and name.endswith(".json") and when.isdigit():
            rid = _append(ledger, path, sha, int(when), wait_s)
            if rid:
                done.append(rid)
    return done


def _append(ledger: Ledger, path: str, sha: str, when: int, wait_s: float | None) -> str | None:
    import fcntl
    import json

    try:
        f = open(path, "rb")  # noqa: SIM115 - held across the append, closed below
    except FileNotFoundError:
        return None  # appended by another writer meanwhile
    with f:
        if wait_s is None:
            fcntl.flock(f, fcntl.LOCK_EX)  # another writer on it: wait for it to finish
        elif not _lock_within(f.fileno(), wait_s):
            return None  # still another writer's: it lands when that writer gets the ledger
        try:
            if os.stat(path).st_ino != os.fstat(f.fileno()).st_ino:
                return None
        except FileNotFoundError:
            return None  # that writer appended it
        try:
            data = json.loads(f.read())
            top, mode, launches = str(data["top"]), str(data["mode"]), list(data["launches"])
        except (ValueError, KeyError, TypeError):
            return None  # not written by burn: left for a person to look at
        conn = ledger.index.conn()
        row = conn.execute(
            "SELECT r.id FROM attributions a JOIN records r ON r.seq = a.seq WHERE a.commit_sha = ? LIMIT 1",
            (sha,),
        ).fetchone()
        if row is not None:
            rid = str(row[0])  # appended by a writer that died before deleting the entry
        else:
            from .attribution import attribution_body

            body = attribution_body(ledger.host, top, sha, when, mode, launches)
            rid = str(ledger.append_many([body])[0]["id"])
        os.unlink(path)
    return rid


def _lock_within(fd: int, wait_s: float) -> bool:
    import fcntl

    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
