"""The route a request took, named by its rule: what the logs say instead of the path.

A path holds ids (``/inbox/3fa9...``); joined with a network log and the time, an id in a log
tells who read or sent what. The rule (``/inbox/<public_id>``) says what was used and no more.
The access log of ``portal serve`` reads it from the WSGI environment under
:data:`ROUTE_ENVIRON_KEY`, set when the request ends, whatever the outcome.
"""

from typing import Any

from flask import Flask, request

ROUTE_ENVIRON_KEY = "parley.route"
NO_ROUTE = "-"


def route_rule() -> str:
    """The rule of the current request's route, or ``-`` when no route took the request."""
    rule = request.url_rule
    return rule.rule if rule is not None else NO_ROUTE


def init_app(app: Flask) -> None:
    """Record every request's route in its environment for the access log."""

    def record_route(_error: Any) -> None:
        request.environ[ROUTE_ENVIRON_KEY] = route_rule()

    app.teardown_request(record_route)
