"""Each record's cost in the index under the price table in force (DESIGN section 4).

A record keeps what the price table of its day gave (`cost_micros`, with `pricing`
naming that table): that is the ledger's fact and its JSON. Queries re-price: `burn
summary` and `burn diff` price stored usage as they go, and this module keeps the
index's `records.cost_micros` column, which `burn log`'s table, `--rollup` and the
hooks' lookups read, at the cost the current table gives. A cost the source reported
is kept as reported.

It runs only when something changed: a price table whose file changed (path, size or
mtime) re-prices every record once; new records re-price only when another table
priced them. A fresh index holds the recorded costs, so it re-prices the records of
other tables only (a table's id names its figures: `burn pricing update` takes a new
table, and an edited file is caught by its fingerprint).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .launches import _ROW_MICROS, load_prices, price_fingerprint

STATE_DDL = "CREATE TABLE IF NOT EXISTS reprice_state(key TEXT PRIMARY KEY, value TEXT)"


def ensure(conn: sqlite3.Connection) -> None:
    """Bring `records.cost_micros` to the price table in force (a no-op when it is)."""
    fingerprint = price_fingerprint()
    top = str(conn.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()[0])
    try:
        state = dict(conn.execute("SELECT key, value FROM reprice_state").fetchall())
    except sqlite3.OperationalError:  # not made yet
        state = {}
    if state.get("prices") == fingerprint and state.get("seq") == top:
        return  # the common case: nothing read but two small rows
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(STATE_DDL)
        state = dict(conn.execute("SELECT key, value FROM reprice_state").fetchall())
        table_id = state.get("id")
        if state.get("prices") == fingerprint and table_id is not None:
            where, params = (
                "seq > ? AND pricing IS NOT 'reported' AND pricing IS NOT ?",
                [
                    int(state.get("seq") or 0),
                    table_id,
                ],
            )
            if conn.execute(f"SELECT 1 FROM records WHERE {where} LIMIT 1", params).fetchone():
                _update(conn, where, params, _table())
        else:
            table = _table()
            table_id = table.id if table is not None else ""
            if "prices" in state:  # the table changed under a kept index: every record again
                where, params = "pricing IS NOT 'reported'", []
            else:  # a new index holds recorded costs: re-price what other tables priced
                where, params = "pricing IS NOT 'reported' AND pricing IS NOT ?", [table_id]
            _update(conn, where, params, table)
        conn.executemany(
            "INSERT OR REPLACE INTO reprice_state VALUES (?, ?)",
            [("prices", fingerprint), ("seq", top), ("id", table_id)],
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _table() -> Any:
    from .summary import _prices

    return _prices()


def _update(conn: sqlite3.Connection, where: str, params: list[object], table: Any) -> None:
    """cost_micros of the records matching `where`: the sum of their usage rows priced now,
    unknown (NULL) when a row's model has no price or the record has no usage."""
    load_prices(conn, table)
    conn.execute(
        "UPDATE records SET cost_micros = (SELECT CASE WHEN count(u.seq) = 0 THEN NULL"
        f" WHEN count(u.seq) = count({_ROW_MICROS}) THEN sum({_ROW_MICROS}) END FROM usage u"
        " LEFT JOIN temp.burn_prices p ON p.model = u.model AND p.tier = coalesce(u.tier, 'base')"
        f" WHERE u.seq = records.seq) WHERE {where}",
        params,
    )
