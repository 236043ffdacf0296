"""One ledger record: its stored body, its commit message, and its public JSON shape.

The commit message is `<subject>\n\n<body JSON>\n\n<trailers>`. The body holds what was
observed; what can be derived from it (id, usage totals, models, cost_usd, the short
version) is added when a record is read, so stored and shown can never disagree.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import date

from burn.store.errors import BurnError

from .money import fmt_usd
from .usage import (
    BILLED_KINDS,
    GRANULARITIES,
    TOKEN_KINDS,
    add_usage,
    check_usage,
    coverage,
    fidelity_class,
    total_tokens,
    worst_fidelity,
)

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

SCHEMA = 1
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


class RecordError(BurnError):
    """A record that cannot be written or read as given."""


def utc_iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(ts)))


def iso_to_epoch(text: str) -> int:
    """Unix seconds of `2026-11-23T10:00:00Z` (strptime is 20x slower on a rebuild)."""
    if not _ISO.match(text):
        raise ValueError(f"{text!r} is not a UTC time like 2026-11-23T10:00:00Z")
    # calendar.timegm, inline, each month's first day counted once (a rebuild or an
    # ingest converts every record's times)
    days = _MONTHS.get(text[:7])
    if days is None:
        days = _MONTHS[text[:7]] = date(int(text[0:4]), int(text[5:7]), 1).toordinal() - _EPOCH_DAY
    days += int(text[8:10]) - 1
    return ((days * 24 + int(text[11:13])) * 60 + int(text[14:16])) * 60 + int(text[17:19])


_MONTHS: dict[str, int] = {}  # "2026-11" -> days from 1970-01-01 to its first day


def usd_to_micros(text: str | float | int) -> int:
    """Dollars as typed by a person ('0.42', '$1.5') into integer micro-USD, exactly."""
    from decimal import Decimal, InvalidOperation

    raw = str(text).strip().removeprefix("$")
    try:
        value = Decimal(raw)
    except InvalidOperation as e:
        raise RecordError(f"{text!r} is not an amount in USD", fix="write it like 0.42") from e
    if not value.is_finite() or value < 0:
        raise RecordError(f"{text!r} is not a non-negative amount", fix="write it like 0.42")
    micros = value * 1_000_000
    if micros != micros.to_integral_value():
        raise RecordError(f"{text!r} has more precision than a micro-dollar")
    return int(micros)


def make_body(
    *,
    persona: str,
    version: str | None,
    source: str,
    host: str,
    started_at: str,
    by_model: list[dict[str, Any]] | None = None,
    cost_micros: int | None = None,
    pricing: str | None = None,
    harness: str | None = None,
    ended_at: str | None = None,
    duration_ms: int | None = None,
    exit_code: int | None = None,
    parent: str | None = None,
    sessions: list[str] | None = None,
    tags: Mapping[str, str] | None = None,
    kind: str = "manual",
    **extra: Any,
) -> dict[str, Any]:
    """A checked record body. Raises RecordError naming the field that is wrong."""
    rows = []
    cost_known = cost_micros is not None
    for i, row in enumerate(by_model or []):
        model = row.get("model")
        if not isinstance(model, str) or not model:
            raise RecordError("model must be a non-empty string", field=f"by_model[{i}].model")
        granularity = row.get("granularity", "per-session-aggregate")
        if granularity not in GRANULARITIES:
            raise RecordError(f"unknown granularity {granularity!r}", field=f"by_model[{i}].granularity")
        try:
            usage = check_usage(row.get("usage", {}), i)
        except ValueError as e:
            raise RecordError(str(e), field=f"by_model[{i}].usage") from e
        cov = coverage(usage)
        fidelity = fidelity_class(granularity, usage, cost_known, cov)
        tier = row.get("tier", "base")
        if row.get("session") is not None:  # a launch record spans sessions and agents:
            clean = {  # each row says whose it is, so later growth is netted against it
                "agent": row.get("agent"), "coverage": cov, "fidelity": fidelity,
                "granularity": granularity, "model": model, "session": str(row["session"]),
                "tier": tier, "usage": usage,
            }  # fmt: skip
        else:
            clean = {
                "coverage": cov, "fidelity": fidelity, "granularity": granularity, "model": model,
                "tier": tier, "usage": usage,
            }  # fmt: skip
        rows.append(clean)
    if cost_micros is not None and (
        not isinstance(cost_micros, int) or isinstance(cost_micros, bool) or cost_micros < 0
    ):
        raise RecordError("must be a non-negative integer or null", field="cost_micros")
    for name, value in (("started_at", started_at), ("ended_at", ended_at)):
        if value is not None and not _ISO.match(value):
            raise RecordError(f"{value!r} is not a UTC time like 2026-11-23T10:00:00Z", field=name)
    for name, number in (("duration_ms", duration_ms), ("exit_code", exit_code)):
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)):
            raise RecordError("must be an integer", field=name)
    if duration_ms is not None and duration_ms < 0:
        raise RecordError("must not be negative", field="duration_ms")
    clean_tags = {}
    for k, v in (tags or {}).items():
        if not isinstance(k, str) or not k or not isinstance(v, str):
            raise RecordError(
                f"tag {k!r}={v!r} must be a non-empty string key with a string value", field="tags"
            )
        clean_tags[k] = v
    if not persona:
        raise RecordError("must not be empty", field="persona")
    fid = (
        worst_fidelity(r["fidelity"] for r in rows)
        if rows
        else ("cost-only" if cost_micros is not None else "partial")
    )
    # (The commit stores a body's keys in its order, which reading it back keeps: the
    # index rows an append makes from the body are the rows a rebuild makes from the
    # commit, see index.record_rows. Sorted here, for a person reading `git show`.)
    body: dict[str, Any] = {
        "by_model": rows,
        "cost_micros": cost_micros,
        "duration_ms": duration_ms,
        "ended_at": ended_at,
        "exit_code": exit_code,
        "fidelity": fid,
        "harness": harness,
        "host": host,
        "kind": kind,
        "parent": parent,
        "persona": persona,
        "pricing": pricing,
        "schema": SCHEMA,
        "sessions": list(sessions or []),
        "source": source,
        "started_at": started_at,
        "tags": dict(sorted(clean_tags.items())),
        "version": version,
    }
    body.update(extra)
    return body


def public(body: Mapping[str, Any], record_id: str) -> dict[str, Any]:
    """The record as every command shows it (DESIGN section 4), derived fields added."""
    get = body.get  # (an ingest or a rebuild makes thousands: every lookup counts)
    rows = get("by_model") or []
    usage = usage_of(rows)
    version = get("version")
    cost = get("cost_micros")
    out = {
        "schema": get("schema", SCHEMA),
        "id": record_id,
        "persona": get("persona"),
        "version": version,
        "version_short": version[3:15] if isinstance(version, str) else None,
        "source": get("source"),
        "harness": get("harness"),
        "host": get("host"),
        "started_at": get("started_at"),
        "ended_at": get("ended_at"),
        "duration_ms": get("duration_ms"),
        "exit_code": get("exit_code"),
        "parent": get("parent"),
        "sessions": get("sessions", []),
        "models": sorted({r["model"] for r in rows}),
        "usage": usage,
        "total_tokens": total_tokens(usage),
        "by_model": rows,
        "cost_micros": cost,
        "cost_usd": cost / 1_000_000 if isinstance(cost, int) else None,
        "pricing": get("pricing"),
        "fidelity": get("fidelity"),
        "tags": get("tags", {}),
        "commit": get("commit"),  # the commit an attribution record is about
    }
    for k, v in body.items():  # fields added later survive a read by an older burn
        if k not in out:
            out[k] = v
    return out


def usage_of(rows: list[dict[str, Any]]) -> dict[str, int | None]:
    """The usage of a record's rows, summed (add_usage; one row, the common case, copied)."""
    if len(rows) == 1:
        one = rows[0]["usage"]
        return {k: one.get(k) for k in TOKEN_KINDS}
    return add_usage(r["usage"] for r in rows)


def billed_tokens(rows: list[dict[str, Any]]) -> int | None:
    """`total_tokens(usage_of(rows))`, without making the summed usage first."""
    total = None
    for row in rows:
        get = row["usage"].get
        for k in BILLED_KINDS:
            v = get(k)
            if v is not None:
                total = v if total is None else total + v
    return total


def subject(body: Mapping[str, Any]) -> str:
    return _subject(body, billed_tokens(body.get("by_model") or []))


def _subject(body: Mapping[str, Any], tokens: int | None) -> str:
    version = body.get("version")
    who = body["persona"] + (f"@{version[3:15]}" if isinstance(version, str) else "")
    harness = body.get("harness")
    text = f"{who} {fmt_usd(body.get('cost_micros'))} {tokens if tokens is not None else 'unknown'} tokens"
    return f"{text} {harness}" if harness else text


def commit_message(body: Mapping[str, Any], fast_json: bool = False) -> bytes:
    """The commit message of a record body: subject, the body as JSON (its keys in the
    body's order, which reading it back keeps), trailers. `fast_json`: the body serialised
    by orjson (for a batch: importing it costs more than one record), which writes what
    json.dumps below writes, byte for byte, for all a body holds (strings, integers,
    booleans, null, lists, objects with string keys)."""
    tokens = billed_tokens(body.get("by_model") or [])
    cost = body.get("cost_micros")
    trailers = (
        f"Burn-Persona: {body['persona']}\n"
        f"Burn-Version: {body.get('version') or 'none'}\n"
        f"Burn-Cost-Micros: {cost if cost is not None else 'unknown'}\n"
        f"Burn-Tokens: {tokens if tokens is not None else 'unknown'}\n"
    )
    text = b""
    if fast_json:
        import orjson

        try:
            text = orjson.dumps(body)
        except orjson.JSONEncodeError:  # (an integer past 64 bits: json.dumps writes it)
            pass
    if not text:
        import json  # (here: reading records never needs it)

        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return b"%s\n\n%s\n\n%s" % (_subject(body, tokens).encode(), text, trailers.encode())


def load_record(message: bytes, record_id: str, loads: Any = None) -> dict[str, Any]:
    """The public record of a commit; ValueError if the commit is not a readable record.

    The one definition of "a record" that the index and fsck share.
    """
    return read_record(message, record_id, loads)[0]


def read_record(message: bytes, record_id: str, loads: Any = None) -> tuple[dict[str, Any], int, int | None]:
    """`load_record`, with its start and end as Unix seconds (the index keeps both; a
    time is checked by converting it, once)."""
    rec = public(parse_message(message, loads), record_id)
    if not isinstance(rec["persona"], str) or not rec["persona"]:
        raise ValueError("record has no persona")
    started, ended = rec["started_at"], rec["ended_at"]
    try:
        started = iso_to_epoch(started)
    except (ValueError, TypeError):
        raise ValueError(f"record has no valid started_at: {started!r}") from None
    if ended is not None:
        try:
            ended = iso_to_epoch(ended)
        except (ValueError, TypeError):
            raise ValueError(f"record has an invalid ended_at: {ended!r}") from None
    return rec, started, ended


def parse_message(message: bytes, loads: Any = None) -> dict[str, Any]:
    """The body of a record commit message. Raises ValueError if it is not one.
    (`loads`: json.loads for a record or two, where importing orjson costs more.)"""
    if loads is None:
        import orjson

        loads = orjson.loads
    parts = message.split(b"\n\n", 2)
    if len(parts) < 3:
        raise ValueError("not a burn record (expected subject, JSON body and trailers)")
    try:
        body = loads(parts[1])
    except ValueError as e:  # (orjson.JSONDecodeError and json's are ValueErrors)
        raise ValueError(f"record body is not JSON: {e}") from e
    if not isinstance(body, dict) or "persona" not in body:
        raise ValueError("record body is not a burn record object")
    return body
