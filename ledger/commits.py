"""Spend by git commit: the `commit=` and `repo=` filters and `burn summary --by commit`.

Which launches a commit claimed comes from two places that agree when nothing was
rewritten: the ledger's attribution records (the `attributions` index table, by the sha
the commit had when it was made) and the commit's note in `refs/notes/burn` (JSON lines,
copied to the new sha by amend and rebase). So a rebased commit is found through its note.

A commit's cost: each launch it claimed counts with its recorded spend. A launch claimed
by several commits (a harness that committed twice inside one launch) is split so that
every token counts once: each commit but the last keeps what the launch had spent when it
claimed it (the trailer's figure), the last gets the rest of the launch's spend.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any

from burn.store.errors import UsageError

from .gitcli import NOTES_REF, GitError, git, toplevel
from .index import who
from .query import Query, compile_query

_HEX = re.compile(r"^[0-9a-f]{4,40}$")
_ATTR_COLS = "commit_sha, launch_id, record_id, persona, cost_micros, at, repo, seq"


def parse_note(text: str) -> list[dict[str, Any]]:
    """The attributions in a note: one JSON object per line; anything else is skipped
    (a note may have been concatenated with another by a rewrite, or edited by hand)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and isinstance(obj.get("launches"), list):
            out.append(obj)
    return out


def _resolve(value: str, cwd: str | None = None) -> tuple[str, list[dict[str, Any]]] | None:
    """(full sha, attributions in its note) of a revision in the repository at `cwd`."""
    if value.startswith("-"):
        return None
    try:
        out = git(["log", "-1", "--no-walk", f"--notes={NOTES_REF}", "--format=%H%x00%N", value, "--"], cwd)
    except GitError:
        return None
    sha, _, note = out.partition("\0")
    return sha.strip(), parse_note(note)


def commit_filter(conn: sqlite3.Connection, value: str) -> tuple[str, list[Any]]:
    """`commit=<rev>`: the spend records of the launches that commit claimed (and with
    `kind=attribution`, its attribution records). A revision is resolved in the repository
    of the current directory; a hex prefix also matches commits of other repositories."""
    resolved = _resolve(value)
    if resolved is not None:
        cond, params = "commit_sha = ?", [resolved[0]]
        noted = [x for a in resolved[1] for x in a["launches"] if isinstance(x, dict)]
    elif _HEX.match(value.lower()):
        cond, params, noted = "commit_sha LIKE ?", [value.lower() + "%"], []
    else:
        raise UsageError(
            f"commit={value!r} is not a revision of the repository here",
            fix="run it inside the repository, or give the commit's hex id",
        )
    ids = sorted({str(x["launch_id"]) for x in noted if x.get("launch_id")})
    recs = sorted({str(x["record"]) for x in noted if x.get("record")})
    sql = (
        f"(records.seq IN (SELECT seq FROM attributions WHERE {cond})"
        f" OR records.launch_id IN (SELECT launch_id FROM attributions WHERE {cond})"
        f" OR records.id IN (SELECT record_id FROM attributions WHERE {cond})"
        f" OR records.launch_id IN ({','.join('?' * len(ids)) or 'NULL'})"
        f" OR records.id IN ({','.join('?' * len(recs)) or 'NULL'}))"
    )
    return sql, [*params, *params, *params, *ids, *recs]


def repo_key(value: str) -> str:
    """A repository as attributions name it: its work tree's top, resolved."""
    if os.path.isdir(value):
        try:
            return toplevel(value)
        except GitError:
            return os.path.realpath(value)
    return value


def repo_filter(value: str) -> tuple[str, list[Any]]:
    """`repo=PATH` (or a trailing part of it, like `repo=burn`): records attributed to
    commits of that repository, and its attribution records."""
    key = repo_key(value)
    like = "%/" + key.strip("/")
    return (
        "(records.repo = ? OR records.repo LIKE ?"
        " OR records.launch_id IN (SELECT launch_id FROM attributions WHERE repo = ? OR repo LIKE ?))",
        [key, like, key, like],
    )


# -- summary --by commit -------------------------------------------------------------------


def by_commit(
    conn: sqlite3.Connection, q: Query, repo: str | None = None, rev_range: str | None = None
) -> list[dict[str, Any]]:
    """One row per commit that claimed launches, newest first. With a repository, the
    commits of `rev_range` (default HEAD) in it, found by sha and through their notes;
    without one, every attribution in the ledger. `q` filters the spend records counted."""
    where, params = compile_query(conn, q)
    filtered = bool(q.filters) or q.since is not None or q.until is not None
    claims: list[dict[str, Any]] = []  # commit, launch, claimed cost, when
    info: dict[str, dict[str, Any]] = {}
    # Commits in the order they were made, for ties in commit time (two in one second):
    # git's order in a repository, else the order their attributions were recorded.
    rank: dict[str, int] = {}
    if repo is not None:
        top = toplevel(repo)
        commits = _commits(top, rev_range)
        if not commits:
            return []
        rank = {sha: -i for i, sha in enumerate(commits)}  # (newest first)
        for sha, (when, subject, notes) in commits.items():
            info[sha] = {"repo": top, "committed_at": when, "subject": subject}
            for a in notes:
                claims += [_claim(sha, x, when) for x in a["launches"] if isinstance(x, dict)]
        marks = ",".join("?" * len(commits))
        rows = conn.execute(
            f"SELECT {_ATTR_COLS} FROM attributions WHERE commit_sha IN ({marks})", list(commits)
        ).fetchall()
    else:
        rows = conn.execute(f"SELECT {_ATTR_COLS} FROM attributions").fetchall()
    for sha, lid, rid, persona, cost, at, r, seq in rows:
        if repo is None:
            rank[sha] = min(rank.get(sha, seq), seq)
        claims.append(
            {"commit": sha, "launch_id": lid, "record": rid, "who": persona, "cost_micros": cost, "at": at}
        )
        info.setdefault(sha, {"repo": r, "committed_at": at, "subject": None})
    # one claim per (commit, launch): the note and the ledger say the same thing
    unique = {(c["commit"], c["launch_id"] or c["record"]): c for c in claims}
    spent = _spend(conn, where, params, list(unique.values()))
    per_launch: dict[str, list[dict[str, Any]]] = {}
    for c in unique.values():
        per_launch.setdefault(c["launch_id"] or c["record"], []).append(c)
    out: dict[str, dict[str, Any]] = {}
    for key, group in per_launch.items():
        if key not in spent and filtered:
            continue  # a launch whose records the filters leave out
        total, records, name = spent.get(key, (None, 0, None))
        name = name or next((c["who"] for c in group if c.get("who")), None)
        group.sort(key=lambda c: (c["at"] or 0, rank.get(c["commit"], 0), c["commit"]))
        earlier = [c["cost_micros"] for c in group[:-1]]
        for i, c in enumerate(group):
            if i < len(group) - 1 or total is None:
                share = c["cost_micros"]
            else:
                share = None if None in earlier else max(0, total - sum(earlier))
            row = out.setdefault(
                c["commit"],
                {"commit": c["commit"], **info.get(c["commit"], {}), "launches": 0, "records": 0,
                 "personas": [], "cost_micros": 0, "complete": True},
            )  # fmt: skip
            row["launches"] += 1
            row["records"] += records if i == len(group) - 1 else 0
            if name and name not in row["personas"]:
                row["personas"].append(name)
            if share is None:
                row["complete"] = False
            else:
                row["cost_micros"] += share
    rows_out = list(out.values())
    for row in rows_out:
        if not row["complete"] and row["cost_micros"] == 0:
            row["cost_micros"] = None
        row["personas"] = sorted(row["personas"])
    rows_out.sort(key=lambda r: (-(r.get("committed_at") or 0), -rank.get(r["commit"], 0), r["commit"]))
    return rows_out


def _claim(sha: str, launch: dict[str, Any], when: int) -> dict[str, Any]:
    cost = launch.get("cost_micros")
    return {
        "commit": sha,
        "launch_id": launch.get("launch_id"),
        "record": launch.get("record"),
        "who": who(launch),
        "cost_micros": cost if isinstance(cost, int) else None,
        "at": when,
    }


def _commits(top: str, rev_range: str | None) -> dict[str, tuple[int, str, list[dict[str, Any]]]]:
    """Commits of the range, newest first: sha -> (commit time, subject, note attributions)."""
    if rev_range and rev_range.startswith("-"):
        raise UsageError(f"{rev_range!r} is not a revision range", fix="write e.g. main..HEAD")
    args = ["log", f"--notes={NOTES_REF}", "--format=%H%x00%ct%x00%s%x00%N%x1e", rev_range or "HEAD", "--"]
    try:
        out = git(args, top)
    except GitError as e:
        if rev_range is None and "does not have any commits" in str(e):
            return {}
        raise UsageError(f"{rev_range or 'HEAD'}: not a revision range of {top}: {e}") from e
    commits = {}
    for chunk in out.split("\x1e"):
        parts = chunk.strip("\n").split("\0", 3)
        if len(parts) == 4:
            commits[parts[0]] = (int(parts[1]), parts[2], parse_note(parts[3]))
    return commits


def _spend(
    conn: sqlite3.Connection, where: str, params: list[Any], claims: list[dict[str, Any]]
) -> dict[str, tuple[int | None, int, str | None]]:
    """launch id or record id -> (recorded spend, records, persona@version) of the spend
    records the filters keep."""
    lids = sorted({c["launch_id"] for c in claims if c["launch_id"]})
    rids = sorted({c["record"] for c in claims if c["record"] and not c["launch_id"]})
    out: dict[str, tuple[int | None, int, str | None]] = {}
    for keys, col in ((lids, "launch_id"), (rids, "id")):
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            for key, total, unknown, n, name in conn.execute(
                f"SELECT {col}, sum(cost_micros), sum(cost_micros IS NULL), count(*),"
                " max(CASE WHEN kind = 'launch' OR launch_id IS NULL THEN"
                " persona || coalesce('@' || substr(version, 4, 12), '') END)"
                f" FROM records WHERE {col} IN ({','.join('?' * len(chunk))}) AND ({where})"
                f" GROUP BY {col}",
                [*chunk, *params],
            ):
                out[key] = (None if unknown else int(total or 0), int(n), name)
    return out


def in_repo(path: str | None = None) -> str | None:
    """The work tree top of `path` (default: here), or None outside a repository."""
    try:
        return toplevel(path or Path.cwd())
    except GitError:
        return None
