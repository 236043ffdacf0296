"""What keeps `burn launch` light: the built-in library read from its generated JSON (same
specs, same versions as its TOML files), a spawn without subprocess that starts the
command as subprocess did, and the modules a launch does not import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from burn.store import Catalog, Version, canonical_bytes
from burn.store.builtin import render
from burn.store.cascade import LIBRARY_DIR, LIBRARY_JSON, library_files
from burn.store.persona import Layer
from conftest import launched_modules, write

# The built-in personas' versions before the library was read from JSON: they must not move.
LIBRARY_VERSIONS = {
    "planner": "b3:c0cb7b86e59695899c3df1382d0ddc28dc70969ed33e8192217df720a4202129",
    "reviewer": "b3:fdcdec25120ea1a5c25767394dc0344242c54723308122cf05262b3aa3c99340",
    "security-auditor": "b3:731bf55dd2671d0bf294aa6427e15f67c6ce9a6bbafb132291435862a263eb61",
}


def git_blob_id(data: bytes) -> str:
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_the_library_json_is_generated_from_the_toml_files() -> None:
    assert LIBRARY_JSON.read_text() == render(), (
        "store/library/library.json is stale: run python -m burn.store.builtin > store/library/library.json"
    )


def test_library_personas_resolve_from_json_exactly_as_from_their_toml_files() -> None:
    layer = Layer("library", LIBRARY_DIR, LIBRARY_DIR, 0)
    from_toml = Catalog([layer])
    from_toml.scan_directory(layer)
    from_json = Catalog.scan([layer])
    shipped = library_files(layer)
    assert shipped is not None and all(pf.versions for pf in shipped), "read from the JSON"
    assert from_json.names() == from_toml.names() == sorted(LIBRARY_VERSIONS)
    for name in from_toml.names():
        tiers = [None, *sorted(from_toml.files[name][0].data.get("tiers") or {})]
        for tier in tiers:
            a, b = from_json.resolve(name, tier), from_toml.resolve(name, tier)
            assert (a.spec, a.version, a.path, a.source) == (b.spec, b.version, b.path, b.source)
            data = canonical_bytes(a.spec)
            assert a.version == Version.of_bytes(data) and a.blob == b.blob == git_blob_id(data)
        assert from_json.resolve(name).version.id == LIBRARY_VERSIONS[name]


def test_a_user_persona_extending_a_library_one_is_hashed_not_taken_from_the_json(tmp_path: Path) -> None:
    home = tmp_path / "burn"
    write(home / "personas" / "reviewer.toml", 'extends = "reviewer"\nmodel = "mine"\n')
    from burn.store import default_layers

    p = Catalog.scan(default_layers(tmp_path / "work", home, [])).resolve("reviewer")
    assert p.source == "user" and p.spec["model"] == "mine"
    data = canonical_bytes(p.spec)
    assert p.version == Version.of_bytes(data) and p.blob == git_blob_id(data)
    assert p.version.id != LIBRARY_VERSIONS["reviewer"]


def test_a_library_launch_imports_no_toml_parser_hash_library_subprocess_or_typing(burn) -> None:
    """(The first launch of a version stores its spec, with dulwich: measured is the next.
    A command that ends within a second needs no tick thread: threading is not imported.)"""
    assert burn("launch", "reviewer", "--", "true").code == 0
    imported = launched_modules()
    assert "burn.ledger.settle" in imported, "the launch was recorded in this process"
    # (not contextlib: an editable install's import hook loads it before burn starts)
    heavy = {"tomllib", "subprocess", "hashlib", "_hashlib", "canonicaljson", "blake3", "typing", "threading"}
    assert not heavy & imported, heavy & imported
    recs = json.loads(burn("log", "--format", "json").out)["records"]
    assert len(recs) == 2 and {r["version"] for r in recs} == {LIBRARY_VERSIONS["reviewer"]}


def test_a_launch_leaves_at_once_with_its_index_closed_and_its_output_flushed(burn, burn_home: Path) -> None:
    """The process leaves without Python's teardown: the index connection must have been
    closed first (SQLite folds its WAL back into the file) and what it wrote flushed."""
    r = burn("launch", "reviewer", "--", "sh", "-c", "echo from-the-command; exit 4")
    assert r.code == 4 and r.out == "from-the-command\n", r
    assert not (burn_home / "index.sqlite-wal").exists(), "the index was closed before leaving"
    (rec,) = json.loads(burn("log", "--format", "json").out)["records"]
    assert rec["exit_code"] == 4
    r = burn("launch", "--tag", "nokey", "reviewer", "--", "true")
    assert r.code == 2 and "--tag 'nokey' is not KEY=VALUE" in r.err, "a usage error is still said"


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


def test_a_wrapper_started_with_sigchld_ignored_still_records_the_launch(burn) -> None:
    """An ignored SIGCHLD (inherited) makes the kernel reap the command unseen: like
    subprocess, the launch then knows no status (0) but still ends and is recorded."""
    code = (
        "import os, signal, sys\n"
        "signal.signal(signal.SIGCHLD, signal.SIG_IGN)\n"
        "args = ['-m', 'burn.cli.main', 'launch', 'reviewer', '--', 'true']\n"
        "os.execv(sys.executable, [sys.executable, *args])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    (rec,) = json.loads(burn("log", "--format", "json").out)["records"]
    assert rec["kind"] == "launch" and rec["exit_code"] == 0


def test_garbage_collection_is_paused_only_while_the_command_is_short() -> None:
    """The wrapper collects no garbage during a short launch, and collects again once the
    command has run a second (a long launch ticks for hours)."""
    import gc
    import signal

    from burn.cli import launch as cli

    went_live: list[int] = []
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
    handlers = {s: signal.getsignal(s) for s in forwarded}
    try:
        cli._pause_gc()
        assert not gc.isenabled()
        assert cli._spawn_and_wait(["true"], dict(os.environ), running_on=went_live.append) == 0
        assert not gc.isenabled() and went_live == [], "a short command: still paused, not live"
        assert cli._spawn_and_wait(["sleep", "1.5"], dict(os.environ), running_on=went_live.append) == 0
        assert gc.isenabled() and went_live == [0], "a long one: collecting again, and live"
    finally:
        gc.enable()
        for sig, handler in handlers.items():  # (the wrapper's forwarding handlers)
            signal.signal(sig, handler)
