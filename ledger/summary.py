"""`burn summary`: totals grouped by persona, version, model, harness, day, session or a tag.

Costs are re-priced from the stored usage with the current price table (so a corrected
table corrects history); a cost the source itself reported is kept as reported. A row
whose model has no price adds to `unpriced_records`, never to the cost as $0.
"""

from __future__ import annotations

import sqlite3

from burn.store.errors import UsageError

from .ledger import Ledger
from .query import Query, compile_query
from .usage import TOKEN_KINDS

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

# group key -> SQL over records r (and u for usage rows)
GROUPS = {
    "persona": "r.persona",
    "version": "r.version",
    "model": "u.model",
    "harness": "r.harness",
    "day": "date(r.started_at, 'unixepoch', 'localtime')",
    "session": "(SELECT group_concat(s.session_id) FROM sessions s WHERE s.seq = r.seq)",
    "source": "r.source",
    "host": "r.host",
}


# keys that name who spent: with rollup, a nested launch's spend counts under its root's
ROLLED = ("persona", "version", "harness", "source", "host")


def summary(
    ledger: Ledger, q: Query, by: list[str], tag: str | None = None, rollup: bool = False
) -> list[dict[str, Any]]:
    """One row per group, biggest cost first. With `rollup`, a record's spend is grouped
    under the launch at the top of its nesting tree (each token still counted once)."""
    for key in by:
        if key == "commit":
            raise UsageError("--by commit stands alone", fix="write --by commit (with --repo or a rev-range)")
        if key not in GROUPS:
            raise UsageError(f"cannot group by {key!r}", fix=f"use any of {', '.join(GROUPS)}, or commit")
    return ledger.index.read(lambda conn: _summary(conn, q, by, tag, _prices(), rollup))


def summary_by_commit(
    ledger: Ledger, q: Query, repo: str | None = None, rev_range: str | None = None
) -> list[dict[str, Any]]:
    """`--by commit`: one row per commit with the launches it claimed and their spend.
    In a repository (`repo`, else the current directory's), the commits of `rev_range`
    (default HEAD); outside one, every commit the ledger has attributions for."""
    from .commits import by_commit, in_repo

    top = in_repo(repo) if repo is not None or rev_range is not None else in_repo()
    if top is None and (repo is not None or rev_range is not None):
        raise UsageError(f"{repo or '.'} is not in a git repository", fix="give --repo PATH of a repository")
    return ledger.index.read(lambda conn: by_commit(conn, q, top, rev_range))


def _prices() -> Any:
    try:
        from .pricing import load_table
    except ImportError:
        return None
    return load_table()


def _summary(
    conn: sqlite3.Connection, q: Query, by: list[str], tag: str | None, prices: Any, rollup: bool = False
) -> list[dict[str, Any]]:
    where, params = compile_query(conn, q)
    where = where.replace("records.", "r.")  # compiled filters name the table `records`
    keys = [GROUPS[k] for k in by]
    if rollup:
        from .rollup import build_roots, root_column

        build_roots(conn)
        keys = [root_column(GROUPS[k]) if k in ROLLED else GROUPS[k] for k in by]
    names = list(by)
    if tag is not None:
        keys.append("(SELECT t.value FROM tags t WHERE t.seq = r.seq AND t.key = ?)")
        names.append(f"tag:{tag}")
    select_keys = "".join(f"{k} AS g{i}, " for i, k in enumerate(keys))
    group_keys = ", ".join(f"g{i}" for i in range(len(keys))) or "NULL"
    args = ([tag] if tag is not None else []) + params
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}

    def row_for(values: tuple[Any, ...]) -> dict[str, Any]:
        group = tuple(values[: len(keys)])
        if group not in rows:
            rows[group] = {
                **dict(zip(names, group, strict=True)),
                "records": 0,
                "cost_micros": 0,
                "unpriced_records": 0,
                "partial_records": 0,
                "usage": dict.fromkeys(TOKEN_KINDS),
            }
        return rows[group]

    # 1. tokens per group, model and tier; priced now unless the record's cost was reported
    sums = ", ".join(f"sum(u.{k}), count(u.{k})" for k in TOKEN_KINDS)
    unpriced: set[str] = set()
    for values in conn.execute(
        f"SELECT {select_keys}u.model, u.tier, r.pricing IS 'reported', {sums}"
        f" FROM records r JOIN usage u ON u.seq = r.seq WHERE {where}"
        f" GROUP BY {group_keys}, u.model, u.tier, r.pricing IS 'reported'",
        args,
    ):
        row = row_for(values)
        model, tier, reported, *rest = values[len(keys) :]
        usage = {k: (rest[2 * i] if rest[2 * i + 1] else None) for i, k in enumerate(TOKEN_KINDS)}
        for k, v in usage.items():
            if v is not None:
                row["usage"][k] = (row["usage"][k] or 0) + v
        if not reported:
            cost = prices.price(model, usage, tier) if prices is not None else None
            if cost is None:
                unpriced.add(model)
            else:
                row["cost_micros"] += cost
    # 2. per record: counts, fidelity, reported costs, and records whose cost is unknown
    marks = ", ".join("?" * len(unpriced)) or "NULL"
    one_model = "(SELECT count(DISTINCT x.model) FROM usage x WHERE x.seq = r.seq) <= 1"
    reported_cost = "CASE WHEN r.pricing IS 'reported' THEN r.cost_micros END"
    if "model" in by:  # a reported cost belongs to a model only when the record used one
        reported_cost = f"CASE WHEN r.pricing IS 'reported' AND {one_model} THEN r.cost_micros END"
    unknown = (
        "r.pricing IS NOT 'reported' AND (NOT EXISTS (SELECT 1 FROM usage x WHERE x.seq = r.seq)"
        f" OR EXISTS (SELECT 1 FROM usage x WHERE x.seq = r.seq AND x.model IN ({marks})))"
    )
    if "model" in by:
        unknown = f"({unknown}) OR (r.pricing IS 'reported' AND NOT {one_model})"
    source = (
        "records r"
        if "model" not in by
        else "records r JOIN (SELECT DISTINCT seq, model FROM usage) u ON u.seq = r.seq"
    )
    for values in conn.execute(
        f"SELECT {select_keys}count(*), sum(r.fidelity IS NOT 'full'), sum({reported_cost}), sum({unknown})"
        f" FROM {source} WHERE {where} GROUP BY {group_keys}",
        # placeholders in order: the tag (in the keys), the unpriced models, the filters
        [*([tag] if tag is not None else []), *sorted(unpriced), *params],
    ):
        row = row_for(values)
        count, partial, reported, unknown_n = values[len(keys) :]
        row["records"] += count
        row["partial_records"] += partial or 0
        row["cost_micros"] += reported or 0
        row["unpriced_records"] += unknown_n or 0
    out = list(rows.values())
    for row in out:
        if row["records"] and row["unpriced_records"] == row["records"]:
            row["cost_micros"] = None  # nothing in this group has a known cost
        row["complete"] = row["unpriced_records"] == 0
    out.sort(key=lambda r: (-(r["cost_micros"] or 0), [str(r[n]) for n in names]))
    return out
