"""Quick exit and local times in Chromium, on the served demo portal.

The browser here cannot reach outside hosts, so navigation to the neutral site is intercepted
with ``page.route`` and answered locally; what is checked is where the page went and what the
history holds afterwards.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from portal.blueprints.quick_exit import QUICK_EXIT_URL
from portal.models import SubmissionKind
from tests.conftest import DemoInstance, SentSubmission

pytestmark = pytest.mark.browser

NEUTRAL_PAGE = "<!doctype html><title>Neutral</title><p>neutral</p>"
REPORT_FORM = {
    "what_happened": "Questioned at the border after the consultation.",
    "when": "Last week",
    "link_to_engagement": "Spoke at the civil society seminar.",
    "urgency": "standard",
    "persons": [],
}


@pytest.fixture
def page(chromium: Any, portal_server: str) -> Iterator[Any]:
    """A fresh page in Tokyo time whose visits to the neutral site are answered locally."""
    context = chromium.new_context(timezone_id="Asia/Tokyo", locale="en-GB")
    context.route(
        f"{QUICK_EXIT_URL}**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=NEUTRAL_PAGE),
    )
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def _visit_two_portal_pages(page: Any, portal_server: str) -> int:
    page.goto(portal_server + "/")
    # goto waits for the load event, which module scripts (deferred) always run before.
    page.goto(portal_server + "/dialogues/valdoria")
    return int(page.evaluate("history.length"))


def test_escape_twice_leaves_for_the_neutral_site_without_a_way_back(
    page: Any, portal_server: str
) -> None:
    length = _visit_two_portal_pages(page, portal_server)

    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(QUICK_EXIT_URL)

    assert page.evaluate("history.length") == length
    page.go_back()
    assert page.url == portal_server + "/"


def test_one_escape_or_two_far_apart_stay(page: Any, portal_server: str) -> None:
    _visit_two_portal_pages(page, portal_server)

    page.keyboard.press("Escape")
    page.wait_for_timeout(1200)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)

    assert page.url == portal_server + "/dialogues/valdoria"


def test_the_link_replaces_the_history_entry(page: Any, portal_server: str) -> None:
    length = _visit_two_portal_pages(page, portal_server)

    page.click("a.quick-exit")
    page.wait_for_url(QUICK_EXIT_URL)

    assert page.evaluate("history.length") == length


def test_local_time_is_added_beside_utc_and_brussels(page: Any, portal_server: str) -> None:
    page.goto(portal_server + "/")
    page.wait_for_selector(".local-zone")

    times = page.eval_on_selector_all(
        "time[datetime]",
        "elements => elements.map(e => [e.getAttribute('datetime'), "
        "e.parentElement.querySelector('.local-zone')?.textContent ?? null])",
    )

    assert times
    for iso, local in times:
        assert local is not None and "in your time zone" in local and "GMT+9" in local
        hour = (int(iso[11:13]) + 9) % 24
        assert f"{hour:02d}:{iso[14:16]}" in local


def _signed_in_inbox(
    context: Any,
    portal_server: str,
    instance: DemoInstance,
    send: Callable[..., SentSubmission],
) -> Any:
    """A page of ``context`` on the inbox of a new codename, signed in through the sign-in form."""
    sent = send(instance.settings, SubmissionKind.REPRISAL_REPORT, REPORT_FORM)
    context.route(
        f"{QUICK_EXIT_URL}**",
        lambda route: route.fulfill(status=200, content_type="text/html", body=NEUTRAL_PAGE),
    )
    page = context.new_page()
    page.goto(portal_server + "/inbox/sign-in")
    page.fill("#codename", sent.codename)
    page.click("text=Open my inbox")
    page.wait_for_url(portal_server + "/inbox")
    return page


def _inbox_opens_with(chromium: Any, portal_server: str, cookies: list[dict]) -> bool:
    """Whether a browser holding a copy of these cookies is let into the inbox."""
    other = chromium.new_context(java_script_enabled=False)
    try:
        other.add_cookies(cookies)
        page = other.new_page()
        page.goto(portal_server + "/inbox")
        return page.url == portal_server + "/inbox"
    finally:
        other.close()


@pytest.mark.parametrize("javascript", [False, True], ids=["without JavaScript", "with JavaScript"])
def test_quick_exit_signs_the_inbox_out_on_the_server(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
    javascript: bool,
) -> None:
    context = chromium.new_context(java_script_enabled=javascript)
    try:
        page = _signed_in_inbox(
            context, portal_server, portal_server_instance, send_under_new_codename
        )
        kept = context.cookies()
        assert _inbox_opens_with(chromium, portal_server, kept)

        with page.expect_request(lambda request: request.url.endswith("/quick-exit")):
            page.click("a.quick-exit")
        page.wait_for_url(QUICK_EXIT_URL)

        # The beacon may still be on its way when the page has left: allow it a moment.
        for _ in range(20):
            if not _inbox_opens_with(chromium, portal_server, kept):
                break
            page.wait_for_timeout(100)
        assert not _inbox_opens_with(chromium, portal_server, kept)
    finally:
        context.close()
