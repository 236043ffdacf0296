"""`burn hooks install|uninstall|run`: attribution of commits to the launches behind them.

`burn hooks run NAME` is what the installed git hooks call on every commit, so it does not
go through click: `main` sends it to `fast_run`, which imports only what the hook uses (the
shims call `main` here directly, skipping the console script's imports too). Whatever
goes wrong in it — a missing or broken ledger, a lock held too long, a slow disk — it
prints one line and exits 0: a hook of burn's never fails or blocks a commit.
"""

from __future__ import annotations

import _signal as signal  # signal.py minus its enum wrappers (enum costs a hook ~3 ms)
import os
import sys

TYPE_CHECKING = False  # (typing and collections.abc cost a hook ~5 ms of imports)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

HOOKS = ("prepare-commit-msg", "post-commit", "complete")
RUN_USAGE = (
    "usage: burn hooks run prepare-commit-msg MSG_FILE [SOURCE [SHA]] | burn hooks run post-commit"
    " | burn hooks run complete [QUEUE_DIR]"
)
TIMEOUT_S = 5.0  # BURN_HOOK_TIMEOUT overrides
COMPLETE_TIMEOUT_S = 120.0  # the background writer: nobody waits for it


class _Timeout(Exception):
    pass


def __getattr__(name: str) -> Any:
    """The click group, built on first use: the hook path never imports click."""
    if name == "hooks":
        return _group()
    raise AttributeError(name)


def main(argv: Sequence[str] | None = None) -> int:
    """What the installed shims run: `python -c '...main(sys.argv[1:])' NAME ARGS...`."""
    return fast_run(sys.argv[1:] if argv is None else argv)


def fast_run(args: Sequence[str]) -> int:
    """`burn hooks run NAME ARGS...`: the hook's work under a deadline; always exit 0
    (except for a usage error, which only a person typing it can make)."""
    if not args or args[0] not in HOOKS:
        sys.stderr.write(RUN_USAGE + "\n")
        return 0 if args[:1] in (["-h"], ["--help"]) else 2
    name, rest = args[0], list(args[1:])
    if name == "prepare-commit-msg" and not rest:
        sys.stderr.write(f"burn: error: MSG_FILE is missing\n{RUN_USAGE}\n")
        return 2
    limit = COMPLETE_TIMEOUT_S if name == "complete" else TIMEOUT_S
    try:
        limit = float(os.environ.get("BURN_HOOK_TIMEOUT", limit))
    except ValueError:
        pass

    def expire(_signum: int, _frame: Any) -> None:
        raise _Timeout

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, max(limit, 0.01))
    try:
        if name == "prepare-commit-msg":
            from burn.ledger import attribution

            # git passes SOURCE as the 2nd argument; pre-commit passes it in the environment
            source = rest[1] if len(rest) > 1 else os.environ.get("PRE_COMMIT_COMMIT_MSG_SOURCE") or None
            attribution.prepare(rest[0], source, os.environ)
        elif name == "post-commit":
            from burn.ledger import attribution

            attribution.post_commit(os.environ)
        else:
            signal.signal(signal.SIGHUP, signal.SIG_IGN)  # (a terminal closed after the commit)
            _complete(rest[0] if rest else None)
    except _Timeout:
        sys.stderr.write(
            f"burn: the ledger did not answer within {limit:g} s; this commit is not attributed\n"
        )
    except KeyboardInterrupt:
        sys.stderr.write("burn: interrupted; this commit is not attributed\n")
    except Exception as e:
        sys.stderr.write(f"burn: {_one_line(e)}; this commit is not attributed\n")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return 0


def _complete(queue_dir: str | None) -> None:
    """Append the attribution records the post-commit shim queued (the background writer)."""
    from pathlib import Path

    from burn.ledger import Ledger

    ledger = Ledger.open(Path(queue_dir).parent if queue_dir else None)
    ledger.index  # noqa: B018 - opening the index appends what is queued (Ledger.index)


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _group() -> Any:
    import click

    from .options import format_option
    from .render import emit_one

    @click.group()
    def hooks() -> None:
        """Attribution in git: each commit says which persona and how much spend made it.

        `install` puts a prepare-commit-msg hook (adds Burn-Persona, Burn-Cost and
        Burn-Launch trailers) and a post-commit hook (records the attribution in the ledger
        and as a note in refs/notes/burn) into a repository. A commit made inside a launch
        (BURN_LAUNCH_ID set) is attributed to that launch exactly; any other commit to the
        launches that ended in its work tree since the previous commit and that no commit
        has claimed (marked `Burn-Attribution: window`).

        Opt out of one commit with BURN=0 or `git -c burn.hooks=false commit`. Merge,
        squash and fixup messages are left alone unless `git config burn.trailers always`.

        \b
        Examples:
          burn hooks install
          burn hooks install --repo ../other-project
          burn log commit=HEAD
          burn summary --by commit main..HEAD
        """

    @hooks.command()
    @click.option("--repo", type=click.Path(file_okay=False, exists=True), default=".", show_default=True,
                  help="The repository to install into.")  # fmt: skip
    @format_option(("table", "json"))
    def install(repo: str, fmt: str) -> None:
        """Install prepare-commit-msg and post-commit into a repository.

        A hook the repository already has is kept and runs first (`uninstall` restores
        it); installing again changes nothing. The hooks call this burn by its absolute
        path, so commits made from an IDE with a minimal PATH are attributed too. Refuses,
        naming the fix, when core.hooksPath points git at another hooks directory.

        \b
        Example:
          burn hooks install --repo .
        """
        from pathlib import Path

        from burn.ledger.hookinstall import install as run

        _report(run(Path(repo)), fmt, emit_one)

    @hooks.command()
    @click.option("--repo", type=click.Path(file_okay=False, exists=True), default=".", show_default=True,
                  help="The repository to remove the hooks from.")  # fmt: skip
    @format_option(("table", "json"))
    def uninstall(repo: str, fmt: str) -> None:
        """Remove burn's hooks and put back the hooks they replaced (notes are kept).

        \b
        Example:
          burn hooks uninstall
        """
        from pathlib import Path

        from burn.ledger.hookinstall import uninstall as run

        _report(run(Path(repo)), fmt, emit_one)

    @hooks.command(context_settings={"ignore_unknown_options": True})
    @click.argument("name", type=click.Choice(list(HOOKS)))
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def run(name: str, args: tuple[str, ...]) -> None:
        """Run hook NAME with git's arguments (what the installed hooks call).

        Never fails a commit: any problem is one line on stderr and exit 0. The deadline
        is BURN_HOOK_TIMEOUT seconds (default 5). `complete` appends the attribution
        records the post-commit hook queued (it runs in the background after a commit;
        any burn command that reads the ledger does the same).

        \b
        Example:
          burn hooks run prepare-commit-msg .git/COMMIT_EDITMSG message
        """
        raise click.exceptions.Exit(fast_run([name, *args]))

    return hooks


def _report(result: dict[str, Any], fmt: str, emit_one: Any) -> None:
    if fmt == "json":
        emit_one(result)
        return
    lines = [f"{name}: {what}" for name, what in result["hooks"].items()]
    lines.append(f"in {result['hooks_dir']}")
    if result.get("burn"):
        lines.append(f"the hooks run {result['burn']} (else burn on PATH)")
    elif "burn" in result:
        lines.append("burn was not found on PATH: the hooks will look for it at each commit")
    sys.stdout.write("\n".join(lines) + "\n")
