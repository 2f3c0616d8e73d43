"""The follow-up roadmap in Chromium without JavaScript, reached by links as a co-chair would.

The demo co-chair follows the "Roadmap" link of valdoria on the staff home page, sets an
operational result, adds an action towards it that was due yesterday (so it is overdue at once),
reports progress with a note in simple Markdown, then finds the overdue action again from the
home page's "Overdue follow-up actions".
"""

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

import crypto
from tests.browser.journeys import sign_in_staff
from tests.conftest import DemoInstance
from tests.staff_sessions_support import demo_credentials

pytestmark = pytest.mark.browser


def test_a_co_chair_keeps_the_roadmap_without_javascript(
    contexts: Any, portal_server: str, portal_server_instance: DemoInstance
) -> None:
    marker = uuid.uuid4().hex[:8]
    result, action = f"Moratorium {marker}", f"Prison visit {marker}"
    account = demo_credentials(portal_server_instance.credentials_file)["co_chair"]
    page = contexts(javascript=False)
    sign_in_staff(
        page,
        portal_server,
        account.email,
        account.password,
        crypto.totp_secret_from_base32(account.totp_secret),
    )
    row = page.locator("table.desk-counts tr", has_text="Republic of Valdoria")
    row.get_by_role("link", name="Roadmap").click()
    expect(
        page.get_by_role("heading", name="Follow-up roadmap: Republic of Valdoria")
    ).to_be_visible()

    adding = page.locator("#add-result form")
    adding.get_by_label("Result", exact=True).fill(result)
    adding.get_by_label("How progress is measured").fill("A moratorium decree")
    adding.get_by_role("button", name="Set the result").click()
    expect(page.locator(".notice[role=status]")).to_have_text("The result is on the roadmap.")

    adding = page.locator("#add-action form")
    adding.get_by_label("Action", exact=True).fill(action)
    adding.get_by_label("The EU Delegation").check()
    adding.get_by_label("Due on").fill(
        (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    )
    adding.get_by_label("Towards the result (optional)").select_option(label=result)
    adding.get_by_role("button", name="Add the action").click()
    expect(page.get_by_role("heading", name=action, exact=True)).to_be_visible()
    expect(page.locator("#action-state")).to_contain_text("Planned")
    expect(page.locator("#action-state")).to_contain_text("Overdue")

    changing = page.locator("#state form")
    changing.get_by_label("In progress").check()
    changing.get_by_label(re.compile("^Progress note")).fill("The **visit** is agreed")
    changing.get_by_role("button", name="Record the state").click()
    expect(page.locator("#action-state")).to_contain_text("In progress")
    expect(page.locator(".roadmap-history strong", has_text="visit")).to_be_visible()

    page.get_by_role("navigation", name="Staff").get_by_role(
        "link", name="Desks and sessions"
    ).click()
    page.locator("#overdue-actions + ul").get_by_role(
        "link", name=re.compile(r"^Republic of Valdoria: \d+ overdue action")
    ).click()
    listed = page.locator("table.roadmap-actions tr", has_text=action)
    expect(listed).to_contain_text("The EU Delegation")
    expect(listed).to_contain_text("Overdue")
