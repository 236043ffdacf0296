"""Reading other tools' files: UTF-8 text, YAML front matter, JSON-safe values.

Everything here is deterministic: the same bytes always give the same value, so an
unchanged file always imports to the same version.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import ImportFailed, json_problem

_FENCE = re.compile(r"^---[ \t]*$")
_INDICATORS = "[]{}\"'|>&*!%@`#,?-"
_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)[ \t]*:(?:[ \t]|$)")


def parse_json(text: str, path: Path) -> Any:
    """Strict JSON (no NaN/Infinity), with errors that name the file, line and column."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=no_constants)
    except ValueError as e:  # JSONDecodeError, or a NaN/Infinity constant
        raise ImportFailed(json_problem(e), path=path, fix="correct the syntax") from e


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a leading BOM dropped), line endings made `\\n`.

    Normalising line endings keeps a Windows checkout (CRLF) and a Unix checkout of one
    repository at one version.
    """
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ImportFailed(f"cannot read: {e.strerror or e}", path=path) from e
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ImportFailed(
            f"not UTF-8 text (bad byte at offset {e.start})",
            path=path,
            fix="save the file as UTF-8",
        ) from e
    text = text.removeprefix("\ufeff")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str, path: Path, *, lenient: bool = False) -> tuple[dict[str, Any], str]:
    """Split a markdown file into (front matter mapping, body).

    A file that does not open with a `---` line has no front matter: ({}, whole text).
    `lenient` accepts what Claude Code accepts and strict YAML does not: a one-line
    plain value holding ": " (`description: Use this agent. Examples: ...`) is read as
    the string it was meant to be.
    """
    lines = text.split("\n")
    if not lines or not _FENCE.match(lines[0]):
        return {}, text
    for end in range(1, len(lines)):
        if _FENCE.match(lines[end]):
            break
    else:
        raise ImportFailed(
            "the front matter opened by '---' on line 1 is never closed",
            path=path,
            fix="add a line holding only '---' after the front matter",
        )
    block = "\n".join(lines[1:end])
    body = "\n".join(lines[end + 1 :])
    data = _load_yaml(block, path, lenient=lenient)
    return data, body


def _load_yaml(block: str, path: Path, *, lenient: bool) -> dict[str, Any]:
    try:
        data = yaml.safe_load(block)
    except yaml.YAMLError as e:
        if lenient:
            rescued = _load_yaml_by_entry(block)
            if rescued is not None:
                return rescued
        raise _yaml_error(e, path) from e
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ImportFailed(
            f"the front matter must be a mapping of fields, not a {type(data).__name__}",
            path=path,
            fix="write the front matter as 'key: value' lines",
        )
    return data


def _yaml_error(e: yaml.YAMLError, path: Path) -> ImportFailed:
    where = ""
    mark = getattr(e, "problem_mark", None)
    if mark is not None:
        # +2: marks count from 0, and line 1 of the file is the opening '---'.
        where = f" at line {mark.line + 2} column {mark.column + 1}"
    problem = getattr(e, "problem", None) or str(e).splitlines()[0]
    return ImportFailed(
        f"the front matter is not valid YAML{where}: {problem}",
        path=path,
        fix="quote values that hold ': ' or start with a special character",
    )


def _load_yaml_by_entry(block: str) -> dict[str, Any] | None:
    """Parse each top-level entry alone; a broken one-line entry keeps its raw text."""
    entries: list[list[str]] = []
    for line in block.split("\n"):
        if _TOP_KEY.match(line) or not entries:
            entries.append([line])
        else:
            entries[-1].append(line)
    out: dict[str, Any] = {}
    for entry in entries:
        text = "\n".join(entry)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            match = _TOP_KEY.match(entry[0])
            raw = entry[0][match.end() :].strip() if match else ""
            rest = [x for x in entry[1:] if x.strip()]
            # Only the known case: a one-line plain value (no flow or quote syntax)
            # that strict YAML splits at an inner ": ".
            if match is None or rest or not raw or raw[0] in _INDICATORS or ": " not in raw:
                return None
            value = {match.group(1): raw}
        if value is None and not text.strip():
            continue
        if not isinstance(value, dict):
            return None
        out.update(value)
    return out


def to_json(value: Any, path: Path, field: str = "") -> Any:
    """A value that canonical JSON can hold, converted the same way every time.

    YAML and TOML give dates, times, binary, sets and non-string keys; JSON holds none of
    them. Dates and times become ISO 8601 text, binary becomes base64, sets become
    sorted lists, keys become their text, non-finite floats their YAML spelling.
    """
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            key = _key_text(k)
            sub = f"{field}.{key}" if field else key
            if key in out:
                raise ImportFailed(
                    f"two keys both read as {key!r}",
                    path=path,
                    field=sub,
                    fix="quote the keys so they differ as text",
                )
            out[key] = to_json(v, path, sub)
        return out
    if isinstance(value, list | tuple):
        return [to_json(v, path, f"{field}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, set | frozenset):
        from ..canonical import canonical_bytes

        items = [to_json(v, path, field) for v in value]
        return sorted(items, key=canonical_bytes)
    raise ImportFailed(
        f"a {type(value).__name__} value cannot be stored",
        path=path,
        field=field or None,
        fix="write it as text",
    )


def _key_text(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, dt.datetime | dt.date | dt.time):
        return key.isoformat()
    return str(key)
