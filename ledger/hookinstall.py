"""`burn hooks install|uninstall`: put `.hooks/` into a repository's hooks directory.

The installed hook is the shim from `.hooks/` with one line filled in: the absolute path
of the burn that installed it, so a commit made from an IDE with a minimal PATH still
finds it (the shim falls back to PATH when that file is gone). A hook the repository
already had is moved to `<name>.pre-burn` and run first by the shim (its exit code
still stops a commit); `uninstall` puts it back. `notes.rewriteRef refs/notes/burn` is
added so `git commit --amend` and `git rebase` copy a commit's note to its new sha.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from burn.store.errors import BurnError

from .gitcli import NOTES_REF, GitError, git, toplevel, try_git

HOOKS = ("prepare-commit-msg", "post-commit")
MARK = "burn hooks run"  # every burn shim contains it; a hook without it is the user's
CHAINED = ".pre-burn"
_PLACEHOLDER = "burn=''"


class HooksError(BurnError):
    """The hooks cannot be installed here as asked."""


def shim_text(name: str) -> str:
    """The shim `.hooks/<name>` as shipped (package data of `burn.hooks`, a namespace
    package of data files: importlib.resources cannot read those on 3.11)."""
    import importlib.util

    spec = importlib.util.find_spec("burn.hooks")
    for d in (spec.submodule_search_locations or []) if spec else []:
        path = Path(d) / name
        if path.is_file():
            return path.read_text()
    raise BurnError(f"the hook script {name} is missing from this burn installation", fix="reinstall burn")


def burn_executable() -> str | None:
    """The absolute path of the `burn` this process runs as, or the one on PATH."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "burn" and argv0.is_file():
        return str(argv0.resolve() if not argv0.is_absolute() else argv0)
    beside = Path(sys.executable).with_name("burn")  # the console script of this environment
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("burn")
    return str(Path(found).absolute()) if found else None


def installed_text(name: str, burn: str | None) -> str:
    text = shim_text(name)
    if _PLACEHOLDER not in text:
        raise BurnError(f".hooks/{name} has no `{_PLACEHOLDER}` line to fill in")
    return text.replace(_PLACEHOLDER, f"burn={shlex.quote(burn or '')}", 1)


def hooks_dir(repo: Path) -> tuple[Path, str]:
    """The directory git runs this repository's hooks from, and the work tree top.
    Refuses (with the exact fix) when core.hooksPath sends git elsewhere."""
    try:
        top = toplevel(repo)
    except GitError as e:
        raise HooksError(
            f"{repo} is not a git work tree ({e})", fix="give --repo PATH of a repository"
        ) from e
    common = Path(git(["rev-parse", "--path-format=absolute", "--git-common-dir"], top).strip())
    own = (common / "hooks").resolve()
    configured = (try_git(["config", "--get", "core.hooksPath"], top) or "").strip()
    if configured:
        where = Path(os.path.expanduser(configured))
        where = (where if where.is_absolute() else Path(top) / where).resolve()
        if where != own:
            q = shlex.quote(top)
            raise HooksError(
                f"core.hooksPath is {configured!r}: git runs this repository's hooks from {where},"
                f" not from {own}",
                fix=f"if another tool manages the hooks there, add burn's through it (pre-commit:"
                f" see the README); else `git -C {q} config --unset core.hooksPath` and run"
                f" `burn hooks install --repo {q}` again",
            )
    return own, top


def install(repo: Path) -> dict[str, Any]:
    """Install both hooks; a second install changes nothing. Returns what was done."""
    where, top = hooks_dir(repo)
    where.mkdir(parents=True, exist_ok=True)
    burn = burn_executable()
    done: dict[str, str] = {}
    for name in HOOKS:
        target, kept = where / name, where / (name + CHAINED)
        text = installed_text(name, burn)
        current = _read(target)
        if current == text:
            done[name] = "already installed"
            continue
        if current is not None and MARK not in current:
            if kept.exists():
                raise HooksError(
                    f"{target} is not burn's, and {kept.name} (a hook burn kept earlier) is there too",
                    fix="merge or remove one of them by hand, then install again",
                )
            os.replace(target, kept)
            done[name] = f"installed; the existing hook runs first from {kept.name}"
        else:
            done[name] = "updated" if current is not None else "installed"
        tmp = target.with_name(f".{name}.burn-tmp")
        tmp.write_text(text)
        tmp.chmod(0o755)
        os.replace(tmp, target)
    refs = (try_git(["config", "--get-all", "notes.rewriteRef"], top) or "").split()
    if NOTES_REF not in refs:
        git(["config", "--add", "notes.rewriteRef", NOTES_REF], top)
    return {"repo": top, "hooks_dir": str(where), "burn": burn, "hooks": done, "notes_rewrite_ref": NOTES_REF}


def uninstall(repo: Path) -> dict[str, Any]:
    """Remove burn's hooks and put back the hooks they replaced. Notes stay."""
    where, top = hooks_dir(repo)
    done: dict[str, str] = {}
    for name in HOOKS:
        target, kept = where / name, where / (name + CHAINED)
        current = _read(target)
        if current is None or MARK not in current:
            done[name] = "not installed"
            continue
        target.unlink()
        if kept.exists():
            os.replace(kept, target)
            done[name] = "removed; the earlier hook is back"
        else:
            done[name] = "removed"
    refs = (try_git(["config", "--get-all", "notes.rewriteRef"], top) or "").split()
    if NOTES_REF in refs:
        git(["config", "--fixed-value", "--unset", "notes.rewriteRef", NOTES_REF], top)
    return {"repo": top, "hooks_dir": str(where), "hooks": done}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return None
