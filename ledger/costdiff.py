"""`burn diff`: what two persona versions cost per launch, whether the difference is real,
and what changed between their specs.

The statistics live in `compare` (pure), the launches in `launches` (SQL); this module
resolves the two sides, reads their launches through the index and puts the answer
together as one JSON-ready dict (schema 1) that every output format renders.
"""

from __future__ import annotations

import sqlite3
from typing import Any, NamedTuple

from burn.store.errors import AmbiguousVersion, BurnError, UsageError, VersionNotFound

from . import compare
from .launches import (
    LOW_FIDELITY,
    SPLITS,
    aggregate,
    aggregate_empty,
    aggregate_kept,
    load_prices,
    refresh,
    units_sql,
)
from .ledger import Ledger
from .query import Query, compile_query
from .record import utc_iso

_PROMPT = ("input_tokens", "cache_read_tokens", "cache_write_5m_tokens", "cache_write_1h_tokens")


class Side(NamedTuple):
    name: str
    version: str  # b3:<hex>
    sha256: str | None = None
    source: str | None = None
    stored_at: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "version_short": self.version[3:15],
            "sha256": f"sha256:{self.sha256}" if self.sha256 else None,
            "source": self.source,
            "stored_at": utc_iso(self.stored_at) if self.stored_at else None,
        }


# -- resolving the two sides ------------------------------------------------------------------


def _is_name(conn: sqlite3.Connection, name: str) -> bool:
    return bool(
        conn.execute("SELECT 1 FROM versions WHERE name = ? LIMIT 1", (name,)).fetchone()
        or conn.execute("SELECT 1 FROM records WHERE persona = ? LIMIT 1", (name,)).fetchone()
    )


def _side(conn: sqlite3.Connection, name: str, b3: str) -> Side:
    row = conn.execute("SELECT sha256, source, stored_at FROM versions WHERE b3 = ?", (b3,)).fetchone()
    return Side(name, b3, *(row or (None, None, None)))


def find_version(conn: sqlite3.Connection, prefix_ref: str, name: str | None) -> tuple[str, str]:
    """(persona, b3 id) of the one version a b3 or sha256 prefix names (within `name`)."""
    from .query import version_match

    algo, cond, params = version_match(prefix_ref)
    sql = f"SELECT DISTINCT name, b3 FROM versions WHERE {cond}"
    if name is not None:
        sql += " AND name = ?"
        params.append(name)
    hits = conn.execute(sql, params).fetchall()
    if not hits and algo != "sha256" and name is not None:  # spend under a version never stored
        hits = conn.execute(
            "SELECT DISTINCT persona, version FROM records WHERE persona = ? AND version LIKE ?",
            (name, params[0]),  # (the b3 pattern comes first)
        ).fetchall()
    if len(hits) > 1:
        raise AmbiguousVersion(prefix_ref, sorted(f"{n}@{b[3:15]}" for n, b in hits))
    if not hits:
        where = f" of {name!r}" if name else ""
        raise VersionNotFound(
            f"no stored version{where} matches {prefix_ref!r}",
            fix=f"see `burn persona log {name}`" if name else "see `burn persona list`",
        )
    return hits[0][0], hits[0][1]


def versions_with_launches(conn: sqlite3.Connection, name: str) -> list[str]:
    """A persona's stored versions that have records, oldest first (in the order they were
    stored). One index probe per version, not a scan of the persona's records."""
    rows = conn.execute(
        "SELECT v.b3 FROM versions v WHERE v.name = ?"
        " AND EXISTS (SELECT 1 FROM records r WHERE r.version = v.b3 AND r.persona = v.name)"
        " ORDER BY v.stored_at, v.rowid",
        (name,),
    ).fetchall()
    return [r[0] for r in rows]


def resolve_ref(conn: sqlite3.Connection, ref: str) -> Side:
    """NAME@VERSION, a bare version prefix (b3 or sha256), or NAME (its newest version
    that has launches)."""
    name, sep, version = ref.partition("@")
    if sep:
        if not name or not version:
            raise UsageError(f"{ref!r} is not NAME@VERSION", fix="write e.g. reviewer@3f2a9c")
        return _side(conn, *find_version(conn, version, name))
    if _is_name(conn, ref):
        have = versions_with_launches(conn, ref)
        if not have:
            raise BurnError(
                f"{ref!r} has no launches recorded under any version", fix=f"burn log persona={ref}"
            )
        return _side(conn, ref, have[-1])
    try:
        return _side(conn, *find_version(conn, ref, None))
    except UsageError:  # not a hex prefix either
        raise BurnError(f"no persona or version {ref!r}", fix="see `burn persona list`") from None


def resolve_pair(conn: sqlite3.Connection, a: str, b: str | None) -> tuple[Side, Side]:
    if b is None:
        name, sep, _ = a.partition("@")
        if sep or not _is_name(conn, name):
            if sep:
                raise UsageError("give two versions, or a bare persona name", fix=f"burn diff {name}")
            raise BurnError(f"no persona {a!r}", fix="see `burn persona list`")
        have = versions_with_launches(conn, name)
        if len(have) < 2:
            raise BurnError(
                f"{name!r} has launches under {len(have)} version(s); a diff needs two",
                fix=f"name the versions: burn diff {name}@OLD {name}@NEW (see `burn persona log {name}`)",
            )
        return _side(conn, name, have[-2]), _side(conn, name, have[-1])
    left, right = resolve_ref(conn, a), resolve_ref(conn, b)
    if (left.name, left.version) == (right.name, right.version):
        raise UsageError(f"{a!r} and {b!r} are the same version", fix="give two different versions")
    return left, right


# -- one side's figures ----------------------------------------------------------------------


def side_json(s: dict[str, Any]) -> dict[str, Any]:
    """One side's figures from what `launches.aggregate` added up."""
    costs = compare.sample(s["costs"])  # a list read from the records, or kept figures
    cost = compare.spread(costs)
    tokens = s["tokens"]
    prompt = [tokens[k] for k in _PROMPT if tokens[k] is not None]
    cache = tokens["cache_read_tokens"]
    n = s["launches"]
    return {
        "launches": n,
        "priced": costs.n,
        "unknown_cost": s["unknown_cost"],
        "low_fidelity_left_out": s["low"],
        "cost_micros": {k: _round(v) for k, v in cost.to_json().items()},
        "total_cost_micros": costs.total if costs.n else None,
        "tokens": tokens,
        "tokens_per_launch": {k: (v / n if v is not None and n else None) for k, v in tokens.items()},
        "duration_ms": {k: _round(v) for k, v in compare.spread(s["durations"]).to_json().items()},
        "errors": {
            "known": s["exits_known"],
            "nonzero": s["errors"],
            "rate": s["errors"] / s["exits_known"] if s["exits_known"] else None,
        },
        "cache_hit_ratio": cache / sum(prompt) if cache is not None and sum(prompt) else None,
        "models": dict(sorted(s["models"].items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _round(v: Any) -> Any:
    return round(v) if isinstance(v, float) else v


def _compare(a: dict[str, Any], b: dict[str, Any], seed: int) -> dict[str, Any]:
    costs_a, costs_b = compare.sample(a["costs"]), compare.sample(b["costs"])
    d = compare.difference(costs_a, costs_b, seed)
    v = compare.verdict(costs_a, costs_b, d)
    diff = None
    if d is not None:
        diff = {k: _round(x) if k in ("delta", "low", "high") else x for k, x in d.to_json().items()}
    return {"a": side_json(a), "b": side_json(b), "difference": diff, "verdict": v.to_json()}


# -- the whole answer ------------------------------------------------------------------------


def diff(
    ledger: Ledger,
    a: str,
    b: str | None,
    q: Query | None = None,
    by: str | None = None,
    include_partial: bool = False,
    seed: int = compare.SEED,
    direct: bool = False,
) -> dict[str, Any]:
    """Compare the launches of two persona versions; see `burn diff --help`.

    Without filters the kept, priced launches are read (`launches.refresh`); with filters,
    split by model, or `direct`, the records themselves."""
    if by is not None and by not in SPLITS:
        raise UsageError(f"cannot split by {by!r}", fix="use --by model or --by harness")
    q = q or Query()

    def run(conn: sqlite3.Connection) -> tuple[Side, Side, dict[Any, Any], list[str | None]]:
        left, right = resolve_pair(conn, a, b)
        groups = _aggregate(conn, q, left, right, by, include_partial, direct)
        return left, right, groups, [cached_spec(conn, s.version) for s in (left, right)]

    left, right, groups, specs = ledger.index.read(run)
    if not groups:
        groups[(None, 0)] = aggregate_empty()
    splits = sorted({s for s, _ in groups}, key=lambda s: (-_count(groups, s), str(s)))
    return {
        "schema": 1,
        "a": left.to_json(),
        "b": right.to_json(),
        "by": by,
        "include_partial": include_partial,
        "rules": {
            "min_launches": compare.MIN_LAUNCHES,
            "level": compare.LEVEL,
            "resamples": compare.RESAMPLES,
            "bootstrap_max": compare.BOOTSTRAP_MAX,
            "seed": seed,
            "low_fidelity": list(LOW_FIDELITY),
        },
        "groups": [
            {
                "split": s,
                **_compare(
                    groups.get((s, 0)) or aggregate_empty(), groups.get((s, 1)) or aggregate_empty(), seed
                ),
            }
            for s in splits
        ],
        "spec": spec_changes(ledger, left, right, specs),
    }


def _count(groups: dict[Any, Any], split: Any) -> int:
    return sum(groups[(split, side)]["launches"] for side in (0, 1) if (split, side) in groups)


def _aggregate(
    conn: sqlite3.Connection,
    q: Query,
    left: Side,
    right: Side,
    by: str | None,
    include_low: bool,
    direct: bool,
) -> dict[Any, Any]:
    """{(split, side): what launches.aggregate adds up} for sides 0 (A) and 1 (B)."""
    from .summary import _prices

    out: dict[Any, Any] = {}
    sides = [(left.name, left.version), (right.name, right.version)]
    if direct or q.filters or q.since is not None or q.until is not None or by == "model":
        where, params = compile_query(conn, q)
        load_prices(conn, _prices())
        conn.execute("DROP TABLE IF EXISTS temp.diff_units")
        both = "((persona = ? AND version = ?) OR (persona = ? AND version = ?))"
        conn.execute(
            f"CREATE TEMP TABLE diff_units AS SELECT * FROM ({units_sql(f'{both} AND ({where})', by)})",
            [*sides[0], *sides[1], *params],
        )
        for i, pair in enumerate(sides):
            got = aggregate(
                conn, "temp.diff_units WHERE persona = ? AND version = ?", pair, "split", include_low
            )
            out.update({(s, i): v for s, v in got.items()})
        return out
    refresh(conn, _prices)
    for i, (name, version) in enumerate(sides):
        got = aggregate_kept(conn, name, version, by == "harness", include_low)
        out.update({(s, i): v for s, v in got.items()})
    return out


def cached_spec(conn: sqlite3.Connection, version: str) -> str | None:
    """A spec's JSON kept in the index, so a diff needs no git read. Specs never change
    under their id; the index is derived and a rebuild drops the copy."""
    conn.execute("CREATE TABLE IF NOT EXISTS spec_cache(b3 TEXT PRIMARY KEY, json TEXT NOT NULL)")
    row = conn.execute("SELECT json FROM spec_cache WHERE b3 = ?", (version,)).fetchone()
    return row[0] if row else None


def spec_changes(ledger: Ledger, left: Side, right: Side, cached: list[str | None]) -> dict[str, Any]:
    """Field-level changes from A's spec to B's (the prompt as a unified diff)."""
    import json

    from burn.store.diff import diff_specs

    specs = []
    for side, text in zip((left, right), cached, strict=True):
        if text is not None:
            specs.append(json.loads(text))
            continue
        if side.sha256 is None:
            return {
                "available": False,
                "changes": [],
                "why": f"{side.name}@{side.version[3:15]} is not stored",
            }
        from burn.store.canonical import Version

        spec = ledger.specs.get(Version(side.version.removeprefix("b3:"), side.sha256))
        keep = (side.version, json.dumps(spec, ensure_ascii=False, sort_keys=True))

        def remember(conn: sqlite3.Connection, row: tuple[str, str] = keep) -> None:
            conn.execute("INSERT OR IGNORE INTO spec_cache VALUES (?, ?)", row)

        ledger.index.read(remember)
        specs.append(spec)
    return {"available": True, "changes": [c.to_json() for c in diff_specs(specs[0], specs[1])]}
