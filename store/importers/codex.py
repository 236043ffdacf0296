"""Codex profiles: `[profiles.<name>]` tables in `config.toml`, and profile files.

developers.openai.com/codex/config-advanced: a profile is a named set of config keys
(model, model_provider, approval_policy, sandbox_mode, model_reasoning_effort, ...).
Older Codex reads them from `[profiles.<name>]` in `~/.codex/config.toml`; Codex 0.134
and later reads `~/.codex/<name>.config.toml` (top-level keys) instead. Both become one
persona per profile, harness "codex". Mapped: model, mcp_servers -> mcp, and the
content of the file `model_instructions_file` (or the older
`experimental_instructions_file`) names -> prompt, when that file exists; the key
itself is kept too. Only the profile's own keys are imported, not the top level of
config.toml, which holds settings for every run.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from ..errors import ImportFailed
from . import ImportedPersona, expect, finish
from ._frontmatter import read_text, to_json

LABEL = "Codex profile (config.toml [profiles.*], <name>.config.toml)"
WHERE = "point at ~/.codex, at a project root holding .codex/, or at a config.toml"
PROFILE_SUFFIX = ".config.toml"
INSTRUCTION_KEYS = ("model_instructions_file", "experimental_instructions_file")


def find_files(root: Path) -> list[Path]:
    base = root / ".codex" if (root / ".codex").is_dir() else root
    files = [base / "config.toml"] if (base / "config.toml").is_file() else []
    files += sorted(p for p in base.glob("*" + PROFILE_SUFFIX) if p.is_file() and _profile_name(p))
    return files


def _profile_name(path: Path) -> str:
    if path.name.endswith(PROFILE_SUFFIX):
        return path.name[: -len(PROFILE_SUFFIX)]
    return ""


def read_file(path: Path) -> list[ImportedPersona | ImportFailed]:
    try:
        raw = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError as e:
        raise ImportFailed(f"not valid TOML: {e}", path=path, fix="correct the syntax") from e
    data: dict[str, Any] = to_json(raw, path)
    name = _profile_name(path)
    if name:
        return [_profile(name, data, path, prefix="")]
    profiles = data.get("profiles")
    if profiles is None:
        return []
    expect(profiles, dict, "a table of [profiles.<name>] tables", path, "profiles")
    out: list[ImportedPersona | ImportFailed] = []
    for name in sorted(profiles):
        try:
            table = expect(profiles[name], dict, "a table", path, f"profiles.{name}")
            out.append(_profile(name, table, path, prefix=f"profiles.{name}."))
        except ImportFailed as e:
            out.append(e)
    return out


def _profile(name: str, table: dict[str, Any], path: Path, *, prefix: str) -> ImportedPersona:
    mapped: dict[str, Any] = {"harness": "codex"}
    used: set[str] = set()
    if "model" in table:
        mapped["model"] = expect(table["model"], str, "text", path, prefix + "model")
        used.add("model")
    if isinstance(table.get("mcp_servers"), dict):
        mapped["mcp"] = table["mcp_servers"]
        used.add("mcp_servers")
    for key in INSTRUCTION_KEYS:
        if key in table:
            ref = expect(table[key], str, "a file path", path, prefix + key)
            prompt = _instructions(ref, path, prefix + key)
            if prompt is not None:
                mapped["prompt"] = prompt
                break
    return finish(
        "codex",
        path,
        name=name,
        mapped=mapped,
        source=table,
        used=used,
        name_field=prefix.rstrip(".") or "name",
    )


def _instructions(ref: str, path: Path, fld: str) -> str | None:
    """The content of the instructions file, or None when it is not on this machine."""
    target = Path(os.path.expanduser(ref))
    if not target.is_absolute():
        target = path.parent / target
    if not target.is_file():
        return None
    try:
        return read_text(target).strip()
    except ImportFailed as e:
        raise ImportFailed(f"instructions file {ref!r}: {e.message}", path=path, field=fld, fix=e.fix) from e
