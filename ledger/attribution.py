"""Attribution in git (DESIGN section 9): which launches produced a commit, at what cost.

`prepare` runs as the `prepare-commit-msg` hook. It finds the launches of the commit —
exactly the launch it runs inside when `BURN_LAUNCH_ID` is set (a harness committing),
otherwise every launch that ended in this work tree since the previous commit and that no
commit has claimed (`Burn-Attribution: window`) — and adds trailers with
`git interpret-trailers`, so the user's own trailers survive:

    Burn-Persona: reviewer@3f2a9c1b7d0e
    Burn-Cost: $0.42
    Burn-Launch: <record id, or the launch id while the launch still runs>

It queues what it found (`attribution_queue`) for the `post-commit` shim: for the launches
whose `Burn-Launch` trailer is still in the commit (the user may have deleted them), the
shim appends a JSON line to the commit's note in `refs/notes/burn` (copied by amend and
rebase: `notes.rewriteRef`) and hands the rest to a background writer, which appends one
`kind=attribution` record to the ledger. That record holds no spend (`cost_micros` is
null, no usage), so it never counts twice; its `launches` say what each launch's spend
was when the commit claimed it. The index keeps one `attributions` row per launch.
`post_commit` is the same in Python, for what the shim leaves to it (some trailers
deleted, a shim installed by an older burn).

That is one Python process per commit, and it imports little: in the common case (a
window, the index already caught up) no json, subprocess, typing or pathlib, and no git
child but `interpret-trailers` (the repository is read from its files, `hookrepo`).

Neither hook may fail or hang a commit: `cli/hooks.py` runs them under a deadline and
turns any error into one line on stderr and exit 0.
"""

from __future__ import annotations

import os
import time

from . import attribution_queue as queue
from .hookrepo import NOTES_REF, Unknown, head_time, hook_git_dir, in_sequencer
from .money import fmt_usd

TYPE_CHECKING = False  # (typing, pathlib and collections.abc cost a hook ~10 ms of imports)
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Mapping, Sequence
    from pathlib import Path
    from typing import Any

OPT_OUT = {"0", "false", "off", "no"}
HOOK_IDS = {"burn", "burn-prepare-commit-msg", "burn-post-commit"}
# prepare-commit-msg sources (its 2nd argument) left alone unless `burn.trailers=always`
SKIPPED_SOURCES = {"merge", "squash"}
FIXUP_PREFIXES = ("fixup! ", "squash! ", "amend! ")
WINDOW_LOOKBACK_S = 24 * 3600  # a launch older than a stamp's expiry is not "since"
ATTRIBUTION_PERSONA = "(attribution)"  # the persona field of attribution records
INDEX_SCHEMA = 12  # = index.SCHEMA_VERSION (a test keeps them equal); another: the slow path
INDEX_BUSY_S = 30.0  # = index.BUSY_TIMEOUT_S
RECORDS_PREFIX = "refs/burn/records/"  # = index.RECORDS_PREFIX
PERSONAS_REF = "refs/burn/personas"  # = index.PERSONAS_REF


# -- opting out --------------------------------------------------------------------------


def opted_out(env: Mapping[str, str], hook: str) -> str | None:
    """Why this hook must do nothing, or None. BURN=0 (also AGENTWORKFORCE_BURN=0),
    `git -c burn.hooks=false commit`, and pre-commit's SKIP=burn (or the hook's id)."""
    for key in ("BURN", "AGENTWORKFORCE_BURN"):
        if env.get(key, "").strip().lower() in OPT_OUT:
            return f"{key}={env[key]}"
    params = env.get("GIT_CONFIG_PARAMETERS", "").lower()
    if "'burn.hooks'='false'" in params or "'burn.hooks'='0'" in params:
        return "git -c burn.hooks=false"
    skip = {s.strip() for s in env.get("SKIP", "").split(",")}
    if skip & {*HOOK_IDS, f"burn-{hook}"}:
        return "SKIP"
    return None


# -- the repository ----------------------------------------------------------------------


def _where(env: Mapping[str, str], cwd: str | None) -> tuple[str, str]:
    """(work tree top, git dir): from the files when git runs us as a hook, else from git."""
    found = hook_git_dir(env, cwd)
    if found is not None:
        return found
    top, git_dir = run_git(["rev-parse", "--show-toplevel", "--git-dir"], cwd).splitlines()[:2]
    return os.path.realpath(top), os.path.join(cwd or ".", git_dir)


def _head_time(git_dir: str, env: Mapping[str, str], cwd: str | None) -> int | None:
    try:
        return head_time(git_dir, env)
    except (Unknown, OSError, ValueError):
        pass
    try:
        out = run_git(["log", "-1", "--format=%ct", "HEAD"], cwd)
    except OSError:
        return None  # an unborn branch: the first commit
    return int(out) if out.strip().isdigit() else None


def _config_always(cwd: str | None) -> bool:
    try:
        return run_git(["config", "--get", "burn.trailers"], cwd).strip().lower() == "always"
    except OSError:
        return False


def run_git(args: Sequence[str], cwd: str | None = None) -> str:
    """stdout of `git ARGS`; OSError with git's message when it fails. posix_spawn and
    pipes, not subprocess (whose imports cost a hook ~5 ms); only for commands that print
    little on stderr (it is read after stdout)."""
    argv = ["git", *(["-C", cwd] if cwd else []), *args]
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.posix_spawnp(
            "git",
            argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, out_w, 1),
                (os.POSIX_SPAWN_DUP2, err_w, 2),
                (os.POSIX_SPAWN_CLOSE, out_r),
                (os.POSIX_SPAWN_CLOSE, err_r),
            ],
        )
    finally:
        os.close(out_w)
        os.close(err_w)
    try:
        out, err = _read_all(out_r), _read_all(err_r)
    finally:
        os.close(out_r)
        os.close(err_r)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise OSError(f"git {' '.join(args[:2])}: {lines[-1] if lines else f'status {status}'}")
    return out.decode(errors="replace")


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


# -- the index ---------------------------------------------------------------------------


def _fresh_index(home: str) -> sqlite3.Connection | None:
    """The index when it has already caught up with every ledger ref (a hook's common
    case), opened without the index module (~15 ms of imports: pathlib, typing, ...);
    None when it must catch up or be built, or attributions are queued: `_index` then."""
    db = _sqlite()
    path = os.path.join(home, "index.sqlite")
    if not os.path.isfile(path) or queue.queued(home):
        return None
    conn = db.connect(path, timeout=INDEX_BUSY_S, isolation_level=None)
    try:
        if conn.execute("PRAGMA user_version").fetchone()[0] == INDEX_SCHEMA:
            seen = dict(conn.execute("SELECT ref, sha FROM tips").fetchall())
            if seen == ref_tips(os.path.join(home, "ledger.git")):
                return conn
    except db.DatabaseError:
        pass  # damaged: Index reports or rebuilds it
    conn.close()
    return None


def ref_tips(repo: str) -> dict[str, str]:
    """The ledger's record refs and persona ref, as `Index.current_tips` reads them (a
    test holds the two equal): loose over packed."""
    packed: dict[str, str] = {}
    try:
        with open(os.path.join(repo, "packed-refs"), "rb") as f:
            for line in f.read().splitlines():
                if line and line[:1] not in (b"#", b"^"):
                    sha, _, name = line.partition(b" ")
                    packed[name.decode()] = sha.decode()
    except FileNotFoundError:
        pass
    tips = {k: v for k, v in packed.items() if k.startswith(RECORDS_PREFIX)}
    try:
        entries = list(os.scandir(os.path.join(repo, RECORDS_PREFIX)))
    except FileNotFoundError:
        entries = []
    for e in entries:
        if e.is_file() and not e.name.endswith(".lock"):
            with open(e.path, "rb") as f:
                sha = f.read().strip()
            if len(sha) == 40:
                tips[RECORDS_PREFIX + e.name] = sha.decode()
    try:
        with open(os.path.join(repo, PERSONAS_REF), "rb") as f:
            personas = f.read().strip().decode() or None
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        personas = packed.get(PERSONAS_REF)
    if personas:
        tips[PERSONAS_REF] = personas
    return tips


# -- finding the launches of a commit ----------------------------------------------------


def _launch_costs(conn: sqlite3.Connection, launch_ids: list[str]) -> dict[str, tuple[int | None, str]]:
    """A launch's spend as recorded (its record plus later growth of its sessions):
    launch id -> (micro-USD or None when any part is unknown, id of the launch record)."""
    if not launch_ids:
        return {}
    marks = ",".join("?" * len(launch_ids))
    out: dict[str, tuple[int | None, str]] = {}
    for lid, total, unknown, rid in conn.execute(
        "SELECT launch_id, sum(cost_micros), sum(cost_micros IS NULL),"
        " max(CASE WHEN kind = 'launch' THEN id END)"
        f" FROM records WHERE launch_id IN ({marks}) AND kind IS NOT 'attribution' GROUP BY launch_id",
        launch_ids,
    ):
        out[lid] = (None if unknown else int(total or 0), rid)
    return out


def _claimed(conn: sqlite3.Connection, launch_id: str) -> tuple[int, int]:
    """(commits that already claimed this launch, the spend they claimed)."""
    n, total = conn.execute(
        "SELECT count(*), coalesce(sum(cost_micros), 0) FROM attributions WHERE launch_id = ?",
        (launch_id,),
    ).fetchone()
    return int(n), int(total)


def window(conn: sqlite3.Connection, top: str, since: int | None, now: float) -> list[dict[str, Any]]:
    """Launches that ended in the work tree `top` since `since` (epoch s; None: the first
    commit) and that no commit has claimed, oldest first."""
    lo = int(now) - WINDOW_LOOKBACK_S if since is None else since - WINDOW_LOOKBACK_S
    rows = conn.execute(
        "SELECT r.id, r.launch_id, r.persona, r.version, json_extract(b.json, '$.cwd')"
        " FROM records r JOIN bodies b ON b.seq = r.seq"
        " WHERE r.kind = 'launch' AND r.started_at >= ? AND coalesce(r.ended_at, r.started_at) >= ?"
        " AND r.launch_id IS NOT NULL"
        " AND NOT EXISTS (SELECT 1 FROM attributions a WHERE a.launch_id = r.launch_id)"
        " ORDER BY r.started_at, r.seq",
        (lo, since if since is not None else lo),
    ).fetchall()
    inside = [r for r in rows if isinstance(r[4], str) and _within(r[4], top)]
    costs = _launch_costs(conn, [r[1] for r in inside])
    return [
        {
            "launch_id": lid,
            "record": rid,
            "persona": persona,
            "version": version,
            "cost_micros": costs.get(lid, (None, rid))[0],
        }
        for rid, lid, persona, version, _cwd in inside
    ]


def _within(path: str, top: str) -> bool:
    path = os.path.realpath(path)
    return path == top or path.startswith(top.rstrip(os.sep) + os.sep)


def exact(root: str | os.PathLike[str], launch_id: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The launch a commit is made inside: its spend so far (ended: as recorded), less
    what earlier commits of the same launch already claimed."""
    home = _path(os.fspath(root))
    name, _, short = env.get("BURN_PERSONA", "").partition("@")
    launch: dict[str, Any] = {
        "launch_id": launch_id,
        "record": None,
        "persona": name or "unknown",
        "version": None,
        "version_short": short or None,
        "cost_micros": None,
    }
    stamp = home / "pending" / f"{launch_id}.json"
    if stamp.is_file():  # still running: read its logs now (this also makes a new ledger)
        conn: sqlite3.Connection | None = _ingest_now(home, stamp)
    elif (home / "ledger.git").is_dir():
        conn = _index(home)
    else:
        return launch  # no ledger at all: who, from the environment; cost unknown
    assert conn is not None
    spent: int | None = None
    recorded = _launch_costs(conn, [launch_id]).get(launch_id)
    if recorded is not None and recorded[1] is not None:
        spent, launch["record"] = recorded
        row = conn.execute("SELECT persona, version FROM records WHERE id = ?", (recorded[1],)).fetchone()
        launch["persona"], launch["version"] = row
    else:
        spent = _running_spend(home, conn, launch_id, launch)
    n, claimed = _claimed(conn, launch_id)
    launch["cost_micros"] = None if spent is None else max(0, spent - claimed)
    launch["earlier_commits"] = n
    return launch


def _ingest_now(home: Path, stamp: Path) -> sqlite3.Connection:
    """Read the launch's harness logs now (unless an ingest — its own tick — is running):
    the trailer then has what the harness spent up to this commit, not up to the last tick."""
    import json

    try:
        harness = json.loads(stamp.read_text()).get("harness")
    except (OSError, ValueError):
        harness = None
    from .ingest import ingest
    from .ledger import Ledger

    ledger = Ledger.open(home)
    ingest(ledger, [harness] if harness else None, wait=False)
    queue.complete(ledger, wait_s=None)  # (see _index)
    return ledger.index.conn()


def _running_spend(
    home: Path, conn: sqlite3.Connection, launch_id: str, launch: dict[str, Any]
) -> int | None:
    """What ingest has seen so far for a launch still running (its 1 s tick keeps it fresh)."""
    import json

    from . import stamps as st

    path = home / "pending" / f"{launch_id}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    stamp = st.Stamp(data, path)
    claims = st._optional(path.with_suffix(".claims")) or {}
    stamp.claims = list(claims.get("sessions", []))
    launch["persona"] = data.get("persona") or launch["persona"]
    launch["version"] = data.get("version")
    if not stamp.claims:
        return 0  # no session seen yet: nothing spent so far
    from .pricing import load_table
    from .running import _row

    cost: int | None = _row(conn, stamp, load_table())["cost_micros"]
    return cost


# -- trailers ------------------------------------------------------------------------------


def who(launch: Mapping[str, Any]) -> str:
    version = launch.get("version")
    short = version[3:15] if isinstance(version, str) else launch.get("version_short")
    return f"{launch['persona']}@{short}" if short else str(launch["persona"])


def ref(launch: Mapping[str, Any]) -> str:
    """What a Burn-Launch trailer names: the record once it exists, else the launch id."""
    return str(launch.get("record") or launch["launch_id"])


def trailers(mode: str, launches: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Burn-Persona and Burn-Cost per persona version (in first-seen order), then one
    Burn-Launch per launch, then Burn-Attribution: window when the launches were inferred."""
    by_who: dict[str, int | None] = {}
    for launch in launches:
        key = who(launch)
        before = by_who.get(key, 0)
        cost = launch.get("cost_micros")
        by_who[key] = None if before is None or cost is None else before + cost
    out: list[tuple[str, str]] = []
    for key, cost in by_who.items():
        out += [("Burn-Persona", key), ("Burn-Cost", fmt_usd(cost))]
    out += [("Burn-Launch", ref(launch)) for launch in launches]
    if mode == "window":
        out.append(("Burn-Attribution", "window"))
    return out


def existing_launches(message: str) -> set[str]:
    """The Burn-Launch values already in a message (an amend, `commit -c`)."""
    return {
        line.split(":", 1)[1].strip()
        for line in message.splitlines()
        if line.lower().startswith("burn-launch:")
    }


# -- the hooks -----------------------------------------------------------------------------


def prepare(
    msg_file: str,
    source: str | None,
    env: Mapping[str, str],
    home: str | os.PathLike[str] | None = None,
    cwd: str | None = None,
) -> list[tuple[str, str]]:
    """The prepare-commit-msg hook: add the trailers and queue the attribution; return
    the trailers added."""
    top, git_dir = _where(env, cwd)
    queue.discard(git_dir)  # what a commit that was aborted left
    if opted_out(env, "prepare-commit-msg") or in_sequencer(git_dir):
        return []  # (a rebase or cherry-pick: the commit keeps the trailers it had)
    path = os.path.join(cwd or ".", msg_file)
    with open(path, errors="replace") as f:
        message = f.read()
    skipped = source in SKIPPED_SOURCES or message.startswith(FIXUP_PREFIXES)
    if skipped and not _config_always(cwd):
        return []
    launch_id = env.get("BURN_LAUNCH_ID")
    root = os.fspath(home or _home(env))
    if launch_id:
        mode, launches = "exact", [exact(root, launch_id, env)]
    elif not os.path.isdir(os.path.join(root, "ledger.git")):
        return []  # no ledger: no launch to attribute
    else:
        conn = _fresh_index(root) or _index(root)
        mode, launches = "window", window(conn, top, _head_time(git_dir, env, cwd), time.time())
    already = existing_launches(message)
    launches = [x for x in launches if ref(x) not in already and x["launch_id"] not in already]
    if not launches:
        return []
    pairs = trailers(mode, launches)
    if message and not message.endswith("\n"):  # git's MERGE_MSG: without it the trailers
        with open(path, "w") as f:  # would join the subject's paragraph
            f.write(message + "\n")
    args = ["interpret-trailers", "--in-place", "--where", "end", "--if-exists", "add"]
    for key, value in pairs:
        args += ["--trailer", f"{key}: {value}"]
    run_git([*args, os.path.abspath(path)], cwd)
    queue.write_prepared(_json_db(), root, git_dir, top, mode, launches)
    return pairs


def post_commit(
    env: Mapping[str, str], home: str | os.PathLike[str] | None = None, cwd: str | None = None
) -> dict[str, Any] | None:
    """The post-commit hook in Python (the shim does the common case itself): the note and
    the ledger record for the launches the commit kept. Returns the note written, with the
    record's id, or None when there was nothing to record."""
    import json

    if opted_out(env, "post-commit"):
        return None
    _top, git_dir = _where(env, cwd)
    pointer = queue.read_pointer(git_dir)
    entry = pointer["burn_entry"] if pointer else ""
    try:
        with open(entry) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = None
    queue.discard(git_dir)  # taken: the pointer and the prepared entry go
    if data is None or in_sequencer(git_dir):
        return None
    sha, when, kept = _head(cwd)
    launches = [x for x in data.get("launches", []) if ref(x) in kept or x["launch_id"] in kept]
    if not launches:
        return None  # the user took the trailers out of the message
    db = _json_db()
    note_line = queue.note_text(db, sha, str(data.get("mode")), launches)
    run_git(["notes", "--ref", NOTES_REF, "append", "-m", note_line, sha], cwd)
    record = {**data, "launches": launches}
    committed = queue.commit_entry(entry, sha, when)
    with open(committed + ".tmp", "w") as f:
        f.write(queue.json_text(db, record) + "\n")
    os.replace(committed + ".tmp", committed)
    from .ledger import Ledger

    ledger = Ledger.open(_path(os.path.dirname(os.path.dirname(entry))))
    queue.complete(ledger, wait_s=None)
    note: dict[str, Any] = json.loads(note_line)
    note["record"] = _record_of(ledger, sha)
    return note


def _record_of(ledger: Any, sha: str) -> str | None:
    row = (
        ledger.index.conn()
        .execute(
            "SELECT r.id FROM attributions a JOIN records r ON r.seq = a.seq WHERE a.commit_sha = ? LIMIT 1",
            (sha,),
        )
        .fetchone()
    )
    return str(row[0]) if row else None


def attribution_body(
    host: str, top: str, sha: str, when: int, mode: str, launches: list[dict[str, Any]]
) -> dict[str, Any]:
    from .record import make_body, utc_iso

    return make_body(
        persona=ATTRIBUTION_PERSONA,  # never a persona's name: queries by persona skip it
        version=None,
        source="hook",
        host=host,
        started_at=utc_iso(when),
        kind="attribution",
        repo=top,
        commit=sha,
        mode=mode,
        launches=[
            {k: x.get(k) for k in ("launch_id", "record", "persona", "version", "cost_micros")}
            for x in launches
        ],
    )


def _head(cwd: str | None) -> tuple[str, int, set[str]]:
    out = run_git(
        ["log", "-1", "--no-show-signature",
         "--format=%H%x00%ct%x00%(trailers:key=Burn-Launch,valueonly,separator=%x00)"],
        cwd,
    )  # fmt: skip
    sha, when, values = out.rstrip("\n").split("\0", 2)
    return sha, int(when), {v.strip() for v in values.split("\0") if v.strip()}


def _json_db() -> sqlite3.Connection:
    conn: sqlite3.Connection = _sqlite().connect(":memory:")
    return conn


def _sqlite() -> Any:
    """sqlite3's C module, without sqlite3/dbapi2.py: its datetime and collections.abc
    imports cost a hook ~3 ms. The same connect, Connection and exceptions."""
    try:
        import _sqlite3

        return _sqlite3
    except ImportError:  # pragma: no cover - a Python that builds sqlite3 otherwise
        import sqlite3

        return sqlite3


def _home(env: Mapping[str, str]) -> str:
    value = env.get("BURN_HOME")
    if value:
        return os.path.expanduser(value)
    from burn.store.homedir import default_home

    return default_home(env)


def _path(value: str) -> Path:
    from pathlib import Path

    return Path(value)


def _index(home: str | os.PathLike[str]) -> sqlite3.Connection:
    """A caught-up index connection, every queued attribution appended first: a hook waits
    for a writer still appending one (under its deadline), or it could claim that entry's
    launches a second time."""
    from .ledger import Ledger

    ledger = Ledger.open(_path(os.fspath(home)))
    queue.complete(ledger, wait_s=None)
    return ledger.index.conn()
