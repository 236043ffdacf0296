"""burn's hooks through the pre-commit framework: a real `pre-commit install` of
`.pre-commit-hooks.yaml` from a local clone of this tree (no network), and a real commit."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_hooks import burn_trailers, git, harness_bin, launch, make_repo, note, window_trailers

__all__ = ["harness_bin"]  # its autouse fixture: the fake `claude` and `burn` on PATH

ROOT = Path(__file__).resolve().parent.parent
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")

pytestmark = pytest.mark.skipif(
    not PRE_COMMIT.exists(), reason="pre-commit is not installed (pip install -e '.[test]')"
)


def hook_repo(path: Path) -> str:
    """A git repository holding burn's .pre-commit-hooks.yaml and .hooks/ as this tree has
    them (what a `repo:` URL would clone); returns its commit."""
    path.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", path)
    shutil.copytree(ROOT / ".hooks", path / ".hooks")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "-c", "user.email=b@example.com", "-c", "user.name=B", "commit", "-q", "-m", "burn hooks")
    return git(path, "rev-parse", "HEAD").strip()


def test_pre_commit_installs_burns_hooks_and_a_real_commit_is_attributed(
    tmp_path: Path, burn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    rev = hook_repo(tmp_path / "burn-hooks")
    repo = make_repo(tmp_path / "project")
    (repo / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {(tmp_path / 'burn-hooks').as_uri()}\n"
        f"    rev: {rev}\n"
        "    hooks:\n"
        "      - id: burn-prepare-commit-msg\n"
        "      - id: burn-post-commit\n"
    )
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "use pre-commit")
    res = subprocess.run(
        [str(PRE_COMMIT), "install", "--hook-type", "prepare-commit-msg", "--hook-type", "post-commit"],
        cwd=repo, capture_output=True, text=True,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "pre-commit" in (repo / ".git" / "hooks" / "post-commit").read_text()
    rec = launch(burn, repo)
    (repo / "work.txt").write_text("done\n")
    git(repo, "add", "work.txt")
    res = subprocess.run(
        ["git", "commit", "-m", "through pre-commit"], cwd=repo, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert burn_trailers(repo) == window_trailers(rec)
    [n] = note(repo)
    assert [x["record"] for x in n["launches"]] == [rec["id"]]
    res = burn("log", "commit=HEAD", "--format", "json", cwd=repo)
    assert [r["id"] for r in json.loads(res.out)["records"]] == [rec["id"]]
    assert os.environ["PRE_COMMIT_HOME"].startswith(str(tmp_path))
