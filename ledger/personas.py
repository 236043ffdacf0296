"""The persona commands' library: store, cascade and spend, joined.

Name resolution: `name@version` comes from the object store; a bare `name` is the file
that wins the cascade, else the newest stored version of that name (imported personas).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from burn.store import Catalog, PersonaNotFound, ResolvedPersona, Version, default_layers
from burn.store.config import persona_dirs
from burn.store.errors import BurnError, PersonaError, UsageError
from burn.store.persona import Layer, load_persona_file
from burn.store.tuples import NamedTuple

from .home import work_tree
from .ledger import Ledger
from .record import utc_iso

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any


def catalog(ledger: Ledger, cwd: Path | None = None) -> Catalog:
    root = ledger.home.root
    return Catalog.scan(default_layers(cwd or Path.cwd(), root, persona_dirs(root)))


def split_ref(ref: str) -> tuple[str, str | None]:
    name, sep, version = ref.partition("@")
    if not name:
        raise UsageError(f"{ref!r} names no persona", fix="write NAME or NAME@VERSION")
    if sep and not version:
        raise UsageError(f"{ref!r} has an empty version", fix="write NAME@3f2a9c1b7d0e")
    return name, version or None


def resolve(
    ledger: Ledger, ref: str, tier: str | None = None, cwd: Path | None = None, store: bool = True
) -> ResolvedPersona:
    """A persona reference resolved to a spec; the spec is stored unless store=False."""
    name, version = split_ref(ref)
    if version is not None:
        if tier is not None:
            raise UsageError("--tier cannot be combined with NAME@VERSION", fix="give one of them")
        v = ledger.specs.resolve(version, name)
        spec = ledger.specs.get(v)
        source = next((sv.source for sv in ledger.specs.history(name) if sv.version == v), "store")
        return ResolvedPersona(name=name, spec=spec, version=v, source=source)
    cat = catalog(ledger, cwd)
    try:
        persona = cat.resolve(name, tier)
    except PersonaNotFound:
        stored = ledger.specs.history(name)
        if not stored or tier is not None:
            raise
        last = stored[-1]
        return ResolvedPersona(name, ledger.specs.get(last.version), last.version, last.source)
    if store:
        ledger.specs.put(persona.spec, source=persona.source)
    return persona


class Added(NamedTuple):
    persona: ResolvedPersona
    new: bool
    path: Path


def add(ledger: Ledger, path: Path, layer_label: str = "user", cwd: Path | None = None) -> Added:
    """Install a persona file into a layer (user by default) and store its spec."""
    cat = catalog(ledger, cwd)
    layer = next((la for la in cat.layers if la.label == layer_label), None)
    if layer is None:
        raise UsageError(f"no layer {layer_label!r} here", fix="use --layer user, or create .burn/personas")
    path = path.resolve()
    anchor = work_tree(path.parent) or path.parent
    pf = load_persona_file(path, Layer(layer.label, layer.root, anchor, layer.rank))
    target = layer.root / f"{pf.name}.json"
    if path.parent != layer.root:
        other = layer.root / f"{pf.name}.toml"
        if other.exists():
            raise PersonaError(
                f"{other.name} already defines {pf.name!r} in the {layer.label} layer",
                path=other,
                fix="edit that file, or remove it and add again",
            )
        layer.root.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}")
        tmp.write_text(json.dumps(pf.data, indent=2, ensure_ascii=False) + "\n")
        tmp.replace(target)
    else:
        target = path
    persona = cat.resolve_file(pf)
    _, new = ledger.specs.put(persona.spec, source=persona.source)
    return Added(persona, new, target)


def list_personas(ledger: Ledger, cwd: Path | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Every persona by name: the cascade's winner, else the newest stored version."""
    cat = catalog(ledger, cwd)
    rows: dict[str, dict[str, Any]] = {}
    errors = [str(e) for e in cat.all_errors()]
    for name in cat.names():
        try:
            p = cat.resolve(name)
        except BurnError as e:
            if str(e) not in errors:
                errors.append(str(e))
            continue
        rows[name] = _row(p.name, p.version, p.source, p.spec, str(p.path) if p.path else None)
    for sv in ledger.specs.versions():
        if sv.name not in rows or rows[sv.name]["from"] == "store":
            rows[sv.name] = _row(sv.name, sv.version, sv.source, None, None) | {"from": "store"}
    return [rows[k] for k in sorted(rows)], errors


def _row(name: str, v: Version, source: str, spec: dict[str, Any] | None, path: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "version": v.id,
        "version_short": v.short,
        "sha256": v.sha256,
        "source": source,
        "description": (spec or {}).get("description"),
        "path": path,
        "from": "file",
    }


def show(ledger: Ledger, ref: str, tier: str | None = None, cwd: Path | None = None) -> dict[str, Any]:
    p = resolve(ledger, ref, tier, cwd)
    return {
        "schema": 1,
        "name": p.name,
        "version": p.version.id,
        "version_short": p.version.short,
        "sha256": p.version.sha256_id,
        "source": p.source,
        "path": str(p.path) if p.path else None,
        "tier": p.tier,
        "budget": p.budget,
        "spec": p.spec,
    }


def log(ledger: Ledger, ref: str, cwd: Path | None = None) -> list[dict[str, Any]]:
    """Every version of a persona, newest first, with its launches and their cost.

    `ref` is a NAME, or NAME@VERSION / a bare version prefix (b3 or sha256): then, like
    `git log REV`, that version and the ones stored before it. Launches and costs are
    counted as `burn diff` counts them (`launches`): re-priced with the current table,
    unknown costs counted apart, never as $0.
    """
    return ledger.index.read(lambda conn: _versions_with_spend(ledger, conn, ref, cwd))


def _log_target(conn: Any, ref: str) -> tuple[str, str | None]:
    """(persona name, version to start from or None for the newest)."""
    from .costdiff import find_version

    name, sep, version = ref.partition("@")
    if sep:
        if not name or not version:
            raise UsageError(f"{ref!r} is not NAME or NAME@VERSION", fix="write e.g. reviewer@3f2a9c")
        return find_version(conn, version, name)
    known = (
        conn.execute("SELECT 1 FROM versions WHERE name = ? LIMIT 1", (ref,)).fetchone()
        or conn.execute("SELECT 1 FROM records WHERE persona = ? LIMIT 1", (ref,)).fetchone()
    )
    if known:
        return ref, None
    try:
        return find_version(conn, ref, None)
    except UsageError:  # not a version prefix either
        raise PersonaNotFound(f"no versions of {ref!r} are stored", fix="see `burn persona list`") from None


def _versions_with_spend(ledger: Ledger, conn: Any, ref: str, cwd: Path | None) -> list[dict[str, Any]]:
    from .launches import refresh
    from .summary import _prices

    name, upto = _log_target(conn, ref)
    refresh(conn, _prices)
    spend = {
        row[0] or None: row[1:]
        for row in conn.execute(
            "SELECT version, sum(launches), sum(cost), sum(launches - unknown_cost), min(first_started),"
            " max(last_started) FROM launch_sums WHERE persona = ? GROUP BY version",
            (name,),
        )
    }
    stored = conn.execute(
        "SELECT b3, sha256, source, stored_at FROM versions WHERE name = ? ORDER BY stored_at, rowid",
        (name,),
    ).fetchall()
    if not stored and not spend:
        raise PersonaNotFound(f"no versions of {name!r} are stored", fix="see `burn persona list`")
    current: str | None = None
    try:  # the file that wins the cascade, else the newest stored version (no git read)
        current = catalog(ledger, cwd).resolve(name, None).version.id
    except PersonaNotFound:
        current = stored[-1][0] if stored else None
    except BurnError:
        pass
    rows = []
    known = set()
    for b3, sha, source, stored_at in stored:
        known.add(b3)
        rows.append(_log_row(b3, sha, source, stored_at, spend.get(b3), b3 == current))
    for version, data in spend.items():  # spend under versions this store never saw
        if version not in known:
            rows.append(_log_row(version, None, None, data[3], data, version == current))
    rows.sort(key=lambda r: r["_order"])  # stable: store order breaks same-second ties
    if upto is not None:
        rows = rows[: next(i for i, r in enumerate(rows) if r["version"] == upto) + 1]
    rows.reverse()
    for r in rows:
        del r["_order"]
    return rows


def _log_row(
    b3: str | None,
    sha: str | None,
    source: str | None,
    stored_at: int | None,
    spend: tuple[Any, ...] | None,
    current: bool,
) -> dict[str, Any]:
    launches, total, priced, first, last = spend or (0, None, 0, None, None)
    return {
        "version": b3,
        "version_short": b3[3:15] if b3 else None,
        "sha256": f"sha256:{sha}" if sha else None,
        "stored_at": utc_iso(stored_at) if stored_at else None,
        "source": source,
        "launches": launches,
        "cost_micros": total if priced else None,
        "unpriced_launches": launches - priced,
        "mean_cost_micros": (total + priced // 2) // priced if priced else None,
        "first_launch": utc_iso(first) if first else None,
        "last_launch": utc_iso(last) if last else None,
        "current": current,
        "_order": stored_at or 0,
    }


def diff(ledger: Ledger, a: str, b: str | None, cwd: Path | None = None) -> dict[str, Any]:
    """Field-level diff of two persona versions (`name` alone: its two newest versions)."""
    if b is None:
        name, version = split_ref(a)
        if version is not None:
            raise UsageError(
                "give two versions, or a bare name for its two newest",
                fix=f"burn persona diff {name}",
            )
        history = ledger.specs.history(name)
        if len(history) < 2:
            raise BurnError(f"{name!r} has {len(history)} stored version(s); a diff needs two")
        left = ResolvedPersona(
            name, ledger.specs.get(history[-2].version), history[-2].version, history[-2].source
        )
        right = ResolvedPersona(
            name, ledger.specs.get(history[-1].version), history[-1].version, history[-1].source
        )
    else:
        left, right = resolve(ledger, a, cwd=cwd), resolve(ledger, b, cwd=cwd)
    from burn.store.diff import diff_specs

    return {
        "schema": 1,
        "a": {"name": left.name, "version": left.version.id, "version_short": left.version.short},
        "b": {
            "name": right.name,
            "version": right.version.id,
            "version_short": right.version.short,
        },
        "changes": [c.to_json() for c in diff_specs(left.spec, right.spec)],
    }


def import_files(ledger: Ledger, kind: str, path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Import another tool's agent files into the store; unchanged files are no-ops."""
    from burn.store.importers import import_path

    result = import_path(kind, path)
    rows = []
    for p in result.personas:
        v, new = ledger.specs.put(p.spec, source=f"import:{kind}")
        rows.append(
            {
                "name": p.name,
                "version": v.id,
                "version_short": v.short,
                "status": "new" if new else "unchanged",
                "origin": str(p.origin),
            }
        )
    return rows, [str(e) for e in result.errors]
