"""The recording phase of an ingest without its slow parts: the repository made without
dulwich, commits hashed in a batch, index rows taken from the bodies in hand."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from burn.store.gitrepo import init_repo, open_repo

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def tree_of(root: Path) -> dict[str, bytes | None]:
    """Every file (its content) and folder (None) under `root`, by relative path."""
    return {
        str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))
    }


def test_init_repo_makes_what_dulwich_makes(tmp_path: Path) -> None:
    from dulwich.repo import Repo

    Repo.init_bare(str(tmp_path / "dulwich"), mkdir=True)
    init_repo(tmp_path / "burn" / "ledger.git")
    assert tree_of(tmp_path / "burn" / "ledger.git") == tree_of(tmp_path / "dulwich")
    assert open_repo(tmp_path / "burn" / "ledger.git", create=False).bare


def test_open_repo_creates_without_dulwich_init(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dulwich.repo import Repo

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("dulwich made the repository")

    monkeypatch.setattr(Repo, "init_bare", refuse)
    repo = open_repo(tmp_path / "ledger.git")
    assert repo.bare and (tmp_path / "ledger.git" / "objects" / "pack").is_dir()


@needs_git
def test_init_repo_is_a_repository_git_accepts(tmp_path: Path) -> None:
    path = tmp_path / "ledger.git"
    init_repo(path)
    git = ["git", "--git-dir", str(path)]
    bare = subprocess.run([*git, "rev-parse", "--is-bare-repository"], capture_output=True, text=True)
    assert bare.stdout == "true\n"
    subprocess.run([*git, "fsck", "--full", "--strict"], check=True, capture_output=True)


def test_init_repo_finishes_a_half_made_one_and_keeps_a_made_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.git"
    (path / "refs" / "heads").mkdir(parents=True)  # a process killed half-way
    (path / "objects.init-1").mkdir()  # and its folder of objects, never moved into place
    init_repo(path)
    assert (path / "objects" / "pack").is_dir()
    assert (path / "HEAD").read_bytes() == b"ref: refs/heads/master\n"
    (path / "objects" / "pack" / "keep").write_bytes(b"x")
    (path / "config").write_bytes(b"[core]\n\tbare = true\n")
    init_repo(path)  # there already: untouched
    assert (path / "objects" / "pack" / "keep").exists()
    assert (path / "config").read_bytes() == b"[core]\n\tbare = true\n"
    assert not (path / f"objects.init-{os.getpid()}").exists()


def _init_after(path: str, start: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    init_repo(Path(path))


def test_processes_making_the_repository_at_once_make_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.git"
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_init_after, args=(str(path), start)) for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    fresh = tmp_path / "fresh.git"
    init_repo(fresh)
    assert tree_of(path) == tree_of(fresh)  # (no temporary left behind either)
