"""Launches as the unit of spend, read from the index for `burn diff` and `burn persona log`.

What one launch is:

- a `burn launch` (kind `launch`) together with every record that carries its launch id
  (usage of its sessions that grew after the launch was recorded is still that launch's);
- a `burn record` (kind `manual`): the spend of one launch known elsewhere;
- a harness session no launch claimed (kind `ingest`, attributed to a persona by the
  harness's own agent name): every record of one (harness, session, agent, version) is one
  launch, since ingest writes a new record each time a session grows.

A launch's cost is re-priced from its usage rows with the current price table, row by row
exactly as the record was priced when it was written (so a corrected table corrects
history, as in `burn summary`); a cost the source itself reported is kept as reported. The
cost is unknown (NULL, never 0) when any of its records has a model without a price, a
used token kind without a rate, or no usage and no reported cost. A token kind no record
reported is NULL too. A launch is of low fidelity when any of its records is `usage-only`
or `partial`: a token kind is missing, so its cost may be an undercount.

Speed: re-pricing tens of thousands of launches from their usage rows takes longer than a
whole `burn diff` may (DESIGN section 12), so the launches are kept, priced, in a derived
table of the index (`launch_units`), brought up to date on read from the records added
since (only the launches those records belong to are recomputed) and recomputed whole when
the price table in force changes. Like the rest of the index it is never synced and a
rebuild drops it. Queries with filters or split by model read the records directly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .usage import TOKEN_KINDS

LOW_FIDELITY = ("usage-only", "partial")
PRICED = TOKEN_KINDS[:5]  # reasoning is billed inside output
SPLITS = ("model", "harness")
# the columns of a launch, as `units_sql` and the `launch_units` table have them
UNIT_COLUMNS = (
    "unit", "persona", "version", "harness", "cost", *TOKEN_KINDS,
    "duration_ms", "exit_code", "low", "models", "first_started", "last_started",
)  # fmt: skip

_ROW_MICROS = (
    "CASE WHEN p.model IS NULL THEN NULL ELSE ("
    + " + ".join(f"CASE WHEN coalesce(u.{k}, 0) = 0 THEN 0 ELSE u.{k} * p.{k} END" for k in PRICED)
    + " + 500000) / 1000000 END"
)
_UNIT = (
    "CASE WHEN sel.launch_id IS NOT NULL THEN 'L' || sel.launch_id"
    " WHEN sel.kind = 'ingest' THEN 'S' || coalesce(sel.harness, '') || char(31)"
    " || coalesce((SELECT min(s.session_id) FROM sessions s WHERE s.seq = sel.seq), sel.seq)"
    " || char(31) || coalesce(sel.agent, '') || char(31) || coalesce(sel.version, '')"
    " ELSE 'R' || sel.seq END"
)
LAYOUT = "5"  # of the tables below; another value in launch_units_state drops and rebuilds them
# launch_units: one row per launch, clustered by (persona, version, low).
# launch_sums: per version, harness, fidelity and set of models, the counts and token sums
# of those launches, so a diff reads a few rows instead of summing thousands.
# launch_stats: per version (and per harness, split=1), with or without the low-fidelity
# launches, what compare.sample makes of their costs and of their durations; `values`
# (sorted, JSON) only up to compare.BOOTSTRAP_MAX, for the bootstrap.
CACHE_DDL = f"""
CREATE TABLE IF NOT EXISTS launch_units_state(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS launch_units(unit TEXT NOT NULL, persona TEXT NOT NULL,
  version TEXT NOT NULL, harness TEXT, cost INTEGER, {", ".join(f"{k} INTEGER" for k in TOKEN_KINDS)},
  duration_ms INTEGER, exit_code INTEGER, low INTEGER NOT NULL, models TEXT,
  first_started INTEGER, last_started INTEGER,
  PRIMARY KEY (persona, version, low, unit)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS launch_units_unit ON launch_units(unit);
CREATE TABLE IF NOT EXISTS launch_sums(persona TEXT NOT NULL, version TEXT NOT NULL,
  harness TEXT NOT NULL, low INTEGER NOT NULL, models TEXT NOT NULL, launches INTEGER,
  unknown_cost INTEGER, exits_known INTEGER, errors INTEGER, cost INTEGER,
  first_started INTEGER, last_started INTEGER,
  {", ".join(f"{k} INTEGER" for k in TOKEN_KINDS)},
  PRIMARY KEY (persona, version, harness, low, models)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS launch_stats(persona TEXT NOT NULL, version TEXT NOT NULL,
  split INTEGER NOT NULL, harness TEXT NOT NULL, low INTEGER NOT NULL, measure TEXT NOT NULL,
  n INTEGER NOT NULL, total TEXT NOT NULL, squares TEXT NOT NULL, median REAL, p90 REAL,
  sorted_values TEXT,
  PRIMARY KEY (persona, version, split, harness, low, measure)) WITHOUT ROWID;
"""
MEASURES = {"cost": "costs", "duration_ms": "durations"}  # launch_units column -> aggregate key


def load_prices(conn: sqlite3.Connection, prices: Any) -> None:
    """The price table as a temporary table, for every model the index has seen:
    (model, tier) -> pico-USD per token of each kind (NULL: no rate)."""
    conn.execute("DROP TABLE IF EXISTS temp.burn_prices")
    cols = ", ".join(f"{k} INTEGER" for k in PRICED)
    conn.execute(f"CREATE TEMP TABLE burn_prices(model TEXT, tier TEXT, {cols}, PRIMARY KEY (model, tier))")
    if prices is None:
        return
    from .pricing import USAGE_KIND

    rows = []
    for (model,) in conn.execute("SELECT DISTINCT model FROM usage"):
        mp = prices.lookup(model)
        if mp is None:
            continue
        for tier in ("base", "long"):
            rates = mp.tier(tier)
            rows.append((model, tier, *(rates.of(USAGE_KIND[k]) for k in PRICED)))
    conn.executemany(f"INSERT INTO temp.burn_prices VALUES ({', '.join('?' * (2 + len(PRICED)))})", rows)


def units_sql(where: str, split: str | None = None) -> str:
    """SELECT of one row per launch (per launch and model with split="model") of the
    records matching `where`: UNIT_COLUMNS, then `split`. Needs `load_prices` first."""
    if split is not None and split not in SPLITS:
        raise ValueError(split)
    group, split_sql, cost = "sel.seq", "NULL", "sel.cost_micros"
    if split == "harness":
        split_sql = "sel.harness"
    elif split == "model":
        group, split_sql = "sel.seq, u.model", "u.model"
        # a reported cost belongs to a model only when the record used one model
        cost = (
            "CASE WHEN (SELECT count(DISTINCT x.model) FROM usage x WHERE x.seq = sel.seq) <= 1"
            " THEN sel.cost_micros END"
        )
    tokens = ", ".join(f"sum(u.{k}) AS {k}" for k in TOKEN_KINDS)
    outer_tokens = ", ".join(f"sum({k}) AS {k}" for k in TOKEN_KINDS)
    low = ", ".join(f"'{f}'" for f in LOW_FIDELITY)
    return f"""
    WITH sel AS (
      SELECT seq, persona, version, harness, kind, launch_id, agent, duration_ms, exit_code,
             started_at, pricing, cost_micros, fidelity IN ({low}) AS low
      FROM records WHERE {where}
    ), per AS (
      SELECT {_UNIT} AS unit, sel.persona AS persona, sel.version AS version,
        sel.harness AS harness, {split_sql} AS split,
        CASE WHEN sel.pricing IS 'reported' THEN {cost}
             WHEN count(u.seq) = 0 THEN NULL
             WHEN count(u.seq) = count({_ROW_MICROS}) THEN sum({_ROW_MICROS}) END AS cost,
        {tokens}, sel.duration_ms AS duration_ms, sel.exit_code AS exit_code, sel.low AS low,
        group_concat(u.model) AS models, sel.started_at AS started_at
      FROM sel LEFT JOIN usage u ON u.seq = sel.seq
        LEFT JOIN temp.burn_prices p ON p.model = u.model AND p.tier = coalesce(u.tier, 'base')
      GROUP BY {group}
    )
    SELECT unit, min(persona) AS persona, min(version) AS version, min(harness) AS harness,
      CASE WHEN count(*) = count(cost) THEN sum(cost) END AS cost, {outer_tokens},
      max(duration_ms) AS duration_ms, max(exit_code) AS exit_code, max(low) AS low,
      group_concat(models) AS models, min(started_at) AS first_started,
      max(started_at) AS last_started, split
    FROM per GROUP BY unit, split
    """


# -- the kept, priced launches ----------------------------------------------------------------


def price_fingerprint() -> str:
    """Which price table is in force, without parsing it: its path, size and mtime."""
    from burn.store.config import burn_home

    # pricing.load_table's choice of file, without importing the pricing module
    user = burn_home() / "prices.json"
    path = user if user.is_file() else Path(__file__).with_name("prices.json")
    try:
        st = path.stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def refresh(conn: sqlite3.Connection, prices: Callable[[], Any]) -> None:
    """Bring `launch_units` up to date with the records and the price table in force."""
    fingerprint = price_fingerprint()
    top = conn.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()[0]
    try:
        state = dict(conn.execute("SELECT key, value FROM launch_units_state").fetchall())
    except sqlite3.OperationalError:  # not made yet
        state = {}
    if state == {"layout": LAYOUT, "prices": fingerprint, "seq": str(top)}:
        return  # the common case: nothing to do, nothing written
    conn.execute("BEGIN IMMEDIATE")
    try:
        _create(conn)
        state = dict(conn.execute("SELECT key, value FROM launch_units_state").fetchall())
        done = int(state.get("seq", 0))
        if state.get("layout") != LAYOUT:
            for table in ("launch_units", "launch_sums", "launch_stats"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            _create(conn)
            done = 0
        elif state.get("prices") != fingerprint:
            for table in ("launch_units", "launch_sums", "launch_stats"):
                conn.execute(f"DELETE FROM {table}")
            done = 0
        if done < top:
            _add(conn, done, prices)
        conn.executemany(
            "INSERT OR REPLACE INTO launch_units_state VALUES (?, ?)",
            [("layout", LAYOUT), ("prices", fingerprint), ("seq", str(top))],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _create(conn: sqlite3.Connection) -> None:
    for stmt in CACHE_DDL.split(";"):  # one by one: executescript would commit first
        if stmt.strip():
            conn.execute(stmt)


def _add(conn: sqlite3.Connection, done: int, prices: Callable[[], Any]) -> None:
    """(Re)compute the launches that records after seq `done` belong to."""
    load_prices(conn, prices())
    if done == 0:
        where, params = "1", []
    else:  # new records, and every record of the launches they belong to
        where = (
            "seq > ?1 OR launch_id IN (SELECT launch_id FROM records WHERE seq > ?1"
            " AND launch_id IS NOT NULL) OR seq IN (SELECT s2.seq FROM sessions s2 WHERE"
            " s2.session_id IN (SELECT s.session_id FROM sessions s JOIN records r ON r.seq = s.seq"
            " WHERE r.seq > ?1 AND r.kind = 'ingest' AND r.launch_id IS NULL))"
        )
        params = [done]
    columns = ", ".join(UNIT_COLUMNS)
    select = columns.replace("version", "coalesce(version, '') AS version")  # no version: ''
    conn.execute("DROP TABLE IF EXISTS temp.new_units")
    conn.execute(f"CREATE TEMP TABLE new_units AS SELECT {select} FROM ({units_sql(where)})", params)
    # a launch that grew may have changed its fidelity, and so its key: replace it whole
    conn.execute("DELETE FROM launch_units WHERE unit IN (SELECT unit FROM temp.new_units)")
    conn.execute(f"INSERT INTO launch_units({columns}) SELECT * FROM temp.new_units")
    # the sums of every version those launches are of, whole again
    conn.execute("DROP TABLE IF EXISTS temp.touched")
    conn.execute(
        "CREATE TEMP TABLE touched(persona TEXT, version TEXT, PRIMARY KEY (persona, version)) WITHOUT ROWID"
    )
    conn.execute("INSERT OR IGNORE INTO temp.touched SELECT persona, version FROM temp.new_units")
    conn.execute(
        "DELETE FROM launch_sums WHERE (persona, version) IN (SELECT persona, version FROM temp.touched)"
    )
    sums = ", ".join(f"sum(u.{k})" for k in TOKEN_KINDS)
    conn.execute(
        "INSERT INTO launch_sums SELECT u.persona, u.version, coalesce(u.harness, ''), u.low,"
        " coalesce(u.models, ''), count(*), sum(u.cost IS NULL), count(u.exit_code),"
        " coalesce(sum(u.exit_code != 0), 0), sum(u.cost), min(u.first_started), max(u.last_started),"
        f" {sums} FROM temp.touched t"
        " JOIN launch_units u ON u.persona = t.persona AND u.version = t.version GROUP BY 1, 2, 3, 4, 5"
    )
    _stats(conn)
    conn.execute("DROP TABLE temp.touched")
    conn.execute("DROP TABLE temp.new_units")


def _stats(conn: sqlite3.Connection) -> None:
    """launch_stats of every version in temp.touched, whole again."""
    import json

    from .compare import sample

    conn.execute(
        "DELETE FROM launch_stats WHERE (persona, version) IN (SELECT persona, version FROM temp.touched)"
    )
    rows = []
    for persona, version in conn.execute("SELECT persona, version FROM temp.touched").fetchall():
        for measure in MEASURES:
            values = conn.execute(
                f"SELECT coalesce(harness, ''), low, {measure} FROM launch_units"
                f" WHERE persona = ? AND version = ? AND {measure} IS NOT NULL",
                (persona, version),
            ).fetchall()
            groups = [(0, "", None), *((1, h, h) for h in sorted({h for h, _, _ in values}))]
            for split, harness, only in groups:
                for low in (0, 1):
                    xs = [v for h, lo, v in values if (only is None or h == only) and (low or not lo)]
                    if not xs:
                        continue
                    s = sample(xs)
                    kept = json.dumps(s.values) if s.values is not None else None
                    rows.append((persona, version, split, harness, low, measure, s.n, json.dumps(s.total),
                                 json.dumps(s.squares), s.median, s.p90, kept))  # fmt: skip
    conn.executemany(f"INSERT INTO launch_stats VALUES ({', '.join('?' * 12)})", rows)


# -- what a set of launches adds up to ---------------------------------------------------------


def aggregate_kept(
    conn: sqlite3.Connection, persona: str, version: str, by_harness: bool, include_low: bool
) -> dict[Any, dict[str, Any]]:
    """What `aggregate` adds up, for one version, from the kept tables (`refresh` first):
    a few rows of sums, and the costs and durations as kept `compare.Sample`s."""
    import json

    out: dict[Any, dict[str, Any]] = {}
    for harness, low, models, n, unknown, exits, errors, *tokens in conn.execute(
        f"SELECT harness, low, models, launches, unknown_cost, exits_known, errors, {', '.join(TOKEN_KINDS)}"
        " FROM launch_sums WHERE persona = ? AND version = ?",
        (persona, version),
    ):
        _add_sums(out.setdefault(harness or None if by_harness else None, aggregate_empty()),
                  low, models, n, unknown, exits, errors, tokens, include_low)  # fmt: skip
    from .compare import Sample

    for harness, measure, n, total, squares, median, p90, kept in conn.execute(
        "SELECT harness, measure, n, total, squares, median, p90, sorted_values FROM launch_stats"
        " WHERE persona = ? AND version = ? AND split = ? AND low = ?",
        (persona, version, int(by_harness), int(include_low)),
    ):
        values = json.loads(kept) if kept is not None else None
        sample = Sample(n, json.loads(total), json.loads(squares), median, p90, values)
        out.setdefault(harness or None if by_harness else None, aggregate_empty())[MEASURES[measure]] = sample
    return out


def _add_sums(
    s: dict[str, Any], low: int, models: str | None, n: int, unknown: int, exits: int, errors: int,
    tokens: Sequence[int | None], include_low: bool,
) -> None:  # fmt: skip
    if low and not include_low:
        s["low"] += n
        return
    s["launches"] += n
    s["unknown_cost"] += unknown
    s["exits_known"] += exits
    s["errors"] += errors or 0
    for k, v in zip(TOKEN_KINDS, tokens, strict=True):
        if v is not None:
            s["tokens"][k] = (s["tokens"][k] or 0) + v
    for m in set(models.split(",")) if models else ():
        s["models"][m] = s["models"].get(m, 0) + n


def aggregate_empty() -> dict[str, Any]:
    return {
        "launches": 0,
        "low": 0,
        "unknown_cost": 0,
        "tokens": dict.fromkeys(TOKEN_KINDS),
        "exits_known": 0,
        "errors": 0,
        "models": {},
        "costs": [],
        "durations": [],
    }


def aggregate(
    conn: sqlite3.Connection,
    source: str,
    params: Sequence[Any],
    split: str = "NULL",
    include_low: bool = False,
) -> dict[Any, dict[str, Any]]:
    """Per value of `split` (an expression; NULL: one group): counts and sums of the
    launches in `source` (`table WHERE ...` with UNIT_COLUMNS), plus their known costs and
    durations. Low-fidelity launches are counted apart and left out of everything else
    unless `include_low`. Two statements; the cost and duration lists come back as one
    JSON array each (building 30k Python rows would cost more than the whole query)."""
    import json

    out: dict[Any, dict[str, Any]] = {}
    sums = ", ".join(f"sum({k})" for k in TOKEN_KINDS)
    by = "" if split == "NULL" else f"{split}, "
    for group, low, models, n, unknown, exits, errors, *tokens in conn.execute(
        f"SELECT {split}, low, models, count(*), sum(cost IS NULL), count(exit_code), sum(exit_code != 0),"
        f" {sums} FROM {source} GROUP BY {by}low, models",
        params,
    ):
        _add_sums(out.setdefault(group, aggregate_empty()), low, models, n, unknown, exits, errors, tokens,
                  include_low)  # fmt: skip
    keep = "" if include_low else " AND low = 0"
    for column, key in MEASURES.items():
        for group, values in conn.execute(
            f"SELECT {split}, json_group_array({column}) FROM {source}{keep} AND {column} IS NOT NULL"
            " GROUP BY 1",
            params,
        ):
            out.setdefault(group, aggregate_empty())[key] = json.loads(values)
    return out
