"""Acceptance 4: a person picks each language with the switch, JavaScript off (Tor Browser's
"Safest" level), and the page is in that language; the choice lives in the URL only, so no
cookie, local storage or session storage value records it."""

from typing import Any

import pytest
from babel.support import Translations

from portal.locales import LANGUAGES, TRANSLATIONS_DIR

pytestmark = pytest.mark.browser


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
    page: Any, portal_server: str
) -> None:
    page.goto(portal_server + "/")
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
    page: Any, portal_server: str
) -> None:
    page.goto(portal_server + "/")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('hreflang')") == "fr":
            break
    page.keyboard.press("Enter")
    page.wait_for_url("**lang=fr")
    assert page.locator("html").get_attribute("lang") == "fr"
