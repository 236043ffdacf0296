"""Seeded generator of realistic Claude Code, Codex and OpenCode log trees, with their ground truth.

    python bench/gen_logs.py OUT_DIR --seed 1 --lines 100000 [--harness claude,codex,opencode] [--cut]

Writes ``OUT_DIR/claude/projects/...`` (point ``CLAUDE_CONFIG_DIR`` at ``OUT_DIR/claude``),
``OUT_DIR/codex/sessions/YYYY/MM/DD/rollout-*.jsonl`` and ``archived_sessions/`` (``CODEX_HOME``),
``OUT_DIR/opencode/storage/...`` and ``opencode.db`` (``OPENCODE_DATA_DIR``), and
``OUT_DIR/truth.json``: what a correct reader must find, in burn's meaning of each token kind
(``input_tokens`` = input not served from cache; Codex ``input - cached``; Claude reports no
reasoning, so it is ``null`` there), per harness, model, session and persona, plus the number
of responses, sessions, files, lines, usage events and skipped (malformed) lines.

``--lines`` is the number of Claude Code lines (~815 bytes each on average, so 100k lines is
~82 MB, about the 77 MB DESIGN section 12 names); Codex gets a quarter as many lines and
OpenCode one message per 40 Claude lines. ``--cut`` writes the tree as it was at
``Plan.cut()``; running the same command again without it grows that tree to the end.

Every quirk the readers handle is in the tree, in realistic proportions:

- Claude Code: one response streamed as one line per content block (thinking, text, tool_use),
  sharing ``message.id``/``requestId``, every line but the last with a partial
  ``output_tokens`` (only the last counts); Task calls with ``subagent_type`` whose transcripts
  are ``<session>/subagents/agent-*.jsonl`` (lines carry the parent's ``sessionId``), some of
  them starting with a sidechain replay of a parent response (same ``message.id``, new
  ``requestId``: not new spend); older (1.0.x) sessions with inline sidechain lines and no
  ``cache_creation`` split; ``<synthetic>`` zero-usage lines (interrupts, API errors);
  ``summary``, ``file-history-snapshot``, ``system`` compact boundaries; tool results, the Task
  result carrying the subagent's ``usage`` on a *user* line; 5-minute and 1-hour cache writes;
  long-context requests (prompt > 200k); torn (truncated) lines, counted as skipped.
- Codex: cumulative ``token_count`` events (input includes cached input, reasoning inside
  output), re-emitted unchanged totals, ``info: null`` rate-limit refreshes, a rare stale
  out-of-order snapshot and a rare counter restart; ``session_meta``/``turn_context`` with
  UUIDv7 turn ids; forked threads replaying the parent's history (its totals are the
  baseline, not spend); spawned subagent threads (their spend belongs to the root session,
  under their ``agent_role``); rollouts moved to ``archived_sessions/``; torn lines.
- OpenCode: legacy JSON storage (pretty-printed message files rewritten as a message grows,
  ``step-finish`` parts whose sum is the usage while the message keeps only the last step's
  tokens, zero-token messages still streaming), child sessions of subagents (spend under the
  root session), and ``opencode.db`` holding newer sessions plus migrated copies of old ones
  (the same message in both stores counts once).

The tree can be written in two stages, as logs grow in real life: ``Plan.write(out, until=t)``
writes the state of every file at time ``t`` (ms), and a later ``Plan.write(out)`` appends to
the same files (same inodes), rewrites growing OpenCode messages, moves archived rollouts and
updates the db. Each call returns the truth at that time. ``Plan.cut()`` picks a time when a
Claude response is half streamed, a Codex rollout is half written and an OpenCode message is
between steps. The result is the same for a seed on every run and platform.

Module API (tests use it with ``sys.path.insert(0, "bench")``)::

    generate(out, seed, lines, harnesses) -> truth dict     # the whole tree + truth.json
    plan(seed, lines, harnesses) -> Plan                     # then Plan.write(out, until=...)
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sqlite3
import sys
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HARNESSES = ("claude", "codex", "opencode")
KINDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)
DAY = 86_400_000
END = int(datetime(2026, 11, 23, tzinfo=UTC).timestamp() * 1000)  # the window's nominal end (ms)
START = END - 30 * DAY
NOW = END - 2 * 3_600_000  # "live" sessions of every harness are running around here
LONG_CONTEXT = 200_000  # prompt tokens past which a request is a long-context one

Usage = tuple[int, int, int, int, int, int | None]


def dumps(obj: Any) -> bytes:
    """As JSON.stringify writes it (Claude Code, Codex's serde_json: compact, UTF-8)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def pretty(obj: Any) -> bytes:
    """As OpenCode's legacy storage writes it: JSON.stringify(obj, null, 2)."""
    return json.dumps(obj, indent=2, ensure_ascii=False).encode()


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


# -- what a correct reader must find --------------------------------------------------------


@dataclass(slots=True)
class Report:
    """One report of a response's usage at time t; the last report of a key before a time wins."""

    t: int
    harness: str
    session: str
    key: str
    model: str
    usage: Usage
    persona: str


@dataclass
class LogFile:
    """A JSONL file: its lines in the order (and at the times) they are written."""

    harness: str
    path: str  # relative to OUT
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    archived: tuple[int, str] | None = None  # (when, path after): Codex moves old rollouts
    malformed: list[int] = field(default_factory=list)  # times of torn lines

    def add(self, t: int, obj: Any) -> bytes:
        data = dumps(obj) + b"\n"
        self.lines.append((t, data))
        return data

    def path_at(self, t: int) -> str:
        return self.archived[1] if self.archived and self.archived[0] <= t else self.path


@dataclass
class OcMessage:
    """An OpenCode message; an assistant one completes step by step."""

    id: str
    session: str  # its own session (a child session for a subagent)
    root: str  # the session its spend belongs to
    created: int
    data: dict[str, Any]  # the message JSON, without tokens/cost/time.completed/finish
    steps: list[tuple[int, dict[str, Any], float]] = field(default_factory=list)  # (done, tokens, cost)
    completed: int | None = None
    parts: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    step_parts: bool = True  # older messages have no step-finish parts
    legacy: bool = True
    db: bool = False

    def done_steps(self, t: int) -> int:
        return sum(1 for done, _, _ in self.steps if done < t)

    def state(self, t: int) -> dict[str, Any]:
        k = self.done_steps(t)
        msg = dict(self.data)
        if self.data["role"] != "assistant":
            return msg
        zero = {"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}}
        msg["time"] = {"created": self.created}
        if self.completed is not None and self.completed < t:
            msg["time"]["completed"] = self.completed
        msg["cost"] = round(sum(c for _, _, c in self.steps[:k]), 8)
        msg["tokens"] = self.steps[k - 1][1] if k else zero  # OpenCode keeps the last step's only
        if self.completed is not None and self.completed < t:
            msg["finish"] = "stop"
        return msg

    def updated(self, t: int) -> int:
        times = [self.created] + [d for d, _, _ in self.steps if d < t]
        if self.completed is not None and self.completed < t:
            times.append(self.completed)
        return max(times)


@dataclass
class OcSession:
    id: str
    project: str
    parent: str | None
    created: int
    title: str
    legacy: bool
    db: bool


def add_usage(a: Usage | None, b: Usage) -> Usage:
    if a is None:
        return b
    r = None if a[5] is None and b[5] is None else (a[5] or 0) + (b[5] or 0)
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3], a[4] + b[4], r)


def as_dict(u: Usage) -> dict[str, int | None]:
    return dict(zip(KINDS, u, strict=True))


# -- random text ------------------------------------------------------------------------------

SYLLABLES = [
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zi", "pa", "de", "fo", "gu", "ha", "ji",
    "ke", "la", "mo", "nu", "pi", "qu", "re", "si", "to", "un", "ve", "wa", "xi", "yo", "ze",
]  # fmt: skip
CODE = [
    'def {w}(self, {v}: int) -> str:\n    return f"{{{v}}}"\n',
    "if ({w} && {v}.length > 0) {{ return {w}; }}\n",
    'import {{ {w} }} from "./{v}";\n',
    '    {w} = {v}.get("{w}", None)\n',
    "SELECT {w}, count(*) FROM {v} GROUP BY {w};\n",
    "  - name: {w}\n    run: make {v}\n",
    "error[E0308]: mismatched types in `{w}`\n",
    "{w}/{v}.py:12: AssertionError\n",
]


class Text:
    """Slices of a seeded pool of prose and code (fast: no per-word random calls)."""

    def __init__(self, rng: random.Random) -> None:
        words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(1500)]
        words += ["the", "a", "to", "of", "and", "in", "is", "it", "for", "test", "file", "error"] * 40
        parts: list[str] = []
        size = 0
        while size < 1_500_000:
            if rng.random() < 0.25:
                s = rng.choice(CODE).format(w=rng.choice(words), v=rng.choice(words))
            else:
                s = " ".join(rng.choices(words, k=rng.randint(5, 25))).capitalize() + ". "
                if rng.random() < 0.15:
                    s += "\n\n"
                if rng.random() < 0.01:
                    s += "café — naïve ✓ "
            parts.append(s)
            size += len(s)
        self.pool = "".join(parts)
        self.b64 = base64.b64encode(rng.randbytes(200_000)).decode()
        self.rng = rng

    def __call__(self, n: int) -> str:
        n = max(1, min(n, len(self.pool) - 1))
        i = self.rng.randrange(0, len(self.pool) - n)
        return self.pool[i : i + n]

    def sig(self, n: int) -> str:
        i = self.rng.randrange(0, len(self.b64) - n)
        return self.b64[i : i + n]


def lognorm(rng: random.Random, median: float, sigma: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, int(rng.lognormvariate(0, sigma) * median)))


# -- the plan ---------------------------------------------------------------------------------


class Plan:
    """Every file of the tree, line by line with the time each is written, and every report."""

    def __init__(self, seed: int, lines: int, harnesses: Sequence[str]) -> None:
        self.seed, self.lines, self.harnesses = seed, lines, list(harnesses)
        self.rng = random.Random(seed)
        self.text = Text(random.Random(seed * 7919 + 1))
        self.files: list[LogFile] = []
        self.reports: list[Report] = []
        self.oc_sessions: list[OcSession] = []
        self.oc_messages: list[OcMessage] = []
        self.claude_partial: list[tuple[int, int]] = []  # spans of streamed responses
        self.codex_spans: list[tuple[int, int]] = []  # first and last line of each rollout
        self.oc_partial: list[tuple[int, int]] = []  # first step done .. completed
        self.archive_at: int | None = None
        self.quirks: Counter[str] = Counter()  # how often each quirk occurs in the whole plan
        self.db_created = START + 12 * DAY  # OpenCode moved to the db here (migrating old sessions)
        if "claude" in harnesses:
            Claude(self).generate(lines)
        if "codex" in harnesses:
            Codex(self).generate(lines // 4)
        if "opencode" in harnesses:
            OpenCode(self).generate(max(6, lines // 40))
        self.end = max(
            [t for f in self.files for t, _ in f.lines] + [m.updated(1 << 62) for m in self.oc_messages]
        )
        self.end += 1

    # -- ids ------------------------------------------------------------------------------------

    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def uuid7(self, ms: int) -> str:
        r = self.rng.getrandbits(74)
        version, variant = 0x7000 | (r >> 62), 0x8000 | ((r >> 48) & 0x3FFF)
        h = f"{ms:012x}{version:04x}{variant:04x}{r & ((1 << 48) - 1):012x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def b62(self, n: int) -> str:
        alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
        return "".join(self.rng.choices(alphabet, k=n))

    # -- the cut ----------------------------------------------------------------------------------

    def cut(self) -> int:
        """A time near NOW when a Claude response is half streamed, a Codex rollout half written
        and an OpenCode message between steps (as many of these as the plan allows)."""
        lo = NOW - 3_600_000
        sets = [
            [(a, b) for a, b in s if b > lo] for s in (self.claude_partial, self.codex_spans, self.oc_partial)
        ]
        sets = [s for s in sets if s]
        best, best_score = NOW, -1
        candidates = sorted({a + (b - a) // 2 for s in sets for a, b in s if a > lo})
        for t in candidates:
            score = sum(any(a < t < b for a, b in s) for s in sets)
            if self.archive_at is not None and not t < self.archive_at:
                score -= 1
            if score > best_score or (score == best_score and abs(t - NOW) < abs(best - NOW)):
                best, best_score = t, score
        return best

    # -- writing ----------------------------------------------------------------------------------

    def write(self, out: Path, until: int | None = None) -> dict[str, Any]:
        """Bring the tree at `out` to its state at `until` (ms; None = everything) by appending
        to, rewriting or moving what an earlier call wrote; return the truth at that time."""
        t_end = self.end if until is None else until
        out.mkdir(parents=True, exist_ok=True)
        for f in self.files:
            data = b"".join(line for t, line in f.lines if t < t_end)
            if not data:
                continue
            path = out / f.path_at(t_end)
            old = out / f.path
            if f.archived and path != old and old.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                os.rename(old, path)  # Codex archives a rollout by renaming it (same inode)
            if path.exists():
                size = path.stat().st_size
                if size > len(data):
                    raise SystemExit(
                        f"{path}: holds more than the plan at this time (written by a later stage?)"
                    )
                if size < len(data):
                    with path.open("ab") as fh:
                        fh.write(data[size:])
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        if self.oc_messages:
            self._write_opencode(out / "opencode", t_end)
        truth = self.truth(t_end, until)
        (out / "truth.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
        return truth

    def _write_opencode(self, root: Path, t_end: int) -> None:
        storage = root / "storage"
        for s in self.oc_sessions:
            if s.legacy and s.created < t_end:
                info: dict[str, Any] = {
                    "id": s.id,
                    "version": "0.15.8",
                    "projectID": s.project,
                    "directory": "/home/dev/" + s.project[:6],
                    "title": s.title,
                    "time": {"created": s.created, "updated": s.created},
                }
                if s.parent:
                    info["parentID"] = s.parent
                p = storage / "session" / s.project / f"{s.id}.json"
                if not p.exists():
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_bytes(pretty(info))
        for m in self.oc_messages:
            if not (m.legacy and m.created < t_end):
                continue
            p = storage / "message" / m.session / f"{m.id}.json"
            data = pretty({"id": m.id, "sessionID": m.session, **m.state(t_end)})
            if not p.exists() or p.read_bytes() != data:
                p.parent.mkdir(parents=True, exist_ok=True)
                with p.open("wb") as fh:  # rewritten in place, as OpenCode's storage does
                    fh.write(data)
            for t, part in m.parts:
                if t < t_end:
                    pp = storage / "part" / m.id / f"{part['id']}.json"
                    if not pp.exists():
                        pp.parent.mkdir(parents=True, exist_ok=True)
                        pp.write_bytes(pretty(part))
        if t_end <= self.db_created or not any(m.db for m in self.oc_messages):
            return
        db = root / "opencode.db"
        fresh = not db.exists()
        conn = sqlite3.connect(db)
        try:
            if fresh:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(OC_SCHEMA)
            for s in self.oc_sessions:
                if s.db and s.created < t_end:
                    conn.execute(
                        "INSERT OR IGNORE INTO session (id, project_id, parent_id, slug, directory, title,"
                        " version, time_created, time_updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            s.id,
                            s.project,
                            s.parent,
                            "brave-otter",
                            "/home/dev/x",
                            s.title,
                            "1.1.40",
                            s.created,
                            s.created,
                        ),
                    )
            for m in self.oc_messages:
                if not (m.db and m.created < t_end):
                    continue
                state = m.state(t_end)
                conn.execute(
                    "INSERT OR REPLACE INTO message VALUES (?, ?, ?, ?, ?)",
                    (m.id, m.session, m.created, m.updated(t_end), json.dumps(state, separators=(",", ":"))),
                )
                for t, part in m.parts:
                    if t < t_end:
                        row = {k: v for k, v in part.items() if k not in ("id", "sessionID", "messageID")}
                        conn.execute(
                            "INSERT OR IGNORE INTO part VALUES (?, ?, ?, ?, ?, ?)",
                            (part["id"], m.id, m.session, t, t, json.dumps(row, separators=(",", ":"))),
                        )
            conn.commit()
        finally:
            conn.close()

    # -- the truth --------------------------------------------------------------------------------

    def truth(self, t_end: int, until: int | None = None) -> dict[str, Any]:
        last: dict[tuple[str, str, str], Report] = {}
        first_persona: dict[tuple[str, str, str], str] = {}
        events: Counter[str] = Counter()
        for r in sorted(self.reports, key=lambda r: r.t):
            if r.t >= t_end:
                continue
            k = (r.harness, r.session, r.key)
            last[k] = r
            first_persona.setdefault(k, r.persona)
            if r.harness != "opencode":
                events[r.harness] += 1
        totals: dict[str, Usage] = {}
        by_model: dict[str, Usage] = {}
        by_session: dict[str, Usage] = {}
        by_persona: dict[str, Usage] = {}
        responses: Counter[str] = Counter()
        sessions: dict[str, set[str]] = {}
        long_ctx: Counter[str] = Counter()
        for k, r in last.items():
            if not any(r.usage[:5]):
                continue
            h = r.harness
            totals[h] = add_usage(totals.get(h), r.usage)
            by_model[r.model] = add_usage(by_model.get(r.model), r.usage)
            by_session[r.session] = add_usage(by_session.get(r.session), r.usage)
            p = first_persona[k]
            by_persona[p] = add_usage(by_persona.get(p), r.usage)
            responses[h] += 1
            sessions.setdefault(h, set()).add(r.session)
            if r.usage[0] + r.usage[2] + r.usage[3] + r.usage[4] > LONG_CONTEXT:
                long_ctx[r.model] += 1
        files: Counter[str] = Counter()
        lines: Counter[str] = Counter()
        size: Counter[str] = Counter()
        skipped: dict[str, dict[str, int]] = {}
        for f in self.files:
            n = sum(1 for t, _ in f.lines if t < t_end)
            if n:
                files[f.harness] += 1
                lines[f.harness] += n
                size[f.harness] += sum(len(b) for t, b in f.lines if t < t_end)
            bad = sum(1 for t in f.malformed if t < t_end)
            if bad:
                skipped.setdefault(f.harness, {}).setdefault("malformed JSON", 0)
                skipped[f.harness]["malformed JSON"] += bad
        for m in self.oc_messages:
            if m.created >= t_end:
                continue
            nonzero = m.data["role"] == "assistant" and m.done_steps(t_end) > 0
            if m.legacy:
                files["opencode"] += 1
                lines["opencode"] += 1  # burn counts a message file as one line
                events["opencode"] += nonzero
            if m.db and t_end > self.db_created:
                if m.data["role"] == "assistant":
                    lines["opencode"] += 1  # a db row the reader asks for
                events["opencode"] += nonzero
        if t_end > self.db_created and any(m.db for m in self.oc_messages):
            files["opencode"] += 1
        claude = totals.get("claude")
        truth: dict[str, Any] = {
            "schema": 1,
            "generator": "bench/gen_logs.py",
            "seed": self.seed,
            "lines_requested": self.lines,
            "harnesses": self.harnesses,
            "until": None if until is None else iso(until),
            "files": dict(files),
            "lines": dict(lines),
            "bytes": dict(size),
            "events": dict(events),
            "skipped": skipped,
            "responses": dict(responses),
            "sessions": {h: len(s) for h, s in sessions.items()},
            "totals": {h: as_dict(u) for h, u in totals.items()},
            "by_model": {m: as_dict(u) for m, u in sorted(by_model.items())},
            "by_session": {s: as_dict(u) for s, u in sorted(by_session.items())},
            "by_persona": {p: as_dict(u) for p, u in sorted(by_persona.items())},
            "long_context_responses": dict(sorted(long_ctx.items())),
            "quirks": dict(sorted(self.quirks.items())),  # in the whole plan, whatever `until`
            # ccusage's four columns over the Claude part, for bench/ingest.py
            "ccusage_claude": None
            if claude is None
            else {
                "inputTokens": claude[0],
                "outputTokens": claude[1],
                "cacheCreationTokens": claude[3] + claude[4],
                "cacheReadTokens": claude[2],
            },
        }
        if until is not None:
            truth["in_progress_at_until"] = {
                "claude_responses_half_streamed": sum(a < until < b for a, b in self.claude_partial),
                "codex_rollouts_half_written": sum(a < until < b for a, b in self.codex_spans),
                "opencode_messages_between_steps": sum(a < until < b for a, b in self.oc_partial),
                "codex_archived_later": int(self.archive_at is not None and until < self.archive_at),
            }
        return truth


# -- Claude Code --------------------------------------------------------------------------------

CLAUDE_MODELS = [
    ("claude-sonnet-4-5-20250929", 55),
    ("claude-opus-4-5-20251101", 18),
    ("claude-sonnet-4-20250514", 10),
    ("claude-haiku-4-5-20251001", 10),
    ("claude-opus-4-1-20250805", 7),
]
SUBAGENT_TYPES = ["general-purpose", "Explore", "code-reviewer", "test-runner", "Plan"]
PROJECTS = ["api-gateway", "billing", "web-app", "infra", "ml-pipeline", "docs-site", "cli-tools", "mobile"]
TOOLS = [("Read", 30), ("Bash", 25), ("Edit", 15), ("Grep", 10), ("Glob", 5), ("Write", 4), ("TodoWrite", 4)]


class Claude:
    def __init__(self, plan: Plan) -> None:
        self.p = plan
        self.rng = plan.rng
        self.text = plan.text
        self.count = 0  # lines so far

    def generate(self, lines: int) -> None:
        rng = self.rng
        n_projects = max(2, min(len(PROJECTS), lines // 8000))
        projects = PROJECTS[:n_projects]
        torn = max(1, lines // 4000)
        sessions: list[LogFile] = []
        live = n_sessions = 0
        while self.count < lines:
            left = lines - self.count
            budget = min(left, lognorm(rng, 220, 0.9, 25, 2500), max(25, lines // 6))
            project = rng.choice(projects)
            if left <= max(60, lines // 8):  # the last two sessions are still running "now"
                budget = left if live else left // 2
                t0 = NOW - rng.randint(5, 25) * 60_000
                live += 1
            else:
                t0 = rng.randint(START, NOW - 6 * 3_600_000)
            sessions += self.session(project, t0, budget, n_sessions, live=t0 > NOW - 3_600_000)
            n_sessions += 1
        # torn writes: a line cut short (a crash mid-write), then the real line
        main_files = [f for f in sessions if f.lines]
        for _ in range(torn):
            f = rng.choice(main_files)
            candidates = [
                i for i, (_, b) in enumerate(f.lines) if b'"usage":{' in b and b"<synthetic>" not in b
            ]
            if not candidates:
                continue
            i = rng.choice(candidates)
            t, b = f.lines[i]
            cut = b.index(b'"usage":{') + rng.randint(12, 60)
            f.lines.insert(i, (t, b[:cut] + b"\n"))
            f.malformed.append(t)
            self.p.quirks["claude_torn_lines"] += 1
        self.p.files += sessions

    # -- one session ------------------------------------------------------------------------------

    def session(self, project: str, t0: int, budget: int, index: int, live: bool) -> list[LogFile]:
        """One session (its main file and its subagents' files). The first sessions of every
        tree have the rarer quirks, so that small trees have them all: a long-context session,
        a 1.0.x one starting with a Task call, an interrupt (a synthetic line)."""
        rng, p = self.rng, self.p
        sid = p.uuid4()
        pdir = f"claude/projects/-home-dev-{project}"
        main = LogFile("claude", f"{pdir}/{sid}.jsonl")
        files = [main]
        old = rng.random() < 0.1 or index == 1  # Claude Code 1.0.x: no cache split, sidechains inline
        s: dict[str, Any] = {
            "sid": sid,
            "cwd": f"/home/dev/{project}",
            "version": f"1.0.{rng.randint(60, 128)}" if old else f"2.0.{rng.randint(10, 60)}",
            "branch": rng.choice(["main", "main", "feature/parser", "fix/flaky-test"]),
            "old": old,
            "model": rng.choices([m for m, _ in CLAUDE_MODELS], [w for _, w in CLAUDE_MODELS])[0],
            "cache": rng.choices(["5m", "1h", "mixed"], [55, 25, 20])[0],
            "think": rng.random() < 0.6 or live,
            "live": live,  # running "now": thinks longer, so a cut often finds it mid-stream
            "parent": None,
            "force_task": index == 1,
            "force_synthetic": index == 2,
        }
        s["long"] = s["model"].startswith(("claude-sonnet-4-5", "claude-sonnet-4-2")) and rng.random() < 0.12
        if index == 0:
            s.update(model="claude-sonnet-4-5-20250929", long=True, old=False)
        p.quirks["claude_sessions_1.0.x_no_cache_split"] += s["old"]
        t = t0
        if rng.random() < 0.15:
            for _ in range(rng.randint(1, 4)):
                main.add(
                    t, {"type": "summary", "summary": self.text(rng.randint(30, 90)), "leafUuid": p.uuid4()}
                )
        ctx = {"ctx": 0, "cached_at": t0 - 3_600_000, "ttl": 300_000 if s["cache"] == "5m" else 3_600_000}
        done: list[dict[str, Any]] = []  # final lines of completed responses (replayable)
        used = 0
        while used < budget:
            before = self.count
            t = self.turn(main, files, s, ctx, t, budget - used, done)
            used += self.count - before
            t += rng.choice([rng.randint(10_000, 120_000), rng.randint(120_000, 1_500_000)])
        return files

    def base(self, s: dict[str, Any], kind: str, sidechain: bool = False) -> dict[str, Any]:
        obj = {
            "parentUuid": s["parent"],
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": s["cwd"],
            "sessionId": s["sid"],
            "version": s["version"],
            "gitBranch": s["branch"],
        }
        if kind == "user":
            obj["type"] = "user"
        return obj

    def emit(self, f: LogFile, t: int, obj: dict[str, Any], s: dict[str, Any]) -> None:
        obj.setdefault("uuid", self.p.uuid4())
        obj.setdefault("timestamp", iso(t))
        s["parent"] = obj["uuid"]
        f.add(t, obj)
        self.count += 1

    def turn(
        self,
        f: LogFile,
        files: list[LogFile],
        s: dict[str, Any],
        ctx: dict[str, Any],
        t: int,
        budget: int,
        done: list[dict[str, Any]],
        agent: dict[str, Any] | None = None,
    ) -> int:
        """A user prompt and the responses it causes; returns the time after it."""
        rng, text = self.rng, self.text
        start = self.count
        prompt = agent["prompt"] if agent else text(lognorm(rng, 60, 1.0, 5, 4000))
        u = self.base(s, "user", sidechain=agent is not None)
        u["message"] = {"role": "user", "content": prompt}
        if agent:
            u["agentId"] = agent["id"]
        elif not s["old"]:
            u["thinkingMetadata"] = {"level": "high", "disabled": False, "triggers": []}
        if not agent and not s["old"] and rng.random() < 0.25:  # a prompt typed while busy: queued
            for op in ("enqueue", "dequeue"):
                q = {
                    "type": "queue-operation",
                    "operation": op,
                    "timestamp": iso(t - 1),
                    "sessionId": s["sid"],
                }
                if op == "enqueue":
                    q["content"] = prompt
                f.add(t - 1, q)
                self.count += 1
        self.emit(f, t, u, s)
        if not agent and not s["old"] and rng.random() < 0.6:
            snap = {
                "type": "file-history-snapshot",
                "messageId": s["parent"],
                "snapshot": {
                    "messageId": s["parent"],
                    "trackedFileBackups": {
                        f"src/{text(8).strip()}.py": {
                            "backupFileName": f"{rng.getrandbits(64):016x}@v2",
                            "version": 2,
                            "backupTime": iso(t),
                        }
                        for _ in range(rng.randint(0, 4))
                    },
                    "timestamp": iso(t),
                },
                "isSnapshotUpdate": False,
            }
            f.add(t, snap)
            self.count += 1
        if agent:  # a subagent transcript may open with a replay of parent responses
            for original in agent["replays"]:
                replay = json.loads(json.dumps(original))
                replay.update(isSidechain=True, agentId=agent["id"], uuid=self.p.uuid4())
                replay["requestId"] = "req_011C" + self.p.b62(20)
                replay["parentUuid"] = s["parent"]
                f.add(t + 5, replay)
                self.count += 1
                self.p.quirks["claude_sidechain_replays"] += 1
                self.report(t + 5, s, replay, persona="none")
        if not agent and (
            rng.random() < 0.012 or s.pop("force_synthetic", False)
        ):  # an interrupt: a synthetic "no response"
            t += rng.randint(1000, 5000)
            self.synthetic(f, t, s)
            return t
        n = lognorm(rng, 5, 0.9, 1, 40)
        for i in range(n):
            if self.count - start >= budget and i > 0:
                break
            t = self.response(f, files, s, ctx, t, last=i == n - 1, done=done, agent=agent)
        if not agent and rng.random() < 0.004:
            t += 2000
            self.synthetic(f, t, s, error=True)
        return t

    def synthetic(self, f: LogFile, t: int, s: dict[str, Any], error: bool = False) -> None:
        self.p.quirks["claude_synthetic_lines"] += 1
        a = self.base(s, "assistant")
        a["message"] = {
            "id": self.p.uuid4(),
            "container": None,
            "model": "<synthetic>",
            "role": "assistant",
            "stop_reason": "stop_sequence",
            "stop_sequence": "",
            "type": "message",
            "usage": {
                "input_tokens": 0,
                "output_tokens": 0,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                "service_tier": None,
                "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
            },
            "content": [
                {"type": "text", "text": "API Error: 529 Overloaded" if error else "No response requested."}
            ],
        }
        a["type"] = "assistant"
        if error:
            a["isApiErrorMessage"] = True
        self.emit(f, t, a, s)

    def usage(self, s: dict[str, Any], ctx: dict[str, Any], t: int, new: int) -> dict[str, Any]:
        rng = self.rng
        if t - ctx["cached_at"] > ctx["ttl"] or ctx["ctx"] == 0:
            read = rng.choice([0, rng.randint(12_000, 18_000)])  # the system prompt may be warm
            create = max(0, ctx["ctx"] + new - read) + (0 if ctx["ctx"] else rng.randint(3000, 12_000))
        else:
            read, create = ctx["ctx"], new
        inp = rng.randint(1, 9) if rng.random() < 0.93 else rng.randint(100, 6000)
        ctx["ctx"] = read + create + inp
        ctx["cached_at"] = t
        if s["cache"] == "5m":
            w5, w1 = create, 0
        elif s["cache"] == "1h":
            w5, w1 = 0, create
        else:
            w1 = create * rng.randint(0, 10) // 10
            w5 = create - w1
        u: dict[str, Any] = {
            "input_tokens": inp,
            "cache_creation_input_tokens": create,
            "cache_read_input_tokens": read,
        }
        if not s["old"]:
            u["cache_creation"] = {"ephemeral_5m_input_tokens": w5, "ephemeral_1h_input_tokens": w1}
        return u

    def response(
        self,
        f: LogFile,
        files: list[LogFile],
        s: dict[str, Any],
        ctx: dict[str, Any],
        t: int,
        last: bool,
        done: list[dict[str, Any]],
        agent: dict[str, Any] | None,
    ) -> int:
        rng, text, p = self.rng, self.text, self.p
        t += rng.randint(1500, 9000)
        model = agent["model"] if agent else s["model"]
        new = rng.randint(40, 400) + (ctx.pop("pending", 0))
        usage = self.usage(s, ctx, t, new)
        out = lognorm(rng, 260, 1.0, 8, 12_000)
        blocks: list[dict[str, Any]] = []
        if s["think"] and rng.random() < (0.8 if s["live"] else 0.4):
            blocks.append(
                {
                    "type": "thinking",
                    "thinking": text(lognorm(rng, 70, 1.0, 20, 8000)),
                    "signature": text.sig(lognorm(rng, 130, 0.4, 80, 2000)),
                }
            )
        if last or rng.random() < 0.5:
            blocks.append({"type": "text", "text": text(lognorm(rng, 45, 1.1, 5, 6000))})
        tools: list[dict[str, Any]] = []
        if not last:
            for _ in range(rng.choices([1, 2, 3], [75, 18, 7])[0]):
                tools.append(self.tool_use(s, agent))
        blocks += tools
        if not blocks:
            blocks.append({"type": "text", "text": text(40)})
        msg_id = "msg_01" + p.b62(22)
        req = "req_011C" + p.b62(20)
        partial = sorted(rng.randint(1, max(1, min(30, out - 1))) for _ in range(len(blocks) - 1))
        span_start = t
        for i, block in enumerate(blocks):
            final = i == len(blocks) - 1
            a = self.base(s, "assistant", sidechain=agent is not None)
            u = dict(usage)
            u["output_tokens"] = out if final else partial[i]
            u["service_tier"] = "standard"
            a["message"] = {
                "model": model,
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "content": [block],
                "stop_reason": ("tool_use" if tools else "end_turn") if final else None,
                "stop_sequence": None,
                "usage": u,
            }
            a["requestId"] = req
            a["type"] = "assistant"
            if agent:
                a["agentId"] = agent["id"]
            self.emit(f, t, a, s)
            self.report(t, s, a, persona=(agent or {}).get("persona", "none"))
            if final:
                done.append(a)
            else:
                if block["type"] == "thinking":
                    t += rng.randint(5_000, 45_000) if s["live"] else rng.randint(300, 12_000)
                else:
                    t += rng.randint(100, 3000)
        if len(blocks) > 1:
            p.claude_partial.append((span_start, t))
            p.quirks["claude_streamed_responses"] += 1
        ctx["ctx"] += out
        pending = 0
        for tool in tools:
            t += (
                rng.randint(50, 400) if tool["name"] in ("Read", "Glob", "Grep") else rng.randint(500, 40_000)
            )
            if tool["name"] == "Task":
                t, size = self.task(f, files, s, tool, t, done)
            else:
                size = self.tool_result(f, s, tool, t, agent)
            pending += size // 4
        ctx["pending"] = pending
        if s["long"] and not agent:
            ctx["ctx"] += rng.randint(2000, 9000)  # long-context sessions read a lot more
        limit = 600_000 if s["long"] else 155_000
        if ctx["ctx"] > limit and not agent:
            self.compact(f, s, ctx, t)
        return t

    def tool_use(self, s: dict[str, Any], agent: dict[str, Any] | None) -> dict[str, Any]:
        rng, text = self.rng, self.text
        tid = "toolu_01" + self.p.b62(22)
        if agent is None and (rng.random() < 0.05 or s.pop("force_task", False)):
            prompt = text(lognorm(rng, 300, 0.7, 40, 4000)).strip() + f" (task {self.p.b62(6)})"
            inp: dict[str, Any] = {"description": text(30).strip(), "prompt": prompt}
            if s["old"] or rng.random() < 0.06:
                pass  # an older Task call: no subagent_type, so no name for its spend
            else:
                inp["subagent_type"] = rng.choice(SUBAGENT_TYPES)
            return {"type": "tool_use", "id": tid, "name": "Task", "input": inp}
        name = rng.choices([n for n, _ in TOOLS], [w for _, w in TOOLS])[0]
        path = f"{s['cwd']}/src/{text(10).strip().replace(' ', '_')}.py"
        if name == "Read":
            inp = {"file_path": path}
        elif name == "Bash":
            inp = {"command": "pytest -q " + text(12).strip(), "description": text(20).strip()}
        elif name == "Edit":
            inp = {
                "file_path": path,
                "old_string": text(lognorm(rng, 30, 0.8, 5, 2000)),
                "new_string": text(lognorm(rng, 40, 0.8, 5, 2500)),
            }
        elif name == "Write":
            inp = {"file_path": path, "content": text(lognorm(rng, 120, 0.9, 20, 8000))}
        elif name == "TodoWrite":
            inp = {
                "todos": [
                    {
                        "content": text(25),
                        "status": rng.choice(["pending", "in_progress", "completed"]),
                        "activeForm": text(25),
                    }
                    for _ in range(rng.randint(1, 4))
                ]
            }
        else:
            inp = {"pattern": text(12).strip(), "path": s["cwd"]}
        return {"type": "tool_use", "id": tid, "name": name, "input": inp}

    def tool_result(self, f: LogFile, s: dict[str, Any], tool: dict[str, Any], t: int, agent: Any) -> int:
        rng, text = self.rng, self.text
        name = tool["name"]
        if name == "Read":
            body = text(lognorm(rng, 50, 1.2, 10, 30_000))
            extra: dict[str, Any] = {
                "type": "text",
                "file": {
                    "filePath": tool["input"]["file_path"],
                    "numLines": body.count("\n") + 1,
                    "startLine": 1,
                    "totalLines": 400,
                },
            }
        elif name == "Bash":
            body = text(lognorm(rng, 30, 1.2, 5, 20_000))
            extra = {"stdout": body[:200], "stderr": "", "interrupted": False, "isImage": False}
        elif name in ("Edit", "Write"):
            body = f"The file {tool['input']['file_path']} has been updated. " + text(
                lognorm(rng, 30, 0.8, 5, 2000)
            )
            extra = {"filePath": tool["input"]["file_path"], "userModified": False}
        else:
            body = text(lognorm(rng, 30, 1.0, 5, 5000))
            extra = {"numFiles": rng.randint(0, 40), "durationMs": rng.randint(2, 300)}
        u = self.base(s, "user", sidechain=agent is not None)
        u["message"] = {
            "role": "user",
            "content": [{"tool_use_id": tool["id"], "type": "tool_result", "content": body}],
        }
        if agent:
            u["agentId"] = agent["id"]
        u["toolUseResult"] = extra
        self.emit(f, t, u, s)
        return len(body)

    def task(
        self,
        f: LogFile,
        files: list[LogFile],
        s: dict[str, Any],
        tool: dict[str, Any],
        t: int,
        done: list[Any],
    ) -> tuple[int, int]:
        """A subagent: its own transcript (or, in 1.0.x, sidechain lines inline), then the result."""
        rng, p = self.rng, self.p
        aid = f"{rng.getrandbits(32):08x}"[:7]
        name = tool["input"].get("subagent_type")
        agent = {
            "id": aid,
            "prompt": tool["input"]["prompt"],
            "model": "claude-haiku-4-5-20251001" if rng.random() < 0.5 else s["model"],
            "persona": name or "none",
            "replays": [rng.choice(done)] * 1 if done and rng.random() < 0.35 and not s["old"] else [],
        }
        p.quirks["claude_task_calls_without_subagent_type"] += name is None
        if s["old"]:
            sub, sub_s = f, {**s, "parent": None}
            agent["persona"] = "none"
            p.quirks["claude_inline_sidechain_tasks"] += 1
        else:
            p.quirks["claude_subagent_transcripts"] += 1
            sub = LogFile("claude", f"{Path(f.path).with_suffix('')}/subagents/agent-{aid}.jsonl")
            files.append(sub)
            sub_s = {**s, "parent": None}
        sub_ctx = {"ctx": 0, "cached_at": 0, "ttl": 300_000}
        t = self.turn(sub, files, sub_s, sub_ctx, t + 200, lognorm(rng, 30, 0.7, 6, 200), [], agent=agent)
        t += rng.randint(200, 2000)
        report = self.text(lognorm(rng, 400, 0.7, 50, 6000))
        u = self.base(s, "user")
        u["message"] = {
            "role": "user",
            "content": [
                {
                    "tool_use_id": tool["id"],
                    "type": "tool_result",
                    "content": [{"type": "text", "text": report}],
                }
            ],
        }
        last_usage = {
            "input_tokens": rng.randint(1, 9),
            "cache_creation_input_tokens": rng.randint(0, 4000),
            "cache_read_input_tokens": rng.randint(10_000, 60_000),
            "output_tokens": rng.randint(50, 900),
            "service_tier": "standard",
        }
        u["toolUseResult"] = {  # the subagent's usage, on a *user* line: not spend of its own
            "status": "completed",
            "prompt": tool["input"]["prompt"][:200],
            "agentId": aid,
            "content": [{"type": "text", "text": report[:300]}],
            "totalDurationMs": rng.randint(5_000, 300_000),
            "totalTokens": rng.randint(20_000, 200_000),
            "totalToolUseCount": rng.randint(1, 30),
            "usage": last_usage,
        }
        self.emit(f, t, u, s)
        return t, len(report)

    def compact(self, f: LogFile, s: dict[str, Any], ctx: dict[str, Any], t: int) -> None:
        rng = self.rng
        self.p.quirks["claude_compactions"] += 1
        b = self.base(s, "system")
        b.update(
            type="system",
            subtype="compact_boundary",
            content="Conversation compacted",
            isMeta=False,
            level="info",
            compactMetadata={"trigger": "auto", "preTokens": ctx["ctx"]},
        )
        self.emit(f, t + 1, b, s)
        u = self.base(s, "user")
        u["message"] = {
            "role": "user",
            "content": "This session is being continued. " + self.text(rng.randint(2000, 9000)),
        }
        u["isCompactSummary"] = True
        self.emit(f, t + 2, u, s)
        ctx["ctx"] = 0  # the next response writes the summary into a fresh cache

    def report(self, t: int, s: dict[str, Any], line: dict[str, Any], persona: str) -> None:
        msg = line["message"]
        u = msg["usage"]
        split = u.get("cache_creation")
        created = u.get("cache_creation_input_tokens", 0)
        if split is None:
            w5, w1 = created, 0
        else:
            w5, w1 = split["ephemeral_5m_input_tokens"], split["ephemeral_1h_input_tokens"]
        usage: Usage = (u["input_tokens"], u["output_tokens"], u["cache_read_input_tokens"], w5, w1, None)
        self.p.reports.append(Report(t, "claude", s["sid"], msg["id"], msg["model"], usage, persona))


# -- Codex ----------------------------------------------------------------------------------------

CODEX_MODELS = [
    ("gpt-5-codex", 35),
    ("gpt-5.1-codex", 30),
    ("gpt-5.1-codex-max", 15),
    ("gpt-5", 10),
    ("gpt-5.2", 10),
]
ROLES = ["explorer", "worker", "reviewer"]


@dataclass
class Thread:
    id: str
    born: int
    session: str  # root session
    file: LogFile
    items: list[dict[str, Any]] = field(
        default_factory=list
    )  # replayable history: (turn_context, token_count)
    checkpoints: list[tuple[int, tuple[int, int, int, int], int]] = field(
        default_factory=list
    )  # (items, total, t)
    end: int = 0


class Codex:
    def __init__(self, plan: Plan) -> None:
        self.p = plan
        self.rng = plan.rng
        self.text = plan.text
        self.count = 0

    def generate(self, lines: int) -> None:
        rng = self.rng
        threads: list[Thread] = []
        live = 0
        while self.count < lines:
            left = lines - self.count
            budget = min(left, lognorm(rng, 110, 0.8, 15, 1500), max(15, lines // 6))
            if left <= max(60, lines // 6):  # the last two rollouts are still being written "now"
                budget = left if live else left // 2
                t0 = NOW - rng.randint(3, 10) * 60_000
                live += 1
            else:
                t0 = rng.randint(START, NOW - 6 * 3_600_000)
            # the third and fourth threads of every tree are a fork and a spawned subagent
            forced = {2: "fork", 3: "spawn"}.get(len(threads))
            kind = forced or rng.choices(["cli", "fork", "spawn"], [88, 4, 8])[0]
            if forced and threads[0].checkpoints and t0 < NOW - 6 * 3_600_000:
                t0 = max(t0, threads[0].checkpoints[0][2] + 3_600_000)
            parents = [th for th in threads if th.checkpoints and th.checkpoints[0][2] < t0 - 60_000]
            if kind != "cli" and not parents:
                kind = "cli"
            parent = rng.choice(parents) if kind != "cli" else None
            threads.append(self.thread(t0, budget, kind, parent, quirks=len(threads) == 1))
        # archive some finished rollouts (a rename into archived_sessions/), one of them just after NOW
        finished = [th for th in threads if th.end < NOW - 30 * 60_000]
        for th in finished:
            if rng.random() < 0.1:
                th.file.archived = (min(NOW - 60_000, th.end + rng.randint(3_600_000, 5 * DAY)), "")
        if finished:
            th = max(finished, key=lambda th: th.end)
            th.file.archived = (NOW + 25 * 60_000, "")
            self.p.archive_at = NOW + 25 * 60_000
        for th in threads:
            if th.file.archived:
                self.p.quirks["codex_archived_rollouts"] += 1
                th.file.archived = (th.file.archived[0], "codex/archived_sessions/" + Path(th.file.path).name)
        torn = max(1, lines // 3000)
        for _ in range(torn):
            f = rng.choice(threads).file
            cands = [i for i, (_, b) in enumerate(f.lines) if b'"token_count"' in b and b'"info":{' in b]
            if not cands:
                continue
            i = rng.choice(cands)
            t, b = f.lines[i]
            cut = b.index(b'"token_count"') + rng.randint(20, 120)
            f.lines.insert(i, (t, b[:cut] + b"\n"))
            f.malformed.append(t)
            self.p.quirks["codex_torn_lines"] += 1
        for th in threads:
            if th.file.lines:
                self.p.codex_spans.append((th.file.lines[0][0], th.file.lines[-1][0]))
            self.p.files.append(th.file)

    def thread(self, t0: int, budget: int, kind: str, parent: Thread | None, quirks: bool = False) -> Thread:
        """One rollout; with `quirks` its first chance of a counter restart and of a stale
        snapshot are taken (so small trees have both)."""
        rng, p, text = self.rng, self.p, self.text
        tid = p.uuid7(t0)
        stamp = datetime.fromtimestamp(t0 / 1000, tz=UTC)
        rel = f"codex/sessions/{stamp:%Y/%m/%d}/rollout-{stamp:%Y-%m-%dT%H-%M-%S}-{tid}.jsonl"
        f = LogFile("codex", rel)
        role = rng.choice(ROLES) if kind == "spawn" else None
        th = Thread(tid, t0, parent.session if kind == "spawn" and parent else tid, f)
        persona = role or "none"
        source: Any = "cli" if rng.random() < 0.85 else "exec"
        if kind == "spawn" and parent:
            source = {
                "subagent": {"thread_spawn": {"parent_thread_id": parent.id, "depth": 1, "agent_role": role}}
            }
        meta: dict[str, Any] = {
            "id": tid,
            "timestamp": iso(t0),
            "cwd": "/home/dev/" + rng.choice(PROJECTS),
            "originator": "codex_cli_rs",
            "cli_version": f"0.{rng.randint(50, 66)}.0",
            "instructions": text(lognorm(rng, 1800, 0.6, 200, 9000)),
            "source": source,
            "model_provider": "openai",
        }
        if kind == "fork" and parent:
            meta["forked_from_id"] = parent.id
        t = t0
        self.add(
            f,
            t,
            {
                "timestamp": iso(t),
                "type": "session_meta",
                "payload": {**meta, "git": {"commit_hash": f"{rng.getrandbits(160):040x}", "branch": "main"}},
            },
        )
        total = (0, 0, 0, 0)
        self.p.quirks["codex_forks" if kind == "fork" else "codex_spawned_subagents"] += kind != "cli"
        if parent and (kind == "fork" or rng.random() < 0.5):
            self.p.quirks["codex_threads_replaying_parent_history"] += 1
            # the parent's history, replayed (stamped at the fork): only the baseline
            upto, total, _ = rng.choice([c for c in parent.checkpoints if c[2] < t0 - 60_000])
            t += 5
            self.add(
                f,
                t,
                {
                    "timestamp": iso(t),
                    "type": "session_meta",
                    "payload": {
                        "id": parent.id,
                        "timestamp": iso(parent.born),
                        "cwd": meta["cwd"],
                        "originator": "codex_cli_rs",
                        "cli_version": meta["cli_version"],
                        "source": "cli",
                        "model_provider": "openai",
                    },
                },
            )
            for item in parent.items[:upto]:
                t += 1
                self.add(f, t, {"timestamp": iso(t), **item})
        t += rng.randint(200, 2000)
        self.add(
            f,
            t,
            {
                "timestamp": iso(t),
                "type": "response_item",
                "payload": {
                    "type": "message",
                    "role": "user",
                    "content": [
                        {
                            "type": "input_text",
                            "text": "<environment_context>" + text(600) + "</environment_context>",
                        }
                    ],
                },
            },
        )
        model = rng.choices([m for m, _ in CODEX_MODELS], [w for _, w in CODEX_MODELS])[0]
        restarted = staled = False
        first_own = True
        ctx = rng.randint(6000, 12_000)
        used = 0
        while used < budget:
            start = self.count
            t += rng.randint(1000, 3000)
            if rng.random() < 0.08:
                model = rng.choices([m for m, _ in CODEX_MODELS], [w for _, w in CODEX_MODELS])[0]
            turn_id = p.uuid7(t)
            tc = {
                "type": "turn_context",
                "payload": {
                    "turn_id": turn_id,
                    "cwd": meta["cwd"],
                    "approval_policy": "on-request",
                    "sandbox_policy": {"mode": "workspace-write", "network_access": False},
                    "model": model,
                    "effort": rng.choice(["medium", "high", "low"]),
                    "summary": "auto",
                },
            }
            self.add(f, t, {"timestamp": iso(t), **tc})
            th.items.append(tc)
            self.add(
                f,
                t,
                {
                    "timestamp": iso(t),
                    "type": "event_msg",
                    "payload": {"type": "task_started", "turn_id": turn_id, "model_context_window": 272000},
                },
            )
            prompt = text(lognorm(rng, 200, 1.0, 10, 4000))
            ctx += len(prompt) // 4
            self.add(
                f,
                t,
                {
                    "timestamp": iso(t),
                    "type": "response_item",
                    "payload": {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": prompt}],
                    },
                },
            )
            self.add(
                f,
                t,
                {
                    "timestamp": iso(t),
                    "type": "event_msg",
                    "payload": {"type": "user_message", "message": prompt, "images": []},
                },
            )
            if first_own and total != (0, 0, 0, 0):
                self.token_count(f, t + 1, total, total)  # the inherited total, re-emitted: no spend
            first_own = False
            calls = lognorm(rng, 4, 0.8, 1, 25)
            last_call: tuple[int, int, int, int] | None = None
            for c in range(calls):
                t += rng.randint(2000, 30_000)
                enc = text.sig(lognorm(rng, 1200, 0.6, 200, 6000))
                self.add(
                    f,
                    t,
                    {
                        "timestamp": iso(t),
                        "type": "response_item",
                        "payload": {
                            "type": "reasoning",
                            "summary": [{"type": "summary_text", "text": text(rng.randint(40, 300))}],
                            "content": None,
                            "encrypted_content": enc,
                        },
                    },
                )
                self.add(
                    f,
                    t,
                    {
                        "timestamp": iso(t),
                        "type": "event_msg",
                        "payload": {"type": "agent_reasoning", "text": text(rng.randint(40, 300))},
                    },
                )
                ctx_in = ctx
                cached = ctx_in * rng.randint(60, 98) // 100 // 128 * 128 if c or used else 0
                out = lognorm(rng, 300, 1.0, 10, 9000)
                reason = out * rng.randint(0, 70) // 100
                call = (ctx_in, cached, out, reason)
                final = c == calls - 1
                if final:
                    msg = text(lognorm(rng, 400, 1.0, 20, 5000))
                    self.add(
                        f,
                        t,
                        {
                            "timestamp": iso(t),
                            "type": "response_item",
                            "payload": {
                                "type": "message",
                                "role": "assistant",
                                "content": [{"type": "output_text", "text": msg}],
                            },
                        },
                    )
                    self.add(
                        f,
                        t,
                        {
                            "timestamp": iso(t),
                            "type": "event_msg",
                            "payload": {"type": "agent_message", "message": msg[:400]},
                        },
                    )
                else:
                    cid = "call_" + p.b62(24)
                    cmd = ["bash", "-lc", "rg -n " + text(12).strip()]
                    self.add(
                        f,
                        t,
                        {
                            "timestamp": iso(t),
                            "type": "response_item",
                            "payload": {
                                "type": "function_call",
                                "name": "shell",
                                "arguments": json.dumps({"command": cmd}),
                                "call_id": cid,
                            },
                        },
                    )
                prev = total
                big = total[0] + total[2]
                if (
                    not restarted
                    and big > (60_000 if quirks else 200_000)
                    and big > 4 * (ctx_in + out)
                    and (quirks or rng.random() < 0.02)
                ):
                    total = call  # the counter restarted: this total counts from zero
                    restarted = True
                    self.p.quirks["codex_counter_restarts"] += 1
                else:
                    total = (total[0] + ctx_in, total[1] + cached, total[2] + out, total[3] + reason)
                if rng.random() < 0.08:
                    self.token_count(f, t, None, None)  # a rate-limit refresh
                    self.p.quirks["codex_rate_limit_only_token_counts"] += 1
                self.token_count(f, t, total, call)
                self.report(t, th, total, prev if total != call else (0, 0, 0, 0), call, model, persona)
                if rng.random() < 0.15:
                    self.token_count(f, t + 300, total, call)  # re-emitted: the same total
                    self.p.quirks["codex_repeated_totals"] += 1
                if (
                    last_call
                    and prev != (0, 0, 0, 0)
                    and total != call
                    and ctx_in + out <= 1.5 * (last_call[0] + last_call[2])
                    and (rng.random() < 0.02 or (quirks and not staled))
                ):
                    staled = True
                    self.p.quirks["codex_stale_snapshots"] += 1
                    self.token_count(f, t + 400, prev, last_call)  # a stale snapshot, out of order
                th.items.append(
                    {
                        "type": "event_msg",
                        "payload": {
                            "type": "token_count",
                            "info": {
                                "total_token_usage": usage_obj(total),
                                "last_token_usage": usage_obj(call),
                                "model_context_window": 272000,
                            },
                        },
                    }
                )
                last_call = call
                ctx += out
                if not final:
                    t += rng.randint(300, 20_000)
                    output = text(lognorm(rng, 700, 1.1, 10, 15_000))
                    ctx += len(output) // 3
                    self.add(
                        f,
                        t,
                        {
                            "timestamp": iso(t),
                            "type": "response_item",
                            "payload": {
                                "type": "function_call_output",
                                "call_id": cid,
                                "output": json.dumps(
                                    {"output": output, "metadata": {"exit_code": 0, "duration_seconds": 0.4}}
                                ),
                            },
                        },
                    )
                if ctx > 240_000:  # Codex compacts the conversation
                    self.add(
                        f,
                        t + 1,
                        {
                            "timestamp": iso(t + 1),
                            "type": "compacted",
                            "payload": {"message": text(rng.randint(1000, 4000))},
                        },
                    )
                    ctx = rng.randint(15_000, 25_000)
                    self.p.quirks["codex_compactions"] += 1
            self.add(
                f,
                t,
                {
                    "timestamp": iso(t),
                    "type": "event_msg",
                    "payload": {"type": "task_complete", "turn_id": turn_id, "last_agent_message": None},
                },
            )
            th.checkpoints.append((len(th.items), total, t))
            used += self.count - start
            if t0 > NOW - 3_600_000:  # a live thread: the user answers within minutes
                t += rng.randint(30_000, 300_000)
            else:
                t += rng.choice([rng.randint(5_000, 90_000), rng.randint(90_000, 1_800_000)])
        th.end = f.lines[-1][0]
        return th

    def add(self, f: LogFile, t: int, obj: dict[str, Any]) -> None:
        f.add(t, obj)
        self.count += 1

    def token_count(self, f: LogFile, t: int, total: Any, last: Any) -> None:
        info = None
        if total is not None:
            info = {
                "total_token_usage": usage_obj(total),
                "last_token_usage": usage_obj(last),
                "model_context_window": 272000,
            }
        rl = {
            "primary": {
                "used_percent": round(self.rng.random() * 60, 1),
                "window_minutes": 300,
                "resets_at": t // 1000 + 9000,
            },
            "secondary": {
                "used_percent": round(self.rng.random() * 30, 1),
                "window_minutes": 10080,
                "resets_at": t // 1000 + 400_000,
            },
        }
        self.add(
            f,
            t,
            {
                "timestamp": iso(t),
                "type": "event_msg",
                "payload": {"type": "token_count", "info": info, "rate_limits": rl},
            },
        )

    def report(
        self,
        t: int,
        th: Thread,
        total: tuple[int, int, int, int],
        prev: tuple[int, int, int, int],
        call: tuple[int, int, int, int],
        model: str,
        persona: str,
    ) -> None:
        d_in, d_cached, d_out, d_reason = (a - b for a, b in zip(total, prev, strict=True))
        assert (d_in, d_cached, d_out, d_reason) == call
        usage: Usage = (d_in - d_cached, d_out, d_cached, 0, 0, d_reason)
        self.p.reports.append(Report(t, "codex", th.session, f"{th.id}:{t}", model, usage, persona))


def usage_obj(v: tuple[int, int, int, int]) -> dict[str, int]:
    return {
        "input_tokens": v[0],
        "cached_input_tokens": v[1],
        "output_tokens": v[2],
        "reasoning_output_tokens": v[3],
        "total_tokens": v[0] + v[2],
    }


# -- OpenCode -------------------------------------------------------------------------------------

OC_MODELS = [
    ("anthropic", "claude-sonnet-4-5", 45),
    ("openai", "gpt-5.1-codex", 25),
    ("google", "gemini-2.5-pro", 15),
    ("opencode", "grok-code", 15),
]
OC_SCHEMA = """
CREATE TABLE `session` (
    `id` text PRIMARY KEY, `project_id` text NOT NULL, `parent_id` text, `slug` text NOT NULL,
    `directory` text NOT NULL, `title` text NOT NULL, `version` text NOT NULL, `share_url` text,
    `summary_additions` integer, `summary_deletions` integer, `summary_files` integer,
    `summary_diffs` text, `revert` text, `permission` text, `time_created` integer NOT NULL,
    `time_updated` integer NOT NULL, `time_compacting` integer, `time_archived` integer,
    `workspace_id` text, `path` text, `agent` text, `model` text
);
CREATE TABLE `message` (
    `id` text PRIMARY KEY, `session_id` text NOT NULL, `time_created` integer NOT NULL,
    `time_updated` integer NOT NULL, `data` text NOT NULL
);
CREATE TABLE `part` (
    `id` text PRIMARY KEY, `message_id` text NOT NULL, `session_id` text NOT NULL,
    `time_created` integer NOT NULL, `time_updated` integer NOT NULL, `data` text NOT NULL
);
CREATE INDEX `message_session_time_created_id_idx` ON `message` (`session_id`,`time_created`,`id`);
CREATE INDEX `part_message_id_id_idx` ON `part` (`message_id`,`id`);
CREATE INDEX `part_session_idx` ON `part` (`session_id`);
CREATE INDEX `session_project_idx` ON `session` (`project_id`);
"""
PRICES = {
    "claude-sonnet-4-5": (3, 15, 0.3, 3.75),
    "gpt-5.1-codex": (1.25, 10, 0.125, 0),
    "gemini-2.5-pro": (1.25, 10, 0.31, 0),
    "grok-code": (0, 0, 0, 0),
}


class OpenCode:
    def __init__(self, plan: Plan) -> None:
        self.p = plan
        self.rng = plan.rng
        self.text = plan.text
        self.seq = 0
        self.live = False  # a session running "now": long multi-step messages
        self.force_child = True  # the first session that can have a subagent has one

    def oid(self, prefix: str, t: int) -> str:
        self.seq += 1
        return f"{prefix}_{t:012x}{self.seq % 4096:03x}" + self.p.b62(11)

    def generate(self, messages: int) -> None:
        rng, p = self.rng, self.p
        projects = [f"{rng.getrandbits(160):040x}" for _ in range(3)]
        count = 0
        live = 0
        migrated_before = p.db_created
        while count < messages:
            left = messages - count
            n = min(left, lognorm(rng, 9, 0.8, 2, 200), max(2, messages // 6))
            if left <= max(8, messages // 6):  # the last two sessions are running "now"
                n = left if live else left // 2
                t0 = NOW - rng.randint(2, 15) * 60_000
                live += 1
                self.live = True
            elif count == 0:  # the first session of every tree was migrated into the db
                t0 = rng.randint(START, p.db_created - 2 * DAY)
            else:
                t0 = rng.randint(START, NOW - 6 * 3_600_000)
            # before the move to the db everything is JSON (sessions that ended before it were
            # migrated into the db too); after it an older OpenCode install still writes JSON
            legacy = t0 < p.db_created or (rng.random() < 0.4 if t0 < NOW - DAY else live % 2 == 1)
            count += self.session(rng.choice(projects), t0, n, legacy, migrated_before, first=count == 0)
            self.live = False

    def session(self, project: str, t0: int, n: int, legacy: bool, migrated_before: int, first: bool) -> int:
        rng, text, p = self.rng, self.text, self.p
        sid = self.oid("ses", t0)
        ses = OcSession(sid, project, None, t0, text(40).strip(), legacy, not legacy)
        p.oc_sessions.append(ses)
        msgs: list[OcMessage] = []
        t = t0
        provider, model = rng.choices([(a, b) for a, b, _ in OC_MODELS], [w for *_, w in OC_MODELS])[0]
        old_format = (
            legacy and (rng.random() < 0.3 or first) and not self.live
        )  # no step-finish parts: single-step messages
        made = 0
        while made < n:
            t += rng.randint(2000, 600_000)
            umsg = self.message(sid, sid, t, "user", model, provider, "build", legacy)
            msgs.append(umsg)
            made += 1
            parent_msg = umsg.id
            for _ in range(rng.choice([1, 1, 2])):
                if made >= n:
                    break
                t += rng.randint(500, 3000)
                agent = rng.choices(["build", "plan"], [85, 15])[0]
                a = self.message(sid, sid, t, "assistant", model, provider, agent, legacy, parent_msg)
                steps = rng.randint(4, 12) if self.live else lognorm(rng, 2, 0.8, 1, 12)
                t = self.steps(a, t, 1 if old_format else steps, provider, model, old_format)
                msgs.append(a)
                made += 1
                if not old_format and (rng.random() < 0.08 or self.force_child) and made < n:
                    self.force_child = False
                    t = self.child(ses, a, t, provider, model, legacy, msgs)
                    made += 1
        ended = max(m.completed or m.created for m in msgs)
        migrated = legacy and ended < migrated_before
        if migrated:
            ses.db = True
        for m in msgs:
            m.db = m.db or migrated
            self.p.oc_messages.append(m)
            q = self.p.quirks
            q["opencode_messages_in_both_stores"] += m.legacy and m.db
            q["opencode_legacy_only_messages"] += m.legacy and not m.db
            q["opencode_db_only_messages"] += m.db and not m.legacy
            if m.data["role"] == "assistant":
                q["opencode_multi_step_messages"] += len(m.steps) > 1
                q["opencode_messages_without_step_parts"] += not m.step_parts
                q["opencode_messages_named_by_mode_only"] += "agent" not in m.data
        return made

    def child(
        self,
        ses: OcSession,
        parent: OcMessage,
        t: int,
        provider: str,
        model: str,
        legacy: bool,
        msgs: list[OcMessage],
    ) -> int:
        """A subagent (task tool): a child session whose spend belongs to the root session."""
        rng = self.rng
        cid = self.oid("ses", t)
        self.p.quirks["opencode_child_sessions"] += 1
        self.p.oc_sessions.append(OcSession(cid, ses.project, ses.id, t, "subtask", legacy, not legacy))
        agent = rng.choice(["general", "explore"])
        a = self.message(cid, ses.id, t + 100, "assistant", model, provider, agent, legacy, parent.id)
        t = self.steps(a, t + 100, lognorm(rng, 3, 0.6, 1, 10), provider, model, False)
        msgs.append(a)
        return t

    def message(
        self,
        session: str,
        root: str,
        t: int,
        role: str,
        model: str,
        provider: str,
        agent: str,
        legacy: bool,
        parent: str | None = None,
    ) -> OcMessage:
        mid = self.oid("msg", t)
        if role == "user":
            data: dict[str, Any] = {
                "role": "user",
                "time": {"created": t},
                "agent": agent,
                "model": {"providerID": provider, "modelID": model},
            }
            m = OcMessage(mid, session, root, t, data, legacy=legacy, db=not legacy)
            m.parts.append(
                (
                    t,
                    {
                        "id": self.oid("prt", t),
                        "sessionID": session,
                        "messageID": mid,
                        "type": "text",
                        "text": self.text(lognorm(self.rng, 200, 1.0, 5, 4000)),
                    },
                )
            )
            return m
        data = {
            "role": "assistant",
            "parentID": parent,
            "modelID": model,
            "providerID": provider,
            "mode": agent,
            "agent": agent,
            "path": {"cwd": "/home/dev/app", "root": "/home/dev/app"},
            "system": [],
        }
        if self.rng.random() < 0.1:
            del data["agent"]  # older messages name their agent by mode only
        return OcMessage(mid, session, root, t, data, legacy=legacy, db=not legacy)

    def steps(self, m: OcMessage, t: int, n: int, provider: str, model: str, old_format: bool) -> int:
        rng, text = self.rng, self.text
        first = None
        ctx = rng.randint(8000, 40_000)
        for i in range(n):
            m.parts.append(
                (
                    t,
                    {
                        "id": self.oid("prt", t),
                        "sessionID": m.session,
                        "messageID": m.id,
                        "type": "step-start",
                        "snapshot": f"{rng.getrandbits(40):010x}",
                    },
                )
            )
            t += rng.randint(15_000, 90_000) if self.live else rng.randint(1500, 40_000)
            if rng.random() < 0.6:
                m.parts.append(
                    (
                        t,
                        {
                            "id": self.oid("prt", t),
                            "sessionID": m.session,
                            "messageID": m.id,
                            "type": "text",
                            "text": text(lognorm(rng, 300, 1.0, 5, 5000)),
                            "time": {"start": t - 1000, "end": t},
                        },
                    )
                )
            if i < n - 1:
                m.parts.append(
                    (
                        t,
                        {
                            "id": self.oid("prt", t),
                            "sessionID": m.session,
                            "messageID": m.id,
                            "type": "tool",
                            "tool": rng.choice(["read", "bash", "edit", "grep", "task"]),
                            "callID": "toolu_" + self.p.b62(20),
                            "state": {
                                "status": "completed",
                                "input": {"filePath": "/home/dev/app/x.ts"},
                                "output": text(lognorm(rng, 800, 1.1, 10, 30_000)),
                                "title": "x.ts",
                                "metadata": {},
                                "time": {"start": t - 800, "end": t},
                            },
                        },
                    )
                )
            out = lognorm(rng, 250, 1.0, 5, 8000)
            tok: dict[str, Any]
            if provider == "anthropic":
                tok = {
                    "input": rng.randint(2, 30),
                    "output": out,
                    "reasoning": 0,
                    "cache": {"read": ctx, "write": rng.randint(100, 6000)},
                }
            elif provider == "opencode":
                tok = {
                    "input": ctx // 10,
                    "output": out,
                    "reasoning": 0,
                    "cache": {"read": ctx - ctx // 10, "write": 0},
                }
            else:
                cached = ctx * rng.randint(50, 95) // 100
                tok = {
                    "input": ctx - cached,
                    "output": out,
                    "reasoning": out * rng.randint(0, 60) // 100,
                    "cache": {"read": cached, "write": 0},
                }
            price = PRICES[model]
            cost = round(
                (
                    tok["input"] * price[0]
                    + out * price[1]
                    + tok["cache"]["read"] * price[2]
                    + tok["cache"]["write"] * price[3]
                )
                / 1e6,
                8,
            )
            if not old_format:
                m.parts.append(
                    (
                        t,
                        {
                            "id": self.oid("prt", t),
                            "sessionID": m.session,
                            "messageID": m.id,
                            "type": "step-finish",
                            "reason": "tool-calls" if i < n - 1 else "stop",
                            "snapshot": f"{rng.getrandbits(40):010x}",
                            "cost": cost,
                            "tokens": tok,
                        },
                    )
                )
            m.steps.append((t, tok, cost))
            first = first or t
            usage = self.usage_at(m)
            self.p.reports.append(Report(t, "opencode", m.root, m.id, model, usage, m.data["mode"]))
            ctx += rng.randint(500, 6000)
            t += rng.randint(200, 20_000) if i < n - 1 else rng.randint(50, 500)
        m.completed = t
        m.step_parts = not old_format
        if first is not None and n > 1:
            self.p.oc_partial.append((first, t))
        return t

    @staticmethod
    def usage_at(m: OcMessage) -> Usage:
        total: Usage = (0, 0, 0, 0, 0, 0)
        for _, tok, _ in m.steps:
            u: Usage = (
                tok["input"],
                tok["output"],
                tok["cache"]["read"],
                tok["cache"]["write"],
                0,
                tok["reasoning"],
            )
            total = add_usage(total, u)
        return total


# -- entry points -------------------------------------------------------------------------------


def plan(seed: int, lines: int, harnesses: Iterable[str] = HARNESSES) -> Plan:
    hs = list(harnesses)
    unknown = [h for h in hs if h not in HARNESSES]
    if unknown:
        raise ValueError(f"unknown harness {unknown[0]!r} (known: {', '.join(HARNESSES)})")
    return Plan(seed, lines, hs)


def generate(out: Path, seed: int, lines: int, harnesses: Iterable[str] = HARNESSES) -> dict[str, Any]:
    """Write the whole tree under `out` and `out/truth.json`; return the truth."""
    return plan(seed, lines, harnesses).write(Path(out))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lines", type=int, default=100_000, help="Claude Code lines (default 100000)")
    ap.add_argument("--harness", default=",".join(HARNESSES), help="comma-separated (default: all)")
    ap.add_argument("--cut", action="store_true", help="write the tree as it was at Plan.cut() only")
    args = ap.parse_args(argv)
    pl = plan(args.seed, args.lines, [h.strip() for h in args.harness.split(",") if h.strip()])
    truth = pl.write(args.out, until=pl.cut() if args.cut else None)
    summary = {k: truth[k] for k in ("files", "lines", "bytes", "responses", "sessions", "skipped")}
    print(json.dumps(summary, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
