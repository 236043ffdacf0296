"""Spending caps per persona (DESIGN section 8): the policy, the spend in each window, and
the answer to "may this persona spend now?" for `burn budget check|status` and launches.

Caps come from two places, and every cap that applies to a launch counts (the most
restrictive wins):

- `$BURN_HOME/budgets.json`, written by `burn budget set` — local policy, never synced.
  An entry may be narrowed to a version prefix (`reviewer@3f2a9c`) and/or one tag.
- the persona file's `budget` block (`daily`, `monthly`, `per_launch` in USD, `soft`):
  policy, not behaviour, so it is not part of the version hash.

Kinds: `per_launch` (one launch), `daily` and `monthly` (calendar windows in the budget
time zone: `[budget] timezone` in `$BURN_HOME/config.toml`, else the local zone). Spend in
a window is the ledger's records re-priced with the current table, placed where their
spend happened: a record whose sessions' per-turn usage is still known is split by turn
time (so a launch that spans midnight counts on both days); otherwise it counts whole at
its start. Running launches count what they have spent so far, or what they reserved if
that is more. A cost that is unknown (an unpriced model) is never $0: it is counted apart
as `unknown_launches`, and `[budget] unknown` says what it does — `warn` (default) or
`refuse`.

The clock is `now()`: `BURN_NOW` (ISO time or Unix seconds) when set, for tests and
what-if checks, else the system clock.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from burn.store.errors import BurnError, UsageError

from .budget_spend import Spend
from .ledger import Ledger

KINDS = ("per_launch", "daily", "monthly")
WINDOWED = ("daily", "monthly")
REFUSED_EXIT = 75  # EX_TEMPFAIL: try again when the cap resets
UNKNOWN_RULES = ("warn", "refuse")
FILE = "budgets.json"


class BudgetRefused(BurnError):
    """A hard cap forbids the launch (exit 75, EX_TEMPFAIL: retry after the reset)."""

    exit_code = REFUSED_EXIT


# -- the clock and the windows ------------------------------------------------------------


def now() -> float:
    """The one clock budgets read: BURN_NOW when set, else the system's."""
    raw = os.environ.get("BURN_NOW", "").strip()
    if not raw:
        return time.time()
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).timestamp()
    except ValueError as e:
        raise UsageError(
            f"BURN_NOW={raw!r} is not a time", fix="use 2026-11-23T10:00:00Z or Unix seconds"
        ) from e


def settings(root: Path) -> dict[str, Any]:
    """`[budget]` of config.toml: timezone, unknown (warn|refuse), kill_grace_s."""
    from burn.store.config import read_config

    raw = read_config(root).get("budget") or {}
    out = {"timezone": raw.get("timezone"), "unknown": raw.get("unknown", "warn")}
    if out["unknown"] not in UNKNOWN_RULES:
        raise BurnError(
            f"[budget] unknown = {out['unknown']!r} is not one of {', '.join(UNKNOWN_RULES)}",
            path=root / "config.toml",
        )
    try:
        out["kill_grace_s"] = float(raw.get("kill_grace_s", 5.0))
    except (TypeError, ValueError) as e:
        raise BurnError("[budget] kill_grace_s must be a number of seconds", path=root / "config.toml") from e
    return out


def zone(name: str | None) -> tzinfo | None:
    """The budget time zone: an IANA name, or None for the local zone (TZ)."""
    if not name:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise BurnError(f"unknown time zone {name!r}", fix="use an IANA name like Europe/Berlin") from e


def window(kind: str, at: float, tz: tzinfo | None) -> tuple[float, float]:
    """[start, end) of the calendar day or month holding `at`, in zone `tz` (None: local)."""
    first = datetime.fromtimestamp(at, tz).date()
    if kind == "daily":
        after = first + timedelta(days=1)
    else:
        first = first.replace(day=1)
        after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)

    def midnight(d: date) -> float:
        if tz is None:
            return time.mktime((d.year, d.month, d.day, 0, 0, 0, 0, 0, -1))
        return datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()

    return midnight(first), midnight(after)


def iso_local(ts: float, tz: tzinfo | None) -> str:
    dt = datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts).astimezone()
    return dt.strftime("%Y-%m-%d %H:%M %Z")


# -- the policy ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cap:
    persona: str
    kind: str
    limit: int  # micro-USD
    soft: bool = False
    version: str | None = None  # a hex prefix of the version, without `b3:`
    tag: tuple[str, str] | None = None
    origin: str = FILE

    @property
    def scope(self) -> str:
        text = self.persona + (f"@{self.version}" if self.version else "")
        return text + (f" tag {self.tag[0]}={self.tag[1]}" if self.tag else "")

    def applies(self, version: str | None, tags: Mapping[str, str]) -> bool:
        if self.version and not (version or "").removeprefix("b3:").startswith(self.version):
            return False
        return not self.tag or tags.get(self.tag[0]) == self.tag[1]


def _path(root: Path) -> Path:
    return root / FILE


def load_file(root: Path) -> list[dict[str, Any]]:
    """The entries of budgets.json ([] when there is none)."""
    path = _path(root)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise BurnError(
            f"cannot read budgets: {e}", path=path, fix="correct it, or delete it and set again"
        ) from e
    entries = data.get("budgets") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise BurnError("no `budgets` list", path=path, fix="delete it and set again")
    return entries


def _save(root: Path, entries: list[dict[str, Any]]) -> None:
    from .stamps import write_json

    write_json(_path(root), {"schema": 1, "budgets": entries})


def _entry_caps(entry: Mapping[str, Any]) -> list[Cap]:
    tag = entry.get("tag")
    caps = []
    for kind in KINDS:
        c = entry.get(kind)
        if isinstance(c, dict) and isinstance(c.get("micros"), int):
            caps.append(
                Cap(
                    str(entry["persona"]),
                    kind,
                    c["micros"],
                    bool(c.get("soft")),
                    entry.get("version"),
                    (str(tag[0]), str(tag[1])) if tag else None,
                )
            )
    return caps


def block_caps(persona: str, block: Mapping[str, Any] | None, origin: str) -> list[Cap]:
    """Caps of a persona file's `budget` block: {daily, monthly, per_launch: USD, soft}."""
    from .record import usd_to_micros

    if not block:
        return []
    caps = []
    for key, value in block.items():
        kind = key.replace("-", "_")
        if kind == "soft":
            continue
        if kind not in KINDS:
            raise BurnError(
                f"unknown budget key {key!r}",
                path=origin,
                field="budget",
                fix=f"use {', '.join(KINDS)}, soft",
            )
        try:
            micros = usd_to_micros(value)
        except BurnError as e:
            raise BurnError(f"{key}: {e.message}", path=origin, field="budget") from e
        caps.append(Cap(persona, kind, micros, bool(block.get("soft")), origin=origin))
    return caps


def set_budget(
    root: Path,
    ref: str,
    *,
    tag: tuple[str, str] | None = None,
    amounts: Mapping[str, int | None],
    soft: bool = False,
    clear: bool = False,
) -> list[dict[str, Any]]:
    """Set (or with `clear`, remove) the caps of one scope; kinds not given are kept."""
    from burn.store.locking import file_lock

    from .personas import split_ref

    persona, version = split_ref(ref)
    version = version.removeprefix("b3:").lower() if version else None
    if version is not None and (len(version) < 6 or any(c not in "0123456789abcdef" for c in version)):
        raise UsageError(f"{version!r} is not a version prefix", fix="give 6 or more hex digits")
    if not clear and not any(v is not None for v in amounts.values()):
        raise UsageError("give a cap", fix="--daily USD, --monthly USD or --per-launch USD")
    with file_lock(root / "budget.lock"):
        entries = load_file(root)
        key = (persona, version, list(tag) if tag else None)
        entry = next((e for e in entries if (e.get("persona"), e.get("version"), e.get("tag")) == key), None)
        if clear:
            entries = [e for e in entries if e is not entry]
        else:
            if entry is None:
                entry = {"persona": persona, "version": version, "tag": list(tag) if tag else None}
                entries.append(entry)
            for kind, micros in amounts.items():
                if micros is not None:
                    entry[kind] = {"micros": micros, "soft": soft}
        entries.sort(key=lambda e: (e["persona"], e.get("version") or "", e.get("tag") or []))
        _save(root, entries)
    return [row for e in entries for row in (_cap_json(c) for c in _entry_caps(e))]


def _cap_json(c: Cap) -> dict[str, Any]:
    return {"scope": c.scope, "persona": c.persona, "kind": c.kind, "limit_micros": c.limit,
            "soft": c.soft, "origin": c.origin}  # fmt: skip


def caps_for(root: Path, persona: str, block: Mapping[str, Any] | None, origin: str) -> list[Cap]:
    """Every cap on a persona: budgets.json entries for it, then its file's block."""
    caps = [c for e in load_file(root) if e.get("persona") == persona for c in _entry_caps(e)]
    return caps + block_caps(persona, block, origin)


# -- check ---------------------------------------------------------------------------------


@dataclass
class Live:
    """Launches still running (or not yet settled) and what each holds against caps."""

    rows: list[dict[str, Any]]

    def holding(self, cap: Cap, exclude: str | None = None) -> tuple[int, int]:
        """(micros, unknown count) the running launches in a cap's scope hold now."""
        micros = unknown = 0
        for r in self.rows:
            if r["launch_id"] == exclude or r["persona"] != cap.persona:
                continue
            if not cap.applies(r.get("version"), r.get("tags") or {}):
                continue
            spent = r.get("cost_micros")
            if spent is None and r.get("models"):
                unknown += 1
            micros += max(r.get("reserved_micros") or 0, spent or 0)
        return micros, unknown


def live(ledger: Ledger) -> Live:
    """Running launches with their live spend and reservations (pending stamps count too:
    a launch whose launcher died holds its reservation until an ingest settles it)."""
    from . import stamps as st
    from .running import _row

    reserved = reservations(ledger.home.root)
    pending = st.load_all(ledger.home.pending_dir)
    if not pending:
        return Live([])
    from .pricing import load_table

    table = load_table()
    rows = ledger.index.read(lambda conn: [_row(conn, s, table) for s in pending])
    for r in rows:
        r["reserved_micros"] = reserved.get(r["launch_id"], 0)
    return Live(rows)


def reservations(root: Path) -> dict[str, int]:
    """launch id -> micros reserved, for launches whose stamp is still pending."""
    out = {}
    folder = root / "reservations"
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return {}
    for name in names:
        if not name.endswith(".json") or name.startswith("."):
            continue
        launch_id = name[:-5]
        if not (root / "pending" / name).exists():
            (folder / name).unlink(missing_ok=True)  # its launch is settled: spend is in the ledger
            continue
        try:
            out[launch_id] = int(json.loads((folder / name).read_text())["micros"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def evaluate(
    ledger: Ledger,
    persona: str,
    version: str | None,
    tags: Mapping[str, str],
    caps: list[Cap],
    *,
    estimate: int | None = None,
    exclude: str | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """Every cap that applies, with spend and what is left; which binds; whether a launch
    is allowed. `exclude`: a launch id whose own reservation is not counted."""
    rules = settings(ledger.home.root)
    tz = zone(rules["timezone"])
    at = now() if at is None else at
    mine = [c for c in caps if c.applies(version, tags)]
    month = window("monthly", at, tz)[0]
    spend = Spend(ledger, persona, month)
    running = live(ledger) if any(c.kind in WINDOWED for c in mine) else Live([])
    rows: list[dict[str, Any]] = []
    warnings: list[str] = []
    refusals: list[str] = []
    for cap in mine:
        row: dict[str, Any] = {**_cap_json(cap), "spent_micros": None, "running_micros": None,
                               "left_micros": cap.limit, "unknown_launches": 0,
                               "window_start": None, "resets_at": None}  # fmt: skip
        if cap.kind in WINDOWED:
            start, end = window(cap.kind, at, tz)
            w = spend.window(cap, start, end)
            held, unknown = running.holding(cap, exclude)
            row.update(
                spent_micros=w.micros + held,
                running_micros=held,
                left_micros=cap.limit - w.micros - held,
                unknown_launches=w.unknown + unknown,
                window_start=iso_local(start, tz),
                resets_at=iso_local(end, tz),
            )
        need = estimate if estimate is not None else 0
        over = row["left_micros"] < need if cap.kind == "per_launch" else (
            row["left_micros"] <= 0 or row["left_micros"] < need)  # fmt: skip
        if row["unknown_launches"] and cap.kind in WINDOWED:
            text = (
                f"{row['unknown_launches']} launch(es) of unknown cost (an unpriced model, or no session"
                f" found) are not counted against the {cap.kind} cap of {cap.scope}"
            )
            if rules["unknown"] == "refuse" and not cap.soft:
                over = True
            else:
                warnings.append(text)
        row["over"] = over
        if over:
            (warnings if cap.soft else refusals).append(_why(cap, row))
        rows.append(row)
    binding = min(rows, key=lambda r: (r["left_micros"], r["soft"]), default=None)
    return {
        "schema": 1,
        "persona": persona,
        "version": version,
        "at": iso_local(at, tz),
        "estimate_micros": estimate,
        "allowed": not refusals,
        "binding": binding,
        "caps": rows,
        "refusals": refusals,
        "warnings": warnings,
    }


def usd(micros: int | None) -> str:
    if micros is None:
        return "unknown"
    sign = "-" if micros < 0 else ""
    return (
        f"{sign}${abs(micros) / 1_000_000:,.2f}"
        if abs(micros) >= 10_000 or not micros
        else f"{sign}${abs(micros) / 1e6:.4f}"
    )


def _why(cap: Cap, row: Mapping[str, Any]) -> str:
    kind = cap.kind.replace("_", "-")
    hardness = "soft" if cap.soft else "hard"
    if cap.kind == "per_launch":
        return (f"{hardness} per-launch cap {usd(cap.limit)} of {cap.scope} is below the estimate "
                f"({cap.origin})")  # fmt: skip
    unknown = f", and {row['unknown_launches']} launch(es) of unknown cost" if row["unknown_launches"] else ""
    return (f"{hardness} {kind} cap {usd(cap.limit)} of {cap.scope}: {usd(row['spent_micros'])} spent since "
            f"{row['window_start']}{unknown}, {usd(row['left_micros'])} left; resets {row['resets_at']}"
            f" ({cap.origin})")  # fmt: skip


def check(
    ledger: Ledger, ref: str, *, estimate: int | None = None, tags: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`burn budget check`: the dry run of a launch of `ref`."""
    from .personas import resolve

    p = resolve(ledger, ref, store=False)
    origin = str(p.path) if p.path else "persona"
    caps = caps_for(ledger.home.root, p.name, p.budget, origin)
    return evaluate(ledger, p.name, p.version.id, tags or {}, caps, estimate=estimate)


def status(ledger: Ledger) -> dict[str, Any]:
    """`burn budget status`: every persona with caps, each cap's spend; and the pools."""
    from . import pool
    from .personas import catalog

    root = ledger.home.root
    names = {str(e.get("persona")) for e in load_file(root)}
    blocks: dict[str, tuple[Any, str]] = {}
    cat = catalog(ledger)
    for name in cat.names():
        try:
            p = cat.resolve(name)
        except BurnError:
            continue
        if p.budget:
            blocks[name] = (p.budget, str(p.path))
            names.add(name)
    rows, warnings = [], []
    for name in sorted(names):
        block, origin = blocks.get(name, (None, "persona"))
        caps = caps_for(root, name, block, origin)
        result = evaluate(ledger, name, None, {}, [c for c in caps if not c.version and not c.tag])
        narrowed = [c for c in caps if c.version or c.tag]
        for c in narrowed:  # each narrowed cap over its own scope
            v = f"b3:{c.version}" if c.version else None
            result["caps"] += evaluate(ledger, name, v, dict([c.tag]) if c.tag else {}, [c])["caps"]
        rows += result["caps"]
        warnings += result["warnings"]
    return {"schema": 1, "caps": rows, "pools": pool.listing(root), "warnings": warnings}
