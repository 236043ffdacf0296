"""The one exception tree. Only `burn.cli` turns these into messages and exit codes."""

from __future__ import annotations

from pathlib import Path


class BurnError(Exception):
    """Root of every error burn reports on purpose.

    The message names the thing (file, field, record) and, where there is one, the fix,
    so the CLI can print it as one line.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.field = field
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}: "
        if self.field:
            where += f"field '{self.field}': "
        text = f"{where}{self.message}"
        if self.fix:
            text += f" (fix: {self.fix})"
        return text


def json_problem(e: Exception) -> str:
    """One wording for "this file is not JSON", used by every reader of JSON files."""
    lineno, colno, msg = getattr(e, "lineno", None), getattr(e, "colno", None), getattr(e, "msg", str(e))
    return f"not valid JSON at line {lineno} column {colno}: {msg}" if lineno else f"not valid JSON: {e}"


class UsageError(BurnError):
    """The command line itself is wrong (bad filter, bad date): exit 2 like click."""

    exit_code = 2


class PersonaError(BurnError):
    """A persona file cannot be read or is not a valid persona."""


class PersonaNotFound(BurnError):
    """No persona of that name in any layer or in the store."""


class VersionNotFound(BurnError):
    """No stored version matches a prefix."""


class AmbiguousVersion(BurnError):
    """A version prefix matches more than one stored version."""

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        self.candidates = candidates
        super().__init__(
            f"version prefix '{prefix}' is ambiguous; candidates: {', '.join(candidates)}",
            fix="give more digits",
        )


class ObjectCorrupt(BurnError):
    """A stored object no longer hashes to its id."""


class ImportFailed(BurnError):
    """Another tool's agent file cannot be imported."""
