"""Append a commit to a ref of a bare repository without importing dulwich.

For hot paths (the post-commit hook): importing and opening dulwich costs ~50 ms, while a
loose object is zlib + sha1 + a rename, and a ref update is git's lock-file protocol.
Commits are serialised exactly as `gitrepo.make_commit` does with dulwich (a test holds
the two byte-identical), and the caller holds burn's home lock, as for every writer.
"""

from __future__ import annotations

import hashlib
import os
import zlib

from .errors import BurnError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"
_EMPTY_TREE_OBJECT = b"tree 0\x00"


def commit_bytes(tree: str, parents: list[str], who: bytes, author_time: int, commit_time: int,
                 message: bytes) -> bytes:  # fmt: skip
    """A commit object's body as dulwich's Commit (UTC, `encoding UTF-8`) serialises it."""
    lines = [b"tree " + tree.encode()]
    lines += [b"parent " + p.encode() for p in parents]
    lines.append(b"author %s %d +0000" % (who, author_time))
    lines.append(b"committer %s %d +0000" % (who, commit_time))
    lines.append(b"encoding UTF-8")
    return b"\n".join(lines) + b"\n\n" + message


def write_object(repo: str, kind: bytes, body: bytes) -> str:
    """Store a loose object (once: an existing one is left alone); return its hex id."""
    raw = kind + b" %d\x00" % len(body) + body
    sha = hashlib.sha1(raw).hexdigest()
    path = os.path.join(repo, "objects", sha[:2], sha[2:])
    if os.path.exists(path):
        return sha
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(zlib.compress(raw))
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)
    return sha


def read_ref(repo: str, ref: str) -> str | None:
    try:
        with open(os.path.join(repo, ref), "rb") as f:
            return f.read().strip().decode() or None
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    try:
        with open(os.path.join(repo, "packed-refs"), "rb") as f:
            for line in f:
                sha, _, name = line.strip().partition(b" ")
                if name.decode() == ref:
                    return sha.decode()
    except FileNotFoundError:
        pass
    return None


def append_commit(
    repo: str, ref: str, message: bytes, who: bytes, when: int, now: int, tree: str = EMPTY_TREE
) -> str:
    """Commit `message` (author time `when`, commit time `now`) on top of `ref` (a new
    chain when it does not exist) and move the ref with git's lock-file compare-and-swap.
    Returns the new commit's id."""
    if tree == EMPTY_TREE:
        write_object(repo, b"tree", b"")
    path = os.path.join(repo, ref)
    lock = path + ".lock"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    for _attempt in range(50):
        old = read_ref(repo, ref)
        sha = write_object(repo, b"commit", commit_bytes(tree, [old] if old else [], who, when, now, message))
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:  # under the home lock, a `.lock` is a killed writer's
            try:
                os.unlink(lock)
            except FileNotFoundError:
                pass
            continue
        try:
            if read_ref(repo, ref) != old:  # another writer won: build on its tip
                os.close(fd)
                os.unlink(lock)
                continue
            os.write(fd, sha.encode() + b"\n")
            os.fsync(fd)
            os.close(fd)
            os.replace(lock, path)
            return sha
        except BaseException:
            try:
                os.close(fd)
            except OSError:
                pass
            try:
                os.unlink(lock)
            except FileNotFoundError:
                pass
            raise
    raise BurnError(f"could not update {ref}", fix="retry")
