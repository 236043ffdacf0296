"""Budgets at launch time: admit or refuse before spawn, guard the running child, reconcile
its pool at the end. Imported by the launcher only when a budget or a pool applies.

**What is guaranteed.** Check-and-reserve runs under one file lock (`budget.lock`), so on
one host two launches never both take the last of a budget: each admitted launch holds a
reservation — its smallest hard per-launch cap, trimmed to what is left — until its record
lands, and a later check counts it (or the launch's live spend, if more). Without a
per-launch cap a launch reserves nothing: it is admitted while anything is left, and
launches started together may overshoot by what they spend. Across hosts nothing is
guaranteed until their ledgers are synced.

**Order.** DESIGN section 6 lists the budget check before the stamp; here the stamp is
written first and the check runs right after it, before anything spawns, so that a
reservation is never without the stamp that says its launch is alive (a reservation is
live exactly while `pending/<id>.json` exists). A refused launch's stamp is removed at
once; nothing spawned and no record is written. If the stamp cannot be written (a
read-only home), the launch goes on unrecorded and unchecked, like any ledger failure.

**During the launch** (`--kill-on-cap`), a guard thread reads the launch's live spend
(what the 1 s ingest tick has seen) and, once it is above the tightest hard limit known at
admission — a per-launch cap, what was left of a daily/monthly cap, or the pool
reservation — sends the child SIGTERM, then SIGKILL after `[budget] kill_grace_s`
(default 5 s). The launch's record then carries `stopped`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Mapping
from typing import Any

from . import budget, pool
from .ledger import Ledger

POLL_S = 0.25


class Admission:
    def __init__(self, ledger: Ledger, launch_id: str, persona: str) -> None:
        self.ledger, self.launch_id, self.persona = ledger, launch_id, persona
        self.warnings: list[str] = []
        self.reserved = 0
        self.limit: tuple[int, str] | None = None  # (micros, which cap) for --kill-on-cap
        self.kill_on_cap = False
        self.in_pool: str | None = None  # the pool this launch reserved from
        self.owns_pool = False
        self.stopped: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._guard: threading.Thread | None = None
        self.grace_s = 5.0

    def _tighten(self, micros: int, why: str) -> None:
        if self.limit is None or micros < self.limit[0]:
            self.limit = (micros, why)

    # -- during ------------------------------------------------------------------------

    def watch(self, pid: int) -> None:
        """Start the guard on the spawned child (only with --kill-on-cap and a hard limit)."""
        if not self.kill_on_cap or self.limit is None or self._guard is not None:
            return
        self._guard = threading.Thread(target=self._run_guard, args=(pid,), name="burn-cap", daemon=True)
        self._guard.start()

    def _run_guard(self, pid: int) -> None:
        assert self.limit is not None
        ledger = Ledger.open(self.ledger.home.root)
        try:
            while not self._stop.wait(POLL_S):
                spent = live_spend(ledger, self.launch_id)
                if spent is None or spent <= self.limit[0]:
                    continue
                self.stopped = {"by": "burn", "cap": self.limit[1], "limit_micros": self.limit[0],
                                "spent_micros": spent, "signal": "SIGTERM"}  # fmt: skip
                _signal(pid, signal.SIGTERM)
                deadline = time.monotonic() + self.grace_s
                while _alive(pid) and time.monotonic() < deadline:
                    time.sleep(0.05)
                if _alive(pid):
                    self.stopped["signal"] = "SIGKILL"
                    _signal(pid, signal.SIGKILL)
                return
        finally:
            ledger.index.close()

    def stop(self) -> dict[str, Any]:
        """Stop the guard; what the launch's `.end` file should add (its `stopped`)."""
        self._stop.set()
        if self._guard is not None:
            self._guard.join()
        return {"stopped": self.stopped} if self.stopped else {}

    # -- end -----------------------------------------------------------------------------

    def finish(self) -> None:
        """After the final ingest: reconcile this launch's own pool (children a killed
        launcher left behind), then this launch in its parent's pool."""
        root = self.ledger.home.root
        if self.in_pool is not None or self.owns_pool:
            pool.reconcile(self.ledger, self.launch_id, self.launch_id)
            pool.close(root, self.launch_id, self.launch_id)
        if self.in_pool is not None:
            pool.commit(self.ledger, self.in_pool, self.launch_id, self.launch_id)
        (root / "reservations" / f"{self.launch_id}.json").unlink(missing_ok=True)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def live_spend(ledger: Ledger, launch_id: str) -> int | None:
    """What a running launch has spent so far, as far as ingest has seen (None: unknown)."""
    from . import stamps as st
    from .pricing import load_table
    from .running import _row

    path = ledger.home.pending_dir / f"{launch_id}.json"
    stamp = next((s for s in st.load_all(ledger.home.pending_dir) if s.path == path), None)
    if stamp is None:
        return None
    table = load_table()
    row = ledger.index.read(lambda conn: _row(conn, stamp, table))
    cost = row.get("cost_micros")
    return int(cost) if cost is not None else None


def admit(
    ledger: Ledger,
    launch_id: str,
    persona: str,
    version: str | None,
    tags: Mapping[str, str],
    block: Mapping[str, Any] | None,
    origin: str,
    env: dict[str, str],
    *,
    pool_micros: int | None = None,
    kill_on_cap: bool = False,
) -> Admission:
    """Check every cap and reserve, under the budget lock; raise BudgetRefused when a hard
    cap (or the parent's pool) forbids the launch. Sets BURN_POOL in `env` for children."""
    from .stamps import write_json

    root = ledger.home.root
    adm = Admission(ledger, launch_id, persona)
    adm.kill_on_cap = kill_on_cap
    adm.grace_s = budget.settings(root)["kill_grace_s"]
    caps = budget.caps_for(root, persona, block, origin)
    parent_pool = env.get("BURN_POOL") or None
    with pool.lock(root):
        per_launch: int | None = None
        if caps:
            result = budget.evaluate(ledger, persona, version, tags, caps, exclude=launch_id)
            if not result["allowed"]:
                raise budget.BudgetRefused(
                    result["refusals"][0],
                    fix="wait for the reset, raise the cap (`burn budget set`), see `burn budget status`",
                )
            adm.warnings += result["warnings"]
            for row in result["caps"]:
                if row["soft"]:
                    continue
                adm._tighten(row["left_micros"], f"{row['kind'].replace('_', '-')} cap of {row['scope']}")
                if row["kind"] == "per_launch":
                    per_launch = (
                        row["limit_micros"] if per_launch is None else min(per_launch, row["limit_micros"])
                    )
            if per_launch is not None:
                windows = [
                    r["left_micros"] for r in result["caps"] if not r["soft"] and r["kind"] != "per_launch"
                ]
                adm.reserved = max(0, min([per_launch, *windows]))
                write_json(root / "reservations" / f"{launch_id}.json", {"micros": adm.reserved})
        own_total = pool_micros
        if parent_pool is not None and (root / "pools" / f"{parent_pool}.json").exists():
            requested = pool_micros if pool_micros is not None else per_launch
            got = pool.reserve(root, parent_pool, launch_id, persona, requested)
            adm.in_pool, own_total = parent_pool, got
            adm._tighten(got, f"reservation in the pool of launch {parent_pool}")
        if own_total is not None:
            pool.open_pool(root, launch_id, persona, own_total, parent=adm.in_pool)
            adm.owns_pool = True
            env["BURN_POOL"] = launch_id
        else:
            env.pop("BURN_POOL", None)
    if kill_on_cap and adm.limit is None:
        adm.warnings.append("--kill-on-cap: no hard cap applies to this launch, so nothing will stop it")
    return adm


def admit_launch(
    launch: Any, resolved: Any, tags: Mapping[str, str], pool_micros: int | None, kill_on_cap: bool
) -> Admission | None:
    """`admit` for a Launch whose stamp is written: a refusal (or a budget that cannot be
    read) removes the stamp and raises, so nothing spawns; any other failure is warned
    about and the launch goes on unguarded, like every ledger failure."""
    from burn.store.errors import BurnError

    from . import stamps

    origin = str(resolved.path) if getattr(resolved, "path", None) else "persona"
    try:
        return admit(
            launch.ledger, launch.id, resolved.name, resolved.version.id, tags, resolved.budget, origin,
            launch.env, pool_micros=pool_micros, kill_on_cap=kill_on_cap,
        )  # fmt: skip
    except BurnError:
        if launch._fd is not None:
            os.close(launch._fd)
            launch._fd = None
        if launch._stamp is not None:
            for suffix in stamps.SUFFIXES:
                launch._stamp.with_suffix(suffix).unlink(missing_ok=True)
            launch._stamp = None
        raise
    except Exception as e:
        launch._warn("could not check the budgets (the launch is not guarded)", e)
        return None
