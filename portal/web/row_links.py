"""Links from every row of a long list to each row's own page, built once for the list.

``url_for`` runs the application's URL-default hooks (the page's language, ``portal.i18n``) and
the routing map's builder on each call, some twenty microseconds; a queue page links each of its
fifty rows, which made the links about a quarter of the cost of drawing a row. The address
differs from row to row in one path segment only, so it is built once with a stand-in there, and
each row's value is put in its place, quoted the way routing quotes a path segment: the
addresses are the ones ``url_for`` gives, character for character.
"""

from typing import Any
from urllib.parse import quote, urlsplit

from flask import url_for

# Letters only, so that routing leaves it as it is; no address of the portal contains it.
_STAND_IN = "RowLinkStandIn"
# What Werkzeug leaves unquoted in a path segment (its converters' ``to_url``).
_PATH_SEGMENT_SAFE = "!$&'()*+,/:;=@"


class RowLinks:
    """The address of ``endpoint`` for any value of its path argument ``argument``, the other
    arguments being ``values`` (and what the URL-default hooks add)."""

    def __init__(self, endpoint: str, argument: str, **values: Any) -> None:
        address = url_for(endpoint, **values, **{argument: _STAND_IN})
        if _STAND_IN not in urlsplit(address).path:
            # A query argument is quoted otherwise, and would not come out as url_for's.
            raise ValueError(f"{argument} is not a path argument of {endpoint}")
        self._before, self._after = address.split(_STAND_IN)

    def __call__(self, value: str) -> str:
        return f"{self._before}{quote(value, safe=_PATH_SEGMENT_SAFE)}{self._after}"
