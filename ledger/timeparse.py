"""`--since/--until` values: dates, date-times, and relative spans like `7d`."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta

from burn.store.errors import UsageError

_REL = re.compile(r"^(\d+)\s*(s|m|h|d|w|mo|y)$")
_UNITS = {
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "mo": 30 * 86400,
    "y": 365 * 86400,
}


def parse_when(text: str, now: float | None = None) -> int:
    """Unix seconds for `7d`, `12h`, `today`, `yesterday`, `2026-11-01`, or an ISO time.

    Dates without a time are local midnight, like git's `--since=2026-11-01`.
    """
    now = time.time() if now is None else now
    t = text.strip().lower()
    m = _REL.match(t)
    if m:
        return int(now - int(m.group(1)) * _UNITS[m.group(2)])
    local_midnight = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if t == "now":
        return int(now)
    if t == "today":
        return int(local_midnight.timestamp())
    if t == "yesterday":
        return int((local_midnight - timedelta(days=1)).timestamp())
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"cannot read the time {text!r}",
            fix="use a date (2026-11-01), an ISO time (2026-11-01T09:30Z) or a span (7d, 12h, 2w)",
        ) from None
    return int(dt.timestamp())  # naive values are local time
