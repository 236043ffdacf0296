"""Launches still running: their stamps, and the spend ingest has seen for them so far.

Not records yet (a launch's record is written once, when it ends), so they are listed
apart: `burn log` prints them above the records, `--format json` under "running".
"""

from __future__ import annotations

import sqlite3
from typing import Any

from . import responses
from . import stamps as st
from .ledger import Ledger
from .record import utc_iso
from .usage import TOKEN_KINDS, add_usage, total_tokens


def running(ledger: Ledger) -> list[dict[str, Any]]:
    """Every pending launch whose launcher still runs, newest first, with spend so far."""
    live = [s for s in st.load_all(ledger.home.pending_dir) if s.settleable(st.now()) is None]
    if not live:
        return []
    from .pricing import load_table

    table = load_table()
    return ledger.index.read(lambda conn: [_row(conn, s, table) for s in reversed(live)])


def _row(conn: sqlite3.Connection, stamp: st.Stamp, table: Any) -> dict[str, Any]:
    d = stamp.data
    by_model: dict[tuple[str, str], dict[str, int | None]] = {}
    for harness, session in stamp.claimed():
        summed = responses.load_totals(conn, [(harness, session)]).get((harness, session), ({}, {}))
        for (_agent, model, tier), sums in summed[0].items():
            usage = dict(zip(TOKEN_KINDS, sums, strict=True))
            key = (model, tier)
            by_model[key] = add_usage([by_model[key], usage]) if key in by_model else usage
    cost: int | None = 0
    for (model, tier), usage in by_model.items():
        price = table.price(model, usage, tier)
        cost = None if price is None or cost is None else cost + price
    usage = add_usage(by_model.values())
    version = d.get("version")
    return {
        "launch_id": stamp.id,
        "persona": d.get("persona"),
        "version": version,
        "version_short": version[3:15] if isinstance(version, str) else None,
        "harness": d.get("harness"),
        "started_at": utc_iso(stamp.spawned),
        "elapsed_ms": int((st.now() - stamp.spawned) * 1000),
        "parent": d.get("parent"),
        "sessions": sorted(s for _h, s in stamp.claimed()),
        "models": sorted({m for m, _t in by_model}),
        "usage": usage,
        "total_tokens": total_tokens(usage) if by_model else None,
        "cost_micros": cost if by_model else None,
        "tags": d.get("tags") or {},
    }
