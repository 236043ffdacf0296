"""Claude Code subagents: `.claude/agents/**/*.md`, YAML front matter + prompt body.

Front matter fields (code.claude.com/docs/en/sub-agents): name, description, tools
(comma-separated or a list), disallowedTools, model, permissionMode, mcpServers,
maxTurns, skills, hooks, memory, background, effort, isolation, color, initialPrompt.
Mapped: name, description, tools, model, body -> prompt, disallowedTools ->
permissions.deny, permissionMode -> permissions.mode, mcpServers (a mapping) -> mcp.
Everything else is kept under its own key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import ImportedPersona, expect, finish, tool_list
from ._frontmatter import read_text, split_front_matter, to_json

LABEL = "Claude Code agent (.claude/agents/*.md)"
WHERE = "point at a project root holding .claude/agents/, or at an agents directory or file"


def find_files(root: Path) -> list[Path]:
    """Under a project root (or `~`), `.claude/agents/**`; in `.claude`, `agents/**`; an
    `agents` directory, all of it; any other directory, its own `*.md`."""
    agents = root / ".claude" / "agents"
    if not agents.is_dir() and root.name == ".claude":
        agents = root / "agents"
    if not agents.is_dir() and root.name == "agents":
        agents = root
    if agents.is_dir():
        return sorted(p for p in agents.rglob("*.md") if p.is_file())
    return sorted(p for p in root.glob("*.md") if p.is_file())


def read_file(path: Path) -> list[ImportedPersona]:
    # Claude Code accepts a one-line description holding ": " that strict YAML rejects.
    front, body = split_front_matter(read_text(path), path, lenient=True)
    fm: dict[str, Any] = to_json(front, path)
    mapped: dict[str, Any] = {"harness": "claude"}
    used: set[str] = set()

    name = path.stem
    if "name" in fm:
        name = expect(fm["name"], str, "text", path, "name")
        used.add("name")
    for key in ("description", "model"):
        if key in fm:
            mapped[key] = expect(fm[key], str, "text", path, key)
            used.add(key)
    if "tools" in fm:
        mapped["tools"] = tool_list(fm["tools"], path, "tools")
        used.add("tools")

    permissions: dict[str, Any] = {}
    if "disallowedTools" in fm:
        deny = tool_list(fm["disallowedTools"], path, "disallowedTools")
        if isinstance(deny, list):
            permissions["deny"] = deny
            used.add("disallowedTools")
    if "permissionMode" in fm:
        permissions["mode"] = expect(fm["permissionMode"], str, "text", path, "permissionMode")
        used.add("permissionMode")
    if permissions:
        mapped["permissions"] = permissions

    # A mapping of servers is burn's mcp; a list (names or {name: config} items) is
    # kept as written, since turning it into a mapping would lose its form.
    if isinstance(fm.get("mcpServers"), dict):
        mapped["mcp"] = fm["mcpServers"]
        used.add("mcpServers")

    prompt = body.strip()
    if prompt:
        mapped["prompt"] = prompt
    return [finish("claude", path, name=name, mapped=mapped, source=fm, used=used)]
