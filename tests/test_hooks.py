"""Attribution in git: real repositories, real `git commit`, hooks installed by `burn hooks
install`, launches by a fake harness under `burn launch` (section 9 of DESIGN)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from test_launch import harness_bin

__all__ = ["harness_bin"]  # the autouse fixture: fake claude and codex, and burn, on PATH

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ("prepare-commit-msg", "post-commit")


def git(repo: Path, *args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=repo, capture_output=True, text=True, env=env or os.environ.copy()
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def commit(repo: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """A real `git commit` (hooks and all); a file changes so there is something to commit."""
    (repo / "work.txt").open("a").write("more\n")
    git(repo, "add", "work.txt")
    return subprocess.run(
        ["git", "commit", *args], cwd=repo, capture_output=True, text=True, env=env or os.environ.copy()
    )


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    (path / "README").write_text("hello\n")
    git(path, "add", "README")
    git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path, burn) -> Path:
    r = make_repo(tmp_path / "repo")
    res = burn("hooks", "install", "--repo", str(r))
    assert res.code == 0, res
    return r


def launch(burn, repo: Path, *harness_args: str) -> dict:
    """A launch of the built-in reviewer in `repo`; returns its record."""
    res = burn("launch", "reviewer", "--", "claude", "-p", "work", *harness_args, cwd=repo)
    assert res.code == 0, res
    recs = records(burn, "kind=launch", "-n", "1")
    return recs[0]


def records(burn, *args: str, cwd: Path | None = None) -> list[dict]:
    res = burn("log", *args, "--format", "json", cwd=cwd)
    assert res.code == 0, res
    return json.loads(res.out)["records"]


def trailers(repo: Path, rev: str = "HEAD") -> list[tuple[str, str]]:
    out = git(repo, "log", "-1", "--format=%(trailers:only,unfold)", rev)
    return [tuple(x.strip() for x in line.split(":", 1)) for line in out.splitlines() if ":" in line]  # type: ignore[misc]


def burn_trailers(repo: Path, rev: str = "HEAD") -> list[tuple[str, str]]:
    return [t for t in trailers(repo, rev) if t[0].startswith("Burn-")]


def note(repo: Path, rev: str = "HEAD") -> list[dict]:
    out = git(repo, "notes", "--ref=refs/notes/burn", "show", rev, check=False)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def window_trailers(rec: dict) -> list[tuple[str, str]]:
    """The trailers of a commit that claims one ended launch `rec` (window mode)."""
    return [
        ("Burn-Persona", f"reviewer@{rec['version_short']}"),
        ("Burn-Cost", usd(rec["cost_micros"])),
        ("Burn-Launch", rec["id"]),
        ("Burn-Attribution", "window"),
    ]


def usd(micros: int) -> str:
    from burn.ledger.record import fmt_usd

    return fmt_usd(micros)


# -- install ---------------------------------------------------------------------------------


def test_install_writes_the_shims_with_this_burn_and_a_second_install_changes_nothing(
    repo: Path, burn
) -> None:
    hooks = repo / ".git" / "hooks"
    first = {name: (hooks / name).read_text() for name in HOOKS}
    res = burn("hooks", "install", "--repo", str(repo), "--format", "json")
    assert res.code == 0, res
    assert set(json.loads(res.out)["hooks"].values()) == {"already installed"}
    for name in HOOKS:
        text = (hooks / name).read_text()
        assert text == first[name]
        assert os.access(hooks / name, os.X_OK)
        shipped = (ROOT / ".hooks" / name).read_text()
        embedded = next(line for line in text.splitlines() if line.startswith("burn="))
        path = embedded.split("=", 1)[1].split("#")[0].strip().strip("'")
        assert Path(path).is_absolute() and os.access(path, os.X_OK), embedded
        # the installed hook is the shipped shim with only that one line filled in
        assert (
            text.replace(
                embedded, "burn=''  # `burn hooks install` writes the absolute path of its burn here"
            )
            == shipped
        )
    assert git(repo, "config", "--get-all", "notes.rewriteRef").split() == ["refs/notes/burn"]


def test_an_existing_hook_is_chained_still_runs_and_is_restored_by_uninstall(tmp_path: Path, burn) -> None:
    r = make_repo(tmp_path / "r")
    mine = r / ".git" / "hooks" / "prepare-commit-msg"
    original = (
        '#!/bin/sh\ngit interpret-trailers --in-place --trailer "Reviewed-by: Me <me@example.com>" "$1"\n'
    )
    mine.write_text(original)
    mine.chmod(0o755)
    res = burn("hooks", "install", "--repo", str(r))
    assert res.code == 0 and "runs first" in res.out, res
    launch(burn, r)
    assert commit(r, "-m", "chained").returncode == 0
    keys = [k for k, _v in trailers(r)]
    assert keys[0] == "Reviewed-by" and "Burn-Launch" in keys  # both hooks ran, the user's first
    assert burn("hooks", "uninstall", "--repo", str(r)).code == 0
    assert mine.read_text() == original
    assert not (r / ".git" / "hooks" / "prepare-commit-msg.pre-burn").exists()
    assert not (r / ".git" / "hooks" / "post-commit").exists()
    assert git(r, "config", "--get-all", "notes.rewriteRef", check=False) == ""


def test_an_existing_hook_that_fails_still_stops_the_commit(tmp_path: Path, burn) -> None:
    r = make_repo(tmp_path / "r")
    mine = r / ".git" / "hooks" / "prepare-commit-msg"
    mine.write_text("#!/bin/sh\necho 'no commits on Fridays' >&2\nexit 3\n")
    mine.chmod(0o755)
    assert burn("hooks", "install", "--repo", str(r)).code == 0
    res = commit(r, "-m", "blocked")
    assert res.returncode != 0 and "no commits on Fridays" in res.stderr
    assert git(r, "log", "--format=%s").split("\n")[0] == "initial"


def test_core_hooks_path_pointing_elsewhere_is_refused_with_the_exact_fix(tmp_path: Path, burn) -> None:
    r = make_repo(tmp_path / "r")
    git(r, "config", "core.hooksPath", ".husky")
    res = burn("hooks", "install", "--repo", str(r))
    assert res.code == 1
    assert "core.hooksPath is '.husky'" in res.err
    assert f"git -C {r} config --unset core.hooksPath" in res.err
    assert not (r / ".git" / "hooks" / "post-commit").exists()
    git(r, "config", "core.hooksPath", ".git/hooks")  # pointing at the default is fine
    assert burn("hooks", "install", "--repo", str(r)).code == 0


# -- attribution -----------------------------------------------------------------------------


def test_a_commit_after_a_launch_is_attributed_to_it_by_window(repo: Path, burn, tmp_path: Path) -> None:
    elsewhere = make_repo(tmp_path / "elsewhere")
    other = launch(burn, elsewhere)  # another work tree: not this commit's
    rec = launch(burn, repo)
    res = commit(repo, "-m", "feature")
    assert res.returncode == 0, res.stderr
    assert burn_trailers(repo) == window_trailers(rec)
    [n] = note(repo)
    assert n["mode"] == "window" and [x["record"] for x in n["launches"]] == [rec["id"]]
    assert [r["id"] for r in records(burn, "commit=HEAD", cwd=repo)] == [rec["id"]]
    assert other["id"] not in {r["id"] for r in records(burn, "commit=HEAD", cwd=repo)}
    # claimed now: the next commit has no launch of its own, so no trailers
    assert commit(repo, "-m", "tidy").returncode == 0
    assert burn_trailers(repo) == [] and note(repo) == []


def test_no_launch_means_no_trailers_and_no_note(repo: Path) -> None:
    res = commit(repo, "-m", "plain", "-m", "Signed-off-by: Dev <dev@example.com>")
    assert res.returncode == 0 and res.stderr == ""
    assert git(repo, "log", "-1", "--format=%B").strip().endswith("Signed-off-by: Dev <dev@example.com>")
    assert burn_trailers(repo) == [] and note(repo) == []


def test_other_trailers_survive_and_several_personas_give_several_lines(repo: Path, burn) -> None:
    personas = repo / ".burn" / "personas"
    personas.mkdir(parents=True)
    (personas / "planner.toml").write_text(
        'harness = "claude"\nmodel = "claude-sonnet-4-5"\nprompt = "plan"\n'
    )
    a = launch(burn, repo)
    res = burn("launch", "planner", "--", "claude", "-p", "plan", "--fake-out", "900", cwd=repo)
    assert res.code == 0, res
    b = records(burn, "kind=launch", "-n", "1")[0]
    assert b["persona"] == "planner"
    git(repo, "add", ".burn")
    assert commit(repo, "-s", "-m", "two personas", "--trailer", "Ticket: ABC-12").returncode == 0
    keys = [k for k, _ in trailers(repo)]
    assert "Signed-off-by" in keys and "Ticket" in keys
    assert burn_trailers(repo) == [
        ("Burn-Persona", f"reviewer@{a['version_short']}"),
        ("Burn-Cost", usd(a["cost_micros"])),
        ("Burn-Persona", f"planner@{b['version_short']}"),
        ("Burn-Cost", usd(b["cost_micros"])),
        ("Burn-Launch", a["id"]),
        ("Burn-Launch", b["id"]),
        ("Burn-Attribution", "window"),
    ]


def test_a_commit_made_inside_a_launch_names_that_launch_exactly(repo: Path, burn) -> None:
    res = burn(
        "launch", "reviewer", "--", "claude", "-p", "fix it", "--fake-turns", "2",
        "--fake-then", "git", "commit", "-q", "--allow-empty", "-m", "agent commit",
        cwd=repo,
    )  # fmt: skip
    assert res.code == 0, res
    rec = records(burn, "kind=launch", "-n", "1")[0]
    assert burn_trailers(repo) == [
        ("Burn-Persona", f"reviewer@{rec['version_short']}"),
        ("Burn-Cost", usd(rec["cost_micros"])),  # both turns were written before the commit
        ("Burn-Launch", rec["launch_id"]),  # the record did not exist yet
    ]
    # once the launch's record exists, the attribution resolves to it
    assert [r["id"] for r in records(burn, "commit=HEAD", cwd=repo)] == [rec["id"]]
    [row] = json.loads(burn("summary", "--by", "commit", "--format", "json", cwd=repo).out)["rows"]
    assert (
        row["commit"] == git(repo, "rev-parse", "HEAD").strip() and row["cost_micros"] == rec["cost_micros"]
    )


def test_two_commits_inside_one_launch_split_its_cost_and_count_each_token_once(repo: Path, burn) -> None:
    script = "git commit -q --allow-empty -m one && git commit -q --allow-empty -m two"
    res = burn("launch", "reviewer", "--", "claude", "-p", "x", "--fake-then", "sh", "-c", script, cwd=repo)
    assert res.code == 0, res
    rec = records(burn, "kind=launch", "-n", "1")[0]
    assert dict(burn_trailers(repo, "HEAD~1"))["Burn-Cost"] == usd(rec["cost_micros"])
    assert dict(burn_trailers(repo, "HEAD"))["Burn-Cost"] == "$0.00"  # nothing new since "one"
    rows = json.loads(burn("summary", "--by", "commit", "--format", "json", cwd=repo).out)["rows"]
    assert [r["subject"] for r in rows] == ["two", "one"]
    assert sum(r["cost_micros"] for r in rows) == rec["cost_micros"]


def test_opt_outs_leave_the_launch_for_the_next_commit(repo: Path, burn) -> None:
    rec = launch(burn, repo)
    # dated before the launch, so the launch is still "since the previous commit" below
    old = {**os.environ, "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z"}
    assert commit(repo, "-m", "opted out", env={**old, "BURN": "0"}).returncode == 0
    assert burn_trailers(repo) == []
    res = subprocess.run(
        ["git", "-c", "burn.hooks=false", "commit", "--allow-empty", "-m", "also out"],
        cwd=repo, capture_output=True, text=True, env=old,
    )  # fmt: skip
    assert res.returncode == 0 and burn_trailers(repo) == []
    assert commit(repo, "-m", "counted").returncode == 0
    assert dict(burn_trailers(repo))["Burn-Launch"] == rec["id"]


def test_a_launch_that_ended_before_the_previous_commit_is_not_the_next_ones(repo: Path, burn) -> None:
    launch(burn, repo)
    later = {**os.environ, "GIT_COMMITTER_DATE": "2099-01-01T00:00:00Z", "BURN": "0"}
    assert commit(repo, "-m", "made after the launch, without burn", env=later).returncode == 0
    assert commit(repo, "-m", "next").returncode == 0
    assert burn_trailers(repo) == []


def test_merge_squash_and_fixup_messages_are_left_alone_unless_configured(repo: Path, burn) -> None:
    launch(burn, repo)
    assert commit(repo, "--fixup", "HEAD").returncode == 0
    assert burn_trailers(repo) == []
    git(repo, "checkout", "-q", "-b", "side", "HEAD~1")
    assert commit(repo, "-m", "side work").returncode == 0  # claims the launch (window)
    assert dict(burn_trailers(repo))["Burn-Attribution"] == "window"
    second = launch(burn, repo)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "side")
    assert burn_trailers(repo) == []
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "config", "burn.trailers", "always")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "side")
    assert dict(burn_trailers(repo))["Burn-Launch"] == second["id"]


def test_amend_and_rebase_carry_the_note_to_the_new_commit(repo: Path, burn) -> None:
    rec = launch(burn, repo)
    assert commit(repo, "-m", "feature").returncode == 0
    before = git(repo, "rev-parse", "HEAD").strip()
    # amend with a new message: the trailers are gone from the message, the note is not
    assert commit(repo, "--amend", "-m", "feature, reworded").returncode == 0
    amended = git(repo, "rev-parse", "HEAD").strip()
    assert amended != before and burn_trailers(repo) == []
    assert [x["record"] for n in note(repo) for x in n["launches"]] == [rec["id"]]
    assert [r["id"] for r in records(burn, "commit=HEAD", cwd=repo)] == [rec["id"]]
    # rebase onto a new main: another new sha, the note follows it
    git(repo, "checkout", "-q", "-b", "topic")
    git(repo, "checkout", "-q", "main")
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    (repo / "other.txt").write_text("x\n")
    git(repo, "add", "other.txt")
    git(repo, "commit", "-q", "-m", "meanwhile on main")
    git(repo, "checkout", "-q", "topic")
    git(repo, "rebase", "-q", "main")
    rebased = git(repo, "rev-parse", "HEAD").strip()
    assert rebased not in (before, amended)
    assert [x["record"] for n in note(repo) for x in n["launches"]] == [rec["id"]]
    assert [r["id"] for r in records(burn, "commit=HEAD", cwd=repo)] == [rec["id"]]
    [row] = json.loads(burn("summary", "--by", "commit", "--format", "json", cwd=repo).out)["rows"]
    assert row["commit"] == rebased and row["cost_micros"] == rec["cost_micros"] and row["launches"] == 1


def test_attribution_records_hold_no_spend_and_reindex_rebuilds_them(
    repo: Path, burn, tmp_path: Path, burn_home: Path
) -> None:
    rec = launch(burn, repo)
    assert commit(repo, "-m", "feature").returncode == 0
    sha = git(repo, "rev-parse", "HEAD").strip()
    assert [r["id"] for r in records(burn)] == [rec["id"]]  # the attribution is not spend
    [attr] = records(burn, "kind=attribution")
    assert attr["commit"] == sha and attr["cost_micros"] is None and attr["usage"]["input_tokens"] is None
    [total] = json.loads(burn("summary", "--by", "harness", "--format", "json").out)["rows"]
    assert total["records"] == 1 and total["cost_micros"] == rec["cost_micros"]
    fsck = subprocess.run(  # the hook's record was written without dulwich: still sound git
        ["git", "--git-dir", str(burn_home / "ledger.git"), "fsck", "--full", "--strict"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert fsck.returncode == 0, fsck.stderr
    assert burn("reindex").code == 0
    outside = tmp_path / "work"  # not a repository: only the rebuilt index can answer
    assert [r["id"] for r in records(burn, f"commit={sha[:10]}", cwd=outside)] == [rec["id"]]
    assert [r["id"] for r in records(burn, f"repo={repo}", cwd=outside)] == [rec["id"]]
    [row] = json.loads(burn("summary", "--by", "commit", "--format", "json", cwd=outside).out)["rows"]
    assert row["commit"] == sha and row["repo"] == str(repo.resolve())


def test_summary_by_commit_takes_a_rev_range_and_a_repo(repo: Path, burn, tmp_path: Path) -> None:
    a = launch(burn, repo)
    assert commit(repo, "-m", "first").returncode == 0
    b = launch(burn, repo, "--fake-out", "2000")
    assert commit(repo, "-m", "second").returncode == 0
    rows = json.loads(burn("summary", "--by", "commit", "--format", "json", cwd=repo).out)["rows"]
    assert [(r["subject"], r["cost_micros"]) for r in rows] == [
        ("second", b["cost_micros"]),
        ("first", a["cost_micros"]),
    ]
    res = burn("summary", "--by", "commit", "--repo", str(repo), "HEAD~1..HEAD", cwd=tmp_path)
    assert res.code == 0, res
    assert "second" in res.out and "first" not in res.out


# -- never in the way --------------------------------------------------------------------------


def test_a_broken_ledger_never_fails_a_commit(repo: Path, burn, burn_home: Path) -> None:
    launch(burn, repo)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{burn_home / 'index.sqlite'}{suffix}").unlink(missing_ok=True)
    (burn_home / "index.sqlite").mkdir()  # an index that can be neither opened nor rebuilt
    res = commit(repo, "-m", "still commits")
    assert res.returncode == 0
    [line] = res.stderr.splitlines()
    assert line.startswith("burn: ") and line.endswith("; this commit is not attributed")
    assert git(repo, "log", "-1", "--format=%s").strip() == "still commits"
    assert burn_trailers(repo) == []


def test_inside_a_launch_with_no_ledger_the_trailers_say_who_and_an_unknown_cost(repo: Path) -> None:
    env = {
        **os.environ,
        "BURN_LAUNCH_ID": "7c0f6a52-0000-4000-8000-000000000000",
        "BURN_PERSONA": "reviewer@3f2a9c1b7d0e",
    }
    assert commit(repo, "-m", "agent commit", env=env).returncode == 0
    assert burn_trailers(repo) == [
        ("Burn-Persona", "reviewer@3f2a9c1b7d0e"),
        ("Burn-Cost", "unknown"),
        ("Burn-Launch", "7c0f6a52-0000-4000-8000-000000000000"),
    ]


def test_a_ledger_held_by_another_writer_delays_the_record_not_the_commit(
    repo: Path, burn, burn_home: Path
) -> None:
    """post-commit writes the note and queues the ledger record: a home lock held past the
    background writer's deadline costs the commit nothing, and the record comes later."""
    rec = launch(burn, repo)
    env = {**os.environ, "BURN_HOOK_TIMEOUT": "1"}  # the background writer gives up after 1 s
    lock = os.open(burn_home / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(lock, fcntl.LOCK_EX)  # a writer that never lets go (or a disk that hangs)
    try:
        res = commit(repo, "-m", "under a held lock", env=env)
        assert res.returncode == 0 and res.stderr == ""
        assert git(repo, "log", "-1", "--format=%s").strip() == "under a held lock"
        assert [x["record"] for n in note(repo) for x in n["launches"]] == [rec["id"]]
        sha = git(repo, "rev-parse", "HEAD").strip()
        queued = burn_home / "pending-attributions"
        assert [p.name.split("-")[1] for p in queued.glob("commit-*.json")] == [sha]
        wait_for_no_writer(queued)  # (it gave up: the lock is still held)
        assert [p.name.split("-")[1] for p in queued.glob("commit-*.json")] == [sha]
    finally:
        os.close(lock)
    [attr] = records(burn, "kind=attribution")  # the next burn command appends it
    assert attr["commit"] == sha and [x["record"] for x in attr["launches"]] == [rec["id"]]
    assert list(queued.iterdir()) == []


def writers(queue: Path) -> list[int]:
    """Processes running `burn hooks run complete` for this queue (the background writer)."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"complete" in argv and str(queue).encode() in argv:
            out.append(int(pid))
    return out


def wait_for_no_writer(queue: Path, limit_s: float = 30.0) -> None:
    deadline = time.monotonic() + limit_s
    while writers(queue):
        assert time.monotonic() < deadline, "the background writer did not exit"
        time.sleep(0.05)


def test_a_commit_from_an_ide_with_a_minimal_path_still_finds_burn(repo: Path, burn) -> None:
    rec = launch(burn, repo)
    bare = {k: v for k, v in os.environ.items() if k != "PATH"}
    bare["PATH"] = os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())
    assert not any(Path(p, "burn").exists() for p in bare["PATH"].split(os.pathsep))
    res = commit(repo, "-m", "from the IDE", env=bare)
    assert res.returncode == 0, res.stderr
    assert dict(burn_trailers(repo))["Burn-Launch"] == rec["id"]


def test_a_missing_burn_prints_one_line_and_the_commit_goes_on(repo: Path, burn) -> None:
    launch(burn, repo)
    for name in HOOKS:  # as if the burn that installed them was uninstalled since
        hook = repo / ".git" / "hooks" / name
        lines = hook.read_text().splitlines()
        hook.write_text(
            "\n".join("burn=/gone/bin/burn" if x.startswith("burn=") else x for x in lines) + "\n"
        )
    bare = {**os.environ, "PATH": os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())}
    bare["GIT_COMMITTER_DATE"] = "2000-01-01T00:00:00Z"  # before the launch: it stays "since"
    res = commit(repo, "-m", "no burn anywhere", env=bare)
    assert res.returncode == 0
    assert res.stderr.splitlines() == ["burn: not found on PATH; this commit is not attributed"]
    res = commit(repo, "-m", "burn on PATH again")  # the fallback: burn on PATH
    assert res.returncode == 0 and "Burn-Launch" in dict(burn_trailers(repo))
