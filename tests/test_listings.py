"""Directory listings kept between ingests (ledger/readers/listings.py): an unchanged
directory is not listed again, a changed one is, and one changed too close to its listing
to trust its mtime is listed again next time."""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from test_ingest_bad_input import claude_dir, claude_session, out_tokens, records
from test_ingest_claude import assistant, line

from burn.ledger import Ledger
from burn.ledger import ingest as engine
from burn.ledger.readers import listings as listings_mod

HOUR_AGO = time.time() - 3600


def age(root: Path, when: float = HOUR_AGO) -> None:
    """Every directory under `root` (and root) last changed at `when`."""
    for top, _dirs, _files in os.walk(root, topdown=False):
        os.utime(top, (when, when))


def tree() -> Path:
    """Two projects, three sessions, one with a subagent; all of it an hour old."""
    projects = claude_dir()
    claude_session(projects / "-srv-a" / "s1.jsonl", "s1", 10, 20)
    subagent = projects / "-srv-a" / "s1" / "subagents" / "agent-x.jsonl"
    subagent.parent.mkdir(parents=True)
    subagent.write_text(line({**assistant("s1-sub-0", "r", 5), "sessionId": "s1"}))
    claude_session(projects / "-srv-a" / "s2.jsonl", "s2", 30)
    claude_session(projects / "-srv-b" / "s3.jsonl", "s3", 40)
    age(projects)
    return projects


@pytest.fixture
def listed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The directories each ingest really lists (reads), in order; on a file system taken
    to keep mtimes, whatever the temp dir's is (that check is tested on its own below)."""
    monkeypatch.setattr(listings_mod, "fs_keeps_mtimes", lambda path: True)
    seen: list[str] = []
    real = listings_mod.list_names

    def counting(top: str) -> list[str]:
        seen.append(top)
        return real(top)

    monkeypatch.setattr(listings_mod, "list_names", counting)
    return seen


def kept(burn_home: Path) -> dict[str, int]:
    conn = sqlite3.connect(burn_home / "index.sqlite")
    try:
        return dict(conn.execute("SELECT dir, mtime_ns FROM listings"))
    finally:
        conn.close()


def test_an_unchanged_directory_is_not_listed_again(burn_home: Path, listed: list[str]) -> None:
    projects = tree()
    led = Ledger.open(burn_home)
    first = engine.ingest(led, ["claude"])
    assert first.files == 4 and out_tokens(records(burn_home)) == 10 + 20 + 5 + 30 + 40
    dirs = {str(projects), *(str(p) for p in projects.rglob("*") if p.is_dir())}
    assert set(listed) == dirs and set(kept(burn_home)) == dirs

    listed.clear()
    again = engine.ingest(led, ["claude"])
    assert listed == []  # every directory from its kept listing
    assert again.files == 4 and again.records == 0

    # a new session in one project: that directory is listed again, the others are not
    claude_session(projects / "-srv-b" / "s4.jsonl", "s4", 50)
    listed.clear()
    grown = engine.ingest(led, ["claude"])
    assert listed == [str(projects / "-srv-b")]
    assert grown.files == 5 and grown.records == 1
    assert out_tokens(records(burn_home)) == 10 + 20 + 5 + 30 + 40 + 50

    # a rebuilt index keeps the listings (they stand apart from the records)
    before = kept(burn_home)
    Ledger.open(burn_home).index.rebuild()
    assert kept(burn_home) == before


def test_a_directory_changed_just_before_its_listing_is_listed_again(
    burn_home: Path, listed: list[str]
) -> None:
    """Within the mtime's tick an entry can be added without moving it: a listing taken
    then is not kept, so the entry is found next time."""
    projects = tree()
    project = projects / "-srv-a"
    led = Ledger.open(burn_home)
    recent = time.time() - 1
    os.utime(project, (recent, recent))  # changed a second before this ingest lists it
    engine.ingest(led, ["claude"])
    assert str(project) not in kept(burn_home)
    mtime = os.stat(project).st_mtime_ns

    claude_session(project / "s5.jsonl", "s5", 60)  # added in the same tick: the mtime
    os.utime(project, ns=(mtime, mtime))  # stays what it was when the listing was taken
    listed.clear()
    report = engine.ingest(led, ["claude"])
    assert str(project) in listed
    assert report.records == 1 and out_tokens(records(burn_home)) == 10 + 20 + 5 + 30 + 40 + 60


def test_a_directory_that_goes_away_is_forgotten(burn_home: Path, listed: list[str]) -> None:
    projects = tree()
    led = Ledger.open(burn_home)
    engine.ingest(led, ["claude"])
    gone = projects / "-srv-a" / "s1"
    assert str(gone / "subagents") in kept(burn_home)
    shutil.rmtree(gone)
    age(projects)
    engine.ingest(led, ["claude"])
    assert not {str(gone), str(gone / "subagents")} & set(kept(burn_home))
    assert str(projects / "-srv-b") in kept(burn_home)  # (the rest stays kept)
    assert out_tokens(records(burn_home)) == 10 + 20 + 5 + 30 + 40  # nothing recorded is lost


def test_a_directory_with_a_name_that_is_not_utf8_is_listed_every_time(
    burn_home: Path, listed: list[str]
) -> None:
    """SQLite keeps text, and a name that is not UTF-8 comes from os.scandir as
    surrogates: such a directory's listing is not kept (and nothing fails)."""
    projects = tree()
    odd = projects / "-srv-b"
    (odd / os.fsdecode(b"notes-\xff.txt")).write_text("not a log\n")
    age(projects)
    led = Ledger.open(burn_home)
    engine.ingest(led, ["claude"])
    assert str(odd) not in kept(burn_home) and str(projects / "-srv-a") in kept(burn_home)
    listed.clear()
    again = engine.ingest(led, ["claude"])
    assert listed == [str(odd)] and again.files == 4 and not again.skipped


MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /mnt/remote rw,nosuid - fuse.rclone remote: rw,user_id=0
41 27 0:51 / /mnt/with\\040space rw shared:7 - nfs4 server:/x rw
42 40 0:52 / /mnt/remote/cache rw - tmpfs tmpfs rw
"""


def test_only_a_file_system_known_to_keep_mtimes_has_its_listings_kept(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    keeps = {p: listings_mod.fs_keeps_mtimes(p, str(info)) for p in (
        "/home/dev/.claude/projects", "/mnt/remote/logs", "/mnt/remotely/logs",
        "/mnt/with space/logs", "/mnt/remote/cache/x",
    )}  # fmt: skip
    assert keeps == {
        "/home/dev/.claude/projects": True,  # ext4
        "/mnt/remote/logs": False,  # a FUSE mount: its directories' times may never move
        "/mnt/remotely/logs": True,  # (not under /mnt/remote: a prefix of the name only)
        "/mnt/with space/logs": False,  # nfs4, its mount point escaped in mountinfo
        "/mnt/remote/cache/x": True,  # the longest mount point wins
    }
    assert listings_mod.fs_keeps_mtimes("/x", str(tmp_path / "no-mountinfo")) is not sys.platform.startswith(
        "linux"
    )


def test_logs_on_a_file_system_that_may_not_keep_mtimes_are_listed_every_time(
    burn_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = tree()
    seen: list[str] = []
    real = listings_mod.list_names
    monkeypatch.setattr(listings_mod, "list_names", lambda top: seen.append(top) or real(top))
    monkeypatch.setattr(listings_mod, "fs_keeps_mtimes", lambda path: False)
    led = Ledger.open(burn_home)
    engine.ingest(led, ["claude"])
    assert kept(burn_home) == {}
    seen.clear()
    claude_session(projects / "-srv-a" / "s9.jsonl", "s9", 70)
    age(projects)  # (as such a file system may show it: the directory's time unmoved)
    report = engine.ingest(led, ["claude"])
    assert str(projects / "-srv-a") in seen  # listed again, though its time did not move
    assert report.records == 1 and out_tokens(records(burn_home)) == 10 + 20 + 5 + 30 + 40 + 70
