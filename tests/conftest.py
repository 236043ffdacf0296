"""Every test gets its own BURN_HOME, HOME and harness roots under tmp_path; GIT_* is scrubbed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

HARNESS_VARS = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "OPENCODE_DATA_DIR")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key in list(os.environ):
        if key.startswith("GIT_") or key.startswith("BURN"):
            monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("BURN_HOME", str(tmp_path / "burn"))
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in HARNESS_VARS:
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path


@pytest.fixture
def burn_home(tmp_path: Path) -> Path:
    return tmp_path / "burn"


class Result:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self) -> str:
        return f"<exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}>"


@pytest.fixture
def burn() -> Callable[..., Result]:
    """Run the real `burn` console entry point in a child process."""

    def run(*args: str, input: str | None = None, cwd: Path | None = None) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "burn.cli.main", *args],
            capture_output=True,
            text=True,
            input=input,
            cwd=cwd,
            env=os.environ.copy(),
            timeout=120,
        )
        return Result(proc)

    return run


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def pty_output(argv: list[str]) -> bytes:
    """What `argv` writes when run on a terminal of its own (a pseudo-terminal)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, os.environ)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return out
