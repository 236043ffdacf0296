"""Importers for Claude Code, OpenCode, Codex and AgentWorkforce agent files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from burn.store import ImportFailed, UsageError, Version, canonical_bytes
from burn.store.importers import KINDS, ImportedPersona, ImportResult, import_path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def only(result: ImportResult) -> ImportedPersona:
    assert result.errors == []
    assert len(result.personas) == 1
    return result.personas[0]


def by_name(result: ImportResult) -> dict[str, dict]:
    return {p.name: p.spec for p in result.personas}


def version(kind: str, path: Path) -> Version:
    return Version.of_spec(only(import_path(kind, path)).spec)


CLAUDE_REVIEWER = """
---
name: code-reviewer
description: Reviews diffs for bugs and missing tests.
tools: Read, Grep, Glob, Bash(git diff:*, git log:*)
disallowedTools: Write, Edit
permissionMode: plan
model: sonnet
color: cyan
maxTurns: 12
skills:
  - review-rubric
hooks:
  Stop:
    - command: ./scripts/notify.sh
reviewed: 2025-06-01
---

You are a senior reviewer.

Report every bug with file:line.
"""


# --- Claude Code -------------------------------------------------------------------


def test_claude_maps_fields_and_keeps_the_rest(tmp_path: Path) -> None:
    write(tmp_path / ".claude/agents/reviewer.md", CLAUDE_REVIEWER)
    p = only(import_path("claude", tmp_path))
    assert p.name == "code-reviewer"
    assert p.origin == tmp_path / ".claude/agents/reviewer.md"
    spec = p.spec
    assert spec["name"] == "code-reviewer"
    assert spec["harness"] == "claude"
    assert spec["description"] == "Reviews diffs for bugs and missing tests."
    assert spec["model"] == "sonnet"
    # commas inside a tool pattern do not split it
    assert spec["tools"] == ["Read", "Grep", "Glob", "Bash(git diff:*, git log:*)"]
    assert spec["permissions"] == {"deny": ["Write", "Edit"], "mode": "plan"}
    assert spec["prompt"] == "You are a senior reviewer.\n\nReport every bug with file:line."
    # unmapped keys survive with their values; a YAML date becomes ISO text
    assert spec["color"] == "cyan"
    assert spec["maxTurns"] == 12
    assert spec["skills"] == ["review-rubric"]
    assert spec["hooks"] == {"Stop": [{"command": "./scripts/notify.sh"}]}
    assert spec["reviewed"] == "2025-06-01"
    for mapped_away in ("disallowedTools", "permissionMode"):
        assert mapped_away not in spec
    canonical_bytes(spec)  # JSON can hold all of it


def test_claude_name_defaults_to_file_stem_and_tools_may_be_a_list(tmp_path: Path) -> None:
    write(
        tmp_path / "agents/test-writer.md",
        """
        ---
        description: Writes tests
        tools: [Read, Write]
        ---
        Write tests first.
        """,
    )
    p = only(import_path("claude", tmp_path / "agents"))
    assert p.name == "test-writer"
    assert p.spec["tools"] == ["Read", "Write"]


def test_claude_accepts_unquoted_description_holding_colons(tmp_path: Path) -> None:
    # Claude Code loads these (plugin agents are written this way); strict YAML does not.
    line = (
        "description: Use this agent after a change. Examples:\\n<example>Context: a PR."
        '\\nuser: "Review it"</example>'
    )
    write(tmp_path / "a.md", f"---\nname: hunter\n{line}\nmodel: opus\n---\nFind silent failures.\n")
    spec = only(import_path("claude", tmp_path / "a.md")).spec
    assert spec["description"] == line.removeprefix("description: ")
    assert spec["model"] == "opus"
    assert spec["prompt"] == "Find silent failures."


def test_claude_mcp_mapping_becomes_mcp_but_a_list_is_kept_as_written(tmp_path: Path) -> None:
    write(
        tmp_path / "agents/a.md",
        "---\nmcpServers:\n  docs: {type: http, url: 'https://example.com/mcp'}\n---\nx\n",
    )
    write(tmp_path / "agents/b.md", "---\nmcpServers: [github, {slack: {command: slack-mcp}}]\n---\ny\n")
    specs = by_name(import_path("claude", tmp_path / "agents"))
    assert specs["a"]["mcp"] == {"docs": {"type": "http", "url": "https://example.com/mcp"}}
    assert "mcpServers" not in specs["a"]
    assert specs["b"]["mcpServers"] == ["github", {"slack": {"command": "slack-mcp"}}]
    assert "mcp" not in specs["b"]


def test_unmapped_keys_named_like_burn_fields_are_kept_under_a_prefix(tmp_path: Path) -> None:
    write(
        tmp_path / "x.md",
        """
        ---
        name: x
        tiers: {fast: {model: haiku}}
        extends: base
        env: {A: "1"}
        prompt: an old prompt
        ---
        The body.
        """,
    )
    spec = only(import_path("claude", tmp_path / "x.md")).spec
    for reserved in ("tiers", "extends", "budget", "env"):
        assert reserved not in spec
    assert spec["claude_tiers"] == {"fast": {"model": "haiku"}}
    assert spec["claude_extends"] == "base"
    assert spec["claude_env"] == {"A": "1"}
    assert spec["claude_prompt"] == "an old prompt"
    assert spec["prompt"] == "The body."


def test_reimport_is_byte_identical_and_body_edit_changes_version(tmp_path: Path) -> None:
    agent = write(tmp_path / ".claude/agents/reviewer.md", CLAUDE_REVIEWER)
    first = only(import_path("claude", tmp_path)).spec
    second = only(import_path("claude", tmp_path)).spec
    assert canonical_bytes(first) == canonical_bytes(second)
    assert Version.of_spec(first) == Version.of_spec(second)

    agent.write_text(agent.read_text().replace("senior reviewer", "strict reviewer"))
    edited = only(import_path("claude", tmp_path)).spec
    assert Version.of_spec(edited) != Version.of_spec(first)


def test_crlf_checkout_gives_the_same_version(tmp_path: Path) -> None:
    text = textwrap.dedent(CLAUDE_REVIEWER).lstrip("\n")
    write(tmp_path / "unix/.claude/agents/r.md", text.encode())
    write(tmp_path / "win/.claude/agents/r.md", text.replace("\n", "\r\n").encode())
    assert version("claude", tmp_path / "unix") == version("claude", tmp_path / "win")


def test_two_checkouts_with_absolute_paths_give_one_version(tmp_path: Path) -> None:
    versions = []
    for checkout in (tmp_path / "alice/repo", tmp_path / "ci/build/repo"):
        write(
            checkout / ".claude/agents/runner.md",
            f"""
            ---
            name: runner
            workdir: {checkout / "services/api"}
            hooks:
              Stop:
                - command: {checkout / ".claude/hooks/stop.sh"}
            ---
            Run the service.
            """,
        )
        spec = only(import_path("claude", checkout)).spec
        assert spec["workdir"] == "services/api"
        assert spec["hooks"]["Stop"][0]["command"] == ".claude/hooks/stop.sh"
        versions.append(Version.of_spec(spec))
    assert versions[0] == versions[1]


@pytest.mark.parametrize(
    ("content", "field", "says"),
    [
        ("---\nname: bad\ndescription: [unclosed\n---\nx\n", None, "not valid YAML at line 3"),
        ("---\nname: bad\ntools: 5\n---\nx\n", "tools", "got int"),
        ("---\nname: bad\nmodel: [a, b]\n---\nx\n", "model", "expected text"),
        ("---\nname: bad\n", None, "never closed"),
        (b"---\nname: bad\n---\n\xff\xfe broken\n", None, "not UTF-8"),
        ("---\n- a\n- b\n---\nx\n", None, "must be a mapping"),
        ("---\nname: has space\n---\nx\n", "name", "not a valid persona name"),
    ],
)
def test_broken_file_is_reported_and_the_others_still_import(
    tmp_path: Path, content: str | bytes, field: str | None, says: str
) -> None:
    agents = tmp_path / ".claude/agents"
    write(agents / "good.md", "---\nname: good\n---\nFine.\n")
    write(agents / "zz-broken.md", content)
    result = import_path("claude", tmp_path)
    assert [p.name for p in result.personas] == ["good"]
    assert len(result.errors) == 1
    err = result.errors[0]
    assert isinstance(err, ImportFailed)
    assert err.path == str(agents / "zz-broken.md")
    assert err.field == field
    assert says in err.message
    assert "zz-broken.md" in str(err)
    if field:
        assert err.fix


def test_single_broken_file_is_an_error_not_a_persona(tmp_path: Path) -> None:
    f = write(tmp_path / "a.md", "---\ntools: {{\n---\n")
    result = import_path("claude", f)
    assert result.personas == []
    assert [e.path for e in result.errors] == [str(f)]


def test_same_name_twice_keeps_the_first_and_reports_the_second(tmp_path: Path) -> None:
    agents = tmp_path / ".claude/agents"
    write(agents / "a.md", "---\nname: twin\n---\nfirst\n")
    write(agents / "b.md", "---\nname: twin\n---\nsecond\n")
    result = import_path("claude", tmp_path)
    assert [p.spec["prompt"] for p in result.personas] == ["first"]
    assert len(result.errors) == 1
    assert result.errors[0].path == str(agents / "b.md")
    assert "twin" in result.errors[0].message


def test_results_are_sorted_by_name(tmp_path: Path) -> None:
    agents = tmp_path / ".claude/agents"
    write(agents / "1.md", "---\nname: zeta\n---\nz\n")
    write(agents / "nested/2.md", "---\nname: alpha\n---\na\n")
    write(agents / "3.md", "---\nname: mid\n---\nm\n")
    assert [p.name for p in import_path("claude", tmp_path).personas] == ["alpha", "mid", "zeta"]


# --- OpenCode ----------------------------------------------------------------------


def test_opencode_markdown_agent(tmp_path: Path) -> None:
    write(
        tmp_path / ".opencode/agent/review.md",
        """
        ---
        description: Reviews code for quality
        mode: subagent
        model: anthropic/claude-sonnet-4-5
        temperature: 0.1
        tools:
          write: false
          edit: false
        permission:
          edit: deny
          bash:
            "git diff": allow
            "*": ask
        maxSteps: 8
        ---
        You are in code review mode.
        """,
    )
    write(tmp_path / ".opencode/agents/team/docs.md", "---\ndescription: Docs\n---\nWrite docs.\n")
    specs = by_name(import_path("opencode", tmp_path))
    review = specs["review"]
    assert review["harness"] == "opencode"
    assert review["description"] == "Reviews code for quality"
    assert review["model"] == "anthropic/claude-sonnet-4-5"
    assert review["tools"] == {"write": False, "edit": False}
    assert review["permissions"] == {"edit": "deny", "bash": {"git diff": "allow", "*": "ask"}}
    assert "permission" not in review
    assert review["prompt"] == "You are in code review mode."
    assert review["mode"] == "subagent"
    assert review["temperature"] == 0.1
    assert review["maxSteps"] == 8
    # a nested agent file is named by its path inside the agent directory
    assert specs["team.docs"]["prompt"] == "Write docs."


def test_opencode_json_resolves_file_prompts(tmp_path: Path) -> None:
    write(tmp_path / "prompts/plan.txt", "Plan before you build.\nList risks.\n")
    write(
        tmp_path / "opencode.json",
        json.dumps(
            {
                "$schema": "https://opencode.ai/config.json",
                "model": "anthropic/claude-sonnet-4-5",
                "agent": {
                    "planner": {
                        "description": "Plans work",
                        "mode": "primary",
                        "prompt": "{file:./prompts/plan.txt}",
                        "tools": {"write": False},
                        "top_p": 0.9,
                    },
                    "inline": {"prompt": "Header\n{file:prompts/plan.txt}\nFooter"},
                },
            }
        ),
    )
    specs = by_name(import_path("opencode", tmp_path))
    planner = specs["planner"]
    assert planner["prompt"] == "Plan before you build.\nList risks."
    assert planner["description"] == "Plans work"
    assert planner["tools"] == {"write": False}
    assert planner["mode"] == "primary"
    assert planner["top_p"] == 0.9
    assert specs["inline"]["prompt"] == "Header\nPlan before you build.\nList risks.\nFooter"
    # the prompt file's content is hashed: editing it makes a new version
    before = Version.of_spec(planner)
    (tmp_path / "prompts/plan.txt").write_text("Plan differently.\n")
    after = Version.of_spec(by_name(import_path("opencode", tmp_path))["planner"])
    assert before != after


def test_opencode_jsonc_with_comments_and_a_broken_entry(tmp_path: Path) -> None:
    write(
        tmp_path / ".opencode/opencode.jsonc",
        """
        {
          // project agents
          "agent": {
            /* the good one */
            "build-fast": {"model": "openai/gpt-5", "description": "Quick, // not a comment",},
            "ghost": {"prompt": "{file:./missing.md}"},
            "wrong": "not an agent",
          },
        }
        """,
    )
    result = import_path("opencode", tmp_path)
    assert by_name(result) == {
        "build-fast": {
            "name": "build-fast",
            "harness": "opencode",
            "model": "openai/gpt-5",
            "description": "Quick, // not a comment",
        }
    }
    errors = {e.field: e for e in result.errors}
    assert set(errors) == {"agent.ghost.prompt", "agent.wrong"}
    assert errors["agent.ghost.prompt"].path == str(tmp_path / ".opencode/opencode.jsonc")
    assert "missing.md" in errors["agent.ghost.prompt"].message


def test_opencode_invalid_json_names_line(tmp_path: Path) -> None:
    write(tmp_path / "opencode.json", '{\n  "agent": {\n    "a": {"model": }\n  }\n}\n')
    result = import_path("opencode", tmp_path)
    assert result.personas == []
    assert "line 3" in result.errors[0].message


def test_opencode_body_wins_over_prompt_field_which_is_kept(tmp_path: Path) -> None:
    write(tmp_path / "agent/a.md", "---\nprompt: '{file:./p.txt}'\n---\nBody prompt.\n")
    spec = only(import_path("opencode", tmp_path / "agent")).spec
    assert spec["prompt"] == "Body prompt."
    assert spec["opencode_prompt"] == "{file:./p.txt}"


# --- Codex -------------------------------------------------------------------------


CODEX_CONFIG = """
model = "gpt-5-codex"
approval_policy = "on-request"

[profiles.deep-review]
model = "gpt-5-pro"
model_provider = "openai"
model_reasoning_effort = "high"
approval_policy = "never"
sandbox_mode = "read-only"
model_instructions_file = "prompts/review.md"

[profiles.deep-review.sandbox_workspace_write]
network_access = false

[profiles.lightweight]
model = "gpt-4.1"
approval_policy = "untrusted"
"""


def test_codex_profiles(tmp_path: Path) -> None:
    codex = tmp_path / ".codex"
    write(codex / "config.toml", CODEX_CONFIG)
    write(codex / "prompts/review.md", "Review deeply.\n")
    specs = by_name(import_path("codex", tmp_path))
    assert set(specs) == {"deep-review", "lightweight"}
    deep = specs["deep-review"]
    assert deep["harness"] == "codex"
    assert deep["model"] == "gpt-5-pro"
    assert deep["prompt"] == "Review deeply."
    assert deep["model_instructions_file"] == "prompts/review.md"  # the key is kept too
    assert deep["model_provider"] == "openai"
    assert deep["model_reasoning_effort"] == "high"
    assert deep["approval_policy"] == "never"
    assert deep["sandbox_mode"] == "read-only"
    assert deep["sandbox_workspace_write"] == {"network_access": False}
    # the top level of config.toml is not part of any profile
    assert specs["lightweight"] == {
        "name": "lightweight",
        "harness": "codex",
        "model": "gpt-4.1",
        "approval_policy": "untrusted",
    }


def test_codex_profile_files_and_absolute_instruction_paths(tmp_path: Path) -> None:
    versions = []
    for home in (tmp_path / "one", tmp_path / "two"):
        codex = home / ".codex"
        write(codex / "instructions/fast.md", "Be quick.\n")
        write(
            codex / "fast.config.toml",
            f'model = "gpt-5.4-mini"\nmodel_instructions_file = "{codex / "instructions/fast.md"}"\n'
            '[mcp_servers.docs]\ncommand = "docs-mcp"\n',
        )
        spec = only(import_path("codex", home)).spec
        assert spec["name"] == "fast"
        assert spec["prompt"] == "Be quick."
        assert spec["model_instructions_file"] == ".codex/instructions/fast.md"
        assert spec["mcp"] == {"docs": {"command": "docs-mcp"}}
        versions.append(Version.of_spec(spec))
    assert versions[0] == versions[1]


def test_codex_missing_instructions_file_keeps_the_key_without_a_prompt(tmp_path: Path) -> None:
    write(tmp_path / "config.toml", '[profiles.x]\nexperimental_instructions_file = "nope.md"\n')
    spec = only(import_path("codex", tmp_path / "config.toml")).spec
    assert "prompt" not in spec
    assert spec["experimental_instructions_file"] == "nope.md"


def test_codex_invalid_toml_and_bad_profile(tmp_path: Path) -> None:
    write(tmp_path / "a/config.toml", 'model = "x"\n[profiles.bad\n')
    result = import_path("codex", tmp_path / "a")
    assert result.personas == []
    assert "not valid TOML" in result.errors[0].message

    write(tmp_path / "b/config.toml", '[profiles]\nplain = "x"\n[profiles.ok]\nmodel = "m"\n')
    result = import_path("codex", tmp_path / "b")
    assert [p.name for p in result.personas] == ["ok"]
    assert [e.field for e in result.errors] == ["profiles.plain"]


# --- AgentWorkforce ----------------------------------------------------------------


WORKFORCE_PERSONA = {
    "id": "security-reviewer",
    "intent": "security-review",
    "tags": ["review", "security"],
    "description": "Reviews changes for security issues.",
    "skills": [{"id": "owasp", "source": "https://prpm.dev/owasp", "description": "OWASP"}],
    "inputs": {"TARGET": {"description": "What to review", "default": "HEAD"}},
    "harness": "claude",
    "model": "claude-opus-4-7",
    "systemPrompt": "Review $TARGET for security issues.",
    "harnessSettings": {"reasoning": "high", "timeoutSeconds": 1800},
    "env": {"GH_TOKEN": "$GH_TOKEN"},
    "mcpServers": {"docs": {"type": "http", "url": "https://example.com/mcp"}},
    "permissions": {"allow": ["Bash(git *)"], "deny": ["Bash(rm *)"], "mode": "default"},
    "extends": "base-reviewer",
    "personaVersion": "sha256:abc",
}


def test_workforce_persona(tmp_path: Path) -> None:
    write(
        tmp_path / ".agentworkforce/workforce/personas/security-reviewer.json",
        json.dumps(WORKFORCE_PERSONA),
    )
    spec = only(import_path("workforce", tmp_path)).spec
    assert spec["name"] == "security-reviewer"
    assert spec["description"] == "Reviews changes for security issues."
    assert spec["harness"] == "claude"
    assert spec["model"] == "claude-opus-4-7"
    assert spec["prompt"] == "Review $TARGET for security issues."
    assert spec["env"] == {"GH_TOKEN": "$GH_TOKEN"}
    assert spec["mcp"] == WORKFORCE_PERSONA["mcpServers"]
    assert spec["permissions"] == WORKFORCE_PERSONA["permissions"]
    for gone in ("id", "systemPrompt", "mcpServers", "extends", "inputs"):
        assert gone not in spec
    assert spec["workforce_extends"] == "base-reviewer"
    assert spec["workforce_inputs"] == WORKFORCE_PERSONA["inputs"]
    for kept in ("intent", "tags", "skills", "harnessSettings", "personaVersion"):
        assert spec[kept] == WORKFORCE_PERSONA[kept]


def test_workforce_tiers_give_the_default_tier_and_are_kept(tmp_path: Path) -> None:
    tiers = {
        "best": {"harness": "codex", "model": "gpt-5.5", "systemPrompt": "Review well."},
        "minimum": {"harness": "codex", "model": "gpt-5.4-mini", "systemPrompt": "Review."},
    }
    persona = {"id": "review-agent", "model": "top-level-model", "tiers": tiers, "cloud": True}
    write(tmp_path / "agentworkforce/personas/review-agent.json", json.dumps(persona))
    spec = only(import_path("workforce", tmp_path)).spec
    assert (spec["harness"], spec["model"], spec["prompt"]) == ("codex", "gpt-5.5", "Review well.")
    assert spec["workforce_tiers"] == tiers
    assert spec["workforce_model"] == "top-level-model"  # shadowed by the tier, not dropped
    assert spec["cloud"] is True
    assert "tiers" not in spec


def test_workforce_errors(tmp_path: Path) -> None:
    d = tmp_path / "personas"
    write(d / "good.json", json.dumps({"id": "good", "systemPrompt": "hi"}))
    write(d / "no-id.json", json.dumps({"description": "x"}))
    write(d / "bad.json", '{"id": "bad",')
    write(d / "typed.json", json.dumps({"id": "typed", "env": {"A": 1}}))
    result = import_path("workforce", d)
    assert [p.name for p in result.personas] == ["good"]
    fields = {Path(str(e.path)).name: e.field for e in result.errors}
    assert fields == {"bad.json": None, "no-id.json": "id", "typed.json": "env.A"}


# --- the entry point ---------------------------------------------------------------


def test_unknown_kind_and_missing_paths(tmp_path: Path) -> None:
    assert KINDS == ("claude", "opencode", "codex", "workforce")
    with pytest.raises(UsageError) as usage:
        import_path("cursor", tmp_path)
    assert "claude" in str(usage.value)
    with pytest.raises(ImportFailed, match="no such file"):
        import_path("claude", tmp_path / "nope")
    with pytest.raises(ImportFailed, match="no Codex profile"):
        import_path("codex", tmp_path)


def test_every_spec_is_finished(tmp_path: Path) -> None:
    write(tmp_path / ".claude/agents/r.md", CLAUDE_REVIEWER)
    write(tmp_path / ".opencode/agent/o.md", "---\ntiers: 1\nbudget: 2\n---\nx\n")
    write(tmp_path / ".codex/config.toml", '[profiles.c]\nextends = "y"\ntiers = 3\n')
    write(tmp_path / "agentworkforce/personas/w.json", json.dumps(WORKFORCE_PERSONA))
    for kind in KINDS:
        for p in import_path(kind, tmp_path).personas:
            assert p.spec["name"] == p.name
            assert not {"extends", "tiers", "budget"} & set(p.spec)
            canonical_bytes(p.spec)


def test_library_does_not_import_click_or_rich() -> None:
    code = (
        "import sys, burn.store.importers as i\n"
        "for k in i.KINDS: __import__('burn.store.importers.' + k)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('click', 'rich', 'rich_click')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
