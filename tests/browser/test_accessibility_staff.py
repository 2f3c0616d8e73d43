"""axe-core finds nothing to fault on the staff and administration pages (issue 13,
acceptance 2), signed in as each role of the demo instance: the administrator and the observer
here, the desk's roles in test_accessibility_desk.py (two files, so that two workers share the
time).

Each role's pages are those its links reach from the staff home (and, for the administrator,
the administration pages), one page per route (four roles already meet most routes in
different states), checked in English, Arabic and French, with JavaScript and without.
"""

from typing import Any

import pytest
from flask import Flask

from tests.browser.page_survey import (
    LOCALES,
    axe_source,
    browsing,
    discover_pages,
    sign_in_staff_context,
    survey,
)
from tests.conftest import DemoInstance
from tests.staff_sessions_support import demo_credentials

pytestmark = pytest.mark.browser

STAFF_PATHS = ("/staff/", "/admin/")
STARTS = {"administrator": ["/staff/", "/admin/"]}


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("role", ["administrator", "observer"])
def test_staff_pages_have_no_axe_violation(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    served_app: Flask,
    role: str,
    javascript: bool,
) -> None:
    check_staff_role(chromium, portal_server, portal_server_instance, served_app, role, javascript)


def check_staff_role(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    served_app: Flask,
    role: str,
    javascript: bool,
) -> None:
    """axe-core's survey of the pages ``role`` reaches, failing on any violation."""
    source = axe_source()
    account = demo_credentials(portal_server_instance.credentials_file)[role]
    with browsing(chromium, javascript=javascript) as page:
        sign_in_staff_context(
            page.context, served_app, portal_server, account.email, account.password
        )
        pages = discover_pages(
            page,
            served_app,
            portal_server,
            STARTS.get(role, ["/staff/"]),
            within=STAFF_PATHS,
            per_route=1,
        )
        assert len(pages) >= 3, pages
        problems = survey(page, pages, source, LOCALES)
    print(f"axe-core checked {len(pages)} pages as {role}:", *pages, sep="\n  ")
    assert not problems, f"{len(problems)} axe-core violations:\n" + "\n".join(problems)
