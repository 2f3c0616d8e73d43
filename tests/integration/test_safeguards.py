"""Safeguards on every public page: quick exit, local time, Onion-Location, session cookie.

The browser behaviour of the two modules is checked in Chromium (tests/browser); here, that they
are served as JavaScript, referenced by every page without inline script, and that the headers
and cookie rules hold.
"""

import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.blueprints.quick_exit import QUICK_EXIT_URL
from portal.settings import SettingsError, load_settings
from tests.conftest import DemoInstance

ONION_HOST = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
MODULES = ("/static/js/quick-exit.mjs", "/static/js/local-time.mjs")
# Form pages add the module that seals the form in the browser (tests/browser/test_forms_js.py).
FORM_MODULE = "/static/js/submit-form.mjs"
FORM_PAGES = ("/dialogues/valdoria/reprisal-report",)
# The inbox sign-in page adds the module that derives the codename in the browser.
SIGN_IN_MODULE = "/static/js/inbox-sign-in.mjs"
PUBLIC_PAGES = (
    "/",
    "/dialogues/valdoria",
    "/dialogues/marenland",
    "/dialogues/valdoria/reprisal-report",
    "/inbox/sign-in",
)


@pytest.fixture(scope="module")
def onion_app(demo_instance: DemoInstance) -> Flask:
    """The demo portal with an onion address configured."""
    return create_app(
        dataclasses.replace(demo_instance.settings, onion_origin=f"http://{ONION_HOST}")
    )


@pytest.mark.parametrize("module", (*MODULES, FORM_MODULE, SIGN_IN_MODULE))
def test_modules_are_served_as_javascript(demo_app: Flask, module: str) -> None:
    response = demo_app.test_client().get(module)

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"


def test_every_public_page_loads_both_modules_and_no_inline_script(demo_app: Flask) -> None:
    client = demo_app.test_client()
    for url in (*PUBLIC_PAGES, "/no-such-page"):
        page = client.get(url).get_data(as_text=True)
        tags = re.findall(r"<script\b[^>]*>", page)
        modules = (*MODULES, FORM_MODULE) if url in FORM_PAGES else MODULES
        if url == "/inbox/sign-in":
            modules = (*MODULES, SIGN_IN_MODULE)
        data_blocks = re.findall(
            r'<script type="application/json" id="[a-z-]+">(.*?)</script>', page, re.DOTALL
        )
        executable = [tag for tag in tags if 'type="application/json"' not in tag]
        assert sorted(executable) == sorted(
            f'<script type="module" src="{module}">' for module in modules
        ), url
        # Data the browser reads (a form's declaration) is JSON, never script, and every such
        # block is one the pattern above saw whole.
        assert len(data_blocks) == len(tags) - len(executable), url
        for block in data_blocks:
            json.loads(block)
        assert (len(data_blocks) == 1) == (url in FORM_PAGES), url
        assert f'<a class="quick-exit" href="{QUICK_EXIT_URL}" rel="noreferrer"' in page, url


def test_neutral_title_on_every_public_page(demo_app: Flask) -> None:
    client = demo_app.test_client()
    for url in (*PUBLIC_PAGES, "/dialogues/valdoria/sessions/1"):
        page = client.get(url).get_data(as_text=True)
        assert re.findall(r"<title>(.*?)</title>", page) == ["Consultations"], url


def test_onion_location_carries_the_onion_origin_and_the_path(onion_app: Flask) -> None:
    client = onion_app.test_client()
    for url in PUBLIC_PAGES:
        response = client.get(url)
        assert response.headers["Onion-Location"] == f"http://{ONION_HOST}{url}"
    assert "Onion-Location" not in client.get(MODULES[0]).headers
    assert "Onion-Location" not in client.get("/healthz").headers


def test_no_onion_location_without_an_onion_address(demo_app: Flask) -> None:
    client = demo_app.test_client()
    for url in PUBLIC_PAGES:
        assert "Onion-Location" not in client.get(url).headers


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        (ONION_HOST, f"http://{ONION_HOST}"),
        (f"http://{ONION_HOST}", f"http://{ONION_HOST}"),
        (f"http://{ONION_HOST}/", f"http://{ONION_HOST}"),
        (ONION_HOST.upper(), f"http://{ONION_HOST}"),
    ],
)
def test_onion_addresses_accepted(tmp_path: Path, given: str, origin: str) -> None:
    settings = load_settings({"PORTAL_ONION_ADDRESS": given}, cwd=tmp_path)

    assert settings.onion_origin == origin


def test_no_onion_address_by_default(tmp_path: Path) -> None:
    assert load_settings({}, cwd=tmp_path).onion_origin is None


@pytest.mark.parametrize(
    "given",
    [
        "expyuzz4wqqyqhjn.onion",
        ONION_HOST[:-7] + "a.onion",
        ONION_HOST[1:],
        "a" + ONION_HOST,
        f"https://{ONION_HOST}",
        f"http://{ONION_HOST}/path",
        f"http://{ONION_HOST}:8080",
        ONION_HOST.replace("p", "1", 1),
        "example.org",
        "  ",
    ],
)
def test_bad_onion_addresses_are_refused_with_one_line(tmp_path: Path, given: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings({"PORTAL_ONION_ADDRESS": given}, cwd=tmp_path)

    message = str(refused.value)
    assert "PORTAL_ONION_ADDRESS" in message
    assert len(message.splitlines()) == 1


def test_session_cookie_is_short_lived_and_never_persistent(demo_app: Flask) -> None:
    client = demo_app.test_client()

    assert demo_app.permanent_session_lifetime == dt.timedelta(minutes=30)
    assert "Set-Cookie" not in client.get("/").headers
    with client.session_transaction() as session:
        session["probe"] = "1"
    cookie = client.get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Expires" not in cookie and "Max-Age" not in cookie
