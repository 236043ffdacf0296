"""The filter language of `burn log` and friends, compiled to SQL over the index.

`key=value` filters: the same key repeated is OR, different keys are AND, `key!=value`
excludes. Values may use `*` as a wildcard. A key that is not a record field is a tag key
(`tag.KEY=...` says so explicitly).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence

from burn.store.errors import AmbiguousVersion, BurnError, UsageError
from burn.store.tuples import NamedTuple

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

# filter key -> records column (plain equality / glob)
COLUMNS = {
    "persona": "persona",
    "harness": "harness",
    "source": "source",
    "host": "host",
    "fidelity": "fidelity",
    "parent": "parent",
    "exit": "exit_code",
    "exit_code": "exit_code",
    "kind": "kind",
    "launch": "launch_id",
}
SPECIAL = ("version", "model", "session", "id", "record", "commit", "repo")
KNOWN_KEYS = tuple(sorted((*COLUMNS, *SPECIAL)))


# Named tuples, not dataclasses: every read command builds these, and the dataclasses
# import (with inspect) is ~10 ms of start-up.
class Filter(NamedTuple):
    key: str
    value: str
    negate: bool = False


class Query(NamedTuple):
    filters: Sequence[Filter] = ()
    since: int | None = None
    until: int | None = None
    limit: int | None = None


def parse_filters(args: Iterable[str]) -> list[Filter]:
    out = []
    for arg in args:
        if "!=" in arg:
            key, value = arg.split("!=", 1)
            neg = True
        elif "=" in arg:
            key, value = arg.split("=", 1)
            neg = False
        else:
            raise UsageError(
                f"filter {arg!r} is not key=value",
                fix=f"write e.g. persona={arg}; keys: {', '.join(KNOWN_KEYS)} or any tag key",
            )
        key = key.strip()
        if not key:
            raise UsageError(f"filter {arg!r} has no key")
        out.append(Filter(key, value, neg))
    return out


def _match(column: str, value: str) -> tuple[str, list[Any]]:
    if "*" in value:
        return f"{column} GLOB ?", [value]
    return f"{column} = ?", [value]


def compile_query(conn: sqlite3.Connection, q: Query) -> tuple[str, list[Any]]:
    """WHERE clause (without the keyword) and parameters."""
    groups: dict[tuple[str, bool], list[Filter]] = {}
    for f in q.filters:
        groups.setdefault((f.key, f.negate), []).append(f)
    clauses: list[str] = []
    params: list[Any] = []
    for (_key, negate), fs in groups.items():
        parts = []
        for f in fs:
            sql, p = _one(conn, f.key, f.value)
            parts.append(sql)
            params += p
        if negate:  # not a, and not b
            clauses += [f"NOT ({p})" for p in parts]
        else:
            clauses.append("(" + " OR ".join(parts) + ")")
    if not any(f.key == "kind" for f in q.filters):  # attributions hold no spend of their own
        clauses.append("records.kind IS NOT 'attribution'")
    if q.since is not None:
        clauses.append("started_at >= ?")
        params.append(q.since)
    if q.until is not None:
        clauses.append("started_at < ?")
        params.append(q.until)
    return (" AND ".join(clauses) or "1"), params


def _one(conn: sqlite3.Connection, key: str, value: str) -> tuple[str, list[Any]]:
    if key == "persona" and "@" in value:
        name, ver = value.split("@", 1)
        vs, vp = _version(conn, ver, name)
        return f"(persona = ? AND {vs})", [name, *vp]
    if key in COLUMNS:
        col = COLUMNS[key]
        if key in ("exit", "exit_code"):
            try:
                return f"{col} = ?", [int(value)]
            except ValueError:
                raise UsageError(f"exit={value!r} is not a number") from None
        if key == "parent" and value in ("", "none", "null"):
            return "parent IS NULL", []
        return _match(col, value)
    if key == "version":
        return _version(conn, value, None)
    if key == "model":
        sql, p = _match("u.model", value)
        return f"EXISTS (SELECT 1 FROM usage u WHERE u.seq = records.seq AND {sql})", p
    if key == "session":
        sql, p = _match("s.session_id", value)
        return f"EXISTS (SELECT 1 FROM sessions s WHERE s.seq = records.seq AND {sql})", p
    if key in ("id", "record"):
        return "id LIKE ?", [value.lower().rstrip("*") + "%"]
    if key in ("repo", "commit"):
        from .commits import commit_filter, repo_filter

        return commit_filter(conn, value) if key == "commit" else repo_filter(value)
    tag = key.removeprefix("tag.")
    if key == tag and not conn.execute("SELECT 1 FROM tags WHERE key = ? LIMIT 1", (tag,)).fetchone():
        raise UsageError(
            f"unknown filter key {key!r}: not a record field, and no record has a tag {key!r}",
            fix=f"use one of {', '.join(KNOWN_KEYS)}, or tag.{key}=... for a tag",
        )
    sql, p = _match("t.value", value)
    return f"EXISTS (SELECT 1 FROM tags t WHERE t.seq = records.seq AND t.key = ? AND {sql})", [
        tag,
        *p,
    ]


def version_match(ref: str) -> tuple[str, str, list[Any]]:
    """(algorithm, SQL condition on `versions`, its parameters) for a b3 or sha256 prefix
    (at least 6 digits; `b3:`/`sha256:` may say which)."""
    from burn.store.canonical import parse_version_ref

    try:
        algo, prefix = parse_version_ref(ref)
    except ValueError as e:
        raise UsageError(str(e)) from e
    conds, params = [], []
    if algo in ("b3", "any"):
        conds.append("b3 LIKE ?")
        params.append(f"b3:{prefix}%")
    if algo in ("sha256", "any"):
        conds.append("sha256 LIKE ?")
        params.append(f"{prefix}%")
    return algo, "(" + " OR ".join(conds) + ")", params


def _version(conn: sqlite3.Connection, ref: str, name: str | None) -> tuple[str, list[Any]]:
    """Records whose version matches a b3 or sha256 prefix (at least 6 digits)."""
    _algo, cond, params = version_match(ref)
    sql = f"SELECT b3 FROM versions WHERE {cond}"
    if name is not None:
        sql += " AND name = ?"
        params.append(name)
    hits = [r[0] for r in conn.execute(sql, params)]
    if len(hits) > 1:
        raise AmbiguousVersion(ref, sorted(hits))
    if not hits:  # no stored version: match nothing, like git log with an unknown path
        return "0", []
    return "version = ?", [hits[0]]


LIST_COLUMNS = (
    "id, started_at, persona, version, harness, models, total_tokens, cost_micros, duration_ms,"
    " exit_code, fidelity"
)


def select(conn: sqlite3.Connection, q: Query, columns: str = LIST_COLUMNS) -> Iterator[sqlite3.Row]:
    where, params = compile_query(conn, q)
    sql = f"SELECT {columns} FROM records WHERE {where} ORDER BY started_at DESC, seq DESC"
    if q.limit is not None:
        sql += f" LIMIT {int(q.limit)}"
    conn.row_factory = sqlite3.Row
    try:
        yield from conn.execute(sql, params)
    finally:
        conn.row_factory = None


def text_lines(
    conn: sqlite3.Connection,
    q: Query,
    columns: list[tuple[str, str, bool]],
    align: bool = True,
    first: list[list[str]] | None = None,
) -> list[str]:
    """Matching records as lines of text, every cell formatted by SQLite.

    `columns` are (header, SQL expression, right-aligned). Formatting tens of thousands
    of rows cell by cell in Python costs most of a second; SQLite does it in C, in one
    pass that hands back one string per row. With `align`, the first line is the header,
    and `first` are rows of ready cells to put above the records (running launches).
    """
    where, params = compile_query(conn, q)
    sep = " || char(31) || " if align else " || ' ' || "
    cells = sep.join(f"({expr})" for _h, expr, _r in columns)
    sql = f"SELECT {cells} FROM records WHERE {where} ORDER BY started_at DESC, seq DESC"
    if q.limit is not None:
        sql += f" LIMIT {int(q.limit)}"
    lines = [r[0] for r in conn.execute(sql, params)]
    if not align or not (lines or first):
        return lines
    rows = [[h for h, _e, _r in columns], *(first or []), *(line.split("\x1f") for line in lines)]
    widths = [max(map(len, col)) for col in zip(*rows, strict=True)]
    spec = "  ".join(
        f"%{'' if right else '-'}{w}s" for w, (_h, _e, right) in zip(widths, columns, strict=True)
    )
    return [(spec % tuple(row)).rstrip() for row in rows]


def records_json(conn: sqlite3.Connection, q: Query) -> Iterator[str]:
    """The stored public JSON of each matching record, newest first (no re-encoding)."""
    for row in select(conn, q, "(SELECT json FROM bodies b WHERE b.seq = records.seq)"):
        yield row[0]


def find_record(conn: sqlite3.Connection, ref: str) -> dict[str, Any]:
    """One record by id or unique id prefix (4+ hex digits), as recorded, plus
    "cost_now_micros": its cost with the price table in force (after reprice.ensure)."""
    ref = ref.strip().lower()
    if len(ref) < 4 or any(c not in "0123456789abcdef" for c in ref):
        raise UsageError(f"{ref!r} is not a record id", fix="give 4 or more hex digits from `burn log`")
    rows = conn.execute(
        "SELECT id, json, cost_micros FROM records JOIN bodies USING (seq) WHERE id LIKE ? LIMIT 11",
        (ref + "%",),
    ).fetchall()
    if not rows:
        raise BurnError(f"no record {ref!r}", fix="see `burn log` for record ids")
    if len(rows) > 1:
        ids = ", ".join(r[0][:12] for r in rows[:10])
        raise BurnError(f"record prefix {ref!r} is ambiguous: {ids}", fix="give more digits")
    rec: dict[str, Any] = json.loads(rows[0][1])
    rec["cost_now_micros"] = rows[0][2]  # the index's: priced with the table in force (reprice)
    return rec
