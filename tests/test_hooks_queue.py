"""The hooks' one-Python-process design: prepare-commit-msg queues the attribution, the
post-commit shim writes the note with git and leaves the ledger record to a background
writer; the next burn command or hook appends whatever that writer did not. Real
repositories, real `git commit`, real background processes."""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_hooks import (
    burn_trailers,
    commit,
    git,
    harness_bin,
    launch,
    make_repo,
    note,
    records,
    wait_for_no_writer,
    window_trailers,
    writers,
)

__all__ = ["harness_bin"]  # the autouse fixture: fake claude and burn on PATH


@pytest.fixture
def repo(tmp_path: Path, burn) -> Path:
    r = make_repo(tmp_path / "repo")
    assert burn("hooks", "install", "--repo", str(r)).code == 0
    return r


def queue(burn_home: Path) -> list[str]:
    d = burn_home / "pending-attributions"
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def attributions_of(burn, sha: str) -> list[dict]:
    return [r for r in records(burn, "kind=attribution") if r["commit"] == sha]


def test_the_record_is_appended_in_the_background_and_the_queue_empties(
    repo: Path, burn, burn_home: Path
) -> None:
    rec = launch(burn, repo)
    assert commit(repo, "-m", "feature").returncode == 0
    sha = git(repo, "rev-parse", "HEAD").strip()
    # the note is written before git commit returns, by git itself
    [n] = note(repo)
    assert n["commit"] == sha and [x["record"] for x in n["launches"]] == [rec["id"]]
    wait_for_no_writer(burn_home / "pending-attributions")
    assert queue(burn_home) == []  # the background writer appended it without any command
    [attr] = attributions_of(burn, sha)
    assert [x["launch_id"] for x in attr["launches"]] == [rec["launch_id"]]
    assert (repo / ".git" / "burn-attribution").read_text() == ""  # taken


def test_a_killed_background_writer_loses_nothing_the_next_command_appends_it(
    repo: Path, burn, burn_home: Path
) -> None:
    rec = launch(burn, repo)
    held = os.open(burn_home / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)  # the writer blocks on the home lock ...
    try:
        assert commit(repo, "-m", "feature").returncode == 0
        sha = git(repo, "rev-parse", "HEAD").strip()
        deadline = time.monotonic() + 30
        while not (pids := writers(burn_home / "pending-attributions")):
            assert time.monotonic() < deadline, "no background writer started"
            time.sleep(0.02)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)  # ... and dies there
        wait_for_no_writer(burn_home / "pending-attributions")
        assert [name.split("-")[1] for name in queue(burn_home)] == [sha]
    finally:
        os.close(held)
    assert queue(burn_home) == [f"commit-{sha}-{git(repo, 'log', '-1', '--format=%ct').strip()}.json"]
    [attr] = attributions_of(burn, sha)  # `burn log` appended it first
    assert [x["record"] for x in attr["launches"]] == [rec["id"]]
    assert queue(burn_home) == []
    # and the launch counts as claimed: the next commit does not claim it again
    assert commit(repo, "-m", "tidy").returncode == 0
    assert burn_trailers(repo) == []


def commit_while_the_writer_gives_up(repo: Path, burn_home: Path, message: str) -> str:
    """A commit whose background writer gives up (1 s deadline) on a home lock held by
    another process: its record stays queued. Returns the commit's sha."""
    held = os.open(burn_home / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    try:
        assert commit(repo, "-m", message, env={**os.environ, "BURN_HOOK_TIMEOUT": "1"}).returncode == 0
        wait_for_no_writer(burn_home / "pending-attributions")
    finally:
        os.close(held)
    return git(repo, "rev-parse", "HEAD").strip()


def test_the_next_hook_appends_a_queued_record_before_looking_for_launches(
    repo: Path, burn, burn_home: Path
) -> None:
    first = launch(burn, repo)
    one = commit_while_the_writer_gives_up(repo, burn_home, "one")
    assert [name.split("-")[1] for name in queue(burn_home)] == [one]
    # no burn command in between: the next commit's prepare-commit-msg appends "one" first,
    # so its window sees the launch as claimed and adds no trailers
    assert commit(repo, "-m", "two").returncode == 0
    assert burn_trailers(repo) == [] and note(repo) == []
    assert queue(burn_home) == []
    ledger = burn_home / "ledger.git"
    [ref] = (ledger / "refs" / "burn" / "records").iterdir()
    log = git(repo, "--git-dir", str(ledger), "log", "--format=%B", f"refs/burn/records/{ref.name}")
    assert f'"commit":"{one}"' in log  # in the ledger, read with plain git
    [attr] = attributions_of(burn, one)
    assert [x["record"] for x in attr["launches"]] == [first["id"]]


def test_a_writer_that_died_after_appending_does_not_append_twice(repo: Path, burn, burn_home: Path) -> None:
    launch(burn, repo)
    assert commit(repo, "-m", "feature").returncode == 0
    sha = git(repo, "rev-parse", "HEAD").strip()
    wait_for_no_writer(burn_home / "pending-attributions")
    [attr] = attributions_of(burn, sha)
    # as if the writer had been killed between its append and deleting the entry
    when = git(repo, "log", "-1", "--format=%ct").strip()
    entry = burn_home / "pending-attributions" / f"commit-{sha}-{when}.json"
    entry.write_text(
        json.dumps({"schema": 1, "mode": "window", "top": str(repo), "launches": attr["launches"]})
    )
    assert [r["id"] for r in attributions_of(burn, sha)] == [attr["id"]]
    assert queue(burn_home) == []


def test_concurrent_commits_each_get_one_record_and_no_launch_is_claimed_twice(
    tmp_path: Path, burn, burn_home: Path
) -> None:
    repos = [make_repo(tmp_path / f"r{i}") for i in range(3)]
    for r in repos:
        assert burn("hooks", "install", "--repo", str(r)).code == 0
    made: list[str] = []
    claimed: dict[str, str] = {}
    for _round in range(3):
        launched = {r: launch(burn, r)["id"] for r in repos}
        results: dict[Path, subprocess.CompletedProcess[str]] = {}
        threads = [threading.Thread(target=commit_into, args=(r, results)) for r in repos]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for r in repos:
            assert results[r].returncode == 0 and results[r].stderr == "", results[r].stderr
            sha = git(r, "rev-parse", "HEAD").strip()
            made.append(sha)
            [n] = note(r)
            assert [x["record"] for x in n["launches"]] == [launched[r]]  # its own launch only
            claimed[sha] = launched[r]
    attrs = records(burn, "kind=attribution")  # appends whatever is still queued
    assert sorted(a["commit"] for a in attrs) == sorted(made)  # one record per commit
    assert {a["commit"]: a["launches"][0]["record"] for a in attrs} == claimed
    assert queue(burn_home) == []


def commit_into(r: Path, results: dict[Path, subprocess.CompletedProcess[str]]) -> None:
    results[r] = commit(r, "-m", "x")


def deleting_editor(tmp_path: Path, prefix: str) -> dict[str, str]:
    """An environment whose GIT_EDITOR deletes the message's lines that start with `prefix`."""
    script = tmp_path / f"editor-{len(list(tmp_path.glob('editor-*')))}.py"
    script.write_text(
        "import sys\np = sys.argv[1]\nlines = open(p).read().splitlines(True)\n"
        f"open(p, 'w').write(''.join(x for x in lines if not x.startswith({prefix!r})))\n"
    )
    return {**os.environ, "GIT_EDITOR": f"{sys.executable} {script}"}


def test_trailers_deleted_in_the_editor_leave_out_those_launches(
    repo: Path, burn, burn_home: Path, tmp_path: Path
) -> None:
    a = launch(burn, repo)
    b = launch(burn, repo)
    res = commit(repo, "-e", "-m", "keeps one", env=deleting_editor(tmp_path, f"Burn-Launch: {a['id']}"))
    assert res.returncode == 0, res.stderr
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert [v for k, v in burn_trailers(repo) if k == "Burn-Launch"] == [b["id"]]
    [n] = note(repo)
    assert [x["record"] for x in n["launches"]] == [b["id"]]
    [attr] = attributions_of(burn, sha)
    assert [x["record"] for x in attr["launches"]] == [b["id"]]
    # every Burn-Launch trailer deleted (c's, and a's if it ended in the second of the
    # last commit, which puts it in this commit's window too): nothing recorded or queued
    launch(burn, repo)
    env = deleting_editor(tmp_path, "Burn-Launch: ")
    assert commit(repo, "-e", "-m", "keeps none", env=env).returncode == 0
    assert note(repo) == []
    sha2 = git(repo, "rev-parse", "HEAD").strip()
    assert attributions_of(burn, sha2) == [] and queue(burn_home) == []


def test_an_older_post_commit_shim_still_records_through_burn_hooks_run(repo: Path, burn) -> None:
    """A shim installed by an earlier burn calls `burn hooks run post-commit` when the
    pointer file exists: the Python path writes the note and the record itself."""
    hook = repo / ".git" / "hooks" / "post-commit"
    burn_line = next(x for x in hook.read_text().splitlines() if x.startswith("burn="))
    hook.write_text(
        "#!/bin/sh\n" + burn_line + "\n"
        'pending=$(git rev-parse --git-path burn-attribution 2>/dev/null) && [ -f "$pending" ] || exit 0\n'
        '"$burn" hooks run post-commit "$@" || echo "burn: the hook failed" >&2\nexit 0\n'
    )
    rec = launch(burn, repo)
    res = commit(repo, "-m", "old shim")
    assert res.returncode == 0 and res.stderr == ""
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert burn_trailers(repo) == window_trailers(rec)
    [n] = note(repo)
    assert n["commit"] == sha and [x["record"] for x in n["launches"]] == [rec["id"]]
    [attr] = attributions_of(burn, sha)
    assert [x["record"] for x in attr["launches"]] == [rec["id"]]
    assert not (repo / ".git" / "burn-attribution").exists()


def test_a_commit_in_a_linked_work_tree_is_attributed_to_that_work_tree(
    repo: Path, burn, tmp_path: Path
) -> None:
    other = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(other))
    here = launch(burn, repo)  # the main work tree's launch is not the linked one's
    there = launch(burn, other)
    assert commit(other, "-m", "in the linked work tree").returncode == 0
    assert burn_trailers(other) == window_trailers(there)
    [n] = note(other)
    assert [x["record"] for x in n["launches"]] == [there["id"]]
    [attr] = attributions_of(burn, git(other, "rev-parse", "HEAD").strip())
    assert attr["repo"] == str(other.resolve())
    assert commit(repo, "-m", "in the main work tree").returncode == 0
    assert dict(burn_trailers(repo))["Burn-Launch"] == here["id"]


# -- the repository read from its files ----------------------------------------------------------


def test_head_time_from_the_files_agrees_with_git_loose_packed_and_detached(tmp_path: Path) -> None:
    from burn.ledger.attribution import _head_time
    from burn.ledger.hookrepo import Unknown, head_time, hook_git_dir

    r = make_repo(tmp_path / "r")
    env: dict[str, str] = {}
    git(
        r,
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "dated",
        env={**os.environ, "GIT_COMMITTER_DATE": "2001-02-03T04:05:06Z"},
    )
    found = hook_git_dir({}, str(r))
    assert found == (str(r.resolve()), str(r / ".git"))
    _top, git_dir = found
    assert head_time(git_dir, env) == 981173106 == int(git(r, "log", "-1", "--format=%ct"))
    git(r, "checkout", "-q", "--detach")
    assert head_time(git_dir, env) == 981173106
    git(r, "checkout", "-q", "main")
    git(r, "gc", "-q", "--prune=now")  # the commit and the branch packed
    with pytest.raises(Unknown):
        head_time(git_dir, env)
    assert _head_time(git_dir, env, str(r)) == 981173106  # from git, then
    unborn = make_repo(tmp_path / "unborn")  # an unborn branch: no time, no error
    git(unborn, "checkout", "-q", "--orphan", "fresh")
    assert _head_time(str(unborn / ".git"), env, str(unborn)) is None
    assert hook_git_dir({}, str(tmp_path)) is None  # not a work tree top: ask git
    assert hook_git_dir({"GIT_DIR": str(r / ".git")}, str(tmp_path)) is None  # GIT_DIR by hand


def test_the_hooks_own_index_check_agrees_with_the_index(repo: Path, burn, burn_home: Path) -> None:
    from burn.ledger import attribution, index
    from burn.ledger.index import Index

    assert attribution.INDEX_SCHEMA == index.SCHEMA_VERSION
    assert attribution.INDEX_BUSY_S == index.BUSY_TIMEOUT_S
    assert attribution.RECORDS_PREFIX == index.RECORDS_PREFIX
    assert attribution.PERSONAS_REF == index.PERSONAS_REF
    launch(burn, repo)
    ledger = burn_home / "ledger.git"
    idx = Index(burn_home / "index.sqlite", ledger)
    assert attribution.ref_tips(str(ledger)) == idx.current_tips() != {}
    assert attribution._fresh_index(str(burn_home)) is not None  # caught up by `burn log`
    subprocess.run(["git", "--git-dir", str(ledger), "pack-refs", "--all"], check=True)
    assert attribution.ref_tips(str(ledger)) == idx.current_tips()
    assert burn("launch", "reviewer", "--", "claude", "-p", "more", cwd=repo).code == 0
    assert attribution.ref_tips(str(ledger)) == idx.current_tips()
    [ref] = (ledger / "refs" / "burn" / "records").iterdir()
    ref.write_text("0" * 40 + "\n")  # a tip the index has not seen
    assert attribution._fresh_index(str(burn_home)) is None


def test_the_window_hook_path_imports_no_json_subprocess_typing_sqlite3_or_ledger_modules(
    repo: Path, burn, burn_home: Path
) -> None:
    rec = launch(burn, repo)
    burn("log", "-n", "1")  # the index has caught up, as after any launch
    (repo / "work.txt").write_text("x\n")
    git(repo, "add", "work.txt")
    msg = repo / ".git" / "COMMIT_EDITMSG"
    msg.write_text("subject\n")
    code = (
        "import sys; from burn.cli.hooks import main; main(['prepare-commit-msg', sys.argv[1], 'message']);"
        " print(' '.join(sorted(sys.modules)))"
    )
    env = {**os.environ, "GIT_INDEX_FILE": ".git/index"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(msg)], cwd=repo, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stderr == "", out.stderr
    assert f"Burn-Launch: {rec['id']}" in msg.read_text()  # it did the whole work
    loaded = set(out.stdout.split())
    heavy = {"json", "subprocess", "typing", "signal", "sqlite3", "datetime", "click", "dulwich"}
    heavy |= {"burn.ledger.index", "burn.ledger.ledger", "burn.ledger.record", "burn.store.errors"}
    assert heavy & loaded == set()


def test_a_command_does_not_wait_for_a_stuck_writer_and_the_record_lands_later(
    repo: Path, burn, burn_home: Path
) -> None:
    rec = launch(burn, repo)
    sha = commit_while_the_writer_gives_up(repo, burn_home, "feature")
    [name] = queue(burn_home)
    with open(burn_home / "pending-attributions" / name, "rb") as entry:
        fcntl.flock(entry, fcntl.LOCK_EX)  # a writer on it that does not finish
        assert attributions_of(burn, sha) == []  # the read answers without it, not blocked
        assert queue(burn_home) == [name]
    [attr] = attributions_of(burn, sha)  # that writer gone: the next command appends it
    assert [x["record"] for x in attr["launches"]] == [rec["id"]]
