"""The demo scenario: personas with two versions each and a week of recorded spend.

Seeded, so every run tells the same story: the edited reviewer is cheaper per launch.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from pathlib import Path

from .home import Home
from .ledger import Ledger
from .manual import record_spend
from .personas import add

REVIEWER_V1 = '''description = "Reviews a diff for bugs and risks"
harness = "claude"
model = "claude-sonnet-4-5"
tools = ["Read", "Grep", "Glob"]
prompt = """
Review the change. Read every file it touches in full, and the callers of every
changed function. Report every issue you find, with a suggested rewrite for each.
"""
'''

REVIEWER_V2 = '''description = "Reviews a diff for bugs and risks"
harness = "claude"
model = "claude-sonnet-4-5"
tools = ["Read", "Grep", "Glob"]
prompt = """
Review the change. Read the diff and only the code around it.
Report the three most important issues, most important first. No rewrites.
"""
'''

PLANNER_V1 = """harness = "codex"
model = "gpt-5-codex"
prompt = "Write a numbered plan of small steps for {{ticket}}."
[inputs]
ticket = "the request"
"""

PLANNER_V2 = PLANNER_V1.replace('model = "gpt-5-codex"', 'model = "gpt-5-codex-mini"')

# (persona, version file text, launches, mean input tokens, mean output tokens, $ per Mtok in/out)
SCENARIO = [
    ("reviewer", REVIEWER_V1, 9, 42_000, 3_800, (3.0, 15.0)),
    ("reviewer", REVIEWER_V2, 9, 18_000, 1_500, (3.0, 15.0)),
    ("planner", PLANNER_V1, 4, 12_000, 2_000, (1.25, 10.0)),
    ("planner", PLANNER_V2, 4, 12_000, 2_200, (0.25, 2.0)),
]


@dataclass
class DemoResult:
    home: Path
    project: Path
    records: int
    versions: dict[str, list[str]]  # persona -> short ids, oldest first


def build_demo(root: Path, seed: int = 7, now: float | None = None) -> DemoResult:
    """Write the demo's personas and records into a fresh home at `root`."""
    rng = random.Random(seed)
    now = time.time() if now is None else now
    project = root / "project"
    (project / ".burn" / "personas").mkdir(parents=True, exist_ok=True)
    ledger = Ledger(Home(root))
    versions: dict[str, list[str]] = {}
    count = 0
    start = now - 7 * 86400
    for step, (name, text, launches, mean_in, mean_out, (p_in, p_out)) in enumerate(SCENARIO):
        src = project / ".burn" / "personas" / f"{name}.toml"
        src.write_text(text)  # edited in place: the second write is the new version
        added = add(ledger, src, layer_label="cwd", cwd=project)
        versions.setdefault(name, []).append(added.persona.version.short)
        for i in range(launches):
            tokens_in = max(1000, int(rng.gauss(mean_in, mean_in * 0.25)))
            tokens_out = max(100, int(rng.gauss(mean_out, mean_out * 0.25)))
            cache_read = int(tokens_in * rng.uniform(2, 5))
            micros = (tokens_in * p_in + tokens_out * p_out + cache_read * p_in / 10) // 1  # $/Mtok -> µ$
            when = start + (step * launches + i) * 3 * 3600 + rng.randint(0, 3000)
            model = added.persona.spec["model"]
            record_spend(
                ledger,
                f"{name}@{added.persona.version.short}",
                model=model,
                usage={
                    "input_tokens": tokens_in,
                    "output_tokens": tokens_out,
                    "cache_read_tokens": cache_read,
                    "cache_write_5m_tokens": 0,
                    "cache_write_1h_tokens": 0,
                    "reasoning_tokens": None,
                },
                cost=f"{int(micros) / 1_000_000:.6f}",
                tags={"ticket": f"DEMO-{rng.randint(1, 5)}"},
                harness=added.persona.spec["harness"],
                duration_ms=rng.randint(20_000, 180_000),
                exit_code=0 if rng.random() > 0.1 else 1,
                started_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when)),
                cwd=project,
            )
            count += 1
    return DemoResult(root, project, count, versions)


def write_demo_transcripts(claude_root: Path, seed: int = 7, now: float | None = None) -> int:
    """A Claude Code project with two sessions in the real transcript format, one of them
    starting a `code-reviewer` subagent; returns the number of responses written."""
    import json

    rng = random.Random(seed)
    now = time.time() if now is None else now
    project = claude_root / "projects" / "-demo-project"
    responses = 0
    for n in range(2):
        session = f"00000000-demo-4000-8000-00000000000{n}"
        lines, sub_lines = [], []
        for i in range(6):
            when = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 86400 * (2 - n) + i * 60))
            content: list[dict[str, object]] = [{"type": "text", "text": "working"}]
            if n == 1 and i == 2:
                content = [
                    {
                        "type": "tool_use",
                        "id": "toolu_demo",
                        "name": "Task",
                        "input": {"subagent_type": "code-reviewer", "prompt": "Review the change"},
                    }
                ]
            usage = {
                "input_tokens": rng.randint(5, 40),
                "output_tokens": rng.randint(200, 2500),
                "cache_read_input_tokens": rng.randint(20_000, 90_000),
                "cache_creation_input_tokens": 2_000,
                "cache_creation": {"ephemeral_5m_input_tokens": 2_000, "ephemeral_1h_input_tokens": 0},
            }
            message = {"id": f"msg_{n}_{i}", "model": "claude-sonnet-4-5", "content": content, "usage": usage}
            lines.append(
                {
                    "type": "assistant",
                    "sessionId": session,
                    "timestamp": when,
                    "cwd": "/demo/project",
                    "requestId": f"req_{n}_{i}",
                    "message": message,
                }
            )
            responses += 1
        if n == 1:
            sub_lines.append(
                {
                    "type": "user",
                    "sessionId": session,
                    "isSidechain": True,
                    "message": {"role": "user", "content": [{"type": "text", "text": "Review the change"}]},
                }
            )
            for i in range(3):
                usage = {
                    "input_tokens": 8,
                    "output_tokens": rng.randint(300, 900),
                    "cache_read_input_tokens": 15_000,
                }
                sub_lines.append(
                    {
                        "type": "assistant",
                        "sessionId": session,
                        "isSidechain": True,
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600 + i)),
                        "message": {"id": f"msg_sub_{i}", "model": "claude-haiku-4-5", "usage": usage},
                    }
                )
                responses += 1
            sub = project / session / "subagents" / "agent-demo1.jsonl"
            sub.parent.mkdir(parents=True, exist_ok=True)
            sub.write_text("".join(json.dumps(x) + "\n" for x in sub_lines))
        project.mkdir(parents=True, exist_ok=True)
        (project / f"{session}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    return responses
