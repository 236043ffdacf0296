"""The cascade of persona sources and the resolution of a name into a spec.

Sources, highest first: `./.burn/personas` (cwd), `$BURN_HOME/personas` (user), configured
dirs (dir:0, dir:1, ...), the built-in library. A name resolves to the file in the highest
layer; `extends` reaches only into strictly lower layers.
"""

from __future__ import annotations

from pathlib import Path

from .canonical import Version, canonical_bytes
from .errors import PersonaError, PersonaNotFound
from .merge import finalise, merge
from .persona import SUFFIXES, Layer, PersonaFile, load_persona_file
from .tuples import NamedTuple

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

LIBRARY_DIR = Path(__file__).parent / "library"
LIBRARY_JSON = LIBRARY_DIR / "library.json"  # generated from the TOML files (store/builtin.py)
MAX_EXTENDS_DEPTH = 32


class ResolvedPersona(NamedTuple):
    """A persona after cascade, extends and tier merge: what gets hashed and launched."""

    name: str
    spec: dict[str, Any]
    version: Version
    source: str
    path: Path | None = None
    tier: str | None = None
    budget: dict[str, Any] | None = None
    chain: tuple[str, ...] = ()  # files merged, lowest first
    blob: str | None = None  # the git blob id of the canonical spec (what a record's tree holds)


def find_cwd_root(start: Path) -> Path | None:
    """The nearest ancestor of `start` holding `.burn/personas`, like git finds `.git`."""
    start = start.resolve()
    for d in (start, *start.parents):
        if (d / ".burn" / "personas").is_dir():
            return d
    return None


def library_files(layer: Layer) -> list[PersonaFile] | None:
    """The built-in library's files as its generated JSON holds them, with their versions,
    so a launch of one reads no TOML and hashes nothing (None without the JSON: then the
    TOML files are read)."""
    import json

    try:
        shipped = json.loads(LIBRARY_JSON.read_bytes())["personas"]
    except FileNotFoundError:
        return None
    return [
        PersonaFile(
            name,
            LIBRARY_DIR / entry["file"],
            layer,
            entry["data"],
            versions={tier: (b3, sha, blob) for tier, (b3, sha, blob) in entry["versions"].items()},
        )
        for name, entry in shipped.items()
    ]


def default_layers(cwd: Path, home: Path, dirs: list[Path]) -> list[Layer]:
    layers: list[Layer] = []
    root = find_cwd_root(cwd)
    if root is not None:
        layers.append(Layer("cwd", root / ".burn" / "personas", root, len(layers)))
    layers.append(Layer("user", home / "personas", home, len(layers)))
    for i, d in enumerate(dirs):
        d = d.resolve()
        layers.append(Layer(f"dir:{i}", d, d, len(layers)))
    layers.append(Layer("library", LIBRARY_DIR, LIBRARY_DIR, len(layers)))
    return layers


class Catalog:
    """Every persona file in every layer, read once; broken files are kept as errors."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers
        self.files: dict[str, list[PersonaFile]] = {}  # by rank, best first
        self.errors: dict[str, list[PersonaError]] = {}  # by name

    @classmethod
    def scan(cls, layers: list[Layer]) -> Catalog:
        cat = cls(layers)
        for layer in layers:
            shipped = library_files(layer) if layer.root == LIBRARY_DIR else None
            if shipped is None:
                cat.scan_directory(layer)
            for pf in shipped or ():  # the built-in library, read from its generated JSON
                cat.files.setdefault(pf.name, []).append(pf)
        return cat

    def scan_directory(self, layer: Layer) -> None:
        """Read every persona file of one layer's directory."""
        try:
            entries = sorted(layer.root.iterdir())
        except FileNotFoundError:
            return
        except OSError as e:
            err = PersonaError(f"cannot list persona directory: {e.strerror}", path=layer.root)
            self.errors.setdefault("", []).append(err)
            return
        seen: dict[str, Path] = {}
        for path in entries:
            if path.suffix not in SUFFIXES or path.name.startswith(".") or path == LIBRARY_JSON:
                continue
            if path.stem in seen:
                self._error(
                    path.stem,
                    PersonaError(
                        f"defined twice in one layer (also {seen[path.stem].name})",
                        path=path,
                        fix="keep one of the two files",
                    ),
                )
                continue
            seen[path.stem] = path
            try:
                pf = load_persona_file(path, layer)
            except PersonaError as e:
                self._error(path.stem, e)
                # A broken file still shadows lower layers: launching a lower
                # persona of the same name silently would be worse than failing.
                self.files.setdefault(path.stem, []).append(PersonaFile(path.stem, path, layer, {}, error=e))
                continue
            self.files.setdefault(pf.name, []).append(pf)

    def _error(self, name: str, err: PersonaError) -> None:
        self.errors.setdefault(name, []).append(err)

    def all_errors(self) -> list[PersonaError]:
        return [e for errs in self.errors.values() for e in errs]

    def names(self) -> list[str]:
        return sorted(self.files)

    def resolve(self, name: str, tier: str | None = None) -> ResolvedPersona:
        files = self.files.get(name)
        if not files:
            raise PersonaNotFound(
                f"no persona named {name!r}",
                fix="see `burn persona list`, or add one with `burn persona add FILE`",
            )
        return self.resolve_file(files[0], tier)

    def resolve_file(self, top: PersonaFile, tier: str | None = None) -> ResolvedPersona:
        """Resolve one file (which may not be the winner of its name) into a spec."""
        name = top.name
        merged, chain = self._merged(top, 0)
        budget = merged.get("budget")
        tiers = merged.get("tiers") or {}
        if tier is not None:
            if tier not in tiers:
                known = ", ".join(sorted(tiers)) or "none"
                raise PersonaError(
                    f"persona {name!r} has no tier {tier!r} (tiers: {known})",
                    path=top.path,
                    field="tiers",
                )
            merged = merge(merged, tiers[tier])
        spec = finalise(merged)
        shipped = (top.versions or {}).get(tier or "") if len(chain) == 1 else None
        if shipped is not None:  # the library's, hashed when it was generated
            version, blob = Version(shipped[0], shipped[1]), shipped[2]
        else:
            from .gitrepo import object_id

            data = canonical_bytes(spec)
            version, blob = Version.of_bytes(data), object_id(b"blob", data).decode()
        return ResolvedPersona(
            name=name,
            spec=spec,
            version=version,
            source=top.layer.label,
            path=top.path,
            tier=tier,
            budget=budget,
            chain=tuple(chain),
            blob=blob,
        )

    def _merged(self, pf: PersonaFile, depth: int) -> tuple[dict[str, Any], list[str]]:
        if pf.error is not None:
            raise pf.error
        if depth > MAX_EXTENDS_DEPTH:
            raise PersonaError("extends chain too deep (a cycle?)", path=pf.path, field="extends")
        base_name = pf.data.get("extends")
        data = {k: v for k, v in pf.data.items() if k != "extends"}
        if base_name is None:
            return data, [str(pf.path)]
        lower = [f for f in self.files.get(base_name, []) if f.layer.rank > pf.layer.rank]
        if not lower:
            raise PersonaError(
                f"extends {base_name!r}, which no lower layer than {pf.layer.label!r} defines",
                path=pf.path,
                field="extends",
                fix="extend a persona from a lower layer (user, dir:N or library)",
            )
        parent, chain = self._merged(lower[0], depth + 1)
        parent = dict(parent)
        parent.pop("name", None)
        return merge(parent, data), [*chain, str(pf.path)]
