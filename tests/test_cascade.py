"""Persona files, the cascade, extends, tiers, path normalisation and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from burn.store import Catalog, PersonaError, PersonaNotFound, Version, default_layers
from burn.store.merge import MERGE_RULES, merge
from conftest import write


def layers(tmp_path: Path, cwd: Path | None = None, dirs: list[Path] | None = None):
    return default_layers(cwd or tmp_path / "work", tmp_path / "burn", dirs or [])


def test_cwd_beats_user_beats_dir_beats_library(tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    write(extra / "reviewer.toml", 'prompt = "from dir"\n')
    cat = Catalog.scan(layers(tmp_path, dirs=[extra]))
    assert cat.resolve("reviewer").source == "dir:0"
    write(tmp_path / "burn/personas/reviewer.json", '{"prompt": "from user"}')
    assert Catalog.scan(layers(tmp_path, dirs=[extra])).resolve("reviewer").source == "user"
    write(tmp_path / "work/.burn/personas/reviewer.toml", 'prompt = "from cwd"\n')
    sub = tmp_path / "work/src/deep"
    sub.mkdir(parents=True)
    p = Catalog.scan(layers(tmp_path, cwd=sub, dirs=[extra])).resolve("reviewer")
    assert (p.source, p.spec["prompt"]) == ("cwd", "from cwd")


def test_library_personas_ship_with_the_package(tmp_path: Path) -> None:
    cat = Catalog.scan(layers(tmp_path))
    p = cat.resolve("reviewer")
    assert p.source == "library"
    assert p.spec["name"] == "reviewer" and p.spec["prompt"]


def test_toml_and_json_give_the_same_version(tmp_path: Path) -> None:
    a = tmp_path / "a"
    b = tmp_path / "b"
    write(a / "x.toml", 'model = "m"\ntools = ["Read", "Grep"]\nprompt = "hi"\n')
    write(b / "x.json", '{"prompt": "hi", "tools": ["Read", "Grep"], "model": "m"}')
    va = Catalog.scan(layers(tmp_path, dirs=[a])).resolve("x").version
    vb = Catalog.scan(layers(tmp_path, dirs=[b])).resolve("x").version
    assert va == vb


def test_extends_merges_by_the_published_table(tmp_path: Path) -> None:
    write(
        tmp_path / "burn/personas/base.toml",
        'model = "m1"\nprompt = "base"\ntools = ["Read", "Grep"]\nshade = "blue"\n[env]\nA = "1"\nB = "2"\n',
    )
    write(
        tmp_path / "work/.burn/personas/child.toml",
        'extends = "base"\nmodel = "m2"\ntools = ["Grep", "Edit"]\nprompt_append = "more"\n'
        '[env]\nB = "3"\nC = "4"\n',
    )
    p = Catalog.scan(layers(tmp_path)).resolve("child")
    assert p.spec == {
        "name": "child",
        "model": "m2",
        "prompt": "base\n\nmore",
        "tools": ["Read", "Grep", "Edit"],
        "env": {"A": "1", "B": "3", "C": "4"},
        "shade": "blue",  # unknown keys survive the merge
    }
    assert "extends" not in p.spec
    assert len(p.chain) == 2


def test_key_union_null_removes_a_key() -> None:
    assert merge({"env": {"A": "1", "B": "2"}}, {"env": {"A": None}}) == {"env": {"B": "2"}}


def test_merge_table_is_published_in_docs() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "personas.md").read_text()
    for field, rule in MERGE_RULES.items():
        assert f"| `{field}` | {rule} |" in doc


def test_extends_reaches_only_strictly_lower_layers(tmp_path: Path) -> None:
    write(tmp_path / "burn/personas/a.toml", 'extends = "b"\n')
    write(tmp_path / "burn/personas/b.toml", 'prompt = "same layer"\n')
    cat = Catalog.scan(layers(tmp_path))
    with pytest.raises(PersonaError, match="no lower layer") as e:
        cat.resolve("a")
    assert e.value.field == "extends"


def test_same_name_extends_the_lower_definition(tmp_path: Path) -> None:
    write(tmp_path / "burn/personas/reviewer.toml", 'extends = "reviewer"\nmodel = "mine"\n')
    p = Catalog.scan(layers(tmp_path)).resolve("reviewer")
    assert p.spec["model"] == "mine"
    library = Catalog.scan(layers(tmp_path)).files["reviewer"][-1]
    assert p.spec["prompt"] == library.data["prompt"]


def test_budget_and_tiers_are_not_hashed(tmp_path: Path) -> None:
    d = tmp_path / "d"
    write(d / "x.toml", 'model = "m"\n')
    v1 = Catalog.scan(layers(tmp_path, dirs=[d])).resolve("x").version
    write(d / "x.toml", 'model = "m"\n[budget]\ndaily = 5\n[tiers.cheap]\nmodel = "small"\n')
    p = Catalog.scan(layers(tmp_path, dirs=[d])).resolve("x")
    assert p.version == v1
    assert p.budget == {"daily": 5}
    cheap = Catalog.scan(layers(tmp_path, dirs=[d])).resolve("x", tier="cheap")
    assert cheap.spec["model"] == "small" and cheap.version != v1
    assert cheap.tier == "cheap"


def test_placeholders_are_hashed_unsubstituted(tmp_path: Path) -> None:
    d = tmp_path / "d"
    write(d / "x.toml", 'prompt = "Fix {{ticket}}"\n[inputs]\nticket = "ABC-1"\n')
    p = Catalog.scan(layers(tmp_path, dirs=[d])).resolve("x")
    assert p.spec["prompt"] == "Fix {{ticket}}"
    assert p.version == Version.of_spec(p.spec)


def test_prompt_file_content_is_hashed(tmp_path: Path) -> None:
    d = tmp_path / "d"
    write(d / "x.toml", 'prompt = { file = "x.md" }\n')
    write(d / "x.md", "first\n")
    v1 = Catalog.scan(layers(tmp_path, dirs=[d])).resolve("x")
    assert v1.spec["prompt"] == "first\n"
    write(d / "x.md", "second\n")
    assert Catalog.scan(layers(tmp_path, dirs=[d])).resolve("x").version != v1.version


def test_two_checkouts_give_one_version(tmp_path: Path) -> None:
    versions = []
    for checkout in ("one", "two"):
        root = tmp_path / checkout
        write(
            root / ".burn/personas/x.toml",
            f'[mcp.lint]\ncommand = "{root}/scripts/lint.sh"\nargs = ["{tmp_path}/home/.cfg"]\n',
        )
        p = Catalog.scan(default_layers(root, tmp_path / "burn", [])).resolve("x")
        versions.append(p.version)
        assert p.spec["mcp"]["lint"] == {"command": "scripts/lint.sh", "args": ["~/.cfg"]}
    assert versions[0] == versions[1]


def test_broken_file_names_file_and_field_and_others_still_load(tmp_path: Path) -> None:
    d = tmp_path / "burn/personas"
    write(d / "good.toml", 'model = "m"\n')
    write(d / "bad.toml", "tools = 5\n")
    write(d / "worse.json", '{"model": ')
    cat = Catalog.scan(layers(tmp_path))
    assert cat.resolve("good").spec["model"] == "m"
    errors = {Path(e.path).name: e for e in cat.all_errors() if e.path}
    assert errors["bad.toml"].field == "tools"
    assert "bad.toml: field 'tools': expected a list of strings or a table, got int" in str(
        errors["bad.toml"]
    )
    assert "not valid JSON at line 1" in str(errors["worse.json"])
    with pytest.raises(PersonaError, match=r"bad\.toml"):
        cat.resolve("bad")


def test_broken_file_shadows_lower_layers(tmp_path: Path) -> None:
    # `reviewer` exists in the library; a broken user file must not silently fall back to it.
    write(tmp_path / "burn/personas/reviewer.toml", "model = [\n")
    with pytest.raises(PersonaError, match="not valid TOML"):
        Catalog.scan(layers(tmp_path)).resolve("reviewer")


def test_unknown_persona(tmp_path: Path) -> None:
    with pytest.raises(PersonaNotFound, match="nobody"):
        Catalog.scan(layers(tmp_path)).resolve("nobody")


def test_name_field_must_match_file(tmp_path: Path) -> None:
    write(tmp_path / "burn/personas/x.toml", 'name = "y"\n')
    with pytest.raises(PersonaError) as e:
        Catalog.scan(layers(tmp_path)).resolve("x")
    assert e.value.field == "name"
