"""AgentWorkforce persona JSON (github.com/AgentWorkforce/workforce, persona-kit).

A persona is one JSON object: id, intent, description, tags, skills, inputs, harness
(claude / codex / opencode), model, systemPrompt, harnessSettings, env, mcpServers,
permissions ({allow, deny, mode}), mount, claudeMd, agentsMd, tiers (best /
best-value / minimum, each {harness, model, systemPrompt, harnessSettings}), extends,
and deploy fields (cloud, integrations, schedules, memory, onEvent, ...). Projects keep
them in `agentworkforce/personas/`, `.agentworkforce/workforce/personas/` or
`agentworkforce/workforce/personas/`; the user's in `~/.agentworkforce/workforce/personas/`.

Mapped: id -> name, description, harness, model, systemPrompt -> prompt, env,
mcpServers -> mcp, permissions. Workforce launches the `best` tier by default and a
tier's harness/model/systemPrompt win over the top level, so those three come from
`tiers.best` when it sets them; a top-level value the tier shadows is kept as
`workforce_<key>`, and the tiers themselves as `workforce_tiers` (burn's own `tiers`
are not part of a finished spec). `inputs` and `extends` mean other things in burn and
are kept as `workforce_inputs` / `workforce_extends`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ImportFailed
from . import ImportedPersona, expect, finish
from ._frontmatter import parse_json, read_text, to_json

LABEL = "AgentWorkforce persona (*.json)"
WHERE = "point at a project root holding agentworkforce/personas/, or at a persona directory or file"
DEFAULT_TIER = "best"
SEARCH_DIRS = (
    ("agentworkforce", "personas"),
    (".agentworkforce", "workforce", "personas"),
    ("agentworkforce", "workforce", "personas"),
)


def find_files(root: Path) -> list[Path]:
    dirs = [root.joinpath(*parts) for parts in SEARCH_DIRS]
    if root.name in (".agentworkforce", "agentworkforce"):
        dirs += [root / "personas", root / "workforce" / "personas"]
    found = [p for d in dirs if d.is_dir() for p in sorted(d.glob("*.json")) if p.is_file()]
    if found:
        return found
    return sorted(p for p in root.glob("*.json") if p.is_file())


def read_file(path: Path) -> list[ImportedPersona | ImportFailed]:
    text = read_text(path)
    raw = parse_json(text, path)
    if not isinstance(raw, dict):
        raise ImportFailed("a persona must be one JSON object", path=path)
    data: dict[str, Any] = to_json(raw, path)
    return [_persona(data, path)]


def _persona(data: dict[str, Any], path: Path) -> ImportedPersona:
    used: set[str] = set()
    mapped: dict[str, Any] = {}
    name_field = "id" if "id" in data else "name"
    if name_field not in data:
        raise ImportFailed(
            "a persona needs an id",
            path=path,
            field="id",
            fix=f'add "id": "{path.stem}"',
        )
    name = expect(data[name_field], str, "text", path, name_field)
    used.add(name_field)

    tiers = data.get("tiers")
    tier: dict[str, Any] = {}
    if isinstance(tiers, dict) and isinstance(tiers.get(DEFAULT_TIER), dict):
        tier = tiers[DEFAULT_TIER]
    for source_key, burn_key in (
        ("harness", "harness"),
        ("model", "model"),
        ("systemPrompt", "prompt"),
    ):
        if source_key in tier:
            fld = f"tiers.{DEFAULT_TIER}.{source_key}"
            mapped[burn_key] = expect(tier[source_key], str, "text", path, fld)
        elif source_key in data:
            mapped[burn_key] = expect(data[source_key], str, "text", path, source_key)
            used.add(source_key)

    if "description" in data:
        mapped["description"] = expect(data["description"], str, "text", path, "description")
        used.add("description")
    if "env" in data:
        env = expect(data["env"], dict, "a mapping of names to text", path, "env")
        for k, v in env.items():
            expect(v, str, "text", path, f"env.{k}")
        mapped["env"] = env
        used.add("env")
    if "mcpServers" in data:
        mapped["mcp"] = expect(data["mcpServers"], dict, "a mapping of servers", path, "mcpServers")
        used.add("mcpServers")
    if "permissions" in data:
        perms = expect(data["permissions"], dict, "a mapping", path, "permissions")
        mapped["permissions"] = perms
        used.add("permissions")
    return finish("workforce", path, name=name, mapped=mapped, source=data, used=used, name_field=name_field)
