"""The platform's default home for burn, with no imports: the hooks and the launch
wrapper of a user who keeps the default need it on every commit and launch."""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping


def default_home(environ: Mapping[str, str] = os.environ) -> str:
    """`platformdirs.user_data_dir("burn")`. In the plain Linux cases (an absolute
    XDG_DATA_HOME, or none and an absolute HOME) computed here by the XDG rule, because
    importing platformdirs costs 15-40 ms on every launch and commit of a user who keeps
    the default home; a test holds the two equal. Anything else asks platformdirs."""
    if sys.platform.startswith("linux"):
        xdg, home = environ.get("XDG_DATA_HOME", ""), environ.get("HOME", "")
        if xdg.startswith("/"):
            return os.path.join(xdg, "burn")
        if not xdg and home.startswith("/"):
            return os.path.join(home.rstrip("/") or "/", ".local", "share", "burn")
    import platformdirs  # lazy: only needed when BURN_HOME is unset

    return str(platformdirs.user_data_dir("burn", appauthor=False))
