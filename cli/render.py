"""One renderer for every listing: --format table|json|jsonl|csv.

Plain string work on purpose: `burn log` prints tens of thousands of rows within its
time budget, so no rich here. JSON listings are `{"schema": 1, "<key>": [...]}`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable

from burn.store.tuples import NamedTuple

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import IO, Any

FORMATS = ("table", "json", "jsonl", "csv")
UNKNOWN = "—"


class Column(NamedTuple):  # not a dataclass: that import alone is ~10 ms of start-up
    key: str
    header: str
    fmt: Callable[[Any], str] = str
    right: bool = False
    sql: str | None = None  # the same cell as an SQL expression over the records table


# Each cell formatter has an SQL twin (for `burn log`'s big tables); integer arithmetic
# with half-up rounding in both, so the two always print the same text.


def usd(micros: int | None) -> str:
    if micros is None:
        return UNKNOWN
    if micros < 0:  # what is left of a cap, or free in a pool, can be below zero
        return "-" + usd(-micros)
    if 0 < micros < 10_000:  # under a cent: four decimals, so it never shows as $0.00
        return f"$0.{(micros + 50) // 100:04d}"
    cents = (micros + 5_000) // 10_000
    return f"${cents // 100:,}.{cents % 100:02d}"


def usd_sql(col: str) -> str:
    return (
        f"CASE WHEN {col} IS NULL THEN '{UNKNOWN}'"
        f" WHEN {col} > 0 AND {col} < 10000 THEN printf('$0.%04d', ({col} + 50) / 100)"
        f" ELSE printf('$%,d.%02d', ({col} + 5000) / 10000 / 100, ({col} + 5000) / 10000 % 100) END"
    )


def count(n: int | None) -> str:
    return UNKNOWN if n is None else f"{n:,}"


def count_sql(col: str) -> str:
    return f"CASE WHEN {col} IS NULL THEN '{UNKNOWN}' ELSE printf('%,d', {col}) END"


def duration(ms: int | None) -> str:
    if ms is None:
        return UNKNOWN
    s = ms // 1000
    if s < 60:
        tenths = (ms + 50) // 100
        return f"{tenths // 10}.{tenths % 10}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def duration_sql(col: str) -> str:
    s = f"({col} / 1000)"
    return (
        f"CASE WHEN {col} IS NULL THEN '{UNKNOWN}'"
        f" WHEN {s} < 60 THEN printf('%d.%ds', ({col} + 50) / 100 / 10, ({col} + 50) / 100 % 10)"
        f" WHEN {s} < 3600 THEN printf('%dm%02ds', {s} / 60, {s} % 60)"
        f" ELSE printf('%dh%02dm', {s} / 3600, {s} % 3600 / 60) END"
    )


def text_sql(col: str) -> str:
    return f"coalesce(CAST({col} AS TEXT), '{UNKNOWN}')"


def text(v: Any) -> str:
    return UNKNOWN if v is None else str(v)


def table(rows: Iterable[dict[str, Any]], columns: list[Column], out: IO[str]) -> None:
    cells = [[c.header for c in columns]]
    cells += [[c.fmt(r.get(c.key)) for c in columns] for r in rows]
    if len(cells) == 1:
        return
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for row in cells:
        parts = [v.rjust(w) if c.right else v.ljust(w) for v, w, c in zip(row, widths, columns, strict=True)]
        lines.append("  ".join(parts).rstrip())
    out.write("\n".join(lines) + "\n")


def emit(
    rows: Iterable[dict[str, Any]],
    columns: list[Column],
    fmt: str,
    key: str = "records",
    out: IO[str] | None = None,
) -> None:
    """Print rows in the chosen format. JSON forms carry every field, tables the columns."""
    out = out or sys.stdout
    if fmt == "table":
        table(rows, columns, out)
    elif fmt == "json":
        emit_json_strings((dumps(r) for r in rows), key, out)
    elif fmt == "jsonl":
        for r in rows:
            out.write(dumps(r) + "\n")
    elif fmt == "csv":
        import csv

        writer = csv.writer(out, lineterminator="\n")
        rows = list(rows)
        keys = [c.key for c in columns]
        for r in rows:  # fields beyond the table's columns, in first-seen order
            keys += [k for k in r if k not in keys and not isinstance(r[k], (dict, list))]
        writer.writerow(keys)
        for r in rows:
            writer.writerow([csv_cell(r.get(k)) for k in keys])
    else:  # click's Choice stops this first
        raise ValueError(fmt)


def emit_json_strings(
    items: Iterable[str], key: str, out: IO[str], extra: dict[str, Any] | None = None
) -> None:
    """A JSON listing from already-encoded items, streamed; `extra` keys come after."""
    out.write('{"schema": 1, "' + key + '": [')
    first = True
    for s in items:
        out.write(s if first else ",\n" + s)
        first = False
    out.write("]")
    if extra:
        import json

    for k, v in (extra or {}).items():
        out.write(f", {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}")
    out.write("}\n")


def emit_one(obj: dict[str, Any], out: IO[str] | None = None) -> None:
    import json  # (here: a command that prints no JSON never imports it)

    (out or sys.stdout).write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def dumps(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def csv_cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, dict):
        return ";".join(f"{k}={x}" for k, x in v.items())
    if isinstance(v, list):
        return ";".join(map(str, v))
    return str(v)
