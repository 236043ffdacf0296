"""Field-level difference of two specs; the prompt and other multi-line text as unified diffs."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

_MISSING = object()


class FieldChange(NamedTuple):  # not a dataclass: `burn diff` starts faster without it
    field: str  # dotted path, e.g. env.LOG_LEVEL
    change: str  # added | removed | changed
    old: Any = None
    new: Any = None
    text_diff: str | None = None  # unified diff, for multi-line strings

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "change": self.change}
        if self.change != "added":
            out["old"] = self.old
        if self.change != "removed":
            out["new"] = self.new
        if self.text_diff is not None:
            out["diff"] = self.text_diff
        return out


def diff_specs(old: dict[str, Any], new: dict[str, Any]) -> list[FieldChange]:
    """Changes from `old` to `new`, by dotted field path, sorted by path."""
    out: list[FieldChange] = []
    _walk(old, new, "", out)
    return sorted(out, key=lambda c: c.field)


def _walk(old: Any, new: Any, path: str, out: list[FieldChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else str(key)
            _walk(old.get(key, _MISSING), new.get(key, _MISSING), sub, out)
        return
    if old is _MISSING:
        out.append(FieldChange(path, "added", new=new))
    elif new is _MISSING:
        out.append(FieldChange(path, "removed", old=old))
    elif old != new or type(old) is not type(new):
        text = None
        if isinstance(old, str) and isinstance(new, str) and (path == "prompt" or "\n" in old + new):
            text = unified(old, new, path)
        out.append(FieldChange(path, "changed", old=old, new=new, text_diff=text))


def unified(old: str, new: str, label: str) -> str:
    import difflib  # only when a text changed: ~10 ms to import

    lines = difflib.unified_diff(
        old.splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{label}",
        tofile=f"b/{label}",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def short_value(value: Any, width: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("\n", "⏎")
    return text if len(text) <= width else text[: width - 1] + "…"
