"""Streaming complete lines of a log file from a byte offset (shared by JSONL readers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from . import Cursor, ReadResult

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any, BinaryIO

CHUNK = 1 << 20
MAX_LINE = 64 << 20  # no real usage line comes near this; a bigger one is skipped


def open_log(path: str | Path, cursor: Cursor, result: ReadResult) -> tuple[BinaryIO, int, int] | None:
    """The file open for reading, its inode, and the offset to read from (0 when the file
    was truncated, rotated or replaced); None when it cannot be read (counted in `result`).
    (Opened, then fstat'ed: one path lookup a file instead of a stat and an open; the
    caller closes it.)"""
    try:
        f = open(path, "rb")  # noqa: SIM115 - the caller reads it and closes it
    except OSError as e:
        skip_with_detail(result, path, 0, f"unreadable: {e.strerror}", "unreadable file")
        return None
    st = os.fstat(f.fileno())
    if st.st_ino != cursor.inode or st.st_size < cursor.offset:
        cursor.meta = {}  # another file now: its state starts over
        return f, st.st_ino, 0
    return f, st.st_ino, cursor.offset


def size_now(f: BinaryIO) -> int:
    """The size of an open file (after a read: a cursor's `size`)."""
    return os.fstat(f.fileno()).st_size


def complete_lines(
    f: BinaryIO, path: str | Path, offset: int, result: ReadResult
) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each complete, non-empty line from `offset`; a last line
    without its newline is left for the next run. `result.cursor` follows what was consumed
    (its meta["lines"] counts lines, so problems name real line numbers)."""
    for before, batch in line_batches(f, path, offset, result):
        for lineno, line in enumerate(batch, before + 1):
            if line:
                yield lineno, line


def line_batches(
    f: BinaryIO, path: str | Path, offset: int, result: ReadResult
) -> Iterator[tuple[int, list[bytes]]]:
    """The complete lines from `offset` as lists (empty lines included), each with the
    number of the line before its first: `complete_lines` for loops that would rather not
    resume a generator per line. When a list is handed out, `result.cursor` is already
    past its last line."""
    cursor = result.cursor
    cursor.offset = offset
    meta = cursor.meta
    f.seek(offset)
    pending: list[bytes] = []  # pieces of the unfinished line (joined once, at its end)
    held = 0
    lineno = first = int(meta.get("lines", 0)) if offset else 0
    skipping = meta.pop("skipping", None) == "1"  # inside a line too long to keep
    try:
        while True:
            try:
                chunk = f.read(CHUNK)
            except OSError as e:
                skip_with_detail(result, path, lineno, f"read failed: {e.strerror}", "read error")
                return
            if not chunk:
                if skipping:  # the long line goes on past the end: resume skipping next run
                    meta["skipping"] = "1"
                    text = f"longer than {MAX_LINE} bytes, unfinished: skipped so far"
                    skip_with_detail(result, path, lineno + 1, text, "line too long")
                return
            if skipping:  # drop bytes up to the long line's end without keeping them
                end = chunk.find(b"\n")
                if end < 0:
                    cursor.offset += len(chunk)
                    continue
                lineno += 1
                cursor.offset += end + 1
                skipping = False
                skip_with_detail(result, path, lineno, f"longer than {MAX_LINE} bytes", "line too long")
                chunk = chunk[end + 1 :]
            pending.append(chunk)
            held += len(chunk)
            if b"\n" in chunk:
                parts = b"".join(pending).split(b"\n")
                carry = parts.pop()
                pending, held = [carry], len(carry)
                cursor.offset += sum(map(len, parts)) + len(parts)
                before, lineno = lineno, lineno + len(parts)
                yield before, parts
            if held > MAX_LINE:  # never hold a giant line in memory
                cursor.offset += held
                pending, held = [], 0
                skipping = True
    finally:  # the line count goes with the offset (set once, not per line)
        if lineno != first:
            meta["lines"] = str(lineno)


def skip_with_detail(result: ReadResult, path: str | Path, lineno: int, text: str, reason: str) -> None:
    """Count a skipped line under a short `reason`; keep the first few details with their place."""
    result.skipped[reason] += 1
    if len(result.problems) < 20:
        result.problems.append(f"{path}:{lineno}: {text}")


def problem(result: ReadResult, path: str | Path, lineno: int, reason: str) -> None:
    skip_with_detail(result, path, lineno, reason, reason)


def json_object(line: bytes, path: str | Path, lineno: int, result: ReadResult) -> dict[str, Any] | None:
    """A line parsed as a JSON object, or None with the reason counted."""
    import orjson

    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        problem(result, path, lineno, "malformed JSON")
        return None
    if not isinstance(obj, dict):
        problem(result, path, lineno, "not a JSON object")
        return None
    return obj
