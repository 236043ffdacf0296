"""The offline price table: what a model's tokens cost, as exact integers.

The table ships in the package as ``prices.json``; ``$BURN_HOME/prices.json`` (what
``burn pricing update FILE`` writes) wins when present. It is read only when a price is
needed. Its shape::

    {"schema": 1, "id": "burn-2026-11-23", "currency": "USD", "unit": "per_million_tokens",
     "models": {
       "claude-sonnet-4-5": {
         "input": "3", "output": "15", "cache_read": "0.30",
         "cache_write_5m": "3.75", "cache_write_1h": "6",
         "long_context": {"threshold_input_tokens": 200000, "input": "6", "output": "22.50",
                          "cache_read": "0.60", "cache_write_5m": "7.50", "cache_write_1h": "12"},
         "source": "<where the figures come from>",
         "note": "<optional free text>"},
       ...},
     "aliases": {"claude-sonnet-4-5-20250929": "claude-sonnet-4-5", ...}}

- Prices are decimal *strings* in USD per million tokens (never JSON numbers), at most six
  decimal places, so each is a whole number of pico-USD per token (= micro-USD per million
  tokens). ``input`` and ``output`` are required; a kind the vendor does not price is
  *omitted*, and then any row holding tokens of that kind has an unknown cost (``None``),
  never $0. ``"0"`` is a real price (OpenAI does not bill cache writes).
- ``long_context``: when a request's prompt (input + cache read + cache writes) exceeds
  ``threshold_input_tokens``, the *whole* request is billed at these rates (Anthropic's and
  Google's rule; ccusage instead splits each kind at 200k, which under-bills). A kind missing
  from the long tier is unpriced there; it does not fall back to the base rate.
- ``source`` is required for every model.

Usage kinds map onto prices as: ``input_tokens`` → input (input *not* served from cache),
``output_tokens`` → output, ``cache_read_tokens`` → cache_read, ``cache_write_5m_tokens`` /
``cache_write_1h_tokens`` → the cache writes. ``reasoning_tokens`` are already inside
``output_tokens`` and are not added. Money is integer micro-USD: ``sum(tokens * pico)``
divided by 1,000,000, rounded half-up once at the end. No floats.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from burn.store.errors import BurnError, json_problem
from burn.store.tuples import NamedTuple

from .usage import PROMPT_KINDS  # a request's prompt decides its long-context tier

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

SCHEMA = 1
FILENAME = "prices.json"
PRICE_KINDS = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h")
USAGE_KIND = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_read_tokens": "cache_read",
    "cache_write_5m_tokens": "cache_write_5m",
    "cache_write_1h_tokens": "cache_write_1h",
}

TIERS = ("base", "long")
PICO_PER_MICRO = 1_000_000

_MODEL_KEYS = {*PRICE_KINDS, "long_context", "source", "note"}
_LONG_KEYS = {*PRICE_KINDS, "threshold_input_tokens"}
_TOP_KEYS = {"schema", "id", "currency", "unit", "models", "aliases"}
# Prefixes that name who serves the model, not the model ("anthropic/claude-sonnet-4-5").
_PROVIDER_PREFIXES = ("anthropic", "openai", "google", "gemini", "models")
_DATE_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2})$")
_BRACKET_SUFFIX = re.compile(r"\[[^\]]*\]$")  # Claude Code's "claude-opus-4-6[1m]"


class TierPrices(NamedTuple):
    """Integer pico-USD per token for each kind, or None where the kind has no price."""

    input: int | None = None
    output: int | None = None
    cache_read: int | None = None
    cache_write_5m: int | None = None
    cache_write_1h: int | None = None

    def of(self, kind: str) -> int | None:
        value: int | None = getattr(self, kind)
        return value


class ModelPrice(NamedTuple):
    model: str
    base: TierPrices
    long: TierPrices | None
    long_threshold: int | None  # prompt tokens above which `long` applies to the whole request
    source: str
    note: str | None = None

    def tier(self, name: str) -> TierPrices:
        if name not in TIERS:
            raise ValueError(f"unknown price tier {name!r} (known: {', '.join(TIERS)})")
        if name == "long" and self.long is not None:
            return self.long
        return self.base


class PriceTable:
    # (Plain classes and named tuples here, not dataclasses: a launch that prices its
    # session would import dataclasses for them alone.)
    def __init__(
        self, id: str, models: Mapping[str, ModelPrice], aliases: Mapping[str, str], origin: str
    ) -> None:
        self.id = id
        self.models = models
        self.aliases = aliases
        self.origin = origin  # the file it came from
        self._found: dict[str, ModelPrice | None] = {}

    def __eq__(self, other: object) -> bool:
        fields = ("id", "models", "aliases", "origin")
        return isinstance(other, PriceTable) and all(getattr(self, f) == getattr(other, f) for f in fields)

    def __repr__(self) -> str:
        return f"PriceTable(id={self.id!r}, {len(self.models)} models, origin={self.origin!r})"

    def lookup(self, model: str) -> ModelPrice | None:
        """Exact id, then alias, then normalised id (provider prefix, date and @ suffixes)."""
        if model in self._found:  # an ingest asks once per response: remember the answer
            return self._found[model]
        found = None
        for name in _candidates(model):
            if name in self.models:
                found = self.models[name]
                break
            target = self.aliases.get(name)
            if target is not None:
                found = self.models[target]
                break
        self._found[model] = found
        return found

    def long_threshold(self, model: str) -> int | None:
        """The prompt size above which `model` is priced at its long-context tier (None: it
        has none)."""
        mp = self.lookup(model)
        return None if mp is None or mp.long is None else mp.long_threshold

    def tier_for(self, model: str, usage: Mapping[str, int | None]) -> str:
        """Return "long" when the request's prompt exceeds the model's long-context threshold."""
        threshold = self.long_threshold(model)
        if threshold is None:
            return "base"
        prompt = 0
        for kind in PROMPT_KINDS:  # (asked once per response an ingest reads: no generator)
            prompt += usage.get(kind) or 0
        return "long" if prompt > threshold else "base"

    def price(self, model: str, usage: Mapping[str, int | None], tier: str = "base") -> int | None:
        """Integer micro-USD for `usage`, or None when the model or a used kind has no price."""
        mp = self.lookup(model)
        if mp is None:
            return None
        prices = mp.tier(tier)
        pico = 0
        for usage_kind, kind in USAGE_KIND.items():
            tokens = usage.get(usage_kind)
            if tokens is None:
                continue  # not reported: fidelity says so; it adds nothing rather than unknown
            if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 0:
                raise ValueError(f"{usage_kind} must be a non-negative integer, got {tokens!r}")
            if tokens == 0:
                continue
            rate = getattr(prices, kind)  # (prices.of, without the call: an ingest prices thousands)
            if rate is None:
                return None  # tokens of a kind this model has no price for: unknown, never $0
            pico += tokens * rate
        return (pico + PICO_PER_MICRO // 2) // PICO_PER_MICRO


def _candidates(model: str) -> list[str]:
    """`model` and successively normalised forms of it, most specific first."""
    out: list[str] = []

    def add(name: str) -> None:
        if name and name not in out:
            out.append(name)

    name = model.strip()
    add(name)
    name = name.lower()
    add(name)
    name = _BRACKET_SUFFIX.sub("", name)
    add(name)
    name = name.split("@", 1)[0]  # Vertex AI: "claude-sonnet-4-5@20250929"
    add(name)
    while "/" in name and name.split("/", 1)[0] in _PROVIDER_PREFIXES:
        name = name.split("/", 1)[1]
        add(name)
    add(_DATE_SUFFIX.sub("", name))
    return out


def per_mtok(pico: int | None) -> str | None:
    """A pico-USD-per-token rate back as the table's USD-per-million string ("3.75")."""
    if pico is None:
        return None
    from decimal import Decimal

    text = format(Decimal(pico) / PICO_PER_MICRO, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- loading and validation -----------------------------------------------------------------


def packaged_path() -> Path:
    return Path(__file__).with_name(FILENAME)


def override_path(home: Path | None = None) -> Path:
    if home is None:
        from burn.store.config import burn_home

        home = burn_home()
    return home / FILENAME


def load_table(path: Path | None = None) -> PriceTable:
    """The price table in force: `path`, else $BURN_HOME/prices.json, else the packaged one."""
    if path is None:
        user = override_path()
        path = user if user.is_file() else packaged_path()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise BurnError("price table not found", path=path) from e
    except OSError as e:
        raise BurnError(f"cannot read price table: {e.strerror or e}", path=path) from e
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise BurnError(
            json_problem(e), path=path, fix="correct the file or delete it to use the packaged table"
        ) from e
    validate(data, str(path))
    return _build(data, str(path))


def install(source: Path, home: Path | None = None) -> PriceTable:
    """Validate `source` and make it the user's table ($BURN_HOME/prices.json), atomically."""
    table = load_table(source)
    dest = override_path(home)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{FILENAME}.{os.getpid()}.tmp")
    tmp.write_bytes(Path(source).read_bytes())
    os.replace(tmp, dest)
    return PriceTable(table.id, table.models, table.aliases, str(dest))


def validate(data: Any, path: str) -> None:
    """Raise BurnError naming the file, the model and the field on the first bad entry."""

    def bad(message: str, field: str | None = None, fix: str | None = None) -> BurnError:
        return BurnError(message, path=path, field=field, fix=fix)

    if not isinstance(data, dict):
        raise bad(f"a price table is a JSON object, got {_what(data)}")
    for key in data:
        if key not in _TOP_KEYS:
            raise bad(f"unknown key {key!r} (known: {', '.join(sorted(_TOP_KEYS))})", field=key)
    if data.get("schema") != SCHEMA or isinstance(data.get("schema"), bool):
        raise bad(f"unsupported schema {data.get('schema')!r} (this burn reads {SCHEMA})", field="schema")
    if not isinstance(data.get("id"), str) or not data["id"].strip():
        raise bad("must be a non-empty string naming this table", field="id")
    if data.get("currency") != "USD":
        raise bad(f'must be "USD", got {data.get("currency")!r}', field="currency")
    if data.get("unit") != "per_million_tokens":
        raise bad(f'must be "per_million_tokens", got {data.get("unit")!r}', field="unit")
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise bad("must be a non-empty object of model id -> prices", field="models")
    for model, entry in models.items():
        _validate_model(model, entry, bad)
    aliases = data.get("aliases", {})
    if not isinstance(aliases, dict):
        raise bad(f"must be an object of alias -> model id, got {_what(aliases)}", field="aliases")
    for alias, target in aliases.items():
        field = f"aliases.{alias}"
        if not isinstance(target, str):
            raise bad(f"must name a model id (a string), got {_what(target)}", field=field)
        if target not in models:
            raise bad(f"names {target!r}, which is not in models", field=field)
        if alias in models:
            raise bad("is both a model and an alias", field=field)


def _validate_model(model: str, entry: Any, bad: Any) -> None:
    where = f"models.{model}"
    if not model.strip():
        raise bad("model ids must be non-empty", field=where)
    if not isinstance(entry, dict):
        raise bad(f"must be an object of prices, got {_what(entry)}", field=where)
    for key in entry:
        if key not in _MODEL_KEYS:
            raise bad(
                f"unknown price kind {key!r} (known: {', '.join(sorted(_MODEL_KEYS))})",
                field=f"{where}.{key}",
            )
    for kind in ("input", "output"):
        if kind not in entry:
            raise bad("missing (every model needs input and output prices)", field=f"{where}.{kind}")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise bad(
            "missing: every price needs a source (where the figures come from)", field=f"{where}.source"
        )
    if "note" in entry and not isinstance(entry["note"], str):
        raise bad(f"must be a string, got {_what(entry['note'])}", field=f"{where}.note")
    for kind in PRICE_KINDS:
        if kind in entry:
            _pico(entry[kind], f"{where}.{kind}", bad)
    if "long_context" in entry:
        lc = entry["long_context"]
        lwhere = f"{where}.long_context"
        if not isinstance(lc, dict):
            raise bad(f"must be an object, got {_what(lc)}", field=lwhere)
        for key in lc:
            if key not in _LONG_KEYS:
                raise bad(
                    f"unknown price kind {key!r} (known: {', '.join(sorted(_LONG_KEYS))})",
                    field=f"{lwhere}.{key}",
                )
        threshold = lc.get("threshold_input_tokens")
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold <= 0:
            raise bad(
                f"must be a positive integer token count, got {_what(threshold)}",
                field=f"{lwhere}.threshold_input_tokens",
            )
        for kind in PRICE_KINDS:
            if kind in lc:
                _pico(lc[kind], f"{lwhere}.{kind}", bad)


def _pico(value: Any, field: str, bad: Any) -> int:
    """USD-per-million decimal string -> integer pico-USD per token."""
    if not isinstance(value, str):
        hint = f'write it as a string, e.g. "{value}"' if isinstance(value, int | float) else None
        raise bad(
            f"must be a decimal string of USD per million tokens, got {_what(value)}", field=field, fix=hint
        )
    exact = _plain_pico(value)
    if exact is not None:
        return exact
    from decimal import Decimal, InvalidOperation  # (anything but a plain "3.75": the checks below)

    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        raise bad(f"not a decimal number: {value!r}", field=field) from None
    if not amount.is_finite():
        raise bad(f"not a finite number: {value!r}", field=field)
    if amount < 0:
        raise bad(f"must not be negative, got {value!r}", field=field)
    pico = amount * PICO_PER_MICRO
    if pico != pico.to_integral_value():
        raise bad(f"at most six decimal places (one pico-USD per token), got {value!r}", field=field)
    return int(pico)


def _plain_pico(text: str) -> int | None:
    """A plain decimal like "3.75" (at most six places) as pico-USD per token, exactly and
    without Decimal (every price of every table, on every load); None for anything else."""
    whole, dot, frac = text.strip().partition(".")
    if not (whole.isascii() and whole.isdigit()) or len(frac) > 6:
        return None
    if dot and not (frac.isascii() and frac.isdigit()):
        return None
    return int(whole) * PICO_PER_MICRO + (int(frac.ljust(6, "0")) if frac else 0)


def _what(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, float):
        return f"the JSON number {value!r} (floats are not allowed)"
    if isinstance(value, int):
        return f"the JSON number {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    return type(value).__name__.replace("dict", "object").replace("list", "array")


def _tier(entry: Mapping[str, Any]) -> TierPrices:
    def rate(kind: str) -> int | None:
        if kind not in entry:
            return None
        return _pico(entry[kind], kind, None)  # (validated: `bad` is never called)

    return TierPrices(**{kind: rate(kind) for kind in PRICE_KINDS})


def _build(data: Mapping[str, Any], origin: str) -> PriceTable:
    models: dict[str, ModelPrice] = {}
    for model, entry in data["models"].items():
        lc = entry.get("long_context")
        models[model] = ModelPrice(
            model=model,
            base=_tier(entry),
            long=_tier(lc) if lc is not None else None,
            long_threshold=lc["threshold_input_tokens"] if lc is not None else None,
            source=entry["source"],
            note=entry.get("note"),
        )
    return PriceTable(id=data["id"], models=models, aliases=dict(data.get("aliases", {})), origin=origin)
