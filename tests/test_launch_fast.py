"""What keeps `burn launch` light: a spawn without subprocess that starts the command as
subprocess did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import write

# -- the spawn ----------------------------------------------------------------------------


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ['PATH']}")
    return path


def script(path: Path, body: str, mode: int = 0o755) -> Path:
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(mode)
    return path


SIGPIPE_BIT = 1 << (13 - 1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
@pytest.mark.parametrize("flag", [[], ["--no-burn"]])
def test_the_command_gets_sigpipe_back_at_its_default(burn, bin_dir: Path, tmp_path: Path, flag) -> None:
    """Python ignores SIGPIPE for itself; the command must not inherit that (as
    subprocess's restore_signals ensured): `cmd | head` must stop cmd."""
    out = tmp_path / "status"
    script(bin_dir / "sigs", f'exec grep SigIgn /proc/self/status > "{out}"')
    r = burn("launch", *flag, "reviewer", "--", "sigs")
    assert r.code == 0, r
    ignored = int(out.read_text().split()[1], 16)
    assert not ignored & SIGPIPE_BIT, f"SIGPIPE ignored in the command: {out.read_text()}"


def test_a_command_that_cannot_run_exits_126_and_is_recorded(burn, bin_dir: Path) -> None:
    script(bin_dir / "noexec", "exit 0", mode=0o644)
    r = burn("launch", "reviewer", "--", "noexec")
    assert r.code == 126 and "noexec: Permission denied" in r.err, r
    (rec,) = json.loads(burn("log", "--format", "json").out)["records"]
    assert rec["exit_code"] == 126


def test_the_command_is_found_on_the_path_the_persona_sets(burn, tmp_path: Path, burn_home: Path) -> None:
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    mark = tmp_path / "ran"
    script(hidden / "only-here", f'echo "$@" > "{mark}"')
    write(
        burn_home / "personas" / "pathed.json",
        json.dumps({"env": {"PATH": f"{hidden}{os.pathsep}{os.environ['PATH']}"}}),
    )
    r = burn("launch", "pathed", "--", "only-here", "a", "b c")
    assert r.code == 0, r
    assert mark.read_text() == "a b c\n"


def test_the_command_inherits_the_descriptors_the_wrapper_was_given(tmp_path: Path) -> None:
    """As with `--no-burn`, the wrapper is transparent: `3>file` reaches the command."""
    target = tmp_path / "fd3"
    code = subprocess.run(
        [
            "sh",
            "-c",
            f'"{sys.executable}" -m burn.cli.main launch reviewer -- sh -c "echo via-3 >&3" 3>"{target}"',
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert code.returncode == 0, code.stderr
    assert target.read_text() == "via-3\n"
