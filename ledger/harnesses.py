"""What a launch knows about each harness before it spawns: which one the command is,
where its sessions will land, and (Claude) the session id it will use.

An adapter never changes what the harness does; the one argument it may add is Claude's
`--session-id`, which makes matching the session to the launch exact.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from burn.store.tuples import NamedTuple

KNOWN = ("claude", "codex", "opencode")
# Claude options after which the session id is the user's, or not known in advance.
_CLAUDE_OWN_SESSION = ("--resume", "-r", "--continue", "-c", "--fork-session")
# Claude invocations that start no session: an id added there is at best noise.
_CLAUDE_NO_SESSION = {"--version", "-v", "--help", "-h"}
_CLAUDE_SUBCOMMANDS = {"config", "mcp", "migrate-installer", "setup-token", "doctor", "update", "install",
                       "plugin"}  # fmt: skip


class Prepared(NamedTuple):
    argv: list[str]
    harness: str | None  # None: an unknown command; ingest matches any harness's session
    session_id: str | None  # known before spawn: matching is exact
    session_dir: str | None  # where its transcript should appear (a hint for people)


def detect(argv: list[str], spec_harness: object = None) -> str | None:
    name = Path(argv[0]).name if argv else ""
    for known in KNOWN:
        if name == known or name.startswith(known + "-") or name.startswith(known + "."):
            return known
    return spec_harness if isinstance(spec_harness, str) and spec_harness in KNOWN else None


def prepare(argv: list[str], cwd: str, spec_harness: object = None) -> Prepared:
    harness = detect(argv, spec_harness)
    if harness == "claude":
        return _claude(argv, cwd)
    if harness == "codex":
        root = Path(os.environ.get("CODEX_HOME") or "~/.codex").expanduser()
        day = time.strftime("%Y/%m/%d")
        return Prepared(list(argv), harness, None, str(root / "sessions" / day))
    if harness == "opencode":
        root = Path(os.environ.get("OPENCODE_DATA_DIR") or "~/.local/share/opencode").expanduser()
        return Prepared(list(argv), harness, None, str(root))
    return Prepared(list(argv), harness, None, None)


def claude_project_dir(cwd: str) -> Path:
    """Claude Code keeps a project's transcripts in a directory named after its path."""
    env = os.environ.get("CLAUDE_CONFIG_DIR", "")
    root = Path(env.split(",")[0] if env else "~/.claude").expanduser()
    return root / "projects" / re.sub(r"[^A-Za-z0-9]", "-", cwd)


def _claude(argv: list[str], cwd: str) -> Prepared:
    hint = str(claude_project_dir(cwd))
    args = argv[1:]
    if "--" in args:
        args = args[: args.index("--")]
    for i, arg in enumerate(args):
        if arg == "--session-id" and i + 1 < len(args):
            return Prepared(list(argv), "claude", args[i + 1], hint)
        if arg.startswith("--session-id="):
            return Prepared(list(argv), "claude", arg.split("=", 1)[1], hint)
    if any(a in _CLAUDE_OWN_SESSION or a.startswith(("--resume=", "--fork-session")) for a in args):
        return Prepared(list(argv), "claude", None, hint)
    if _CLAUDE_NO_SESSION & set(args) or (args and args[0] in _CLAUDE_SUBCOMMANDS):
        return Prepared(list(argv), "claude", None, hint)
    session = uuid4()
    return Prepared([argv[0], "--session-id", session, *argv[1:]], "claude", session, hint)


def uuid4() -> str:
    """A random UUID (version 4) as text: `str(uuid.uuid4())` without importing uuid, which
    imports platform (a fifth of the launch wrapper's imports)."""
    n = int.from_bytes(os.urandom(16), "big")
    n = (n & ~(0xF000 << 64)) | (4 << 76)  # version 4
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # RFC 4122 variant
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
