"""The user's repository as a git hook sees it, read from its files instead of asking git.

A hook runs on every commit and each `git` child costs 2-5 ms, so what the hooks need —
the work tree, the git dir, the sequencer state, HEAD's commit time — is read here from
`.git` directly. Git runs a hook from the top of the work tree and, in a linked work tree,
sets GIT_DIR; anything this module does not understand (a packed HEAD commit, a reftable,
objects elsewhere, a hook run by hand from a subdirectory) returns None, and the caller
asks git instead. Only `os` and `zlib`: importing this costs nothing.
"""

from __future__ import annotations

import os
import zlib

TYPE_CHECKING = False  # (typing and collections.abc cost a hook 5-10 ms of imports)
if TYPE_CHECKING:
    from collections.abc import Mapping

NOTES_REF = "refs/notes/burn"
# the sequencer replays commits that already carry their attribution (and their note)
SEQUENCER = ("rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD")


def hook_git_dir(env: Mapping[str, str], cwd: str | None = None) -> tuple[str, str] | None:
    """(work tree top, resolved; git dir) when this process runs as a hook of a commit in
    the work tree `cwd`, else None (then `git rev-parse` knows)."""
    here = cwd or "."
    git_dir = env.get("GIT_DIR")
    if git_dir:
        if not env.get("GIT_INDEX_FILE"):
            return None  # GIT_DIR set by hand, not by git for a hook: cwd may be anywhere
    else:
        dot_git = os.path.join(here, ".git")
        if os.path.isdir(dot_git):
            git_dir = dot_git
        else:
            git_dir = _gitfile(dot_git)
            if git_dir is None:
                return None
    git_dir = os.path.join(here, git_dir)
    if not os.path.isfile(os.path.join(git_dir, "HEAD")):
        return None
    return os.path.realpath(here), git_dir


def _gitfile(path: str) -> str | None:
    """The git dir a `.git` file points at (linked work trees, submodules)."""
    try:
        with open(path) as f:
            line = f.readline().strip()
    except OSError:
        return None
    if not line.startswith("gitdir: "):
        return None
    return os.path.join(os.path.dirname(path), line[len("gitdir: ") :])


def in_sequencer(git_dir: str) -> bool:
    """A rebase, cherry-pick or revert is replaying commits (all per work tree)."""
    return any(os.path.exists(os.path.join(git_dir, name)) for name in SEQUENCER)


class Unknown(Exception):
    """The files do not say (packed object, reftable, ...): ask git."""


def head_time(git_dir: str, env: Mapping[str, str]) -> int | None:
    """The committer time of HEAD (epoch s), None on an unborn branch; Unknown when the
    answer is not in loose files."""
    if env.get("GIT_OBJECT_DIRECTORY") or env.get("GIT_COMMON_DIR"):
        raise Unknown("objects or refs relocated by the environment")
    common = git_dir
    try:
        with open(os.path.join(git_dir, "commondir")) as f:
            common = os.path.join(git_dir, f.read().strip())
    except FileNotFoundError:
        pass
    sha = _resolve(git_dir, common)
    if sha is None:
        raise Unknown("HEAD is not in loose or packed refs")  # unborn, or a reftable
    try:
        with open(os.path.join(common, "objects", sha[:2], sha[2:]), "rb") as f:
            raw = zlib.decompress(f.read())
    except (FileNotFoundError, zlib.error) as e:
        raise Unknown("HEAD's commit is packed") from e
    header, _, body = raw.partition(b"\0")
    if not header.startswith(b"commit "):
        raise Unknown("HEAD is not a commit")
    for line in body.split(b"\n\n", 1)[0].split(b"\n"):
        if line.startswith(b"committer "):
            return int(line.rsplit(b" ", 2)[1])
    raise Unknown("HEAD's commit has no committer")


def _resolve(git_dir: str, common: str) -> str | None:
    """HEAD's commit id: HEAD itself (detached) or the branch it names, loose or packed."""
    with open(os.path.join(git_dir, "HEAD")) as f:
        head = f.read().strip()
    if not head.startswith("ref: "):
        return head if _is_sha(head) else None
    ref = head[5:]
    if not ref.startswith("refs/heads/"):
        return None  # (a per-work-tree ref, or a symref to a symref: git knows)
    try:
        with open(os.path.join(common, ref)) as f:
            sha = f.read().strip()
        return sha if _is_sha(sha) else None
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    try:
        with open(os.path.join(common, "packed-refs")) as f:
            for line in f:
                sha, _, name = line.rstrip("\n").partition(" ")
                if name == ref and _is_sha(sha):
                    return sha
    except FileNotFoundError:
        pass
    return None


def _is_sha(text: str) -> bool:
    return len(text) in (40, 64) and all(c in "0123456789abcdef" for c in text)
