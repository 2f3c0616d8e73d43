"""Fixtures that run the browser encryption module inside headless Chromium.

The tests drive Debian's Chromium (``/usr/bin/chromium``) through Playwright for Python; they never
download a browser. Without Chromium or Playwright they are skipped with the reason, except when
``CI=true``: there they fail, because CI must not go green by testing less.

The module is loaded from the demo portal itself (``portal_server``), on its front page, so it runs
under the portal's own Content-Security-Policy: same-origin script files only, no inline script,
no ``eval``.

Set-up that several browser test files need lives here too, so each is written once: the case the
inbox tests send (``sent_case``) and the axe-core survey of a staff role (``staff_role_survey``).
"""

import os
from collections.abc import Callable, Iterator
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from portal import create_app
from portal.models import SubmissionKind
from tests.conftest import DemoInstance, SentSubmission

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
MODULE_PATH = "/static/js/parley-crypto.mjs"

# The case the inbox tests send: one person, who agreed to be on the list handed over.
INBOX_CASE = {
    "topics": ["human_rights_defenders"],
    "persons": [
        {
            "name": "Amina Defender",
            "consent": {"level": "handover_list", "given_by": "person", "risks_explained": True},
        }
    ],
    "situation": "Detained after meeting the EU Delegation.",
    "relation_to_person": "colleague",
}

# Run in the page once the front page has loaded: the module, plus hex helpers, which is how the
# tests pass bytes between Python and the page.
PAGE_SETUP = f"""async () => {{
  window.parley = await import('{MODULE_PATH}');
  window.fromHex = (hex) => Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
  window.toHex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}}"""


def _missing_browser_tooling() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if find_spec("playwright") is None:
        return "Playwright for Python is not installed"
    if not CHROMIUM.exists():
        return f"Chromium is not installed at {CHROMIUM}"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Chromium, launched once per session."""
    missing = _missing_browser_tooling()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {missing}: browser tests must run in CI")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def crypto_page(chromium: Any, portal_server: str) -> Iterator[Any]:
    """A fresh page with the module loaded as ``window.parley`` and ``fromHex``/``toHex``."""
    context = chromium.new_context()
    page = context.new_page()
    try:
        page.goto(portal_server + "/")
        page.evaluate(PAGE_SETUP)
        yield page
    finally:
        context.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    """A fresh page in a context where no script runs: the portal must work without it."""
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def js_page(chromium: Any) -> Iterator[Any]:
    """A fresh page in its own context, with JavaScript on."""
    context = chromium.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(scope="module")
def served_app(portal_server_instance: DemoInstance) -> Flask:
    """The served instance's application, for reading what the browser stored."""
    return create_app(portal_server_instance.settings)


@pytest.fixture
def contexts(chromium: Any) -> Iterator[Any]:
    """A factory of fresh browser contexts (one per actor), all closed at the end."""
    opened: list[Any] = []

    def new_page(javascript: bool = True) -> Any:
        context = chromium.new_context(java_script_enabled=javascript)
        opened.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    try:
        yield new_page
    finally:
        for context in opened:
            context.close()


@pytest.fixture
def sent_case(
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> SentSubmission:
    """A case (``INBOX_CASE``) in the inbox of a new codename on the served instance, and in the
    desk's queue; what was sent is its ``form``."""
    return send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, INBOX_CASE
    )


@pytest.fixture
def staff_role_survey(
    chromium: Any, portal_server: str, portal_server_instance: DemoInstance, served_app: Flask
) -> Callable[[str, bool], None]:
    """The served portal's axe-core check of one staff role's pages, called with the role and
    whether JavaScript runs; the staff and the desk roles' tests share it."""
    # Imported here, not above: page_survey needs Playwright, whose absence ``chromium`` has
    # already turned into a skip.
    from tests.browser.page_survey import check_staff_role

    def check(role: str, javascript: bool) -> None:
        check_staff_role(
            chromium,
            served_app,
            portal_server,
            portal_server_instance.credentials_file,
            role,
            javascript,
        )

    return check
