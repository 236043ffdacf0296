"""Rolled-up spend of nested launches: a launch's own records plus, at any depth, those of
the launches started inside it (`parent` = its launch id).

Own and rolled-up spend are two views of the same records, never added together: a
child's spend is in its own row and again in each ancestor's rolled-up total.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .usage import TOKEN_KINDS

_SUMS = ", ".join(f"sum(u.{k}) AS {k}, count(u.{k}) AS has_{k}" for k in TOKEN_KINDS)

# (root, member) for every launch and every launch below it; UNION drops repeats, so a
# launch with several records (late growth) is one member, and cycles cannot loop.
_TREE = """
WITH RECURSIVE tree(root, member) AS (
  SELECT launch_id, launch_id FROM records WHERE kind = 'launch' AND launch_id IS NOT NULL
  UNION
  SELECT tree.root, r.launch_id FROM records r JOIN tree ON r.parent = tree.member
  WHERE r.launch_id IS NOT NULL
)
"""


def build(conn: sqlite3.Connection) -> None:
    """Fill `temp.rollup` (launch_id -> rolled-up cost and tokens) for this connection."""
    conn.execute("DROP TABLE IF EXISTS temp.rollup")
    conn.execute(
        "CREATE TEMP TABLE rollup AS " + _TREE + "SELECT t.root AS launch_id,"
        " count(DISTINCT x.seq) AS records,"
        " CASE WHEN count(DISTINCT x.seq) = count(DISTINCT CASE WHEN x.cost_micros IS NOT NULL"
        " THEN x.seq END) THEN (SELECT sum(y.cost_micros) FROM records y WHERE y.launch_id IN"
        " (SELECT member FROM tree WHERE root = t.root)) END AS cost_micros,"
        " count(DISTINCT CASE WHEN x.cost_micros IS NULL THEN x.seq END) AS unpriced,"
        " (SELECT sum(y.total_tokens) FROM records y WHERE y.launch_id IN"
        " (SELECT member FROM tree WHERE root = t.root)) AS total_tokens"
        " FROM tree t JOIN records x ON x.launch_id = t.member GROUP BY t.root"
    )
    conn.execute("CREATE UNIQUE INDEX temp.rollup_id ON rollup(launch_id)")


def usage(conn: sqlite3.Connection, launch_id: str) -> dict[str, int | None]:
    row = conn.execute(
        _TREE + f"SELECT {_SUMS} FROM usage u JOIN records x ON x.seq = u.seq"
        " WHERE x.launch_id IN (SELECT member FROM tree WHERE root = ?)",
        (launch_id,),
    ).fetchone()
    return {k: (row[2 * i] if row[2 * i + 1] else None) for i, k in enumerate(TOKEN_KINDS)}


def of(conn: sqlite3.Connection, launch_id: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT records, cost_micros, unpriced, total_tokens FROM temp.rollup WHERE launch_id = ?",
        (launch_id,),
    ).fetchone()
    if row is None:
        return None
    return {
        "records": row[0],
        "cost_micros": row[1],
        "cost_usd": row[1] / 1_000_000 if row[1] is not None else None,
        "unpriced_records": row[2],
        "total_tokens": row[3],
        "usage": usage(conn, launch_id),
    }


def cell(own: str, column: str) -> str:
    """SQL for a table cell: the rolled-up value on a launch's row, else the record's own."""
    return (
        f"CASE WHEN kind = 'launch' AND launch_id IS NOT NULL THEN"
        f" (SELECT {column} FROM temp.rollup r WHERE r.launch_id = records.launch_id) ELSE {own} END"
    )


# Each record's top-most launch: its own launch, then parent after parent while the
# parent is a launch on record. UNION (not UNION ALL): a cycle ends instead of looping.
_ROOTS = """
CREATE TEMP TABLE rollup_root AS
WITH RECURSIVE launches(launch_id, seq, parent) AS (
  SELECT launch_id, seq, parent FROM records WHERE kind = 'launch' AND launch_id IS NOT NULL
),
up(seq, at, parent, depth) AS (
  SELECT seq, launch_id, parent, 0 FROM records
  UNION
  SELECT up.seq, l.launch_id, l.parent, up.depth + 1 FROM up JOIN launches l ON l.launch_id = up.parent
  WHERE up.depth < 1000
)
SELECT up.seq AS seq, coalesce((SELECT l.seq FROM launches l WHERE l.launch_id = up.at), up.seq) AS root_seq
FROM up WHERE up.depth = (SELECT max(depth) FROM up u2 WHERE u2.seq = up.seq)
GROUP BY up.seq
"""


def build_roots(conn: sqlite3.Connection) -> None:
    """Fill `temp.rollup_root` (record seq -> seq of the launch at the top of its tree)."""
    conn.execute("DROP TABLE IF EXISTS temp.rollup_root")
    conn.execute(_ROOTS)
    conn.execute("CREATE UNIQUE INDEX temp.rollup_root_seq ON rollup_root(seq)")


def root_column(expr: str) -> str:
    """`expr` over `r` (e.g. r.persona), read from the root launch of `r` instead."""
    return (
        f"(SELECT {expr.replace('r.', 'rr.')} FROM records rr"
        " WHERE rr.seq = (SELECT m.root_seq FROM temp.rollup_root m WHERE m.seq = r.seq))"
    )
