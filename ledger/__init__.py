"""burn.ledger: spend records in a git-backed ledger, a derived SQLite index, queries.

Never imports click or rich; usable from Python without the CLI:

    from burn.ledger import Ledger
    ledger = Ledger.open()
    ledger.record("reviewer", by_model=[...], cost_micros=420000)

Names load lazily (PEP 562), so hot paths import only what they use.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)

_EXPORTS = {
    "Home": "home",
    "Launch": "launcher",
    "launch": "launcher",
    "Ledger": "ledger",
    "RecordError": "record",
    "make_body": "record",
    "public": "record",
    "usd_to_micros": "record",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from typing import Any

    from .home import Home
    from .launcher import Launch, launch
    from .ledger import Ledger
    from .record import RecordError, make_body, public, usd_to_micros
