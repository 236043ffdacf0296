"""The renderers of `burn diff`'s answer: a terminal table, JSON, and Markdown for a pull request.

All three read the one dict `burn.ledger.costdiff.diff` returns; nothing is computed here
but text.
"""

from __future__ import annotations

import json
from typing import IO, Any

from .render import UNKNOWN, count, duration, usd

VERDICT_TEXT = {
    "cheaper": "B is cheaper",
    "more expensive": "B is more expensive",
    "no clear difference": "no clear difference",
    "too few launches": "too few launches to tell",
}
KIND_LABELS = {
    "input_tokens": "input",
    "output_tokens": "output",
    "cache_read_tokens": "cache read",
    "cache_write_5m_tokens": "cache write 5m",
    "cache_write_1h_tokens": "cache write 1h",
    "reasoning_tokens": "reasoning",
}


def render(data: dict[str, Any], fmt: str, out: IO[str]) -> None:
    if fmt == "json":
        out.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "markdown":
        out.write(markdown(data))
    else:
        out.write(table(data))


# -- cells ----------------------------------------------------------------------------------


def signed_usd(micros: int | None) -> str:
    if micros is None:
        return UNKNOWN
    return ("-" if micros < 0 else "+") + usd(abs(micros))


def percent(x: float | None, signed: bool = False) -> str:
    if x is None:
        return UNKNOWN
    return f"{x:+.0%}" if signed else f"{x:.0%}"


def who(side: dict[str, Any]) -> str:
    return f"{side['name']}@{side['version_short']}"


def _errors(e: dict[str, Any]) -> str:
    if not e["known"]:
        return UNKNOWN
    return f"{e['nonzero']:,} of {e['known']:,} ({e['rate']:.0%})"


def _models(m: dict[str, int]) -> str:
    return ", ".join(f"{k} ({v:,})" for k, v in m.items()) or UNKNOWN


def _per_launch(v: float | None) -> str:
    return count(None if v is None else round(v))


def rows(g: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(label, A, B) lines of one comparison."""
    a, b = g["a"], g["b"]
    out = [("launches", count(a["launches"]), count(b["launches"]))]
    if a["unknown_cost"] or b["unknown_cost"]:
        out.append(("  of unknown cost", count(a["unknown_cost"]), count(b["unknown_cost"])))
    for key, label in (("mean", "cost per launch, mean"), ("median", "  median"), ("p90", "  p90")):
        out.append((label, usd(a["cost_micros"][key]), usd(b["cost_micros"][key])))
    out.append(("total cost", usd(a["total_cost_micros"]), usd(b["total_cost_micros"])))
    for kind, label in KIND_LABELS.items():
        va, vb = a["tokens_per_launch"][kind], b["tokens_per_launch"][kind]
        if va is None and vb is None:
            continue
        out.append((f"{label} tokens per launch", _per_launch(va), _per_launch(vb)))
    out.append(("cache hit ratio", percent(a["cache_hit_ratio"]), percent(b["cache_hit_ratio"])))
    for key, label in (("median", "duration, median"), ("p90", "  p90")):
        out.append((label, duration(a["duration_ms"][key]), duration(b["duration_ms"][key])))
    out.append(("errors (non-zero exit)", _errors(a["errors"]), _errors(b["errors"])))
    out.append(("models", _models(a["models"]), _models(b["models"])))
    return out


def difference_line(g: dict[str, Any]) -> str:
    d = g["difference"]
    if d is None:
        return "difference: needs at least 2 launches with a known cost on each side"
    how = (
        f"bootstrap, {d['resamples']:,} resamples, seed {d['seed']}"
        if d["method"] == "bootstrap"
        else "normal approximation"
    )
    rel = f" ({percent(d['relative'], signed=True)})" if d["relative"] is not None else ""
    return (
        f"difference B - A, mean per launch: {signed_usd(d['delta'])}{rel};"
        f" {d['level']:.0%} interval {signed_usd(d['low'])} to {signed_usd(d['high'])} ({how})"
    )


def verdict_line(g: dict[str, Any]) -> str:
    v = g["verdict"]
    text = f"verdict: {VERDICT_TEXT[v['call']]} ({v['reason']})"
    more = v["more_launches"]
    if more["a"] or more["b"]:
        text += f"; needs about {_more(more)}"
    return text


def _more(more: dict[str, int | None]) -> str:
    a, b = more["a"] or 0, more["b"] or 0
    if a == b:
        return f"{a:,} more launches of each"
    return f"{a:,} more launches of A and {b:,} more of B"


def notes(data: dict[str, Any]) -> list[str]:
    out = []
    for g in data["groups"]:
        where = f" ({data['by']} {g['split'] or UNKNOWN})" if data["by"] else ""
        for side in ("a", "b"):
            s = g[side]
            name = who(data[side])
            if s["low_fidelity_left_out"]:
                out.append(
                    f"{s['low_fidelity_left_out']:,} launch(es) of {name}{where} with partial usage left out"
                    " (--include-partial brings them in)"
                )
            if s["unknown_cost"]:
                out.append(
                    f"{s['unknown_cost']:,} launch(es) of {name}{where} of unknown cost (a model without a"
                    " price): counted as launches, left out of the cost figures, never taken as $0"
                )
    return out


# -- table -----------------------------------------------------------------------------------


def table(data: dict[str, Any]) -> str:
    a, b = who(data["a"]), who(data["b"])
    lines = [
        f"A: {a}  ({data['a']['source'] or 'not stored'})",
        f"B: {b}  ({data['b']['source'] or 'not stored'})",
    ]
    for g in data["groups"]:
        lines.append("")
        if data["by"]:
            lines.append(f"{data['by']}: {g['split'] or UNKNOWN}")
        body = [("", "A", "B"), *rows(g)]
        w0 = max(len(r[0]) for r in body)
        w1 = max(len(r[1]) for r in body)
        w2 = max(len(r[2]) for r in body)
        lines += [f"{r[0].ljust(w0)}  {r[1].rjust(w1)}  {r[2].rjust(w2)}".rstrip() for r in body]
        lines += ["", difference_line(g), verdict_line(g)]
    lines += ["", *spec_lines(data)]
    extra = notes(data)
    if extra:
        lines += ["", "notes:", *(f"  {n}" for n in extra)]
    return "\n".join(lines) + "\n"


def spec_lines(data: dict[str, Any]) -> list[str]:
    spec = data["spec"]
    out = [f"spec: --- {who(data['a'])}  +++ {who(data['b'])}"]
    if not spec["available"]:
        return [*out, f"  (no spec diff: {spec['why']})"]
    if not spec["changes"]:
        return [*out, "  (the specs are the same)"]
    return out + change_lines(spec["changes"])


def change_lines(changes: list[dict[str, Any]]) -> list[str]:
    """Field-level spec changes as text (`+ added`, `- removed`, `~ changed`, a text
    field's unified diff indented beneath it): shared by `burn diff` and `persona diff`."""
    from burn.store.diff import short_value

    out = []
    for c in changes:
        if c["change"] == "added":
            out.append(f"+ {c['field']}: {short_value(c['new'])}")
        elif c["change"] == "removed":
            out.append(f"- {c['field']}: {short_value(c['old'])}")
        elif "diff" in c:
            out.append(f"~ {c['field']}:")
            out += ["    " + line for line in c["diff"].splitlines()]
        else:
            out.append(f"~ {c['field']}: {short_value(c['old'])} → {short_value(c['new'])}")
    return out


# -- markdown --------------------------------------------------------------------------------


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def markdown(data: dict[str, Any]) -> str:
    a, b = who(data["a"]), who(data["b"])
    lines = [f"### Cost: `{a}` → `{b}`", ""]
    for g in data["groups"]:
        if data["by"]:
            lines += [f"#### {data['by']}: `{g['split'] or UNKNOWN}`", ""]
        v = g["verdict"]
        lines.append(f"**Verdict: {VERDICT_TEXT[v['call']]}** — {v['reason']}.")
        if v["more_launches"]["a"] or v["more_launches"]["b"]:
            lines[-1] += f" Needs about {_more(v['more_launches'])}."
        lines += ["", difference_line(g)[0].upper() + difference_line(g)[1:] + ".", ""]
        lines += [f"| | A `{a}` | B `{b}` |", "|---|---:|---:|"]
        parent = ""
        for label, va, vb in rows(g):
            if label.startswith("  "):  # "  median" under "cost per launch, mean"
                label = f"{parent}, {label.strip()}"
            else:
                parent = label.split(",")[0]
            lines.append(f"| {_md(label)} | {_md(va)} | {_md(vb)} |")
        lines.append("")
    extra = notes(data)
    if extra:
        lines += [*(f"- {_md(n)}" for n in extra), ""]
    lines += ["<details><summary>Spec changes</summary>", ""]
    spec = data["spec"]
    if not spec["available"]:
        lines.append(f"No spec diff: {spec['why']}.")
    elif not spec["changes"]:
        lines.append("The specs are the same.")
    for c in spec["changes"]:
        if "diff" in c:
            lines += [f"`{c['field']}`:", "", "```diff", c["diff"].rstrip("\n"), "```", ""]
        else:
            old = json.dumps(c.get("old"), ensure_ascii=False) if c["change"] != "added" else "(none)"
            new = json.dumps(c.get("new"), ensure_ascii=False) if c["change"] != "removed" else "(none)"
            lines.append(f"- `{c['field']}`: `{old}` → `{new}`")
    lines += ["", "</details>", ""]
    return "\n".join(lines)
