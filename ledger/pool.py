"""Pools for nested launches: a parent gives its children an exact amount to share.

`burn launch planner --pool 2 -- …` opens a pool of $2 owned by that launch; its children
(any launch whose environment carries `BURN_POOL`) draw on it:

- **reserve on start**: a child reserves its own `--pool` if it gives one, else its
  smallest hard per-launch cap, else everything free — never more than is free; a pool
  with nothing free refuses the child (exit 75). What a child reserved is in turn the pool
  of *its* children (a pool per launch, down the tree).
- **reconcile on end**: the child's rolled-up spend (its own and its descendants'
  records) is committed, and the rest of its reservation returns to free. A child whose
  launcher was killed before it could reconcile is reconciled by its parent, after the
  parent's final ingest has settled the child's stamp into a record. A cost that is
  unknown (an unpriced model) commits the whole reservation and is marked `unknown`.

Every step keeps `total = free + reserved + committed`. `free` goes negative when a child
spent more than it reserved, and `burn budget status` says `overdrawn` rather than hide it.
Every step is appended to `pools/journal.jsonl` with the pool's state after it.
All of it runs under the budget lock (`$BURN_HOME/budget.lock`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from .ledger import Ledger

KEEP_S = 7 * 86400  # closed pools are deleted after a week


def _dir(root: Path) -> Path:
    return root / "pools"


def _path(root: Path, pool_id: str) -> Path:
    return _dir(root) / f"{pool_id}.json"


def load(root: Path, pool_id: str) -> dict[str, Any] | None:
    try:
        data = json.loads(_path(root, pool_id).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _save(root: Path, pool: dict[str, Any], step: str, member: str | None, by: str | None) -> None:
    from .stamps import write_json

    assert pool["total"] == pool["free"] + pool["reserved"] + pool["committed"], pool
    write_json(_path(root, pool["id"]), pool)
    line = {"step": step, "pool": pool["id"], "member": member, "by": by, "pid": os.getpid(),
            "at": time.time(), "pool_state": pool}  # fmt: skip
    with (_dir(root) / "journal.jsonl").open("a") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")


def lock(root: Path) -> Any:
    from burn.store.locking import file_lock

    return file_lock(root / "budget.lock")


def open_pool(root: Path, owner: str, persona: str, total: int, parent: str | None = None) -> dict[str, Any]:
    """A pool owned by launch `owner` (call under the lock)."""
    _dir(root).mkdir(parents=True, exist_ok=True)
    pool = {"schema": 1, "id": owner, "persona": persona, "parent": parent, "total": total, "free": total,
            "reserved": 0, "committed": 0, "state": "open", "opened_at": time.time(),
            "members": {}}  # fmt: skip
    _save(root, pool, "open", None, owner)
    _prune(root)
    return pool


def reserve(root: Path, pool_id: str, member: str, persona: str, requested: int | None) -> int:
    """Reserve for launch `member` from pool `pool_id` (call under the lock); returns the
    amount, or raises BudgetRefused when nothing is free."""
    from .budget import BudgetRefused, usd

    pool = load(root, pool_id)
    if pool is None:
        raise BudgetRefused(f"the pool of launch {pool_id} is gone", fix="run the launch outside that pool")
    if pool["free"] <= 0:
        raise BudgetRefused(
            f"the pool of launch {pool_id} ({pool['persona']}) has nothing free: {usd(pool['free'])} of "
            f"{usd(pool['total'])} ({usd(pool['reserved'])} reserved, {usd(pool['committed'])} spent)",
            fix="give the parent a larger --pool",
        )
    amount = pool["free"] if requested is None else min(requested, pool["free"])
    pool["free"] -= amount
    pool["reserved"] += amount
    pool["members"][member] = {"persona": persona, "reserved": amount, "committed": None,
                               "state": "reserved", "unknown": False}  # fmt: skip
    _save(root, pool, "reserve", member, member)
    return amount


def spent(ledger: Ledger, launch_id: str) -> tuple[bool, int | None]:
    """(settled, rolled-up cost): whether the launch has its record and no pending stamp,
    and what it and every launch below it cost (None: unknown)."""
    if (ledger.home.pending_dir / f"{launch_id}.json").exists():
        return False, None

    def run(conn: Any) -> tuple[bool, int | None]:
        row = conn.execute(
            "WITH RECURSIVE tree(id) AS (SELECT ? UNION SELECT r.launch_id FROM records r"
            " JOIN tree ON r.parent = tree.id WHERE r.launch_id IS NOT NULL)"
            " SELECT count(*), sum(cost_micros), count(cost_micros),"
            " sum(launch_id = ? AND kind = 'launch') FROM records WHERE launch_id IN tree",
            (launch_id, launch_id),
        ).fetchone()
        n, total, priced, own = row
        if not own:
            return False, None
        return True, (total or 0) if n == priced else None

    result: tuple[bool, int | None] = ledger.index.read(run)
    return result


def commit(ledger: Ledger, pool_id: str, member: str, by: str) -> bool:
    """Reconcile one member if its launch is settled: commit what it spent, return the rest."""
    settled, cost = spent(ledger, member)
    if not settled:
        return False
    root = ledger.home.root
    with lock(root):
        pool = load(root, pool_id)
        entry = (pool or {}).get("members", {}).get(member)
        if pool is None or entry is None or entry["state"] != "reserved":
            return False
        amount = entry["reserved"] if cost is None else cost
        pool["reserved"] -= entry["reserved"]
        pool["committed"] += amount
        pool["free"] += entry["reserved"] - amount
        entry.update(state="committed", committed=amount, unknown=cost is None)
        _save(root, pool, "commit", member, by)
    return True


def reconcile(ledger: Ledger, pool_id: str, by: str) -> None:
    """Reconcile every settled member of a pool and, first, of the pools below it."""
    pool = load(ledger.home.root, pool_id)
    if pool is None:
        return
    for member, entry in pool["members"].items():
        if entry["state"] == "reserved":
            reconcile(ledger, member, by)
            if commit(ledger, pool_id, member, by):
                close(ledger.home.root, member, by)  # the pool a killed child could not close


def close(root: Path, pool_id: str, by: str) -> None:
    with lock(root):
        pool = load(root, pool_id)
        if pool is not None and pool["state"] == "open":
            pool["state"] = "closed"
            pool["closed_at"] = time.time()
            _save(root, pool, "close", None, by)


def _prune(root: Path) -> None:
    cutoff = time.time() - KEEP_S
    for path in _dir(root).glob("*.json"):
        pool = load(root, path.stem)
        if pool is not None and pool.get("state") == "closed" and pool.get("closed_at", cutoff) < cutoff:
            path.unlink(missing_ok=True)


def listing(root: Path) -> list[dict[str, Any]]:
    """Pools, newest first: open ones and those closed in the last day (a child's own
    pool only when its children drew on it)."""
    out = []
    try:
        paths = list(_dir(root).glob("*.json"))
    except OSError:
        return []
    for path in paths:
        pool = load(root, path.stem)
        if pool is None or (pool["state"] == "closed" and pool.get("closed_at", 0) < time.time() - 86400):
            continue
        if pool["parent"] is not None and not pool["members"]:
            continue  # a child's reservation no grandchild drew on: its parent's row says it
        out.append(
            {
                "pool": pool["id"],
                "persona": pool["persona"],
                "parent": pool["parent"],
                "state": pool["state"],
                "total_micros": pool["total"],
                "free_micros": pool["free"],
                "reserved_micros": pool["reserved"],
                "committed_micros": pool["committed"],
                "overdrawn": pool["free"] < 0,
                "members": len(pool["members"]),
                "unknown_members": sum(1 for m in pool["members"].values() if m.get("unknown")),
                "opened_at": pool["opened_at"],
            }
        )
    out.sort(key=lambda p: -p["opened_at"])
    return out
