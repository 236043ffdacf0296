"""The built-in persona library's generated JSON: what it must hold, and how to make it.

A launch of a library persona should not pay for tomllib (a twentieth of the launch
wrapper's imports) nor hash a spec that only changes with burn itself, so the package
ships `library/library.json`: every library file as `load_persona_file` reads it, with
the version (b3, sha256) and git blob id of its spec, without and with each tier
(`cascade.library_files` reads it). The TOML files stay the source, and what `burn
persona show` names. After editing one:

    python -m burn.store.builtin > store/library/library.json

tests/test_launch_fast.py regenerates it and fails when the two differ.
"""

from __future__ import annotations

import json
from typing import Any

from .cascade import LIBRARY_DIR, Catalog
from .persona import Layer


def generate() -> dict[str, Any]:
    """Every library TOML file read, and each spec resolved and hashed."""
    layer = Layer("library", LIBRARY_DIR, LIBRARY_DIR, 0)
    catalog = Catalog([layer])
    catalog.scan_directory(layer)
    for errors in catalog.errors.values():
        raise errors[0]
    personas: dict[str, Any] = {}
    for name in catalog.names():
        pf = catalog.files[name][0]
        versions = {}
        for tier in [None, *sorted(pf.data.get("tiers") or {})]:
            resolved = catalog.resolve_file(pf, tier)
            versions[tier or ""] = [resolved.version.b3, resolved.version.sha256, resolved.blob]
        personas[name] = {"file": pf.path.name, "data": pf.data, "versions": versions}
    return {"generated_by": "python -m burn.store.builtin (from the *.toml files here)", "personas": personas}


def render() -> str:
    """`library.json`'s text."""
    return json.dumps(generate(), indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
