"""URL converters that refuse, with a 404, path values no stored row can have.

Werkzeug's own converters accept any run of digits as an integer and any character but "/" in a
string. A path carrying an integer wider than the database's ``INTEGER`` (32 bits on PostgreSQL)
or a NUL character (which PostgreSQL refuses in text) then reaches a query and fails there as a
server error, after a database round trip, instead of as "not found" before it. These replace
the ``int`` and default ``string`` converters for every route, so no blueprint has to remember.
"""

from typing import Any

from flask import Flask
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

from portal.numbers import LARGEST_ID


class IdConverter(IntegerConverter):
    """A non-negative integer that fits an ``INTEGER`` column."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(url_map, *args, **kwargs)


class TextConverter(UnicodeConverter):
    """A path segment without "/" and without control characters (NUL among them)."""

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00-\\x1f\\x7f]")


def init_app(app: Flask) -> None:
    """Make these the converters of every route; called before any blueprint is registered."""
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["default"] = TextConverter
    app.url_map.converters["string"] = TextConverter
