"""Health and upkeep: fsck re-derives every id, reindex rebuilds, gc packs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from burn.store.canonical import Version
from burn.store.gitrepo import list_refs, read_ref
from burn.store.objects import PERSONAS_REF

from .index import RECORDS_PREFIX
from .ledger import Ledger
from .record import load_record


@dataclass
class FsckReport:
    records: int = 0
    versions: int = 0
    refs: int = 0
    problems: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "ok": not self.problems,
            "records": self.records,
            "versions": self.versions,
            "refs": self.refs,
            "problems": self.problems,
            "repaired": self.repaired,
        }


def fsck(ledger: Ledger) -> FsckReport:
    """Walk every record chain and the persona store; re-hash every spec blob."""
    report = FsckReport()
    if not (ledger.home.repo_path / "objects").is_dir():
        report.problems.append(f"{ledger.home.repo_path}: no ledger yet (nothing recorded)")
        return report
    repo = ledger.repo
    _stale_locks(ledger, report)
    verified: dict[bytes, str] = {}  # blob -> b3 id it hashes to

    def spec_id(blob: bytes) -> str:
        if blob not in verified:
            verified[blob] = Version.of_bytes(repo[blob].as_raw_string()).id
        return verified[blob]

    personas_tip = read_ref(ledger.home.repo_path, PERSONAS_REF)
    if personas_tip is not None:
        report.refs += 1
        tree = repo[repo[personas_tip].tree]
        for folder, algo in ((b"by-version", "b3"), (b"by-sha256", "sha256")):
            if folder not in tree:
                continue
            for entry in repo[tree[folder][1]].items():
                data = repo[entry.sha].as_raw_string()
                v = Version.of_bytes(data)
                want = entry.path.decode()
                got = v.b3 if algo == "b3" else v.sha256
                if got != want:
                    report.problems.append(f"{PERSONAS_REF}: {folder.decode()}/{want} hashes to {got}")
                elif algo == "b3":
                    report.versions += 1
                    verified[entry.sha] = v.id
    for ref, tip in sorted(list_refs(ledger.home.repo_path, RECORDS_PREFIX).items()):
        report.refs += 1
        sha: bytes | None = tip
        while sha:
            try:
                commit = repo[sha]
            except KeyError:
                report.problems.append(f"{ref}: commit {sha.decode()[:12]} is missing")
                break
            problem = _check_record(repo, commit, spec_id)
            if problem:
                report.problems.append(f"{ref}: record {sha.decode()[:12]}: {problem}")
            else:
                report.records += 1
            sha = commit.parents[0] if commit.parents else None
    indexed = ledger.index.read(lambda c: c.execute("SELECT count(*) FROM records").fetchone()[0])
    if indexed != report.records:
        n = ledger.index.rebuild()
        report.repaired.append(f"index held {indexed} records, the ledger {report.records}: rebuilt ({n})")
    return report


def _check_record(repo: Any, commit: Any, spec_id: Callable[[bytes], str]) -> str | None:
    try:
        rec = load_record(commit.message, commit.id.decode())
        tree = repo[commit.tree]
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        return f"not a readable record: {e}"
    version = rec["version"]
    if version is None:
        return None
    try:
        blob = tree[b"persona.json"][1]
        got = spec_id(blob)
    except KeyError:
        return "its persona.json is missing"
    if got != version:
        return f"says {version} but its spec hashes to {got}"
    return None


def _stale_locks(ledger: Ledger, report: FsckReport) -> None:
    """Lock files left by a killed writer; safe to remove while we hold the home lock."""
    with ledger.home.lock():
        repo = ledger.home.repo_path
        for lock in [*(repo / "refs").rglob("*.lock"), *repo.glob("objects/??/*.lock")]:
            lock.unlink()
            report.repaired.append(f"removed stale lock {lock.relative_to(repo)}")


def reindex(ledger: Ledger) -> dict[str, Any]:
    n = ledger.index.rebuild()
    return {"schema": 1, "records": n, "index": str(ledger.home.index_path)}


def gc(ledger: Ledger) -> dict[str, Any]:
    """Pack loose objects (never rewrites history, never drops an object)."""
    with ledger.home.lock():
        packed = ledger.repo.object_store.pack_loose_objects()
    return {"schema": 1, "packed_objects": packed}
