"""`burn launch`: run a harness under a persona and record what it spent.

The wrapper must cost next to nothing, so `burn launch` does not go through click: `main`
sends it to `fast_main`, which parses by hand and imports the ledger only when it is used
(`--no-burn` and `BURN=0` exec the command without importing it at all). The click
command below exists for `--help`, the docs and in-process callers; both run `execute`.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

USAGE = (
    "usage: burn launch PERSONA[@VERSION] [--tag KEY=VALUE]... [--tier NAME] [--pool USD] [--kill-on-cap]"
    " [--no-burn] -- COMMAND..."
)
_OPT_OUT = {"0", "false", "off", "no"}
TICK_S = 1.0  # = ledger.launcher.TICK_S (not imported: --no-burn imports no ledger module)
# Signals Python ignores for itself, given back their default in the child (as subprocess's
# restore_signals does): a harness in a pipeline must die of SIGPIPE like it would unwrapped.
_RESTORED = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ", "SIGXFZ") if hasattr(signal, name))


class _Usage(Exception):
    pass


class _Help(Exception):
    pass


def __getattr__(name: str) -> Any:
    """The click command, built on first use: the wrapper itself never imports click."""
    if name == "launch":
        return _command()
    raise AttributeError(name)


def _command() -> Any:
    import click

    @click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
    @click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="Tag the record (repeatable).")
    @click.option("--tier", metavar="NAME", help="Launch the persona's tier NAME (recorded as tag tier).")
    @click.option("--pool", metavar="USD", help="Give nested launches a pool of USD to share.")
    @click.option(
        "--kill-on-cap", is_flag=True, help="Stop the command when its live spend crosses a hard cap."
    )
    @click.option("--no-burn", is_flag=True, help="Run the command without recording anything.")
    @click.argument("persona", metavar="PERSONA[@VERSION]")
    @click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
    def launch(
        tags: tuple[str, ...],
        tier: str | None,
        pool: str | None,
        kill_on_cap: bool,
        no_burn: bool,
        persona: str,
        command: tuple[str, ...],
    ) -> None:
        """Run COMMAND as a launch of PERSONA and record its spend, exactly once.

        The pending stamp is written before COMMAND starts; spend shows in `burn log` while
        it runs (ingested every second); when it ends, however it ends, one record holds the
        sessions it made. Its exit code passes through (killed by signal N: 128+N, not found:
        127). Claude launches get a preallocated `--session-id`, so matching is exact.
        Nested launches (inside another: BURN_LAUNCH_ID is set) become its children.

        `--no-burn`, BURN=0 (or false/off) and AGENTWORKFORCE_BURN=0 run COMMAND with no
        ledger at all.

        Budgets (`burn budget`): a launch a hard cap forbids does not start and exits 75
        (EX_TEMPFAIL: retry after the reset), naming the cap, the spend and the reset time;
        a soft cap warns. `--kill-on-cap` sends COMMAND SIGTERM (SIGKILL after a grace
        period) once its live spend crosses a hard cap; the record says `stopped`.
        `--pool USD` gives nested launches USD to share: each reserves on start and
        reconciles on end; a launch that finds its parent's pool empty exits 75.

        \b
        Example:
          burn launch reviewer --tag ticket=ABC-12 -- claude -p "review the diff"
        """
        if command[:1] == ("--",):  # click keeps a `--` that follows PERSONA
            command = command[1:]
        args = [a for kv in tags for a in ("--tag", kv)] + (["--tier", tier] if tier else [])
        args += (["--pool", pool] if pool else []) + (["--kill-on-cap"] if kill_on_cap else [])
        args += (["--no-burn"] if no_burn else []) + [persona, "--", *command]
        raise click.exceptions.Exit(fast_main(args))

    return launch


def parse(args: Sequence[str]) -> tuple[str, list[str], dict[str, str], str | None, bool, dict[str, str]]:
    """PERSONA, COMMAND, tags, tier, no_burn, budget options (pool, kill_on_cap). Options
    may come before or after PERSONA; COMMAND starts after `--`, or at the first word after
    PERSONA."""
    tags: dict[str, str] = {}
    budget: dict[str, str] = {}
    tier, no_burn, persona = None, False, None
    rest = list(args)
    while rest:
        word = rest.pop(0)
        if word == "--":
            break
        if not word.startswith("-") or word == "-":
            if persona is None:
                persona = word
                continue
            rest.insert(0, word)
            break
        name, eq, inline = word.partition("=")
        if name in ("--tag", "--tier", "--pool"):
            if not eq:
                if not rest:
                    raise _Usage(f"{name} needs a value")
                inline = rest.pop(0)
            if name == "--tier":
                tier = inline
                continue
            if name == "--pool":
                budget["pool"] = inline
                continue
            key, sep, value = inline.partition("=")
            if not sep or not key:
                raise _Usage(f"--tag {inline!r} is not KEY=VALUE")
            tags[key] = value
        elif word == "--no-burn":
            no_burn = True
        elif word == "--kill-on-cap":
            budget["kill_on_cap"] = "1"
        elif word in ("-h", "--help"):
            raise _Help
        else:
            raise _Usage(f"unknown option {word}")
    if persona is None:
        raise _Usage("PERSONA is missing")
    if not rest:
        raise _Usage("COMMAND is missing: write it after --")
    return persona, rest, tags, tier, no_burn, budget


def wants_help(args: Sequence[str]) -> bool:
    """`burn launch --help`, but not `burn launch reviewer -- claude --help`."""
    try:
        parse(args)
    except _Help:
        return True
    except _Usage:
        return False
    return False


def fast_main(args: Sequence[str], hard_exit: bool = False) -> int:
    """`burn launch ARGS`; its exit code. With `hard_exit` (the process is the launch),
    leave the process with that code at once, without Python's teardown (see `_leave`)."""
    if hard_exit:
        _pause_gc()
    code = _launch(args)
    if hard_exit:
        _leave(code)
    return code


_gc_paused = False


def _pause_gc() -> None:
    """No cyclic garbage collection while the launch is short: its dozen collections cost a
    launch a few ms (up to 12 on a loaded VM), and it leaves in well under a second.
    `_resume_gc` turns it back on once the command has run a second (it may tick for hours)."""
    global _gc_paused
    import gc

    if gc.isenabled():
        gc.disable()
        _gc_paused = True


def _resume_gc() -> None:
    global _gc_paused
    if _gc_paused:
        import gc

        gc.enable()
        _gc_paused = False


def _leave(code: int) -> None:
    """Exit without Python's teardown: freeing every module and object cost a launch more
    than the record's two fsyncs (~10 ms of ~80 on a loaded 2-core VM). Nothing is lost:
    the launch closed its index connection (so SQLite checkpointed) and its files, its
    tick thread has ended, and stdout and stderr are flushed here; burn registers no
    atexit handler. (mypy's command line leaves the same way, for the same reason.)"""
    from burn.cli.main import hard_exit  # (imported already: it started this launch)

    hard_exit(code)


def _launch(args: Sequence[str]) -> int:
    try:
        persona, argv, tags, tier, no_burn, budget = parse(args)
    except _Usage as e:
        sys.stderr.write(f"burn: error: {e}\n{USAGE}\n")
        return 2
    except _Help:
        sys.stderr.write(USAGE + "\n")
        return 0
    if no_burn or any(
        os.environ.get(k, "").strip().lower() in _OPT_OUT for k in ("BURN", "AGENTWORKFORCE_BURN")
    ):
        return _exec(argv)
    return execute(persona, argv, tags, tier, budget)


def _exec(argv: list[str]) -> int:
    """Become the command: no wrapper left, so exit codes and signals are the command's."""
    sys.stdout.flush()
    for s in _RESTORED:
        signal.signal(s, signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        return _not_started(argv[0], e)
    return 0  # pragma: no cover - exec does not return


def _not_started(command: str, error: OSError) -> int:
    """A shell's codes: 127 when the command is not found, 126 when it cannot run."""
    if isinstance(error, FileNotFoundError):
        sys.stderr.write(f"burn: {command}: command not found\n")
        return 127
    sys.stderr.write(f"burn: {command}: {error.strerror}\n")
    return 126


def execute(
    persona: str,
    argv: list[str],
    tags: dict[str, str],
    tier: str | None,
    budget: dict[str, str] | None = None,
) -> int:
    from burn.ledger.launcher import Launch
    from burn.store.errors import BurnError

    budget = budget or {}
    pool = None
    if "pool" in budget:
        from burn.ledger.record import usd_to_micros

        try:
            pool = usd_to_micros(budget["pool"])
        except BurnError as e:
            sys.stderr.write(f"burn: error: --pool: {e}\n{USAGE}\n")
            return 2
    try:
        current = Launch.begin(
            persona, argv, tags=tags, tier=tier, pool=pool, kill_on_cap="kill_on_cap" in budget, live=False
        )
    except BurnError as e:  # a persona that does not resolve, or a cap that forbids: nothing runs
        sys.stderr.write(f"burn: {'refused' if e.exit_code == 75 else 'error'}: {e}\n")
        return e.exit_code
    for warning in current.budget.warnings if current.budget is not None else ():
        sys.stderr.write(f"burn: warning: {warning}\n")
    code = _spawn_and_wait(current.argv, current.env, current.watch, current.go_live)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        record = current.end(code)
    except KeyboardInterrupt:
        sys.stderr.write("burn: interrupted; the next `burn ingest` records this launch\n")
        return code
    finally:
        current.ledger.close()
    stopped = (record or {}).get("stopped")
    if stopped:
        sys.stderr.write(_stopped(stopped))
    if current.warning:
        sys.stderr.write(f"burn: warning: {current.warning} (details in $BURN_HOME/logs/burn.log)\n")
    elif record is not None and sys.stderr.isatty():
        sys.stderr.write(_summary(record))
    return code


def spawn(argv: list[str], env: dict[str, str]) -> int:
    """Start the command as `subprocess.Popen(argv, env=env)` would, and return its pid.

    `os.posix_spawn` rather than subprocess: importing subprocess was a tenth of the
    wrapper's imports. The command is looked up on the PATH of `env`, like subprocess and
    execvpe do; the first error that is not "no such file" wins (126 rather than 127). The
    child inherits what the wrapper inherited (burn's own files are close-on-exec), like
    `--no-burn`'s exec."""
    name = argv[0]
    if os.sep in name:
        candidates = [name]
    else:
        candidates = [os.path.join(d, name) for d in (env.get("PATH") or os.defpath).split(os.pathsep)]
    missing: OSError = FileNotFoundError(2, os.strerror(2), name)
    error: OSError | None = None
    for path in candidates:
        try:
            return os.posix_spawn(path, argv, env, setsigdef=_RESTORED)
        except (FileNotFoundError, NotADirectoryError) as e:
            missing = e
        except OSError as e:
            error = error or e
    raise error or missing


def _spawn_and_wait(argv: list[str], env: dict[str, str], started: Any = None, running_on: Any = None) -> int:
    """Run the command to its end; its exit code as a shell gives it. `started(pid)` once
    it runs; `running_on(0)` if it is still running after a second (the launch goes live)."""
    try:
        pid = spawn(argv, env)
    except OSError as e:
        return _not_started(argv[0], e)
    if started is not None:
        started(pid)
    running = [True]  # until reaped: after that the pid may be another process's

    def forward(signum: int, _frame: Any) -> None:
        if running[0]:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def interrupt(signum: int, frame: Any) -> None:
        if forwards_interrupt(pid):
            forward(signum, frame)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGQUIT, interrupt)
    if running_on is not None and not _ends_within(pid, TICK_S):
        _resume_gc()
        running_on(0)
    try:
        _, status = os.waitpid(pid, 0)  # (retried after a signal handler runs: PEP 475)
    except ChildProcessError:  # SIGCHLD ignored (inherited): reaped unseen; subprocess says 0
        status = 0
    running[0] = False
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(s, signal.SIG_DFL)
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def _ends_within(pid: int, seconds: float) -> bool:
    """Whether the child ends within `seconds` (left to be reaped). False where there is
    no pidfd (not Linux 5.3+): the caller then goes live at once, as it always did."""
    try:
        ended = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return False
    try:
        import select

        return bool(select.select([ended], [], [], seconds)[0])  # (retried after a handler: PEP 475)
    finally:
        os.close(ended)


def forwards_interrupt(child: int) -> bool:
    """Whether a SIGINT the wrapper got must be passed on to its child.

    Not when the child is in the terminal's foreground process group: a Ctrl-C there
    already reached it, and a second one makes a harness that asks "press Ctrl-C again
    to exit" quit. Yes when there is no terminal, or the child runs in another group:
    then the signal came from `kill` and only the wrapper got it."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return True
    try:
        return os.tcgetpgrp(fd) != os.getpgid(child)
    except OSError:
        return True
    finally:
        os.close(fd)


def _summary(record: dict[str, Any]) -> str:
    cost = record.get("cost_micros")
    money = "unknown cost" if cost is None else f"${cost / 1_000_000:,.2f}"
    tokens = record.get("total_tokens")
    size = "unknown tokens" if tokens is None else f"{tokens:,} tokens"
    who = (
        f"{record['persona']}@{record['version_short']}" if record.get("version_short") else record["persona"]
    )
    return f"burn: {who}  {money}  {size}  record {record['id'][:12]}\n"


def _stopped(stopped: dict[str, Any]) -> str:
    spent, limit = stopped.get("spent_micros") or 0, stopped.get("limit_micros") or 0
    return (
        f"burn: stopped by {stopped.get('signal')}: live spend ${spent / 1e6:,.4f} crossed the"
        f" {stopped.get('cap')} (${limit / 1e6:,.4f})\n"
    )
