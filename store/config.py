"""Where burn keeps its things: the home directory and the configured persona dirs."""

from __future__ import annotations

import os
from pathlib import Path


def burn_home() -> Path:
    """`$BURN_HOME`, else the platform data dir (tests always set BURN_HOME)."""
    env = os.environ.get("BURN_HOME")
    if env:
        return Path(env).expanduser()
    from .homedir import default_home

    return Path(default_home())


def read_config(home: Path) -> dict:
    """`$BURN_HOME/config.toml`, or {} when there is none."""
    path = home / "config.toml"
    if not path.exists():
        return {}
    import tomllib  # (only when a config file is there to read)

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as e:
        from .errors import BurnError

        raise BurnError(f"not valid TOML: {e}", path=path, fix="correct or delete the file") from e


def persona_dirs(home: Path) -> list[Path]:
    """Configured persona directories, in order: `BURN_PERSONA_PATH`, then config.toml."""
    dirs: list[Path] = []
    env = os.environ.get("BURN_PERSONA_PATH", "")
    dirs += [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    configured = read_config(home).get("persona_dirs", [])
    if isinstance(configured, list):
        dirs += [Path(str(p)).expanduser() for p in configured]
    return dirs
