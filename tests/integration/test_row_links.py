"""Row links (``portal.web.row_links``) are the addresses ``url_for`` builds, to the character,
with the page's language carried on; an argument outside the path is refused."""

from collections.abc import Iterator

import pytest
from flask import Flask, url_for

from portal import create_app
from portal.web.row_links import RowLinks
from tests.conftest import PlainInstance

# A public id as intake makes them, then values that routing has to quote.
VALUES = ("q3JtY0ZkN-LpW_a8Rs7c9A", "with space", "slash/and?query&more", "é中", "100%")


@pytest.fixture(scope="module")
def app(plain_instance: PlainInstance) -> Iterator[Flask]:
    portal = create_app(plain_instance.settings)
    portal.config["PORTAL_LANGUAGES"] = ("en", "fr")
    yield portal


@pytest.mark.parametrize("page", ["/staff/", "/staff/?lang=fr"])
def test_a_row_link_is_the_address_url_for_builds(app: Flask, page: str) -> None:
    with app.test_request_context(page):
        links = RowLinks("staff.submission", "public_id")
        built = [url_for("staff.submission", public_id=value) for value in VALUES]

        assert [links(value) for value in VALUES] == built
    assert built[0].endswith("?lang=fr") == page.endswith("?lang=fr")


def test_an_argument_that_is_not_in_the_path_is_refused(app: Flask) -> None:
    with app.test_request_context("/staff/"), pytest.raises(ValueError, match="after"):
        RowLinks("staff.queue", "after", slug="valdoria")
