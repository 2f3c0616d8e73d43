"""Path values no stored row can have are "not found" on every route, on both databases (the
demo instance runs on each).

An integer wider than PostgreSQL's ``INTEGER`` or a NUL character in a path segment used to reach
a query and end as a server error; the portal's converters (``portal.web.converters``) now refuse
them while routing. The largest id that fits still reaches the view and gets its ordinary answer.
"""

from flask import Flask
from werkzeug.routing import Rule

from portal.web.converters import LARGEST_ID

SAFE = {"int": 1, "default": "valdoria"}
BEYOND = [LARGEST_ID + 1, 2**64, 10**40]
UNSTORABLE_TEXT = ["val\x00doria", "a\x01b", "\x7f"]


def _rules(app: Flask) -> list[Rule]:
    return [
        rule for rule in app.url_map.iter_rules() if rule.arguments and rule.endpoint != "static"
    ]


def _kind(rule: Rule, name: str) -> str:
    return "int" if type(rule._converters[name]).__name__ == "IdConverter" else "default"


def _url(rule: Rule, name: str, value: object) -> str:
    values = {other: SAFE[_kind(rule, other)] for other in rule.arguments}
    values[name] = value
    return rule.build(values, append_unknown=False)[1]


def _method(rule: Rule) -> str:
    return "GET" if "GET" in (rule.methods or ()) else sorted(rule.methods - {"OPTIONS"})[0]


def test_values_beyond_what_a_row_can_hold_are_not_found(demo_app: Flask) -> None:
    client = demo_app.test_client()
    checked = 0
    for rule in _rules(demo_app):
        for name in rule.arguments:
            bad = BEYOND if _kind(rule, name) == "int" else UNSTORABLE_TEXT
            for value in bad:
                url = _url(rule, name, value)
                response = client.open(url, method=_method(rule))
                # Werkzeug answers a POST to a path no rule takes with 405 when a GET rule
                # shares its shape; either way it is refused while routing.
                assert response.status_code in (404, 405), (rule.rule, name, value)
                checked += 1
    assert checked > 300


def test_the_largest_storable_id_reaches_the_view(demo_app: Flask) -> None:
    client = demo_app.test_client()
    for rule in _rules(demo_app):
        for name in rule.arguments:
            if _kind(rule, name) == "int":
                response = client.open(_url(rule, name, LARGEST_ID), method=_method(rule))
                assert response.status_code < 500, (rule.rule, name)
