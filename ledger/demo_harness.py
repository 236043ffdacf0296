"""The demo's stand-in for `claude`: writes a short session in Claude Code's transcript
format where Claude Code would (CLAUDE_CONFIG_DIR/projects/<cwd as a slug>/<session>.jsonl),
so `burn demo` can show a real launch without a real harness or network.

    python -m burn.ledger.demo_harness --session-id ID -p PROMPT [--demo-output N]
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from itertools import pairwise

from .harnesses import claude_project_dir


def main(argv: list[str]) -> int:
    session, output = str(uuid.uuid4()), 1200
    for flag, value in pairwise(argv):
        if flag == "--session-id":
            session = value
        elif flag == "--demo-output":
            output = int(value)
    cwd = os.getcwd()
    path = claude_project_dir(cwd) / f"{session}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for turn in range(3):
            t = time.time()
            when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"
            usage = {
                "input_tokens": 12 + turn,
                "output_tokens": output // 3,
                "cache_read_input_tokens": 18_000 * (turn + 1),
                "cache_creation_input_tokens": 1_500,
                "cache_creation": {"ephemeral_5m_input_tokens": 1_500, "ephemeral_1h_input_tokens": 0},
            }
            message = {"id": f"msg_{session[:8]}_{turn}", "model": "claude-sonnet-4-5", "usage": usage,
                       "role": "assistant", "content": [{"type": "text", "text": "reviewed"}]}  # fmt: skip
            line = {"type": "assistant", "sessionId": session, "timestamp": when, "cwd": cwd,
                    "requestId": f"req_{session[:8]}_{turn}", "message": message}  # fmt: skip
            f.write(json.dumps(line) + "\n")
    print(f"(demo harness) reviewed the diff in session {session[:8]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
