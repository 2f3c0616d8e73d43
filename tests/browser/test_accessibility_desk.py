"""axe-core finds nothing to fault on the pages of the desk's roles (triage officer and EU
co-chair), as test_accessibility_staff.py checks the other roles' pages."""

from collections.abc import Callable

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("javascript", [False, True], ids=["no-js", "js"])
@pytest.mark.parametrize("role", ["triage_officer", "co_chair"])
def test_desk_pages_have_no_axe_violation(
    staff_role_survey: Callable[[str, bool], None], role: str, javascript: bool
) -> None:
    staff_role_survey(role, javascript)
