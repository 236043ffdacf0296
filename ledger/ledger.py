"""The ledger: append records to this host's commit chain; read them through the index.

from burn.ledger import Ledger
ledger = Ledger.open()            # $BURN_HOME or the platform data dir
rec = ledger.record("reviewer", model="claude-sonnet-4-5", input_tokens=1200, ...)
"""

from __future__ import annotations

import time
from functools import cached_property
from pathlib import Path

from burn.store.errors import BurnError

from .attribution_queue import queued
from .home import Home
from .index import RECORDS_PREFIX, Index
from .record import RecordError, commit_message, iso_to_epoch, make_body, public, utc_iso

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:  # (imported where used: `burn ingest` with nothing new needs neither)
    from typing import Any

    from burn.store.objects import GitSpecStore

    from .query import Query

PACK_BATCH = 64  # records in one append above which they are written as one pack


class Ledger:
    def __init__(self, home: Home) -> None:
        self.home = home
        self._trees: dict[str | None, bytes] = {}
        self._blobs: dict[str, bytes] = {}  # version -> blob of a spec known to be stored

    @classmethod
    def open(cls, root: Path | None = None) -> Ledger:
        return cls(Home(root) if root is not None else Home.default())

    @cached_property
    def specs(self) -> GitSpecStore:
        """The persona object store, in the same repository, under the same lock."""
        from burn.store.objects import GitSpecStore

        return GitSpecStore(self.home.repo_path, lock=self.home.lock)

    @cached_property
    def index(self) -> Index:
        """The derived index; first, the attribution records the git hooks queued are
        appended (attribution_queue: normally a background writer has done it already)."""
        index = self.__dict__["index"] = Index(self.home.index_path, self.home.repo_path)
        if queued(self.home.root):  # (cached above: the appends go into this index)
            from .attribution_queue import complete

            complete(self)
        return index

    @cached_property
    def host(self) -> str:
        return self.home.host_id()

    def close(self) -> None:
        """Close the index connection if this ledger opened one (it reopens on next use)."""
        if "index" in self.__dict__:
            self.index.close()

    @property
    def record_ref(self) -> str:
        return RECORDS_PREFIX + self.host

    @property
    def repo(self) -> Any:
        return self.specs.repo

    # -- writing -----------------------------------------------------------------------

    def append(self, body: dict[str, Any], spec: dict[str, Any] | None = None) -> dict[str, Any]:
        """Append one checked record body; return the record as `burn show` prints it.

        The persona spec of `body["version"]` must be in the store, or be given as `spec`
        (then it is stored first): specs travel with the records that used them.
        """
        version = body.get("version")
        if spec is not None:
            stored, _ = self.specs.put(spec, source=body.get("source", "user"))
            if version is not None and stored.id != version:
                raise RecordError(f"spec hashes to {stored.id}, not {version}", field="version")
            body = {**body, "version": stored.id}
        return self.append_many([body])[0]

    def append_many(self, bodies: list[dict[str, Any]], *, returning: bool = True) -> list[dict[str, Any]]:
        """Append several records as one chain with one ref update: all land, or none.
        Return them as `burn show` prints them (nothing with `returning=False`).

        A big batch (an ingest) is written as one pack instead of a loose object per
        record, and, when this process has the index open, goes into it directly instead
        of being read back from the commits by the next catch-up.
        """
        from burn.store.gitrepo import cas_update, commit_bytes, init_repo, object_id, write_loose, write_pack

        if not bodies:
            return []
        who = f"burn <{self.host}@burn>".encode()
        packed = len(bodies) >= PACK_BATCH
        prepared = [(commit_message(b, packed), iso_to_epoch(b["started_at"])) for b in bodies]
        sha1: Any = None
        if packed:
            import hashlib  # (write_pack imports it anyway)

            sha1 = hashlib.sha1
        chain: list[tuple[str, int, bytes]] = []
        old_tip: list[bytes | None] = []
        repo_path = self.home.repo_path
        with self.home.lock():
            init_repo(repo_path)
            trees = [self._persona_tree(b.get("version")) for b in bodies]

            def build(tip: bytes | None) -> bytes | None:
                chain.clear()
                old_tip[:] = [tip]
                staged[:] = []
                parent = tip
                now = int(time.time())
                objects = []
                for (message, when), tree in zip(prepared, trees, strict=True):
                    raw = commit_bytes(tree, [parent] if parent else [], message, who, when, now)
                    if packed:
                        parent = object_id(b"commit", raw, sha1)
                        objects.append((parent, b"commit", raw))
                    else:
                        parent = write_loose(repo_path, b"commit", raw)
                    chain.append((parent.decode(), when, message))
                if objects:  # the pack is written by a child while the index rows go in here
                    from .index import record_rows
                    from .parallel import in_background

                    written = in_background(lambda: write_pack(repo_path, objects))
                    try:
                        if indexed:
                            self.index.drop_appended()  # (staged by an attempt that lost the ref)
                            old = tip.decode() if tip else None
                            staged[:] = [
                                self.index.stage_appended(
                                    self.record_ref, old, record_rows(self.record_ref, chain, bodies)
                                )
                            ]
                    except Exception:  # (never stops the append: indexed once it landed,
                        pass  # where an error is the index's, as it always was)
                    finally:
                        written()  # (on disk before the ref can point at it)
                return parent

            indexed = "index" in self.__dict__  # (open here: the records go in directly)
            staged: list[bool] = []
            try:
                cas_update(repo_path, self.record_ref, build)
            except BaseException:
                if indexed:
                    self.index.drop_appended()
                raise
        if indexed:
            if staged and staged[0]:
                self.index.commit_appended(self.record_ref, chain[-1][0])
            else:
                old = old_tip[0].decode() if old_tip and old_tip[0] else None
                self.index.add_appended(self.record_ref, old, chain, bodies)
        if not returning:
            return []
        return [public(b, sha) for b, (sha, _w, _m) in zip(bodies, chain, strict=True)]

    def know_spec(self, spec: dict[str, Any], version: str | None = None) -> str:
        """Note that `spec` is in the persona store; return its version. Its records' tree
        is then made without reading the store (a launch appends one record: opening the
        store for it would cost more than the rest of the append). With the `version` a
        record names, whose blob `note_blob` already gave: nothing to hash."""
        if version is not None and version in self._blobs:
            return version
        from burn.store.canonical import Version, canonical_bytes
        from burn.store.gitrepo import object_id

        data = canonical_bytes(spec)
        version = Version.of_bytes(data).id
        self._blobs[version] = object_id(b"blob", data)
        return version

    def note_blob(self, version: str, blob: str) -> None:
        """The git blob id of `version`'s canonical spec, as resolving the persona gave it
        (so a launch's record hashes nothing again). Used once the spec is stored."""
        self._blobs[version] = blob.encode()

    def _persona_tree(self, version: str | None) -> bytes:
        """The tree `{persona.json: spec}` shared by every record of a version (written
        under the home lock)."""
        if version in self._trees:
            return self._trees[version]
        from burn.store.gitrepo import tree_bytes, write_loose

        entries = []
        if version is not None:
            if not version.startswith("b3:"):
                raise RecordError(f"{version!r} is not a b3: version id", field="version")
            blob = self._blobs.get(version)
            if blob is None:
                from burn.store.canonical import Version

                # The sha256 alias is not needed to find the blob.
                blob = self.specs.blob_id(Version(version[3:], ""))
            if blob is None:
                raise BurnError(
                    f"spec {version} is not in the persona store",
                    fix="store it first (`burn persona add FILE`) or pass the spec to append()",
                )
            entries.append((b"persona.json", blob))
        tree = write_loose(self.home.repo_path, b"tree", tree_bytes(entries))
        self._trees[version] = tree
        return tree

    def record(self, persona: str, **fields: Any) -> dict[str, Any]:
        """Build, check and append a record in one call (see record.make_body)."""
        fields.setdefault("source", "manual")
        fields.setdefault("started_at", _now_iso())
        body = make_body(persona=persona, host=self.host, **fields)
        return self.append(body)

    # -- reading -----------------------------------------------------------------------

    def log(self, q: Query) -> list[dict[str, Any]]:
        """Matching records as light rows (no JSON decode), newest first."""
        from .query import select

        rows = []
        for row in self.index.read(lambda c: list(select(c, q))):
            d = dict(row)
            v = d["version"]
            d["who"] = d["persona"] + (f"@{v[3:15]}" if v else "")
            d["started_at"] = utc_iso(d["started_at"])
            d["models"] = d["models"] or None
            rows.append(d)
        return rows

    def log_text(
        self,
        q: Query,
        columns: list[tuple[str, str, bool]],
        align: bool = True,
        rollup: bool = False,
        first: list[list[str]] | None = None,
    ) -> list[str]:
        """Matching records as text lines formatted by SQL expressions (query.text_lines);
        with `rollup`, columns may read `temp.rollup` (see rollup.cell). Costs are those
        of the price table in force (reprice.ensure)."""

        from .query import text_lines
        from .reprice import ensure

        def run(conn: Any) -> list[str]:
            ensure(conn)
            if rollup:
                from .rollup import build

                build(conn)
            return text_lines(conn, q, columns, align, first)

        return self.index.read(run)

    def log_json(self, q: Query, rollup: bool = False) -> list[str]:
        """Matching records as their stored public JSON text, newest first; with `rollup`,
        each launch's record also carries its rolled-up spend under "rollup"."""
        from .query import records_json, select

        if not rollup:
            return self.index.read(lambda c: list(records_json(c, q)))

        def run(conn: Any) -> list[str]:
            import json

            from .reprice import ensure
            from .rollup import build, of

            ensure(conn)  # a launch's rolled-up cost is priced now
            build(conn)
            out = []
            for text, launch_id, kind in list(select(conn, q, _JSON_AND_LAUNCH)):
                if kind == "launch" and launch_id:
                    text = json.dumps({**json.loads(text), "rollup": of(conn, launch_id)})
                out.append(text)
            return out

        return self.index.read(run)

    def running(self) -> list[dict[str, Any]]:
        """Launches still running, with the spend ingest has seen for them so far."""
        from .running import running

        return running(self)

    def show(self, ref: str) -> dict[str, Any]:
        """One record by id or unique prefix, with its cost at today's prices beside it."""
        from .query import find_record
        from .reprice import ensure

        def run(conn: Any) -> dict[str, Any]:
            ensure(conn)
            return find_record(conn, ref)

        return self.index.read(run)


_JSON_AND_LAUNCH = "(SELECT json FROM bodies b WHERE b.seq = records.seq), launch_id, kind"


def _now_iso() -> str:
    return utc_iso(time.time())
