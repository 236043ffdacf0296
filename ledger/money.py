"""Money as a person reads it. Its own module, with no imports, because the git hook
prints it on every attributed commit and record.py would cost the hook ~10 ms of imports."""

from __future__ import annotations


def fmt_usd(micros: int | None) -> str:
    if micros is None:
        return "unknown"
    if 0 < micros < 10_000:
        return f"${micros / 1_000_000:.4f}"
    return f"${micros / 1_000_000:.2f}"
