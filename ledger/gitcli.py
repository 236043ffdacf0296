"""The git CLI on a user's repository: what the hooks and commit queries need from it.

The hooks run where git runs, so git is there; one `git` process costs ~2 ms, far less
than opening the repository with dulwich. The environment is passed through unchanged:
inside a hook, git's own variables (GIT_DIR, GIT_INDEX_FILE, ...) name the right repository.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

from burn.store.errors import BurnError

from .hookrepo import NOTES_REF as NOTES_REF


class GitError(BurnError):
    """A git command that failed (not a repository, an unknown revision, ...)."""


def git(args: Sequence[str], cwd: str | os.PathLike[str] | None = None, input: str | None = None) -> str:
    """stdout of `git ARGS` (text, trailing newline kept); GitError with git's message."""
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, input=input, capture_output=True, text=True, errors="replace"
        )
    except FileNotFoundError as e:
        raise GitError("git is not installed", fix="install git") from e
    if proc.returncode != 0:
        what = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise GitError(f"git {' '.join(args[:2])}: {what}")
    return proc.stdout


def try_git(args: Sequence[str], cwd: str | os.PathLike[str] | None = None) -> str | None:
    try:
        return git(args, cwd)
    except GitError:
        return None


def toplevel(cwd: str | os.PathLike[str] | None = None) -> str:
    """The work tree's top directory, resolved (the repo's identity in attributions)."""
    return os.path.realpath(git(["rev-parse", "--show-toplevel"], cwd).strip())
