"""Spend recorded by hand or by a script (`burn record`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from .home import work_tree
from .ledger import Ledger
from .record import make_body, usd_to_micros, utc_iso


def record_spend(
    ledger: Ledger,
    persona_ref: str,
    *,
    model: str | None,
    usage: dict[str, int | None],
    cost: str | None,
    tags: dict[str, str],
    harness: str | None = None,
    sessions: list[str] | None = None,
    duration_ms: int | None = None,
    exit_code: int | None = None,
    started_at: str | None = None,
    tier: str | None = None,
    cwd: Path | None = None,
) -> dict[str, Any]:
    """Resolve the persona (storing its spec), then append one record for it."""
    from .personas import resolve
    from .timeparse import parse_when

    spec = None
    if persona_ref == "none":
        name, version, source = "none", None, "manual"
    else:
        p = resolve(ledger, persona_ref, tier, cwd)
        name, version, source, spec = p.name, p.version.id, p.source, p.spec
        if tier:
            tags = {**tags, "tier": tier}
    start = parse_when(started_at) if started_at else int(time.time())
    by_model = []
    if model is not None:
        by_model.append({"model": model, "usage": usage, "granularity": "per-session-aggregate"})
    body = make_body(
        persona=name,
        version=version,
        source=source,
        host=ledger.host,
        started_at=utc_iso(start),
        ended_at=utc_iso(start + duration_ms // 1000) if duration_ms is not None else None,
        duration_ms=duration_ms,
        exit_code=exit_code,
        harness=harness,
        sessions=sessions,
        by_model=by_model,
        cost_micros=usd_to_micros(cost) if cost is not None else None,
        pricing="reported" if cost is not None else None,
        tags=tags,
        repo=str(tree) if (tree := work_tree(cwd or Path.cwd())) else None,
    )
    return ledger.append(body, spec)
