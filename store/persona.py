"""burn's own persona file format (JSON or TOML): reading, checking, normalising.

A file is read into a plain dict; nothing here merges or hashes. Every problem is a
PersonaError that names the file, the field and the fix.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import PersonaError, json_problem
from .tuples import NamedTuple

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

SUFFIXES = (".json", ".toml")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Fields burn knows, with the type each must have. Any other key is kept and hashed.
_STR = "a string"
_MAP = "a table/object"
FIELD_KINDS: dict[str, str] = {
    "name": _STR,
    "description": _STR,
    "harness": _STR,
    "model": _STR,
    "prompt": _STR,
    "prompt_append": _STR,
    "extends": _STR,
    "tools": "a list of strings or a table",
    "permissions": _MAP,
    "env": _MAP,
    "mcp": _MAP,
    "inputs": _MAP,
    "tiers": _MAP,
    "budget": _MAP,
}


class Layer(NamedTuple):
    """One source of persona files; lower rank wins."""

    label: str  # cwd, user, dir:0, library, ...
    root: Path  # the directory holding the persona files
    anchor: Path  # absolute paths under here are made relative
    rank: int


class PersonaFile(NamedTuple):
    name: str
    path: Path
    layer: Layer
    data: dict[str, Any]
    error: PersonaError | None = None  # a broken file still shadows lower layers
    # tier ("" for none) -> (b3, sha256, git blob id) of its spec, when known without
    # hashing it (the built-in library ships them: see store/builtin.py)
    versions: dict[str, tuple[str, str, str]] | None = None


def valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name))


def load_persona_file(path: Path, layer: Layer) -> PersonaFile:
    """Read one persona file; raise PersonaError naming the file and field on any problem."""
    data = _parse(path)
    name = path.stem
    if "name" in data and data["name"] != name:
        raise PersonaError(
            f"name {data['name']!r} differs from the file name {name!r}",
            path=path,
            field="name",
            fix=f"rename the file to {data['name']}{path.suffix} or remove the name field",
        )
    if not valid_name(name):
        raise PersonaError(
            f"{name!r} is not a valid persona name (letters, digits, '.', '_', '-')",
            path=path,
            fix="rename the file",
        )
    check_fields(data, path)
    data = dict(data)
    data["name"] = name
    if isinstance(data.get("prompt"), dict):
        data["prompt"] = _read_prompt_file(data["prompt"], path)
    for key in ("tiers",):
        for tier, overlay in (data.get(key) or {}).items():
            if isinstance(overlay.get("prompt"), dict):
                overlay["prompt"] = _read_prompt_file(overlay["prompt"], path, f"tiers.{tier}")
    data = normalise_paths(data, layer.anchor)
    return PersonaFile(name=name, path=path, layer=layer, data=data)


def _parse(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise PersonaError(f"cannot read: {e.strerror}", path=path) from e
    try:
        if path.suffix == ".toml":
            import tomllib  # (only for TOML files: the built-in library is read as JSON)

            try:
                data = tomllib.loads(raw.decode("utf-8"))
            except tomllib.TOMLDecodeError as e:
                raise PersonaError(f"not valid TOML: {e}", path=path, fix="correct the syntax") from e
        else:
            data = json.loads(raw)
    except UnicodeDecodeError as e:
        raise PersonaError("not UTF-8 text", path=path, fix="save the file as UTF-8") from e
    except json.JSONDecodeError as e:
        raise PersonaError(json_problem(e), path=path, fix="correct the syntax") from e
    if not isinstance(data, dict):
        raise PersonaError("must hold one object/table at the top", path=path)
    return data


def check_fields(data: dict[str, Any], path: Path | str, prefix: str = "") -> None:
    """Check the types of the fields burn knows; unknown keys pass untouched."""
    for key, kind in FIELD_KINDS.items():
        if key not in data:
            continue
        value = data[key]
        field = prefix + key
        ok = {
            _STR: isinstance(value, str),
            _MAP: isinstance(value, dict),
        }.get(kind)
        if key == "prompt":
            ok = isinstance(value, str) or (
                isinstance(value, dict) and set(value) == {"file"} and isinstance(value["file"], str)
            )
            kind = 'a string or {file = "prompt.md"}'
        elif key == "tools":
            ok = isinstance(value, dict) or (
                isinstance(value, list) and all(isinstance(t, str) for t in value)
            )
        if not ok:
            raise PersonaError(
                f"expected {kind}, got {type(value).__name__}",
                path=path,
                field=field,
                fix=f"make {field} {kind}",
            )
    if "env" in data:
        for k, v in data["env"].items():
            if not isinstance(v, str):
                raise PersonaError(
                    f"expected a string value, got {type(v).__name__}",
                    path=path,
                    field=f"{prefix}env.{k}",
                    fix="quote the value",
                )
    for tier, overlay in (data.get("tiers") or {}).items():
        if not isinstance(overlay, dict):
            raise PersonaError(
                "a tier must be a table of fields",
                path=path,
                field=f"tiers.{tier}",
                fix=f'write [tiers.{tier}] model = "..."',
            )
        for forbidden in ("name", "extends", "tiers"):
            if forbidden in overlay:
                raise PersonaError(
                    f"a tier cannot set '{forbidden}'",
                    path=path,
                    field=f"tiers.{tier}.{forbidden}",
                    fix="move it to the top level",
                )
        check_fields(overlay, path, prefix=f"tiers.{tier}.")


def _read_prompt_file(ref: dict[str, str], path: Path, prefix: str = "") -> str:
    target = path.parent / ref["file"]
    field = f"{prefix}.prompt" if prefix else "prompt"
    try:
        return target.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise PersonaError(
            f"prompt file {ref['file']!r} does not exist",
            path=path,
            field=field,
            fix=f"create {target.name} beside the persona file or fix the path",
        ) from e
    except (OSError, UnicodeDecodeError) as e:
        raise PersonaError(f"cannot read prompt file {ref['file']!r}: {e}", path=path, field=field) from e


def normalise_paths(value: Any, anchor: Path) -> Any:
    """Make machine-local absolute paths portable, so two checkouts give one version.

    A path under `anchor` (the work tree, or the layer's directory) becomes relative to
    it; a path under the home directory becomes `~/...`; other absolute paths (system
    paths like /usr/bin/env) are left as they are.
    """
    home = os.path.expanduser("~")
    anchor_s = str(anchor)

    def fix(v: Any) -> Any:
        if isinstance(v, str):
            if not os.path.isabs(v):
                return v
            if _under(v, anchor_s):
                return os.path.relpath(v, anchor_s)
            if home not in ("", "/") and _under(v, home):
                return "~/" + os.path.relpath(v, home)
            return v
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v

    return fix(value)


def _under(path: str, root: str) -> bool:
    root = root.rstrip(os.sep)
    return path == root or path.startswith(root + os.sep)
