"""The content-addressed spec store: each version written once, re-verified on read.

Two backends share one contract (tests/test_objects.py runs it on both):
`MemorySpecStore`, the reference, and `GitSpecStore`, which keeps specs as blobs in the
ledger repository under `refs/burn/personas`, whose tree maps `<name>/<short>.json`,
`by-version/<b3 hex>` and `by-sha256/<sha256 hex>` to the same blob, so the store's
history is `git log refs/burn/personas`.
"""

from __future__ import annotations

import contextlib
import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, NamedTuple

from .canonical import Version, canonical_bytes, parse_version_ref
from .errors import AmbiguousVersion, ObjectCorrupt, UsageError, VersionNotFound

PERSONAS_REF = "refs/burn/personas"


class StoredVersion(NamedTuple):
    """One version as the store knows it."""

    version: Version
    name: str
    source: str
    stored_at: int  # unix seconds of the first put


class SpecStore(ABC):
    """put/get/resolve over canonical spec bytes."""

    def put(self, spec: dict[str, Any], source: str = "user") -> tuple[Version, bool]:
        """Store a spec; return its version and whether it was new. A re-put is a no-op."""
        data = canonical_bytes(spec)
        version = Version.of_bytes(data)
        name = str(spec.get("name", ""))
        return version, self._put(version, name, source, data)

    def get(self, ref: Version | str, name: str | None = None) -> dict[str, Any]:
        """The spec of a version, re-verified against its id."""
        version = ref if isinstance(ref, Version) else self.resolve(ref, name)
        data = self._get_bytes(version)
        if data is None:
            raise VersionNotFound(f"version {version.id} is not in the store")
        got = Version.of_bytes(data)
        if got != version:
            raise ObjectCorrupt(
                f"spec object {version.id} now hashes to {got.id}",
                fix="restore the ledger from a remote with `burn sync pull`, then `burn fsck`",
            )
        spec: dict[str, Any] = json.loads(data)
        return spec

    def resolve(self, ref: str, name: str | None = None) -> Version:
        """A unique stored version from a b3 or sha256 prefix, optionally within one name."""
        try:
            algo, prefix = parse_version_ref(ref)
        except ValueError as e:
            raise UsageError(str(e)) from e
        hits = {
            sv.version
            for sv in self.versions()
            if (name is None or sv.name == name)
            and (
                (algo in ("b3", "any") and sv.version.b3.startswith(prefix))
                or (algo in ("sha256", "any") and sv.version.sha256.startswith(prefix))
            )
        }
        if not hits:
            where = f" of {name!r}" if name else ""
            raise VersionNotFound(
                f"no stored version{where} matches {ref!r}",
                fix=f"see `burn persona log {name}`" if name else "see `burn persona list`",
            )
        if len(hits) > 1:
            raise AmbiguousVersion(ref, sorted(v.id for v in hits))
        return hits.pop()

    def history(self, name: str | None = None) -> list[StoredVersion]:
        """Versions in the order they were first stored, optionally of one name."""
        return [sv for sv in self.versions() if name is None or sv.name == name]

    @abstractmethod
    def versions(self) -> list[StoredVersion]:
        """Every stored version, oldest first."""

    @abstractmethod
    def _put(self, version: Version, name: str, source: str, data: bytes) -> bool: ...

    @abstractmethod
    def _get_bytes(self, version: Version) -> bytes | None: ...


class MemorySpecStore(SpecStore):
    """The reference backend: a dict. For tests and for SDK users with no ledger."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        self._log: list[StoredVersion] = []

    def _put(self, version: Version, name: str, source: str, data: bytes) -> bool:
        if version.b3 in self._data:
            return False
        self._data[version.b3] = data
        self._log.append(StoredVersion(version, name, source, int(time.time())))
        return True

    def _get_bytes(self, version: Version) -> bytes | None:
        return self._data.get(version.b3)

    def versions(self) -> list[StoredVersion]:
        return list(self._log)


class GitSpecStore(SpecStore):
    """Specs as blobs in a bare git repository, history on `refs/burn/personas`."""

    def __init__(
        self,
        repo_path: Path,
        lock: Callable[[], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.repo_path = repo_path
        self._lock = lock or contextlib.nullcontext
        self._repo: Any = None
        self._versions: list[StoredVersion] | None = None
        self._versions_tip: bytes | None = None

    @property
    def repo(self) -> Any:
        if self._repo is None:
            from .gitrepo import open_repo

            self._repo = open_repo(self.repo_path)
        return self._repo

    def tip(self) -> bytes | None:
        from .gitrepo import read_ref

        return read_ref(self.repo_path, PERSONAS_REF)

    def blob_id(self, version: Version) -> bytes | None:
        """The git blob holding a version, or None when it is not stored."""
        tip = self.tip()
        if tip is None:
            return None
        return self._lookup(self.repo[tip].tree, b"by-version", version.b3.encode())

    def _lookup(self, tree_id: bytes, *path: bytes) -> bytes | None:
        for part in path:
            tree = self.repo[tree_id]
            try:
                _mode, tree_id = tree[part]
            except KeyError:
                return None
        return tree_id

    def _get_bytes(self, version: Version) -> bytes | None:
        blob = self.blob_id(version)
        if blob is None:
            return None
        data: bytes = self.repo[blob].as_raw_string()
        return data

    def _put(self, version: Version, name: str, source: str, data: bytes) -> bool:
        from dulwich.objects import Blob

        from .gitrepo import add_object, cas_update, make_commit

        created = False
        with self._lock():
            blob = Blob.from_string(data)

            def build(tip: bytes | None) -> bytes | None:
                nonlocal created
                root = self.repo[tip].tree if tip else None
                if root and self._lookup(root, b"by-version", version.b3.encode()):
                    created = False
                    return None
                add_object(self.repo, blob)
                entries = {
                    (b"by-version", version.b3.encode()),
                    (b"by-sha256", version.sha256.encode()),
                    (name.encode() or b"_", f"{version.short}.json".encode()),
                }
                new_root = self._with_entries(root, entries, blob.id)
                message = (
                    f"persona {name}@{version.short} ({source})\n\n"
                    f"Burn-Persona: {name}\nBurn-Version: {version.id}\n"
                    f"Burn-Sha256: {version.sha256}\nBurn-Source: {source}\n"
                ).encode()
                who = b"burn <burn@localhost>"
                created = True
                return make_commit(self.repo, new_root, [tip] if tip else [], message, who)

            cas_update(self.repo_path, PERSONAS_REF, build)
        return created

    def _with_entries(self, root: bytes | None, entries: set[tuple[bytes, bytes]], blob: Any) -> bytes:
        from dulwich.objects import Tree

        from .gitrepo import add_object

        top = Tree() if root is None else self.repo[root].copy()
        for folder, leaf in sorted(entries):
            sub = Tree()
            if folder in top:
                sub = self.repo[top[folder][1]].copy()
            sub.add(leaf, 0o100644, blob)
            add_object(self.repo, sub)
            top.add(folder, 0o040000, sub.id)
        add_object(self.repo, top)
        tree_id: bytes = top.id
        return tree_id

    def versions(self) -> list[StoredVersion]:
        tip = self.tip()
        if tip is None:
            return []
        if self._versions is not None and self._versions_tip == tip:
            return list(self._versions)
        out = list(self._walk(tip))
        out.reverse()
        self._versions, self._versions_tip = out, tip
        return list(out)

    def _walk(self, tip: bytes) -> Iterator[StoredVersion]:
        sha: bytes | None = tip
        while sha:
            commit = self.repo[sha]
            trailers = parse_trailers(commit.message.decode("utf-8", "replace"))
            if "Burn-Version" in trailers:
                yield StoredVersion(
                    Version(trailers["Burn-Version"].removeprefix("b3:"), trailers["Burn-Sha256"]),
                    trailers.get("Burn-Persona", ""),
                    trailers.get("Burn-Source", ""),
                    commit.commit_time,
                )
            sha = commit.parents[0] if commit.parents else None


def parse_trailers(message: str) -> dict[str, str]:
    """`Key: value` lines of the last paragraph of a commit message."""
    last = message.rstrip("\n").rsplit("\n\n", 1)[-1]
    out: dict[str, str] = {}
    for line in last.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key and " " not in key:
            out[key] = value.strip()
    return out
