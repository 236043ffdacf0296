"""The launch protocol (DESIGN section 6), for `burn launch` and any Python launcher.

    from burn.ledger import launch
    with launch("reviewer", ["claude", "-p", "review the diff"]) as l:
        l.exit_code = subprocess.run(l.argv, env=l.env).returncode
    print(l.record["cost_usd"])

`begin` resolves the persona and writes the pending stamp before anything spawns; the
caller spawns `l.argv` with `l.env` (it carries BURN_LAUNCH_ID, and BURN_PARENT when this
launch runs inside another); a background tick ingests every second so spend shows live;
`end` writes the launcher's last word, runs the final ingest that settles the stamp into
one record, and returns it. A ledger failure after the persona resolved is written once to
`$BURN_HOME/logs/burn.log` and never stops the launch: the child runs all the same.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import stamps
from .harnesses import prepare, uuid4
from .ledger import Ledger

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

TICK_S = 1.0
OPT_OUT = {"0", "false", "off", "no"}


def opted_out(env: Mapping[str, str] = os.environ) -> bool:
    """`BURN=0` (or false/off/no) or `AGENTWORKFORCE_BURN=0`: run without the ledger."""
    return any(env.get(k, "").strip().lower() in OPT_OUT for k in ("BURN", "AGENTWORKFORCE_BURN"))


class Launch:
    """One launch between `begin` and `end`. Spawn `argv` with `env`; set `exit_code`."""

    def __init__(self, ledger: Ledger, argv: list[str], env: dict[str, str]) -> None:
        self.ledger = ledger
        self.argv = argv
        self.env = env
        self.id = uuid4()
        self.exit_code: int | None = None
        self.record: dict[str, Any] | None = None
        self.persona = ""
        self.version: str | None = None
        self.harness: str | None = None
        self.warning: str | None = None  # set when the ledger failed; the launch went on
        self.budget: Any = None  # an admission.Admission when a budget or a pool applies
        self._fd: int | None = None
        self._stamp: Path | None = None
        self._t0 = time.monotonic()
        self._stop: Any = None  # a threading.Event, set when the launch ends
        self._ticker: Any = None  # the tick thread, once live

    # -- start -------------------------------------------------------------------------

    @classmethod
    def begin(
        cls,
        persona: str,
        argv: Sequence[str] = (),
        *,
        tags: Mapping[str, str] | None = None,
        tier: str | None = None,
        cwd: str | Path | None = None,
        ledger: Ledger | None = None,
        live: bool = True,
        pool: int | None = None,
        kill_on_cap: bool = False,
    ) -> Launch:
        """Resolve the persona (a bad name raises BurnError: nothing spawns), then write
        the stamp. Anything else that fails is warned about and the launch goes on."""
        from .personas import resolve

        ledger = ledger or Ledger.open()
        where = str(Path(cwd) if cwd else Path.cwd())
        resolved = resolve(ledger, persona, tier=tier, cwd=Path(where), store=False)
        prepared = prepare(list(argv), where, resolved.spec.get("harness"))
        env = dict(os.environ)
        parent = env.get("BURN_LAUNCH_ID") or None  # the launch this one runs inside
        env.update({k: str(v) for k, v in (resolved.spec.get("env") or {}).items()})
        launch = cls(ledger, prepared.argv, env)
        if resolved.blob is not None:  # (its record's tree then needs no hashing)
            ledger.note_blob(resolved.version.id, resolved.blob)
        launch.persona, launch.version, launch.harness = resolved.name, resolved.version.id, prepared.harness
        env["BURN_LAUNCH_ID"] = launch.id
        env["BURN_PERSONA"] = f"{resolved.name}@{resolved.version.short}"
        if parent:
            env["BURN_PARENT"] = parent
        else:
            env.pop("BURN_PARENT", None)
        all_tags = dict(tags or {})
        if resolved.tier:
            all_tags.setdefault("tier", resolved.tier)
        data = {
            "schema": 1,
            "launch_id": launch.id,
            "persona": resolved.name,
            "version": resolved.version.id,
            "source": resolved.source,
            "spec": resolved.spec,
            "tags": all_tags,
            "harness": prepared.harness,
            "argv0": Path(argv[0]).name if argv else None,
            "cwd": where,
            "spawned_epoch": time.time(),
            "pid": os.getpid(),
            "parent": parent,
            "session_id": prepared.session_id,
            "session_dir": prepared.session_dir,
        }
        try:
            path = ledger.home.pending_dir / f"{launch.id}.json"
            launch._stamp, launch._fd = path, stamps.create_held(path, data)
        except Exception as e:  # a full disk or a read-only home never stops the launch
            launch._warn("could not write the launch stamp", e)
            return launch
        if (
            pool is not None
            or kill_on_cap
            or "BURN_POOL" in env
            or resolved.budget
            or (ledger.home.root / "budgets.json").exists()
        ):
            from .admission import admit_launch  # budgets cost nothing where none are set

            launch.budget = admit_launch(launch, resolved, all_tags, pool, kill_on_cap)  # may refuse
        if live:
            launch.go_live()
        return launch

    def go_live(self, first_tick: float = TICK_S) -> None:
        """Start ingesting every second (the first tick after `first_tick` s), so spend
        shows while the command runs. `burn launch` calls it only once the command has
        run a second: a short one costs no thread (nor the threading import)."""
        if self._ticker is not None or self._stamp is None:
            return
        import threading

        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, args=(first_tick,), name="burn-tick", daemon=True)
        self._ticker.start()

    def _harnesses(self) -> list[str] | None:
        return [self.harness] if self.harness else None

    def _tick(self, delay: float) -> None:
        """Ingest every second while the child runs, skipping a tick when another ingest
        holds the lock. Its own Ledger: a SQLite connection belongs to one thread. (Nothing
        is imported before the first tick: a short launch's exit does not wait on it.)"""
        ledger = Ledger.open(self.ledger.home.root)
        while not self._stop.wait(delay):
            delay = TICK_S
            try:
                from .ingest import ingest

                ingest(ledger, self._harnesses(), wait=False)
            except Exception as e:
                self._warn("a live ingest failed", e)
        ledger.index.close()

    # -- end ---------------------------------------------------------------------------

    def end(self, exit_code: int | None = None) -> dict[str, Any] | None:
        """Write the launcher's last word, settle the stamp into the launch's record, and
        return that record (None when the ledger failed; the reason is in `warning`)."""
        if exit_code is not None:
            self.exit_code = exit_code
        if self._stamp is None:
            return None
        if self._ticker is not None:
            self._stop.set()
        try:
            duration = int((time.monotonic() - self._t0) * 1000)
            # the budget guard's last word: {"stopped": …} when --kill-on-cap stopped the child
            notes = self.budget.stop() if self.budget is not None else {}
            stamps.write_json(
                self._stamp.with_suffix(".end"),
                {"exit_code": self.exit_code, "ended_epoch": time.time(), "duration_ms": duration, **notes},
                sync=False,
            )
            if self._ticker is not None:
                self._ticker.join()
            from .ingest import ingest

            ingest(self.ledger, self._harnesses())
            self.record = self._find_record()
            if self.budget is not None:
                self.budget.finish()  # reconcile pools now that the records are written
        except Exception as e:
            self._warn("could not record the launch (the next `burn ingest` settles it)", e)
        finally:
            if self._fd is not None:
                os.close(self._fd)  # the launcher is done: its stamp may now be settled by anyone
                self._fd = None
        return self.record

    def watch(self, pid: int) -> None:
        """Tell the launch its child's pid, so `kill_on_cap` can stop it."""
        if self.budget is not None:
            self.budget.watch(pid)

    def _find_record(self) -> dict[str, Any] | None:
        """The launch's record as `burn show` prints it (its stored JSON)."""

        def find(conn: Any) -> str | None:
            row = conn.execute(
                "SELECT json FROM records JOIN bodies USING (seq) WHERE launch_id = ? AND kind = 'launch'",
                (self.id,),
            ).fetchone()
            return row[0] if row else None

        text = self.ledger.index.read(find)
        if text is None:
            return None
        import json

        record: dict[str, Any] = json.loads(text)
        return record

    def _warn(self, what: str, error: BaseException) -> None:
        """Once per launch, to the log file; `warning` says it for the caller."""
        if self.warning is not None:
            return
        self.warning = f"{what}: {type(error).__name__}: {error}"
        try:
            import traceback

            log = self.ledger.home.log_dir / "burn.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as f:
                f.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} launch {self.id}: {self.warning}\n")
                f.write("".join(traceback.format_exception(error)))
        except OSError:
            pass


def launch(
    persona: str,
    argv: Sequence[str] = (),
    *,
    tags: Mapping[str, str] | None = None,
    tier: str | None = None,
    cwd: str | Path | None = None,
    ledger: Ledger | None = None,
    pool: int | None = None,
    kill_on_cap: bool = False,
) -> _Block:
    """Wrap your own spawn: the launch is recorded however the block ends. With budgets,
    `begin` may raise BudgetRefused; call `l.watch(pid)` after spawning for kill_on_cap."""
    options = {
        "tags": tags,
        "tier": tier,
        "cwd": cwd,
        "ledger": ledger,
        "pool": pool,
        "kill_on_cap": kill_on_cap,
    }
    return _Block(persona, argv, options)


class _Block:
    """`with launch(...) as l:` (a class, not contextlib.contextmanager: contextlib is not
    imported by `burn launch`)."""

    def __init__(self, persona: str, argv: Sequence[str], options: dict[str, Any]) -> None:
        self.persona, self.argv, self.options = persona, argv, options
        self.current: Launch | None = None

    def __enter__(self) -> Launch:
        self.current = Launch.begin(self.persona, self.argv, **self.options)
        return self.current

    def __exit__(self, *_exc: object) -> None:
        if self.current is not None:
            self.current.end()
