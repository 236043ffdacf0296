"""Importers: other tools' agent definitions as burn specs.

    from burn.store.importers import import_path
    result = import_path("claude", Path("."))
    for p in result.personas: ...      # finished specs, ready to hash
    for e in result.errors: ...        # ImportFailed, one per broken file or entry

Each importer maps the fields burn knows (name, description, harness, model, prompt,
tools, permissions, env, mcp) and keeps every other key the user wrote under its own
name. A source key that is not mapped but shares its name with a burn field (say a
workforce `tiers` or `inputs`) is kept as `<kind>_<key>`, because burn gives that name
another meaning. Machine-local absolute paths are made relative to the project root.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ImportFailed, PersonaError, UsageError
from ..persona import FIELD_KINDS, check_fields, normalise_paths, valid_name

KINDS = ("claude", "opencode", "codex", "workforce")

# Names an importer may only fill by mapping: burn fields, and the keys burn strips
# before hashing. An unmapped source key with one of these names becomes <kind>_<key>.
RESERVED = frozenset(FIELD_KINDS)


@dataclass(frozen=True)
class ImportedPersona:
    name: str
    spec: dict[str, Any]  # finished: has "name"; no "extends"/"tiers"/"budget"
    origin: Path  # the file it came from


@dataclass(frozen=True)
class ImportResult:
    personas: list[ImportedPersona] = field(default_factory=list)
    errors: list[ImportFailed] = field(default_factory=list)


# What each kind module provides: the files under PATH, and what one file holds (a
# config file holding many agents gives an ImportFailed for each broken entry).
Finder = Callable[[Path], list[Path]]
Reader = Callable[[Path], Sequence[ImportedPersona | ImportFailed]]


def import_path(kind: str, path: Path | str) -> ImportResult:
    """Import every persona in PATH (one file, a project root, or an agents directory).

    Personas come back sorted by name. A broken file (or one broken entry of a config
    file) becomes an ImportFailed in `errors`; the rest still import. A path that does
    not exist, or holds no files of that kind, raises ImportFailed; an unknown kind
    raises UsageError.
    """
    if kind not in KINDS:
        raise UsageError(
            f"unknown import source {kind!r}",
            field="--from",
            fix=f"use one of: {', '.join(KINDS)}",
        )
    path = Path(path)
    module = importlib.import_module(f"{__name__}.{kind}")
    find: Finder = module.find_files
    read: Reader = module.read_file
    if not path.exists():
        raise ImportFailed("no such file or directory", path=path)
    files = [path] if path.is_file() else find(path)
    if not files:
        raise ImportFailed(
            f"no {module.LABEL} files found",
            path=path,
            fix=module.WHERE,
        )
    personas: list[ImportedPersona] = []
    errors: list[ImportFailed] = []
    for file in files:
        try:
            for item in read(file):
                if isinstance(item, ImportFailed):
                    errors.append(item)
                else:
                    personas.append(item)
        except ImportFailed as e:
            errors.append(e)
        except RecursionError:
            errors.append(ImportFailed("nested too deeply to read", path=file))
    if not personas and not errors:
        raise ImportFailed(f"no {module.LABEL} found in the file(s)", path=path, fix=module.WHERE)
    return _dedupe(personas, errors)


def _dedupe(personas: list[ImportedPersona], errors: list[ImportFailed]) -> ImportResult:
    """One persona per name: the first found (files in sorted order) wins."""
    seen: dict[str, ImportedPersona] = {}
    for p in personas:
        first = seen.get(p.name)
        if first is None:
            seen[p.name] = p
            continue
        errors.append(
            ImportFailed(
                f"persona {p.name!r} is also defined in {first.origin}; kept that one",
                path=p.origin,
                field="name",
                fix="give one of them another name",
            )
        )
    kept = sorted(seen.values(), key=lambda p: p.name)
    return ImportResult(personas=kept, errors=errors)


def finish(
    kind: str,
    origin: Path,
    *,
    name: str,
    mapped: dict[str, Any],
    source: dict[str, Any],
    used: Iterable[str],
    name_field: str = "name",
) -> ImportedPersona:
    """Build the finished spec: mapped fields, then every unmapped source key.

    `source` is the tool's own mapping; keys in `used` went into `mapped`. Paths are
    normalised against the project root so two checkouts give one version.
    """
    if not valid_name(name):
        raise ImportFailed(
            f"{name!r} is not a valid persona name (letters, digits, '.', '_', '-')",
            path=origin,
            field=name_field,
            fix="give the agent a name made of letters, digits, '.', '_' and '-'",
        )
    spec: dict[str, Any] = {k: v for k, v in mapped.items() if v is not None}
    spec["name"] = name
    taken = set(used)
    for key, value in source.items():
        if key in taken:
            continue
        out = key
        while out in RESERVED or out in spec:
            out = f"{kind}_{out}"
        spec[out] = value
    try:
        check_fields(spec, origin)
    except PersonaError as e:
        raise ImportFailed(e.message, path=origin, field=e.field, fix=e.fix) from e
    anchor = project_root(origin, _MARKERS[kind])
    spec = normalise_paths(spec, anchor.absolute())
    real = anchor.resolve()
    if real != anchor.absolute():
        spec = normalise_paths(spec, real)
    return ImportedPersona(name=name, spec=spec, origin=origin)


_MARKERS = {
    "claude": (".claude",),
    "opencode": (".opencode",),
    "codex": (".codex",),
    "workforce": (".agentworkforce", "agentworkforce"),
}


def project_root(file: Path, markers: tuple[str, ...]) -> Path:
    """The directory absolute paths are made relative to.

    The parent of the tool's own directory (`.claude`, `.opencode`, ...) when the file
    sits inside one; else the parent of an `agent`/`agents` directory; else the
    file's own directory (a config file's directory).
    """
    parent = file.absolute().parent
    for p in (parent, *parent.parents):
        if p.name in markers:
            return p.parent
    if parent.name in ("agent", "agents"):
        return parent.parent
    return parent


def expect(value: Any, kind: type | tuple[type, ...], what: str, origin: Path, fld: str) -> Any:
    """Check one source field's type; ImportFailed naming the field otherwise."""
    if isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool):
        return value
    raise ImportFailed(
        f"expected {what}, got {_type_name(value)}",
        path=origin,
        field=fld,
        fix=f"make {fld} {what}",
    )


def _type_name(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    return {dict: "a mapping", list: "a list", str: "text", bool: "true/false"}.get(
        type(value), type(value).__name__
    )


def split_tool_list(value: str) -> list[str]:
    """'Read, Grep, Bash(git log:*)' -> ['Read', 'Grep', 'Bash(git log:*)'].

    Commas inside parentheses belong to a tool pattern and do not split it.
    """
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in value:
        if ch == "(":
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [t.strip() for t in items if t.strip()]


def tool_list(value: Any, origin: Path, fld: str) -> list[str] | dict[str, Any]:
    """A tools value as burn holds it: a list of names, or a mapping kept as written."""
    if isinstance(value, str):
        return split_tool_list(value)
    if isinstance(value, dict):
        return value
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return value
    raise ImportFailed(
        f"expected a comma-separated string or a list of tool names, got {_type_name(value)}",
        path=origin,
        field=fld,
        fix=f"write {fld} as 'Read, Grep' or as a list of names",
    )
