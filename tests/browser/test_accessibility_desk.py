"""axe-core finds nothing to fault on the pages of the desk's roles (triage officer and EU
co-chair), as test_accessibility_staff.py checks the other roles' pages."""

from typing import Any

import pytest
from flask import Flask

from tests.browser.test_accessibility_staff import check_staff_role
from tests.conftest import DemoInstance

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("role", ["triage_officer", "co_chair"])
def test_desk_pages_have_no_axe_violation(
    chromium: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    served_app: Flask,
    role: str,
    javascript: bool,
) -> None:
    check_staff_role(chromium, portal_server, portal_server_instance, served_app, role, javascript)
