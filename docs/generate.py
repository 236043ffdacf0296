"""Regenerate docs/cli.md from the commands' own --help (tests/test_docs.py checks it is current).

python docs/generate.py > docs/cli.md
"""

from __future__ import annotations

import os
import subprocess
import sys

SUBCOMMANDS = {
    "persona": ["add", "list", "show", "log", "diff", "import"],
    "pricing": ["show", "update"],
    "hooks": ["install", "uninstall", "run"],
}


def help_text(args: list[str]) -> str:
    env = {**os.environ, "BURN_PLAIN_HELP": "1", "COLUMNS": "100", "NO_COLOR": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "burn.cli.main", *args, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    return out.replace("Usage: main", "Usage: burn").rstrip() + "\n"


def generate() -> str:
    from burn.cli.main import COMMANDS

    parts = [
        "# burn command reference\n",
        "Generated from each command's `--help` by `python docs/generate.py > docs/cli.md`.\n",
    ]
    names: list[list[str]] = [[]]
    for name in COMMANDS:
        names.append([name])
        names += [[name, sub] for sub in SUBCOMMANDS.get(name, [])]
    for args in names:
        title = " ".join(["burn", *args])
        parts.append(f"## {title}\n\n```text\n{help_text(args)}```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    sys.stdout.write(generate())
