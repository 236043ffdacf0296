"""The small set of git operations burn needs, on a bare repository, via dulwich.

Writers hold burn's home lock and then compare-and-swap the ref, retrying on a lost
race: an unconditional ref write loses records under concurrency.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from .errors import BurnError

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

    from dulwich.repo import Repo

ZERO = b"0" * 40
CAS_ATTEMPTS = 50


def open_repo(path: Path, create: bool = True) -> Repo:
    """Open the bare repository at `path`, creating it when asked."""
    from dulwich.repo import Repo

    if not (path / "objects").is_dir():
        if not create:
            raise BurnError("no ledger repository here", path=path, fix="run a burn command that writes")
        init_repo(path)
    return Repo(str(path))


# What `dulwich.repo.Repo.init_bare` writes (a bare repository git reads as its own)
_INIT_DIRS = ("branches", "hooks", "info", "refs/heads", "refs/tags")
_INIT_FILES = {
    "HEAD": b"ref: refs/heads/master\n",
    "config": b"[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
    b"\tlogallrefupdates = true\n",
    "description": b"Unnamed repository",
    "info/exclude": b"",
}


def init_repo(path: Path) -> None:
    """Create the bare repository at `path` unless it exists, without importing dulwich
    (a cold `burn ingest` creates it: the import cost a sixth of its recording phase).

    `objects/` is what says a repository is there, so it comes last, renamed into place
    whole; everything before it is written so that two processes making the repository
    at once (or one finishing what a killed one began) write the same thing harmlessly.
    """
    if (path / "objects").is_dir():
        return
    for folder in _INIT_DIRS:
        (path / folder).mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    for name, content in _INIT_FILES.items():
        target = path / name
        if not target.exists():
            tmp = target.with_name(f"{target.name}.init-{pid}")
            tmp.write_bytes(content)
            os.replace(tmp, target)
    objects = path / f"objects.init-{pid}"
    for folder in ("", "info", "pack"):
        (objects / folder).mkdir(exist_ok=True)
    try:
        os.rename(objects, path / "objects")
    except OSError:  # another process made it first
        if not (path / "objects").is_dir():
            raise
        import shutil

        shutil.rmtree(objects, ignore_errors=True)


def read_ref(repo_path: Path, ref: str) -> bytes | None:
    """The sha a ref points at, read straight from the files (no dulwich import)."""
    try:
        return (repo_path / ref).read_bytes().strip() or None
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        pass
    return packed_refs(repo_path).get(ref)


def packed_refs(repo_path: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    try:
        text = (repo_path / "packed-refs").read_bytes()
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        if not line or line[:1] in (b"#", b"^"):
            continue
        sha, _, name = line.partition(b" ")
        out[name.decode()] = sha
    return out


def list_refs(repo_path: Path, prefix: str) -> dict[str, bytes]:
    """All refs under `prefix` (e.g. 'refs/burn/records/'), loose over packed."""
    out = {k: v for k, v in packed_refs(repo_path).items() if k.startswith(prefix)}
    base = repo_path / prefix
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return out
    for e in entries:
        if e.is_file() and not e.name.endswith(".lock"):
            sha = Path(e.path).read_bytes().strip()
            if len(sha) == 40:
                out[prefix + e.name] = sha
    return out


def cas_update(repo_path: Path, ref: str, build: Callable[[bytes | None], bytes | None]) -> bytes | None:
    """Move `ref` from its current tip to `build(tip)`, retrying if another writer won.

    `build` receives the current tip (None when the ref does not exist) and returns the
    new sha, or None to leave the ref alone. The ref is written the way git and dulwich
    write one (`<ref>.lock` created exclusively, checked, synced, renamed over the ref), so
    all three can share the repository. The caller holds burn's home lock, so a leftover
    `<ref>.lock` is from a writer that was killed and is removed.
    """
    lock = repo_path / (ref + ".lock")
    for attempt in range(CAS_ATTEMPTS):
        old = read_ref(repo_path, ref)
        new = build(old)
        if new is None:
            return old
        if _set_if_equals(repo_path, ref, lock, old, new):
            return new
        time.sleep(0.001 * (attempt + 1))
    raise BurnError(f"could not update {ref} after {CAS_ATTEMPTS} attempts", fix="retry")


def _set_if_equals(repo_path: Path, ref: str, lock: Path, old: bytes | None, new: bytes) -> bool:
    lock.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        _remove_stale_lock(lock)
        return False
    try:
        with open(fd, "wb") as f:
            if read_ref(repo_path, ref) != old:  # moved since `build` saw it
                raise _Moved
            f.write(new + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(lock, repo_path / ref)
        return True
    except _Moved:
        _remove_stale_lock(lock)
        return False
    except BaseException:
        _remove_stale_lock(lock)
        raise


class _Moved(Exception):
    pass


def _remove_stale_lock(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def write_loose(repo_path: Path, kind: bytes, raw: bytes) -> bytes:
    """Store one object as a loose file, unless it is there already; return its sha.

    By hand rather than through dulwich: a launch writes one record, and importing and
    opening dulwich for it cost more than the rest of the append. The file is synced
    before it is renamed into place, so a ref moved after this never points at an object
    that is not on disk. (An object already packed may get a loose copy: git allows it.)
    """
    import zlib

    sha = object_id(kind, raw)
    name = sha.decode()
    folder = repo_path / "objects" / name[:2]
    path = folder / name[2:]
    if path.exists():
        return sha
    folder.mkdir(exist_ok=True)
    tmp = folder / f"tmp_obj_{os.getpid()}_{name[2:10]}"
    tmp.unlink(missing_ok=True)  # (left read-only by a killed writer)
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444), "wb") as f:
        f.write(zlib.compress(b"%s %d\0%s" % (kind, len(raw), raw), 1))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return sha


def tree_bytes(entries: list[tuple[bytes, bytes]]) -> bytes:
    """The raw text of a tree of blobs, `(name, hex sha)` sorted by name (files only)."""
    return b"".join(b"100644 " + name + b"\0" + bytes.fromhex(sha.decode()) for name, sha in sorted(entries))


def add_object(repo: Repo, obj: Any) -> None:
    """Write a loose object. The caller holds burn's home lock, so an `<object>.lock` left
    by a killed writer is stale and removed (dulwich would refuse the write forever)."""
    from dulwich.file import FileLocked

    try:
        repo.object_store.add_object(obj)
    except FileLocked:
        sha = obj.id.decode()
        _remove_stale_lock(Path(repo.object_store.path) / sha[:2] / (sha[2:] + ".lock"))
        repo.object_store.add_object(obj)


Commit = tuple[str, int, bytes]  # (sha, author time, message)


def walk_first_parent(repo_path: Path, tip: str, stop: str | None) -> list[Commit] | None:
    """Commits after `stop` up to `tip` on the first-parent chain, oldest first.

    None when `stop` is not on that chain (history was rewritten). The git CLI reads a
    chain of 100k commits several times faster than object-by-object lookups, so it is
    used when present (`BURN_GIT=dulwich` forces the pure-Python walker).
    """
    import shutil

    if os.environ.get("BURN_GIT") != "dulwich" and shutil.which("git"):
        return _walk_git(repo_path, tip, stop)
    return _walk_dulwich(repo_path, tip, stop)


def _walk_git(repo_path: Path, tip: str, stop: str | None) -> list[Commit] | None:
    import subprocess

    args = ["git", "--git-dir", str(repo_path), "log", "--first-parent", "-z"]
    args += ["--format=%H%x00%P%x00%at%x00%B", tip]
    if stop:
        args.append("^" + stop)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    proc = subprocess.run(args, capture_output=True, env=env)
    if proc.returncode != 0:
        return None
    fields = proc.stdout.split(b"\0")
    out: list[Commit] = []
    first_parent = b""
    for i in range(0, len(fields) - 3, 4):
        sha, parents, when, message = fields[i : i + 4]
        out.append((sha.decode(), int(when), message))
        first_parent = parents[:40]
    if stop is not None and out and first_parent.decode() != stop:
        return None
    out.reverse()
    return out


def _walk_dulwich(repo_path: Path, tip: str, stop: str | None) -> list[Commit] | None:
    store: Any = open_repo(repo_path, create=False).object_store
    out: list[Commit] = []
    sha: str | None = tip
    while sha and sha != stop:
        _type, raw = store.get_raw(sha.encode())
        headers, _, message = raw.partition(b"\n\n")
        parent = None
        when = 0
        for line in headers.split(b"\n"):
            if line.startswith(b"parent ") and parent is None:
                parent = line[7:47].decode()
            elif line.startswith(b"author "):
                when = int(line.rsplit(b" ", 2)[-2])
        out.append((sha, when, message))
        sha = parent
    if stop is not None and sha != stop:
        return None
    out.reverse()
    return out


def commit_bytes(
    tree: bytes, parents: list[bytes], message: bytes, who: bytes, author_time: int, commit_time: int
) -> bytes:
    """A commit object's raw text, byte for byte what dulwich writes for `make_commit`."""
    head = b"tree " + tree + b"\n" + b"".join(b"parent " + p + b"\n" for p in parents)
    author = b"%s %d +0000\n" % (who, author_time)
    committer = b"%s %d +0000\n" % (who, commit_time)
    return head + b"author " + author + b"committer " + committer + b"encoding UTF-8\n\n" + message


def object_id(kind: bytes, raw: bytes, sha1: Callable[[bytes], Any] | None = None) -> bytes:
    """The hex sha of a git object of `kind` (b"commit", b"tree", ...). `sha1`: hashlib's,
    for many objects (OpenSSL's is 4x faster per record, but a tenth of a launch to import)."""
    if sha1 is None:
        try:  # CPython's own SHA-1
            from _sha1 import sha1 as small
        except ImportError:  # pragma: no cover - a build without it
            from hashlib import sha1 as small
        sha1 = small
    return sha1(b"%s %d\0%s" % (kind, len(raw), raw)).hexdigest().encode()


PACK_TYPES = {b"commit": 1, b"tree": 2, b"blob": 3}


def write_pack(repo_path: Path, objects: list[tuple[bytes, bytes, bytes]]) -> None:
    """Store `(sha, kind, raw)` objects as one pack (v2, no deltas) with its v2 index.

    Many objects at once: one file instead of one per object (creating thousands of small
    files is most of the cost of appending a big batch). The pack and its index are synced
    before they are renamed into place, index last (git and dulwich find a pack by its
    index), so a ref moved after this never points at objects that are not on disk.
    """
    import hashlib
    import struct
    import zlib

    pack_dir = repo_path / "objects" / "pack"
    pack_dir.mkdir(parents=True, exist_ok=True)
    out = bytearray(b"PACK" + struct.pack(">II", 2, len(objects)))
    entries = []
    for sha, kind, raw in objects:
        offset = len(out)
        size = len(raw)
        byte = (PACK_TYPES[kind] << 4) | (size & 0x0F)
        size >>= 4
        header = bytearray()
        while size:
            header.append(byte | 0x80)
            byte, size = size & 0x7F, size >> 7
        header.append(byte)
        # level 1, in one call: a record is a few KB, and a compressor object costs about
        # as much again as compressing one (measured: 1,440 records, 34 ms against 60)
        data = bytes(header) + zlib.compress(raw, 1)
        out += data
        entries.append((bytes.fromhex(sha.decode()), zlib.crc32(data), offset))
    checksum = hashlib.sha1(out).digest()
    out += checksum
    entries.sort()
    fanout = [0] * 256
    for name, _crc, _off in entries:
        fanout[name[0]] += 1
    total = 0
    for i in range(256):
        total += fanout[i]
        fanout[i] = total
    small: list[int] = []
    large: list[int] = []
    for _name, _crc, off in entries:
        if off < 0x80000000:
            small.append(off)
        else:
            small.append(0x80000000 | len(large))
            large.append(off)
    idx = bytearray(b"\377tOc" + struct.pack(">I", 2) + struct.pack(">256I", *fanout))
    idx += b"".join(name for name, _c, _o in entries)
    idx += struct.pack(f">{len(entries)}I", *(crc for _n, crc, _o in entries))
    idx += struct.pack(f">{len(small)}I", *small) + struct.pack(f">{len(large)}Q", *large)
    idx += checksum
    idx += hashlib.sha1(idx).digest()
    base = pack_dir / f"pack-{checksum.hex()}"
    for suffix, content in ((".pack", out), (".idx", idx)):
        tmp = pack_dir / f"tmp-{os.getpid()}-{checksum.hex()}{suffix}"
        with open(tmp, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, str(base) + suffix)


def make_commit(
    repo: Repo,
    tree: bytes,
    parents: list[bytes],
    message: bytes,
    who: bytes,
    author_time: int | None = None,
    commit_time: int | None = None,
) -> bytes:
    from dulwich.objects import Commit

    now = int(time.time())
    c = Commit()
    c.tree = tree
    c.parents = parents  # type: ignore[assignment]
    c.author = c.committer = who
    c.author_time = author_time if author_time is not None else now
    c.commit_time = commit_time if commit_time is not None else now
    c.author_timezone = c.commit_timezone = 0
    c.encoding = b"UTF-8"
    c.message = message
    add_object(repo, c)
    return c.id
