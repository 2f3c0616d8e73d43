"""Reading JSON request bodies with limits on their shape, for every JSON endpoint at once.

Flask's ``request.get_json`` parses with the application's JSON provider; this one replaces the
default on the whole application, so no view can forget a limit. A body is refused (a
``ValueError``, which ``get_json(silent=True)`` turns into ``None`` and the views into a 400) when:

- it nests arrays and objects deeper than the configured depth: Python's parser recurses, and a
  few thousand brackets would otherwise end as a ``RecursionError``, a server error;
- it holds an integer beyond JavaScript's safe range (2**53 - 1): every client of these endpoints
  is a browser script, which cannot write such a number, and a wider one would reach a database
  column that cannot hold it (64 bits on SQLite, an ``INTEGER`` of 32 bits on PostgreSQL is
  checked where ids are looked up);
- it uses ``NaN`` or ``Infinity``, which are not JSON.
"""

import json
from typing import Any

from flask.json.provider import DefaultJSONProvider

LARGEST_JSON_INTEGER = 2**53 - 1
# A sign and the 16 digits of the largest safe integer: anything longer is refused unread.
_LONGEST_INTEGER_TEXT = len(str(LARGEST_JSON_INTEGER)) + 1


class JSONShapeError(ValueError):
    """A body that is JSON, but not one any endpoint of the portal takes."""


def _bounded_int(text: str) -> int:
    if len(text) > _LONGEST_INTEGER_TEXT or abs(int(text)) > LARGEST_JSON_INTEGER:
        raise JSONShapeError("a number in the body is too large")
    return int(text)


def _no_constant(name: str) -> Any:
    raise JSONShapeError(f"{name} is not a JSON value")


def nesting_depth(value: Any) -> int:
    """How deeply ``value`` nests lists and dicts (0 for a scalar), walked without recursion."""
    deepest = 0
    pending = [(value, 1)] if isinstance(value, dict | list) else []
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, whose ``loads`` refuses what the module docstring lists."""

    max_depth = 32

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, parse_int=_bounded_int, parse_constant=_no_constant, **kwargs)
        except RecursionError:
            raise JSONShapeError("the body nests too deeply") from None
        if nesting_depth(value) > self.max_depth:
            raise JSONShapeError("the body nests too deeply")
        return value
