"""Entry point: lazy command loading, and the one place errors become exit codes.

Exit codes: 0 ok, 1 a BurnError (message names the thing and the fix), 2 usage,
130 Ctrl-C, 3 unexpected (traceback written to $BURN_HOME/logs/burn.log).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)

if TYPE_CHECKING:
    from collections.abc import Callable

    import click

# command name -> (module, attribute, one-line help shown in `burn --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "launch": ("burn.cli.launch", "launch", "Run a harness under a persona and record its spend."),
    "record": ("burn.cli.record", "record", "Append a spend record known elsewhere."),
    "log": ("burn.cli.log", "log_command", "List records, newest first, like git log."),
    "show": ("burn.cli.log", "show_command", "Show one record, whole."),
    "ingest": ("burn.cli.ingest", "command", "Read harness logs and record new spend."),
    "summary": ("burn.cli.summary", "command", "Totals grouped by persona, version, model, day, ..."),
    "diff": (
        "burn.cli.diff",
        "command",
        "Did persona version B cost more or less per launch than A, and what changed.",
    ),
    "pricing": ("burn.cli.pricing", "pricing", "Show or update the offline price table."),
    "persona": (
        "burn.cli.persona",
        "command",
        "The persona store: add, list, show, log, diff, import.",
    ),
    "budget": ("burn.cli.budget", "budget", "Spending caps per persona: set, check, status."),
    "fsck": ("burn.cli.maintenance", "fsck", "Verify the ledger, every persona id and the index."),
    "reindex": ("burn.cli.maintenance", "reindex", "Rebuild the SQLite index from the ledger."),
    "gc": ("burn.cli.maintenance", "gc", "Pack loose objects in the ledger."),
    "hooks": ("burn.cli.hooks", "hooks", "Git hooks: each commit says which persona and spend made it."),
    "demo": ("burn.cli.demo", "demo", "Run the whole flow on a throw-away home."),
}


def build() -> click.Group:
    import click

    class LazyGroup(click.Group):
        """Imports a command's module only when that command runs (keeps start-up light)."""

        def list_commands(self, ctx: click.Context) -> list[str]:
            return list(COMMANDS)

        def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
            if name not in COMMANDS:
                return None
            import importlib

            module, attr, _ = COMMANDS[name]
            found = getattr(importlib.import_module(module), attr)
            # fast-path modules keep click out of their import: `command()` builds it
            cmd: click.Command = found if isinstance(found, click.Command) else found()
            return cmd

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            rows = [(name, short) for name, (_, _, short) in COMMANDS.items()]
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    @click.group(
        cls=LazyGroup,
        context_settings={"help_option_names": ["-h", "--help"]},
        epilog="Example: burn log persona=reviewer --since 7d",
    )
    @click.version_option(package_name="burn", prog_name="burn", message="%(prog)s %(version)s")
    def cli() -> None:
        """burn — what your coding agents cost, per persona and per persona version.

        Spend is kept in a git-style ledger under $BURN_HOME (default: the platform
        data dir). See `burn COMMAND --help` for each command.
        """

    return cli


def _wants_help(argv: list[str]) -> bool:
    if argv[:1] == ["launch"]:  # after the persona, --help is the harness's
        from burn.cli.launch import wants_help

        return wants_help(argv[1:])
    return not argv or "--help" in argv or "-h" in argv


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["launch"] and not _wants_help(args):
        from burn.cli.launch import fast_main  # no click: the wrapper's overhead is the product

        sys.exit(fast_main(args[1:], hard_exit=argv is None))
    if args[:2] == ["hooks", "run"] and not _wants_help(args):
        from burn.cli.hooks import fast_run  # no click: runs on every commit

        sys.exit(fast_run(args[2:]))
    if _wants_help(args):
        if not os.environ.get("BURN_PLAIN_HELP"):
            from rich_click.patch import patch  # rich help only when help is shown

            patch()
    elif os.environ.get("BURN_FASTPATH", "1") != "0":
        from burn.cli import options
        from burn.cli.fastpath import dispatch  # read commands without click

        options.LEAVING = argv is None
        code = dispatch(args)
        if code is not None:
            if argv is None:  # the process is this command: leave without Python's teardown
                _leave(code)
            sys.exit(code)
    sys.exit(run(build(), args))


def _leave(code: int) -> None:
    """Exit at once once the command's ledgers are closed (their index checkpointed), as
    the launch wrapper does (cli/launch.py): the teardown of every module and object is
    ~10 ms of a read command that needs none of it."""
    from burn.cli.options import OPENED

    for opened in OPENED:
        try:
            opened.close()
        except Exception:  # leaving anyway: a close that fails loses nothing committed
            pass
    hard_exit(code)


def hard_exit(code: int) -> None:
    """Leave with `code` now, stdout and stderr flushed, skipping Python's teardown (burn
    registers no atexit handler; mypy's command line leaves the same way)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe: nothing more can be said
            pass
    os._exit(code)


def run(cli: click.Group, args: list[str]) -> int:
    def call() -> int:
        import click

        try:
            code = cli.main(args=args, prog_name="burn", standalone_mode=False)
            return code if isinstance(code, int) else 0  # an Exit(n) comes back as n here
        except click.exceptions.Exit as e:
            return e.exit_code
        except click.ClickException as e:
            e.show()
            return e.exit_code
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None

    return guarded(call)


def guarded(call: Callable[[], int]) -> int:
    """Run a command and turn what it raises into burn's message and exit code."""
    from burn.store.errors import BurnError

    try:
        return call()
    except KeyboardInterrupt:
        sys.stderr.write("\nburn: interrupted\n")
        return 130
    except BurnError as e:
        sys.stderr.write(f"burn: error: {e}\n")
        return e.exit_code
    except BrokenPipeError:
        # `burn log | head`: stop quietly, like git
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except Exception as e:
        path = _write_traceback()
        sys.stderr.write(f"burn: internal error: {type(e).__name__}: {e}\n")
        sys.stderr.write(f"burn: the traceback is in {path}; please report it\n")
        return 3


def _write_traceback() -> str:
    import time
    import traceback

    text = f"--- {time.strftime('%Y-%m-%dT%H:%M:%S%z')} burn {' '.join(sys.argv[1:])}\n"
    text += traceback.format_exc()
    try:
        from burn.ledger.home import Home

        path = Home.default().log_dir / "burn.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as f:
            f.write(text)
        return str(path)
    except Exception:
        import tempfile

        fd, name = tempfile.mkstemp(prefix="burn-", suffix=".log")
        os.write(fd, text.encode())
        os.close(fd)
        return name


if __name__ == "__main__":  # pragma: no cover
    main()
