"""Acceptance 4: a person picks each language with the switch, JavaScript off (Tor Browser's
"Safest" level), and the page is in that language; the choice lives in the URL only, so no
cookie, local storage or session storage value records it."""

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from babel.support import Translations
from werkzeug.serving import make_server

from portal import create_app
from portal.locales import LANGUAGES, TRANSLATIONS_DIR
from tests.conftest import DemoInstance
from tests.conftest import _QuietRequestHandler as QuietRequestHandler

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def every_language_server(portal_server_instance: DemoInstance) -> Iterator[str]:
    """The served demo instance, offering all eight languages whichever the instance offers by
    default; its base URL."""
    app = create_app(portal_server_instance.settings)
    app.config["PORTAL_LANGUAGES"] = tuple(LANGUAGES)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, name="language-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _in(code: str, message: str) -> str:
    return Translations.load(str(TRANSLATIONS_DIR), [code]).gettext(message)


def _stored(page: Any) -> dict[str, Any]:
    state = page.context.storage_state()
    return {
        "cookies": state["cookies"],
        "local storage": [origin["localStorage"] for origin in state["origins"]],
        "session storage": page.evaluate("Object.keys(sessionStorage)"),
    }


def test_each_language_is_picked_with_the_switch_and_nothing_records_it(
    page: Any, every_language_server: str
) -> None:
    page.goto(every_language_server + "/")
    for code, language in LANGUAGES.items():
        page.click(f'.language-switch a[hreflang="{code}"]')
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == (
            code,
            language.direction,
        )
        assert page.title() == _in(code, "Consultations")
        assert page.locator(".skip-link").inner_text() == _in(code, "Skip to main content")
        current = page.locator('.language-switch a[aria-current="true"]')
        assert current.inner_text() == language.self_name
        # A link of the page keeps the language: the choice is carried by the addresses.
        page.click("main a[href*='/dialogues/']")
        assert page.locator("html").get_attribute("lang") == code
        assert f"lang={code}" in page.url
    assert _stored(page) == {"cookies": [], "local storage": [], "session storage": []}


def test_the_switch_is_reached_and_followed_with_the_keyboard(
    page: Any, every_language_server: str
) -> None:
    page.goto(every_language_server + "/")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('hreflang')") == "fr":
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
