"""axe-core finds nothing to fault on the staff and administration pages (issue 13,
acceptance 2), signed in as each role of the demo instance: the administrator and the observer
here, the desk's roles in test_accessibility_desk.py (two files, so that two workers share the
time).

Each role's pages are those its links reach from the staff home (and, for the administrator,
the administration pages), one page per route (four roles already meet most routes in
different states), checked in English, Arabic and French, with JavaScript and without
(``tests.browser.page_survey.check_staff_role``).
"""

from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("role", ["administrator", "observer"])
def test_staff_pages_have_no_axe_violation(
    staff_role_survey: Callable[[str, bool], None], role: str, javascript: bool
) -> None:
    staff_role_survey(role, javascript)
