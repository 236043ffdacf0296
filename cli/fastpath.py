"""Run read commands without importing click, when their command line is a plain one.

Importing click costs ~35–60 ms, a third of what `burn diff` or `burn log` may take in
all (DESIGN section 12). The commands listed in `fastspec` keep their body a plain
function; this module parses their argv from a table generated out of the click
commands themselves (`python -m burn.cli.fastgen`, checked current by a test) and calls
the body directly. It only takes the lines it is sure of: anything unusual (an unknown
or abbreviated option, a missing value, a value click would refuse, an option whose
type needs click) returns None and click runs the command as always, with its own
messages. A property test checks that whatever this parser accepts, click parses to
the same values. `BURN_FASTPATH=0` turns it off.
"""

from __future__ import annotations

TYPE_CHECKING = False  # (not from typing: not imported at run time, see store/tuples.py)
if TYPE_CHECKING:
    from typing import Any

    # A parameter in fastspec.SPECS: (dest, kind, option strings, conversion, default).
    # kind: "arg" (one value; default None when optional), "req" (one value, required),
    # "args" (nargs=-1, must be the last positional), "flag", "value", "multi" (repeatable).
    # conversion: None (text), "int", ("choice", values), ("intrange", min, max), or "click"
    # (only click can convert it: such a parameter on the command line sends it to click).
    Param = tuple[str, str, tuple[str, ...], Any, Any]


def parse(params: tuple[Param, ...], argv: list[str]) -> dict[str, Any] | None:
    """The keyword arguments click would pass to the command, or None to let click decide."""
    by_opt = {opt: p for p in params for opt in p[2]}
    out: dict[str, Any] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            positional += argv[i:]
            break
        if token[:1] != "-" or token == "-":
            positional.append(token)
            continue
        name, eq, value = token.partition("=") if token[:2] == "--" else (token, "", "")
        p = by_opt.get(name)
        if p is None and token[:2] != "--" and len(token) > 2:  # -n20
            p, eq, value = by_opt.get(token[:2]), "=", token[2:]
        if p is None or p[3] == "click":
            return None
        dest, kind = p[0], p[1]
        if kind == "flag":
            if eq:
                return None
            out[dest] = True
            continue
        if not eq:
            if i == len(argv):
                return None
            value = argv[i]
            i += 1
        converted = _convert(p[3], value)
        if converted is _REFUSED:
            return None
        if kind == "multi":
            out[dest] = (*out.get(dest, ()), converted)
        else:
            out[dest] = converted
    for p in params:
        dest, kind, _, conv, default = p
        if kind in ("arg", "req", "args"):
            if kind == "args":
                if conv is not None and positional:
                    return None
                out[dest] = tuple(positional)
                positional = []
            elif positional:
                value = _convert(conv, positional.pop(0))
                if value is _REFUSED:
                    return None
                out[dest] = value
            elif kind == "req":
                return None
            else:
                out[dest] = default
        elif dest not in out:
            out[dest] = default
    return None if positional else out


_REFUSED = object()


def _convert(conv: Any, value: str) -> Any:
    if conv is None:
        return value
    if conv == "int" or conv[0] == "intrange":
        try:
            n = int(value)
        except ValueError:
            return _REFUSED
        if conv != "int" and not ((conv[1] is None or n >= conv[1]) and (conv[2] is None or n <= conv[2])):
            return _REFUSED
        return n
    if conv[0] == "choice":
        return value if value in conv[1] else _REFUSED
    return _REFUSED


def dispatch(argv: list[str]) -> int | None:
    """Run argv's command on the fast path and return its exit code, or None for click."""
    from .fastspec import SPECS

    spec = SPECS.get(" ".join(argv[:2])) if len(argv) > 1 else None
    rest = argv[2:]
    if spec is None:
        spec, rest = SPECS.get(argv[0]) if argv else None, argv[1:]
    if spec is None:
        return None
    module, function, params = spec
    kwargs = parse(params, rest)
    if kwargs is None:
        return None
    from .main import guarded

    def call() -> int:
        __import__(module)
        import sys

        getattr(sys.modules[module], function)(**kwargs)
        return 0

    return guarded(call)
