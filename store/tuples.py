"""`class X(NamedTuple)` without importing typing at run time.

Importing typing, and building named tuples through it (it compiles every annotation),
was a fifth of what the launch wrapper imported. Type checkers see typing.NamedTuple;
at run time the class is collections.namedtuple's, its fields and defaults taken from the
class body, its methods and properties kept, so it is a tuple like typing's (equality,
hashing, unpacking, `_replace`, pickling).

Modules on the wrapper's path also write `TYPE_CHECKING = False` instead of importing it
from typing: type checkers treat that name as true all the same.
"""

from __future__ import annotations

import collections

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as NamedTuple
else:

    class _NamedTupleMeta(type):
        def __new__(mcs, name: str, bases: tuple, body: dict):
            if not bases:  # NamedTuple itself
                return super().__new__(mcs, name, bases, body)
            fields = list(body.get("__annotations__", {}))
            defaults = [body[f] for f in fields if f in body]
            if any(f not in body for f in fields[len(fields) - len(defaults) :]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            base = collections.namedtuple(name, fields, defaults=defaults, module=body.get("__module__"))
            rest = {k: v for k, v in body.items() if k not in fields}
            return type(name, (base,), {**rest, "__slots__": ()})

    class NamedTuple(metaclass=_NamedTupleMeta):
        pass
