"""The canonical form of a spec and the version ids derived from it.

`canonicaljson.encode_canonical_json(spec)` is the only input to the hash; that byte
form is a contract (see tests/test_canonical.py for the golden vectors).
"""

from __future__ import annotations

import re

from .tuples import NamedTuple

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

SHORT_LEN = 12
MIN_PREFIX = 6
_HEX = re.compile(r"^[0-9a-f]+$")


def canonical_bytes(spec: Any) -> bytes:
    """The canonical JSON bytes of a spec: sorted keys, no spaces, UTF-8."""
    import canonicaljson  # lazy: ~20 ms, only needed when hashing

    return bytes(canonicaljson.encode_canonical_json(spec))


class Version(NamedTuple):
    """The content address of a spec: blake3 (primary) and sha256 (alias)."""

    b3: str
    sha256: str

    @property
    def id(self) -> str:
        return f"b3:{self.b3}"

    @property
    def short(self) -> str:
        return self.b3[:SHORT_LEN]

    @property
    def sha256_id(self) -> str:
        return f"sha256:{self.sha256}"

    @classmethod
    def of_bytes(cls, data: bytes) -> Version:
        import blake3  # lazy: resolving a version prefix needs no hashing

        return cls(blake3.blake3(data).hexdigest(), _sha256(data).hexdigest())

    @classmethod
    def of_spec(cls, spec: Any) -> Version:
        return cls.of_bytes(canonical_bytes(spec))


def _sha256(data: bytes) -> Any:
    """CPython's own SHA-256 (`_sha2` from 3.12, `_sha256` before): importing hashlib loads
    OpenSSL, which costs a launch of a persona more than hashing its spec."""
    try:
        from _sha2 import sha256
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:  # pragma: no cover - a build without them
            from hashlib import sha256
    return sha256(data)


def parse_version_ref(text: str) -> tuple[str, str]:
    """Split a version reference into (algorithm, hex prefix).

    Accepts `b3:<hex>`, `sha256:<hex>` or a bare hex prefix (algorithm `any`), so
    either id form resolves. Raises ValueError with the reason.
    """
    algo = "any"
    prefix = text.strip().lower()
    if ":" in prefix:
        algo, prefix = prefix.split(":", 1)
        if algo not in ("b3", "sha256"):
            raise ValueError(f"unknown hash algorithm '{algo}' (use b3: or sha256:)")
    if not _HEX.match(prefix):
        raise ValueError(f"'{text}' is not a hex version id")
    if len(prefix) < MIN_PREFIX:
        raise ValueError(f"'{text}' is too short; give at least {MIN_PREFIX} hex digits")
    if len(prefix) > 64:
        raise ValueError(f"'{text}' is longer than a version id")
    return algo, prefix
