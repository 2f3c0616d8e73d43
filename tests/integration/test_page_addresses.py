"""A page's address remembered by ``portal.i18n.page_address`` is the one ``url_for`` builds.

It is remembered for each prefix the application is served under and each language chosen in
the URL; here it is compared with ``url_for`` under every combination, on a bare Flask app with
the portal's translation set-up, and the portal is checked to add no other value to addresses.
"""

import itertools

import pytest
from flask import Flask, url_for

from portal import i18n

PREFIXES = ["", "/parley", "/parley/", "/caf%C3%A9"]
QUERIES = ["", "?lang=ar", "?lang=fr&x=1", "?lang=xx", "?lang=", "?x=1", "?lang=ar&lang=fr"]


def _app() -> Flask:
    app = Flask(__name__)
    i18n.init_app(app)

    @app.get("/inbox/sign-in")
    def sign_in() -> str:
        return ""

    return app


def _address(app: Flask, prefix: str, query: str, build: object) -> str:
    with app.test_request_context(f"/{query}", base_url=f"http://localhost{prefix}"):
        assert callable(build)
        address = build("sign_in")
        assert isinstance(address, str)
        return address


def test_a_remembered_address_is_the_one_url_for_builds() -> None:
    app = _app()
    # Twice over, so that the second round reads what the first remembered.
    for prefix, query in [*itertools.product(PREFIXES, QUERIES)] * 2:
        expected = _address(app, prefix, query, url_for)
        assert expected.startswith(prefix.rstrip("/").replace("%C3%A9", "é") + "/inbox/sign-in")

        assert _address(app, prefix, query, i18n.page_address) == expected


def test_an_address_is_built_once_per_prefix_and_language(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app()
    built: list[str] = []

    def counted_url_for(endpoint: str) -> str:
        built.append(endpoint)
        return url_for(endpoint)

    monkeypatch.setattr(i18n, "url_for", counted_url_for)
    for query in ["", "?lang=ar", "", "?x=1", "?lang=ar&x=2", "?lang=fr"]:
        _address(app, "", query, i18n.page_address)

    assert built == ["sign_in"] * 3


def test_past_the_bound_addresses_are_built_each_time_and_still_right(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(i18n, "_MOST_PAGE_ADDRESSES", 2)
    app = _app()

    for prefix in PREFIXES * 2:
        assert _address(app, prefix, "", i18n.page_address) == _address(app, prefix, "", url_for)
    assert len(app.extensions["parley.page_addresses"]) == 2


def test_the_language_is_the_only_value_the_portal_adds_to_addresses(demo_app: Flask) -> None:
    """What ``page_address`` relies on: were another ``url_defaults`` hook added, an address
    could depend on more than the prefix and the language."""
    assert dict(demo_app.url_default_functions) == {None: [i18n._carry_language]}
