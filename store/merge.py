"""How `extends` and tiers merge one spec onto another: one published table.

docs/personas.md prints MERGE_RULES; a test keeps the two in step.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any


# field -> rule. Fields not listed (including unknown keys) follow DEFAULT_RULE.
MERGE_RULES: dict[str, str] = {
    "name": "replace",
    "description": "replace",
    "harness": "replace",
    "model": "replace",
    "prompt": "replace",
    "prompt_append": "append",
    "tools": "dedupe-union",
    "permissions": "key-union",
    "env": "key-union",
    "mcp": "key-union",
    "inputs": "key-union",
    "tiers": "key-union",
    "budget": "key-union",
}
DEFAULT_RULE = "replace"

RULE_TEXT = {
    "replace": "the child's value wins",
    "key-union": "tables merge key by key, the child's key wins; a child value of null removes the key",
    "dedupe-union": "lists join, parent first, each item once; tables merge like key-union",
    "append": "the child's text goes after the parent's, separated by a blank line",
}

# Keys that steer loading or are policy: never part of the hashed spec.
NOT_HASHED = ("extends", "tiers", "budget")


def merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Merge `child` onto `parent` by MERGE_RULES. Neither input is modified."""
    out = dict(parent)
    for key, value in child.items():
        rule = MERGE_RULES.get(key, DEFAULT_RULE)
        if key not in out:
            out[key] = _drop_nulls(value) if rule == "key-union" else value
            continue
        old = out[key]
        if rule == "key-union" and isinstance(old, dict) and isinstance(value, dict):
            out[key] = _key_union(old, value)
        elif rule == "dedupe-union" and isinstance(old, list) and isinstance(value, list):
            out[key] = old + [v for v in value if v not in old]
        elif rule == "dedupe-union" and isinstance(old, dict) and isinstance(value, dict):
            out[key] = _key_union(old, value)
        elif rule == "append" and isinstance(old, str) and isinstance(value, str):
            out[key] = f"{old}\n\n{value}" if old else value
        else:
            out[key] = value
    return out


def _key_union(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    out = dict(old)
    for k, v in new.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if v is not None}
    return value


def finalise(merged: dict[str, Any]) -> dict[str, Any]:
    """The hashed spec: fold prompt_append into the prompt, drop loader/policy keys."""
    spec = {k: v for k, v in merged.items() if k not in NOT_HASHED}
    extra = spec.pop("prompt_append", None)
    if extra:
        base = spec.get("prompt", "")
        spec["prompt"] = f"{base}\n\n{extra}" if base else extra
    return spec
