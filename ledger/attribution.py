"""Attribution in git (DESIGN section 9): which launches produced a commit, at what cost.

`prepare` runs as the `prepare-commit-msg` hook. It finds the launches of the commit —
exactly the launch it runs inside when `BURN_LAUNCH_ID` is set (a harness committing),
otherwise every launch that ended in this work tree since the previous commit and that no
commit has claimed (`Burn-Attribution: window`) — and adds trailers with
`git interpret-trailers`, so the user's own trailers survive:

    Burn-Persona: reviewer@3f2a9c1b7d0e
    Burn-Cost: $0.42
    Burn-Launch: <record id, or the launch id while the launch still runs>

It leaves what it found in `$GIT_DIR/burn-attribution` for `post_commit`, which runs as
`post-commit`: for the launches whose `Burn-Launch` trailer is still in the commit (the
user may have deleted them), it appends a JSON line to the commit's note in
`refs/notes/burn` (copied by amend and rebase: `notes.rewriteRef`) and appends one
`kind=attribution` record to the ledger. That record holds no spend (`cost_micros` is
null, no usage), so it never counts twice; its `launches` say what each launch's spend
was when the commit claimed it. The index keeps one `attributions` row per launch.

Neither hook may fail or hang a commit: `cli/hooks.py` runs them under a deadline and
turns any error into one line on stderr and exit 0.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .gitcli import NOTES_REF, git, try_git

PENDING = "burn-attribution"  # under the git dir (per work tree)
PENDING_MAX_AGE_S = 3600
OPT_OUT = {"0", "false", "off", "no"}
HOOK_IDS = {"burn", "burn-prepare-commit-msg", "burn-post-commit"}
# prepare-commit-msg sources (its 2nd argument) left alone unless `burn.trailers=always`
SKIPPED_SOURCES = {"merge", "squash"}
FIXUP_PREFIXES = ("fixup! ", "squash! ", "amend! ")
# the sequencer replays commits that already carry their attribution (and their note)
SEQUENCER = ("rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD")
WINDOW_LOOKBACK_S = 24 * 3600  # a launch older than a stamp's expiry is not "since"
ATTRIBUTION_PERSONA = "(attribution)"  # the persona field of attribution records


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


def _where(cwd: str | None) -> dict[str, Any]:
    """The work tree top, the pending file and the sequencer state, in one git call."""
    names = ["--show-toplevel", "--git-path", PENDING]
    for s in SEQUENCER:
        names += ["--git-path", s]
    lines = git(["rev-parse", *names], cwd).splitlines()
    base = Path(cwd or ".")
    top = os.path.realpath(lines[0])
    return {
        "top": top,
        "pending": base / lines[1],
        "sequencer": any((base / p).exists() for p in lines[2:]),
    }


def _head_time(cwd: str | None) -> int | None:
    out = try_git(["log", "-1", "--format=%ct", "HEAD"], cwd)
    return int(out) if out and out.strip().isdigit() else None


def _config_always(cwd: str | None) -> bool:
    return (try_git(["config", "--get", "burn.trailers"], cwd) or "").strip().lower() == "always"


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


def exact(home: Path, launch_id: str, env: Mapping[str, str]) -> dict[str, Any]:
    """The launch a commit is made inside: its spend so far (ended: as recorded), less
    what earlier commits of the same launch already claimed."""
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
    try:
        harness = json.loads(stamp.read_text()).get("harness")
    except (OSError, ValueError):
        harness = None
    from .ingest import ingest
    from .ledger import Ledger

    ledger = Ledger.open(home)
    ingest(ledger, [harness] if harness else None, wait=False)
    return ledger.index.conn()


def _running_spend(
    home: Path, conn: sqlite3.Connection, launch_id: str, launch: dict[str, Any]
) -> int | None:
    """What ingest has seen so far for a launch still running (its 1 s tick keeps it fresh)."""
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
    from .record import fmt_usd

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
    home: Path | None = None,
    cwd: str | None = None,
) -> list[tuple[str, str]]:
    """The prepare-commit-msg hook: add the trailers; return what was added."""
    if opted_out(env, "prepare-commit-msg"):
        return []
    where = _where(cwd)
    pending: Path = where["pending"]
    pending.unlink(missing_ok=True)  # an attribution left by a commit that was aborted
    if where["sequencer"]:
        return []  # a rebase or cherry-pick: the commit keeps the trailers it had
    path = Path(cwd or ".") / msg_file
    message = path.read_text(errors="replace")
    skipped = source in SKIPPED_SOURCES or message.startswith(FIXUP_PREFIXES)
    if skipped and not _config_always(cwd):
        return []
    launch_id = env.get("BURN_LAUNCH_ID")
    home = home or _home()
    if launch_id:
        mode, launches = "exact", [exact(home, launch_id, env)]
    elif not (home / "ledger.git").is_dir():
        return []  # no ledger: no launch to attribute
    else:
        conn = _index(home)
        mode, launches = "window", window(conn, where["top"], _head_time(cwd), time.time())
    already = existing_launches(message)
    launches = [x for x in launches if ref(x) not in already and x["launch_id"] not in already]
    if not launches:
        return []
    pairs = trailers(mode, launches)
    if message and not message.endswith("\n"):  # git's MERGE_MSG: without it the trailers
        path.write_text(message + "\n")  # would join the subject's paragraph
    args = ["interpret-trailers", "--in-place", "--where", "end", "--if-exists", "add"]
    for key, value in pairs:
        args += ["--trailer", f"{key}: {value}"]
    git([*args, str(path)], cwd)
    record = {"schema": 1, "mode": mode, "at": time.time(), "top": where["top"], "launches": launches}
    tmp = pending.with_name(f".{pending.name}.{os.getpid()}")
    tmp.write_text(json.dumps(record))
    os.replace(tmp, pending)
    return pairs


def post_commit(
    env: Mapping[str, str], home: Path | None = None, cwd: str | None = None
) -> dict[str, Any] | None:
    """The post-commit hook: note and ledger record for the launches the commit kept.
    Returns the attribution written, or None when there was nothing to record."""
    if opted_out(env, "post-commit"):
        return None
    where = _where(cwd)
    pending: Path = where["pending"]
    try:
        data = json.loads(pending.read_text())
    except (OSError, ValueError):
        return None
    pending.unlink(missing_ok=True)
    if where["sequencer"] or time.time() - float(data.get("at", 0)) > PENDING_MAX_AGE_S:
        return None
    sha, when, kept = _head(cwd)
    launches = [x for x in data.get("launches", []) if ref(x) in kept or x["launch_id"] in kept]
    if not launches:
        return None  # the user took the trailers out of the message
    note = {"schema": 1, "commit": sha, "mode": data.get("mode"), "launches": launches}
    git(["notes", "--ref", NOTES_REF, "append", "-m", json.dumps(note, sort_keys=True), sha], cwd)
    note["record"] = _append(home or _home(), where["top"], sha, when, str(data.get("mode")), launches)
    return note


def _append(root: Path, top: str, sha: str, when: int, mode: str, launches: list[dict[str, Any]]) -> str:
    """Append the attribution record; returns its id. (Ledger.append_many writes one
    record without dulwich, so the hook pays for no git library.)"""
    from .ledger import Ledger

    ledger = Ledger.open(root)
    body = attribution_body(ledger.host, top, sha, when, mode, launches)
    return str(ledger.append_many([body])[0]["id"])


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
    out = git(
        ["log", "-1", "--format=%H%x00%ct%x00%(trailers:key=Burn-Launch,valueonly,separator=%x00)"], cwd
    )
    sha, when, values = out.rstrip("\n").split("\0", 2)
    return sha, int(when), {v.strip() for v in values.split("\0") if v.strip()}


def _home() -> Path:
    env = os.environ.get("BURN_HOME")
    if env:  # store.config (tomllib) only when the platform default is needed
        return Path(env).expanduser()
    from burn.store.config import burn_home

    return burn_home()


def _index(home: Path) -> sqlite3.Connection:
    """A caught-up index connection."""
    from .index import Index

    return Index(home / "index.sqlite", home / "ledger.git").conn()
