"""The recording phase of an ingest without its slow parts: the repository made without
dulwich, commits hashed in a batch, index rows taken from the bodies in hand."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from burn.ledger import Ledger
from burn.ledger.ledger import PACK_BATCH
from burn.store.gitrepo import init_repo, open_repo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import gen_logs

RECORD_TABLES = ("records", "bodies", "sessions", "usage", "tags", "tips", "problems")


def dump(home: Path, tables: tuple[str, ...]) -> dict[str, list[Any]]:
    conn = sqlite3.connect(home / "index.sqlite")
    try:
        return {t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}"))) for t in tables}
    finally:
        conn.close()


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


def test_a_cold_ingest_imports_no_dulwich(logs: Path, burn_home: Path) -> None:
    """A first ingest into a new home makes the repository, packs its records and moves
    the ref (store.gitrepo) without dulwich; and the index it fills equals a rebuild."""
    gen_logs.generate(logs, 5, 6000, ["claude"])
    code = (
        "import sys\n"
        "from burn.ledger import Ledger\n"
        "from burn.ledger.ingest import ingest\n"
        "report = ingest(Ledger.open(), ['claude'])\n"
        "print('RECORDS', report.records)\n"
        "print('DULWICH', sorted(m for m in sys.modules if m.split('.')[0] == 'dulwich'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "DULWICH []" in proc.stdout, proc.stdout
    (records,) = (int(line.split()[1]) for line in proc.stdout.splitlines() if line.startswith("RECORDS"))
    assert records >= PACK_BATCH  # (a pack, not loose objects)
    repo = burn_home / "ledger.git"
    assert list((repo / "objects" / "pack").glob("pack-*.idx"))
    if shutil.which("git"):
        subprocess.run(
            ["git", "--git-dir", str(repo), "fsck", "--full", "--strict"], check=True, capture_output=True
        )
    direct = dump(burn_home, RECORD_TABLES)
    Ledger.open(burn_home).index.rebuild()
    assert dump(burn_home, RECORD_TABLES) == direct


def test_growth_of_a_group_with_nothing_recorded_is_all_it_has(
    burn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Growth.rows takes the sums as they are when nothing of the group is recorded yet
    (a cold ingest), and that is what netting against an empty record gives."""
    from burn.ledger import ingest as ingest_mod

    now = {
        ("m2", "long"): (5, None, 0, 0, None, None),
        ("m1", "base"): (10, 3, None, 0, 0, None),
        ("m1", "long"): (0, 0, 0, 0, 0, None),  # nothing: no row
        ("m0", "base"): (None, None, None, None, None, None),  # unknown: no row either
    }
    growth = ingest_mod.Growth.__new__(ingest_mod.Growth)
    growth.now, growth.recorded = {("h", "s", None): now}, {}
    growth.meta = {("h", "s", None): ["per-message", "/w"]}
    general = []
    for model in sorted({m for m, _t in now}):
        for tier, usage in ingest_mod._growth(model, now, {}).items():
            general.append({"model": model, "tier": tier, "granularity": "per-message", "usage": usage})

    def refuse(*a: object) -> None:
        raise AssertionError("netted tier by tier although nothing is recorded")

    monkeypatch.setattr(ingest_mod, "_growth", refuse)
    rows, cwd = growth.rows(("h", "s", None))
    assert cwd == "/w" and rows == general
    assert [(r["model"], r["tier"]) for r in rows] == [("m1", "base"), ("m2", "long")]
