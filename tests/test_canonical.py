"""The canonical form and version ids are a contract: golden vectors and properties."""

from __future__ import annotations

import hashlib

import blake3
import pytest
from hypothesis import given
from hypothesis import strategies as st

from burn.store import Version, canonical_bytes, parse_version_ref

GOLDEN = [
    ({}, b"{}"),
    ({"name": "reviewer", "model": "m"}, b'{"model":"m","name":"reviewer"}'),
    ({"b": [3, 1, {"z": 1, "a": None}], "a": True}, b'{"a":true,"b":[3,1,{"a":null,"z":1}]}'),
    ({"prompt": "Café {{ticket}}\n"}, '{"prompt":"Café {{ticket}}\\n"}'.encode()),
]


@pytest.mark.parametrize(("spec", "expected"), GOLDEN)
def test_canonical_bytes_golden(spec: dict, expected: bytes) -> None:
    assert canonical_bytes(spec) == expected


# Fixed ids: if one of these changes, every stored version in every ledger changes.
GOLDEN_IDS = [
    (
        {},
        "6e46dd10defc9b56c29a6ec56b508c21f54c08192194e4df25bf36f0c9c3c279",
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    ),
    (
        {"name": "reviewer", "model": "m"},
        "3783a4ed83376ff3758c4661d6cc58de99f1211fd60b3ffe516b70d0203edf59",
        "bfbb079c3a95bf38fb9ada0287e236da8554d9a6f657e5bef6cb40fc7e9ece7f",
    ),
    (
        {"prompt": "Café {{ticket}}\n"},
        "5f56f1c0859e21f59317010d9061983f8dbcc232901a14af09a1ffb19d746bb3",
        "6ef63e928128d94150a551fd682dab3f2f03f5115c576dbdd28915fd4dacb643",
    ),
]


@pytest.mark.parametrize(("spec", "b3", "sha256"), GOLDEN_IDS)
def test_version_golden_ids(spec: dict, b3: str, sha256: str) -> None:
    v = Version.of_spec(spec)
    assert (v.b3, v.sha256) == (b3, sha256)
    assert v.id == f"b3:{b3}"
    assert v.short == b3[:12]
    assert v.sha256_id == f"sha256:{sha256}"


def test_ids_are_blake3_and_sha256_of_the_canonical_bytes() -> None:
    spec = {"tools": ["Read"], "name": "x"}
    data = canonical_bytes(spec)
    assert Version.of_spec(spec) == Version(blake3.blake3(data).hexdigest(), hashlib.sha256(data).hexdigest())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_key_order_does_not_change_the_version(spec: dict) -> None:
    reordered = dict(reversed(list(spec.items())))
    assert canonical_bytes(reordered) == canonical_bytes(spec)
    assert Version.of_spec(reordered) == Version.of_spec(spec)


@given(
    st.dictionaries(st.text(max_size=8), json_values, min_size=1, max_size=6),
    st.text(min_size=1, max_size=8),
)
def test_any_change_changes_the_version(spec: dict, key: str) -> None:
    changed = {**spec, key: ["changed", spec.get(key)]}
    assert Version.of_spec(changed) != Version.of_spec(spec)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3f2a9c", ("any", "3f2a9c")),
        ("b3:3F2A9C1B", ("b3", "3f2a9c1b")),
        ("sha256:abcdef12", ("sha256", "abcdef12")),
    ],
)
def test_parse_version_ref(text: str, expected: tuple[str, str]) -> None:
    assert parse_version_ref(text) == expected


@pytest.mark.parametrize("bad", ["3f2a9", "md5:abcdef", "xyz123", "b3:" + "a" * 65])
def test_parse_version_ref_rejects(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_version_ref(bad)
