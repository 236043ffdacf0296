"""OpenCode agents: markdown files in `agent/` or `agents/`, and `opencode.json(c)`.

Markdown (opencode.ai/docs/agents): front matter fields description, mode, model,
temperature, top_p, prompt, tools (a name -> bool mapping), permission, maxSteps,
disable, hidden, color, ...; the body is the prompt. The file name (its path inside
the agent directory, '/' written '.') is the agent name. `opencode.json` /
`opencode.jsonc` (JSON with comments and trailing commas) may hold
`"agent": {name: {...}}` with the same fields, where `prompt` may name a file as
`{file:./prompts/x.txt}` (relative to the config file): its content is used.
Mapped: description, model, prompt, tools, permission -> permissions.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..errors import ImportFailed
from . import ImportedPersona, expect, finish, tool_list
from ._frontmatter import parse_json, read_text, split_front_matter, to_json

LABEL = "OpenCode agent (.opencode/agent/*.md, opencode.json)"
WHERE = (
    "point at a project root holding opencode.json or .opencode/agent/, at the global "
    "~/.config/opencode, or at an agent directory or file"
)
CONFIG_NAMES = ("opencode.json", "opencode.jsonc")
_FILE_REF = re.compile(r"\{file:([^}]+)\}")


def find_files(root: Path) -> list[Path]:
    bases = [root] if root.name == ".opencode" else [root, root / ".opencode"]
    configs = [b / n for b in bases for n in CONFIG_NAMES if (b / n).is_file()]
    agents: list[Path] = []
    for b in bases:
        for d in (b / "agent", b / "agents"):
            if d.is_dir():
                agents.extend(p for p in d.rglob("*.md") if p.is_file())
    if not configs and not agents:  # PATH is an agent directory itself
        pattern = "**/*.md" if root.name in ("agent", "agents") else "*.md"
        agents = [p for p in root.glob(pattern) if p.is_file()]
    return configs + sorted(agents)


def read_file(path: Path) -> list[ImportedPersona | ImportFailed]:
    if path.suffix in (".json", ".jsonc"):
        return _read_config(path)
    return [_read_markdown(path)]


def _read_markdown(path: Path) -> ImportedPersona:
    front, body = split_front_matter(read_text(path), path)
    fm: dict[str, Any] = to_json(front, path)
    name = _name_from_path(path)
    used: set[str] = set()
    if "name" in fm:
        name = expect(fm["name"], str, "text", path, "name")
        used.add("name")
    # The body is the prompt; a `prompt` field beside a body is kept as opencode_prompt.
    prompt = body.strip()
    mapped = _map_agent(fm, path, path.parent, used, prefix="", prompt_field=not prompt)
    if prompt:
        mapped["prompt"] = prompt
    return finish("opencode", path, name=name, mapped=mapped, source=fm, used=used)


def _name_from_path(path: Path) -> str:
    """`agent/review.md` -> review; `agent/team/docs.md` -> team.docs (OpenCode: team/docs)."""
    for parent in path.absolute().parents:
        if parent.name in ("agent", "agents"):
            return ".".join(path.absolute().relative_to(parent).with_suffix("").parts)
        if parent.name in (".opencode", "opencode"):
            break
    return path.stem


def _read_config(path: Path) -> list[ImportedPersona | ImportFailed]:
    config = to_json(parse_jsonc(read_text(path), path), path)
    if not isinstance(config, dict):
        raise ImportFailed("must hold one JSON object at the top", path=path)
    agents = config.get("agent")
    if agents is None:
        return []
    expect(agents, dict, "a mapping of agent names to agents", path, "agent")
    out: list[ImportedPersona | ImportFailed] = []
    for name in sorted(agents):
        try:
            entry = expect(agents[name], dict, "a mapping of agent fields", path, f"agent.{name}")
            used: set[str] = set()
            mapped = _map_agent(entry, path, path.parent, used, prefix=f"agent.{name}.")
            out.append(
                finish(
                    "opencode",
                    path,
                    name=name,
                    mapped=mapped,
                    source=entry,
                    used=used,
                    name_field=f"agent.{name}",
                )
            )
        except ImportFailed as e:
            out.append(e)
    return out


def _map_agent(
    fields: dict[str, Any],
    origin: Path,
    base: Path,
    used: set[str],
    *,
    prefix: str,
    prompt_field: bool = True,
) -> dict[str, Any]:
    mapped: dict[str, Any] = {"harness": "opencode"}
    for key in ("description", "model"):
        if key in fields:
            mapped[key] = expect(fields[key], str, "text", origin, prefix + key)
            used.add(key)
    if prompt_field and "prompt" in fields:
        text = expect(fields["prompt"], str, "text", origin, prefix + "prompt")
        mapped["prompt"] = resolve_file_refs(text, base, origin, prefix + "prompt")
        used.add("prompt")
    if "tools" in fields:
        mapped["tools"] = tool_list(fields["tools"], origin, prefix + "tools")
        used.add("tools")
    # OpenCode's permission is a mapping (tool -> allow/ask/deny, or pattern -> action);
    # any other form is kept as written under `permission`.
    if isinstance(fields.get("permission"), dict):
        mapped["permissions"] = fields["permission"]
        used.add("permission")
    return mapped


def resolve_file_refs(text: str, base: Path, origin: Path, fld: str) -> str:
    """Replace each `{file:PATH}` with that file's content (trimmed), as OpenCode does."""

    def content(match: re.Match[str]) -> str:
        ref = match.group(1).strip()
        target = Path(os.path.expanduser(ref))
        if not target.is_absolute():
            target = base / target
        if not target.is_file():
            raise ImportFailed(
                f"prompt file {ref!r} does not exist",
                path=origin,
                field=fld,
                fix=f"create {target} or fix the path in {{file:...}}",
            )
        try:
            return read_text(target).strip()
        except ImportFailed as e:
            raise ImportFailed(f"prompt file {ref!r}: {e.message}", path=origin, field=fld, fix=e.fix) from e

    return _FILE_REF.sub(content, text)


def parse_jsonc(text: str, path: Path) -> Any:
    """JSON with `//` and `/* */` comments and trailing commas, as OpenCode reads it."""
    return parse_json(strip_jsonc(text), path)


def strip_jsonc(text: str) -> str:
    """Blank out comments and trailing commas; line and column numbers stay the same."""
    out = list(text)
    i, n = 0, len(text)
    in_string = False
    last_comma = -1  # index of a comma not yet followed by anything significant
    while i < n:
        ch = text[i]
        if in_string:
            if ch == "\\":
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            _blank(out, i, end)
            i = end
            continue
        if ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            _blank(out, i, end)
            i = end
            continue
        if ch in "}]" and last_comma >= 0:
            out[last_comma] = " "
        if ch == ",":
            last_comma = i
        elif not ch.isspace():
            last_comma = -1
        if ch == '"':
            in_string = True
        i += 1
    return "".join(out)


def _blank(out: list[str], start: int, end: int) -> None:
    for j in range(start, end):
        if out[j] != "\n":
            out[j] = " "
