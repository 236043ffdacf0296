"""The default home without platformdirs on the launch and hook paths, and equal to it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from burn.store.homedir import default_home
from conftest import launched_modules


@pytest.mark.parametrize(
    ("xdg", "home"),
    [
        (None, "/home/ada"),  # the usual case
        (None, "/home/ada/"),
        (None, "/"),
        ("", "/home/ada"),
        ("/data/xdg", "/home/ada"),
        ("/data/xdg/", "/home/ada"),
        ("relative/xdg", "/home/ada"),  # not absolute: platformdirs decides
        ("   ", "/home/ada"),
    ],
)
def test_the_default_home_is_platformdirs_user_data_dir(
    monkeypatch: pytest.MonkeyPatch, xdg: str | None, home: str
) -> None:
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    monkeypatch.setenv("HOME", home)
    want = platformdirs.user_data_dir("burn", appauthor=False)
    assert os.path.normpath(default_home()) == os.path.normpath(want)


def test_a_launch_with_the_default_home_records_there_without_platformdirs(tmp_path: Path, burn) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("BURN_HOME", "XDG_DATA_HOME")}
    launched_modules(env)  # the first launch of a version stores its spec; the second is measured
    assert "platformdirs" not in launched_modules(env)
    home = Path(os.environ["HOME"]) / ".local/share/burn"
    out = subprocess.run(
        [sys.executable, "-m", "burn.cli.main", "log", "--format", "json"],
        capture_output=True,
        text=True,
        env={**env, "BURN_HOME": str(home)},
        timeout=60,
    ).stdout
    assert len(json.loads(out)["records"]) == 2
