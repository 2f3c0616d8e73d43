"""Public and inbox pages reflow on a narrow screen (issue 13, acceptance 3).

The viewport is 320 by 256 CSS pixels: a phone's width, and what a 1280 by 1024 window shows at
400% zoom (WCAG 1.4.10, Reflow). On every public and inbox page, in English and in Arabic (right
to left), and on the pages a submission passes through, neither the page nor a box inside it
(a table's wrapper) may scroll sideways; when one does, the elements at fault are named.
"""

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from portal.models import SubmissionKind
from tests.browser.page_survey import (
    browsing,
    discover_pages,
    sign_in_staff_context,
    walk_submission,
    with_locale,
)
from tests.browser.test_accessibility_public import CASE, sign_in_inbox
from tests.conftest import DemoInstance, SentSubmission
from tests.staff_sessions_support import demo_credentials

pytestmark = pytest.mark.browser

NARROW = {"width": 320, "height": 256}
# English, the right-to-left language, and Russian, whose long words are the usual breakers.
REFLOW_LOCALES = ("en", "ar", "ru")
# The desk's daily pages, which a triage officer also opens on a phone between meetings.
DESK_PAGES = ("/staff/", "/staff/dialogues/valdoria/queue", "/staff/dialogues/valdoria/sessions")

# Sideways scrolling of the page, the outermost elements that reach beyond the viewport on either
# side, and boxes that scroll sideways inside the page (a table whose last columns are hidden).
OVERFLOW = """() => {
  const root = document.scrollingElement;
  const width = root.clientWidth;
  const outside = (element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && (box.right > width + 0.5 || box.left < -0.5);
  };
  const culprits = [...document.body.querySelectorAll('*')]
    .filter((element) => outside(element) && !outside(element.parentElement))
    .map((element) => `<${element.tagName.toLowerCase()} class="${element.className}">`);
  const scrolled = [...document.body.querySelectorAll('*')]
    .filter((element) => ['auto', 'scroll'].includes(getComputedStyle(element).overflowX)
      && element.scrollWidth > element.clientWidth + 1)
    .map((element) => `<${element.tagName.toLowerCase()} class="${element.className}">`);
  return {scrollWidth: root.scrollWidth, clientWidth: width, culprits, scrolled};
}"""


def sideways_scrolling(page: Any, *, boxes_may_scroll: bool = False) -> str | None:
    """Why ``page``, or a part of it, scrolls sideways, or ``None`` when nothing does; with
    ``boxes_may_scroll``, only the page itself counts (a staff table may scroll in its box)."""
    found = page.evaluate(OVERFLOW)
    if found["scrolled"] and not boxes_may_scroll:
        return f"{page.url}: scrolls sideways inside {', '.join(found['scrolled'])}"
    if found["scrollWidth"] <= found["clientWidth"]:
        return None
    return (
        f"{page.url}: {found['scrollWidth']} px wide in {found['clientWidth']} px; "
        f"sticking out: {', '.join(found['culprits'][:5])}"
    )


@pytest.fixture
def sent(
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> SentSubmission:
    """A case in the inbox of a new codename and in the desk's queue."""
    return send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE
    )


def test_public_and_inbox_pages_fit_320_pixels(
    chromium: Any, portal_server: str, served_app: Flask, sent: SentSubmission
) -> None:
    problems: list[str] = []

    def check(page: Any) -> None:
        problem = sideways_scrolling(page)
        if problem is not None:
            problems.append(problem)

    with browsing(chromium, javascript=True, viewport=NARROW) as page:
        public = discover_pages(page, served_app, portal_server, ["/", "/dialogues/valdoria"])
        for locale in REFLOW_LOCALES:
            walk_submission(page, portal_server, locale, check)
        sign_in_inbox(page, portal_server, sent.codename)
        inbox = discover_pages(page, served_app, portal_server, ["/inbox"], within=("/inbox",))
        for url in public + inbox:
            for locale in REFLOW_LOCALES:
                page.goto(with_locale(url, locale))
                check(page)
    print(f"checked {len(public) + len(inbox)} pages at 320 px in", *REFLOW_LOCALES)
    assert not problems, "pages that scroll sideways at 320 px:\n" + "\n".join(problems)


def test_the_desk_pages_fit_320_pixels(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    served_app: Flask,
    sent: SentSubmission,
) -> None:
    """The staff home, the queue (with its filter form), the sessions and a submission: their
    tables may scroll inside their own box, but the page itself never scrolls sideways."""
    officer = demo_credentials(portal_server_instance.credentials_file)["triage_officer"]
    problems: list[str] = []
    with browsing(chromium, javascript=True, viewport=NARROW) as page:
        sign_in_staff_context(
            page.context, served_app, portal_server, officer.email, officer.password
        )
        for path in (*DESK_PAGES, f"/staff/submissions/{sent.public_id}"):
            for locale in REFLOW_LOCALES:
                page.goto(with_locale(portal_server + path, locale))
                problem = sideways_scrolling(page, boxes_may_scroll=True)
                if problem is not None:
                    problems.append(problem)
    assert not problems, "desk pages that scroll sideways at 320 px:\n" + "\n".join(problems)
