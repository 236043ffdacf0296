"""burn.store: persona specs — loading, cascade, canonical form, hashing, objects, diffs.

Knows nothing of spend. Usable from Python without the CLI:

    from burn.store import Catalog, default_layers
    persona = Catalog.scan(default_layers(cwd, home, [])).resolve("reviewer")
    persona.version.short

Names load lazily (PEP 562), so `import burn.store.errors` stays cheap on hot paths.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)

_EXPORTS = {
    "Version": "canonical",
    "canonical_bytes": "canonical",
    "parse_version_ref": "canonical",
    "Catalog": "cascade",
    "ResolvedPersona": "cascade",
    "default_layers": "cascade",
    "FieldChange": "diff",
    "diff_specs": "diff",
    "AmbiguousVersion": "errors",
    "BurnError": "errors",
    "ImportFailed": "errors",
    "ObjectCorrupt": "errors",
    "PersonaError": "errors",
    "PersonaNotFound": "errors",
    "UsageError": "errors",
    "VersionNotFound": "errors",
    "MERGE_RULES": "merge",
    "GitSpecStore": "objects",
    "MemorySpecStore": "objects",
    "SpecStore": "objects",
    "StoredVersion": "objects",
    "Layer": "persona",
    "PersonaFile": "persona",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from typing import Any

    from .canonical import Version, canonical_bytes, parse_version_ref
    from .cascade import Catalog, ResolvedPersona, default_layers
    from .diff import FieldChange, diff_specs
    from .errors import (
        AmbiguousVersion,
        BurnError,
        ImportFailed,
        ObjectCorrupt,
        PersonaError,
        PersonaNotFound,
        UsageError,
        VersionNotFound,
    )
    from .merge import MERGE_RULES
    from .objects import GitSpecStore, MemorySpecStore, SpecStore, StoredVersion
    from .persona import Layer, PersonaFile
