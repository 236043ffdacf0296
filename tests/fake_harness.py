"""A stand-in for `claude` and `codex`, installed on PATH by the launch tests.

It writes a transcript in the harness's real format into the harness's real root
(CLAUDE_CONFIG_DIR / CODEX_HOME), one turn at a time, and appends what it wrote to
$FAKE_TRUTH (one JSON line per turn) so tests know the ground truth. Options (its own,
never the real harness's):

  --fake-turns N        turns to write (default 1)
  --fake-delay S        seconds between turns (and before the first when > 0)
  --fake-out N          output tokens per turn (default 100)
  --fake-ready FILE     touch FILE after the first turn
  --fake-exit N         exit with N
  --fake-signal N       kill itself with signal N at the end
  --fake-hang           after its turns, wait for a signal (default actions apply)
  --fake-count-int FILE write each SIGINT's sender into FILE; exit 130 shortly after the first
  --fake-kill-launcher  SIGKILL its parent process (the burn wrapper) at the end
  --fake-then CMD...    run CMD (the rest of argv) after the turns, and wait for it
  --fake-wait FILE      after the turns, wait until FILE exists
  --fake-at T1,T2,...   write turn n with timestamp Tn (ISO, UTC) instead of now
  --fake-model M        the model every turn names (claude only)
  --fake-ignore-term    ignore SIGTERM (only SIGKILL stops it)
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

MODELS = {"claude": "claude-sonnet-4-5", "codex": "gpt-5-codex"}


CLOCK: list[str] = []  # --fake-at: the timestamps of the turns still to write


def now() -> str:
    if CLOCK:
        return CLOCK[0]
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def main(harness: str, argv: list[str]) -> int:
    opts: dict[str, str | bool] = {}
    then: list[str] = []
    session = None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--fake-then":
            then = argv[i + 1 :]
            break
        if a in ("--fake-hang", "--fake-kill-launcher", "--fake-ignore-term"):
            opts[a] = True
        elif a.startswith("--fake-"):
            opts[a] = argv[i + 1]
            i += 1
        elif a == "--session-id":
            session = argv[i + 1]
            i += 1
        i += 1
    if "--fake-count-int" in opts:  # taken synchronously, so a second one is not merged away
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    if opts.get("--fake-ignore-term"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    global CLOCK
    CLOCK = [t for t in str(opts.get("--fake-at", "")).split(",") if t]
    if "--fake-model" in opts:
        MODELS["claude"] = str(opts["--fake-model"])
    session = session or str(uuid.uuid4())
    turns = int(opts.get("--fake-turns", 1))
    delay = float(opts.get("--fake-delay", 0))
    out = int(opts.get("--fake-out", 100))
    writer = Claude(session) if harness == "claude" else Codex(session)
    for turn in range(turns):
        if delay:
            time.sleep(delay)
        truth = writer.turn(turn, out)
        with open(os.environ["FAKE_TRUTH"], "a") as f:
            f.write(
                json.dumps({"harness": harness, "session": session, "model": MODELS[harness], **truth}) + "\n"
            )
        if turn == 0 and "--fake-ready" in opts:
            Path(str(opts["--fake-ready"])).touch()
        if CLOCK:
            CLOCK.pop(0)
    if "--fake-wait" in opts:
        while not Path(str(opts["--fake-wait"])).exists():
            time.sleep(0.05)
    if then:
        subprocess.run(then)
    if opts.get("--fake-kill-launcher"):
        os.kill(os.getppid(), signal.SIGKILL)
    if "--fake-count-int" in opts:
        senders, timeout = [], 30.0
        while info := signal.sigtimedwait({signal.SIGINT}, timeout):
            senders.append(info.si_pid)  # 0: the terminal; else the process that sent it
            timeout = 0.5  # a second SIGINT, if one is coming, lands in this window
        Path(str(opts["--fake-count-int"])).write_text("".join(f"INT from {p}\n" for p in senders))
        return 130
    if opts.get("--fake-hang"):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        while True:
            signal.pause()
    if "--fake-signal" in opts:
        os.kill(os.getpid(), int(opts["--fake-signal"]))
        time.sleep(5)
    return int(opts.get("--fake-exit", 0))


class Claude:
    """`projects/<cwd as a slug>/<session>.jsonl`; each response as two lines, the first
    with a partial output count, as Claude Code writes them."""

    def __init__(self, session: str) -> None:
        root = Path(os.environ["CLAUDE_CONFIG_DIR"].split(",")[0])
        cwd = os.getcwd()
        self.path = root / "projects" / re.sub(r"[^A-Za-z0-9]", "-", cwd) / f"{session}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.session, self.cwd = session, cwd

    def turn(self, n: int, out: int) -> dict[str, int]:
        msg, req = f"msg_{uuid.uuid4().hex[:20]}", f"req_{uuid.uuid4().hex[:20]}"
        split = {"ephemeral_5m_input_tokens": 200, "ephemeral_1h_input_tokens": 0}
        usage = {"input_tokens": 10 + n, "cache_read_input_tokens": 1000 * (n + 1),
                 "cache_creation_input_tokens": 200, "cache_creation": split}  # fmt: skip
        base = {"sessionId": self.session, "cwd": self.cwd, "isSidechain": False, "version": "2.0.30"}
        lines = [
            {**base, "type": "user", "timestamp": now(), "message": {"role": "user", "content": f"turn {n}"}},
            {**base, "type": "assistant", "timestamp": now(), "requestId": req,
             "message": {"id": msg, "model": MODELS["claude"], "role": "assistant",
                         "content": [{"type": "thinking"}], "usage": {**usage, "output_tokens": 1}}},
            {**base, "type": "assistant", "timestamp": now(), "requestId": req,
             "message": {"id": msg, "model": MODELS["claude"], "role": "assistant",
                         "content": [{"type": "text"}], "usage": {**usage, "output_tokens": out}}},
        ]  # fmt: skip
        with self.path.open("a") as f:
            for line in lines:
                f.write(json.dumps(line) + "\n")
                f.flush()
        return {"input": 10 + n, "output": out, "cache_read": 1000 * (n + 1), "cache_write_5m": 200}


class Codex:
    """`sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl` with cumulative token counts."""

    def __init__(self, session: str) -> None:
        root = Path(os.environ["CODEX_HOME"])
        day = time.strftime("%Y/%m/%d", time.gmtime())
        stamp = time.strftime("%Y-%m-%dT%H-%M-%S", time.gmtime())
        self.path = root / "sessions" / day / f"rollout-{stamp}-{session}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.session = session
        self.total = [0, 0, 0, 0]  # input (with cached), cached, output, reasoning
        payload = {"id": session, "timestamp": now(), "cwd": os.getcwd(), "originator": "codex_cli_rs",
                   "cli_version": "0.46.0", "source": "exec", "model_provider": "openai"}  # fmt: skip
        self._write({"timestamp": now(), "type": "session_meta", "payload": payload})

    def _write(self, obj: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(obj) + "\n")

    def turn(self, n: int, out: int) -> dict[str, int]:
        context = {"cwd": os.getcwd(), "model": MODELS["codex"], "effort": "medium"}
        self._write({"timestamp": now(), "type": "turn_context", "payload": context})
        last = [500 + n, 300, out, 20]
        self.total = [a + b for a, b in zip(self.total, last, strict=True)]

        def usage(v: list[int]) -> dict[str, int]:
            return {"input_tokens": v[0], "cached_input_tokens": v[1], "output_tokens": v[2],
                    "reasoning_output_tokens": v[3], "total_tokens": v[0] + v[2]}  # fmt: skip

        info = {
            "total_token_usage": usage(self.total),
            "last_token_usage": usage(last),
            "model_context_window": 272000,
        }
        self._write(
            {"timestamp": now(), "type": "event_msg", "payload": {"type": "token_count", "info": info}}
        )
        return {"input": 200 + n, "output": out, "cache_read": 300, "cache_write_5m": 0}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
