"""Acceptance, issues 10 and 11: one session from its open consultation to its held record and
its debrief, in Chromium.

The demo co-chair schedules a session of valdoria for today and opens its consultation from the
session's page. Two submitters write: one with JavaScript (an individual case naming two persons:
X may go on the handover list, Y may be raised without the name only), one without (a seminar's
recommendations, and a second case naming Z, who may go on the list). The co-chair closes the
consultation and drafts the agenda; the demo triage officer assesses, accepts, names the co-chair
on the cases (so that the co-chair may open their names), links each input to an item, proposes
an item, writes the briefing points and proposes Z's case for the handover list (X and Y's case
may not go on it: Y did not consent). The proposer is refused the approval, on the page and when
posting it anyway; the co-chair includes the proposed item, shares and agrees the agenda, prints
the briefing pack (X and Z by name, Y's situation only and never Y's name), approves and freezes
the list, records the session as held and enters its record: the items discussed, X and Y's case
raised during an item with the partner's reply, Z's case handed over on the list with its reply,
and the response to the seminar's recommendation. Then the co-chair writes the debrief on the
session's debrief page (the general debrief, previewed, and words of the desk to the seminar's
author), checks what each contributor will receive, sends it to all of them and records the
session as debriefed; submitter A signs in to the JavaScript inbox and submitter B to the inbox
without JavaScript, and each reads the general debrief and the feedback on their own submission,
and nothing of the other's.

Every staff page is reached by links, as a person would: the staff navigation to the home page,
the session's row there (or what waits in it: the agenda to agree, the entry to approve), then
the session's hub. The submitters open the public page of the new session (its address is what
an invitation would give them). The two staff members sign in on the sign-in page with their
TOTP codes once each and keep their browser contexts for the whole journey.

The session is dated today (UTC) and its consultation closes at 23:59 today: run in the last
minute of a UTC day, the journey cannot open it.
"""

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

import crypto
from tests.browser.journeys import (
    ON_THE_LIST,
    WITHOUT_THE_NAME,
    fill_named_person,
    send_and_keep_codename,
    sign_in_staff,
)
from tests.conftest import DemoInstance
from tests.staff_sessions_support import demo_credentials

pytestmark = pytest.mark.browser

SLUG = "valdoria"


def _signed_in(page: Any, server: str, account: Any) -> Any:
    sign_in_staff(
        page,
        server,
        account.email,
        account.password,
        crypto.totp_secret_from_base32(account.totp_secret),
    )
    expect(page.get_by_role("heading", name="Desks and sessions")).to_be_visible()
    return page


def _open_form(page: Any, server: str, session_id: int, form: str) -> str:
    """From the new session's public page, the form ending in ``form``; its public id."""
    page.goto(f"{server}/dialogues/{SLUG}/sessions/{session_id}")
    page.locator(f"a[href$='/sessions/{session_id}/{form}']").first.click()
    page.wait_for_load_state()
    return page.locator("input[name='public_id']").input_value()


def _case(page: Any, marker: str) -> None:
    page.get_by_label("What happened to them").fill(f"{marker} detained after a rally")
    page.get_by_label("Where", exact=True).fill("The capital")
    page.get_by_label("How you know the person").fill("A colleague")
    page.get_by_label("Human-rights defenders").check()


def _hub(page: Any, session_id: int) -> None:
    """From the staff home page to the session's hub, by its row."""
    _home(page)
    page.locator(f"table.waiting a[href='/staff/dialogues/{SLUG}/sessions/{session_id}']").click()
    expect(page.locator("#session-stage")).to_be_visible()


def _home(page: Any) -> None:
    """The staff home page, by the staff navigation of the page at hand."""
    staff_nav = page.get_by_role("navigation", name="Staff")
    staff_nav.get_by_role("link", name="Desks and sessions").click()
    expect(page.get_by_role("heading", name="Desks and sessions")).to_be_visible()


def _waiting(page: Any, session_id: int, work: str) -> None:
    """On the staff home page, follow what waits in the session's row."""
    _home(page)
    row = page.locator("table.waiting tr", has=page.locator(f"a[href$='/sessions/{session_id}']"))
    row.get_by_role("link", name=work).click()
    page.wait_for_load_state()


def _work(page: Any, session_id: int, link: str) -> None:
    """Follow one link of "The work of this session" on the hub."""
    _hub(page, session_id)
    page.locator("ul.session-work").get_by_role("link", name=link, exact=True).click()
    page.wait_for_load_state()


def _triage(page: Any, public_id: str, *, item: str, name_co_chair: bool) -> None:
    """On a submission's page: a low risk, accepted, (the co-chair named,) linked to ``item``."""
    page.locator(f"a[href='/staff/submissions/{public_id}']").first.click()
    risk = page.locator("form#risk-form")
    risk.locator("input[name='level'][value='low']").check()
    risk.get_by_role("button", name="Record the assessment").click()
    expect(page.locator("#risk")).to_contain_text("Low")
    page.locator("form#decision").get_by_role("button", name="Accept").click()
    expect(page.locator("#state")).to_have_text("Accepted")
    if name_co_chair:
        names = page.locator("#name-readers")
        names.get_by_label("Demo Co-chair").check()
        names.get_by_role("button", name="Name them").click()
        expect(page.locator("#names")).to_be_visible()
    link = page.locator("#agenda form.agenda-form")
    link.locator("select[name='agenda_item']").select_option(label=item)
    link.get_by_role("button", name="Link").click()
    expect(page.locator("#state")).to_have_text("On the agenda")


def test_a_session_from_open_consultation_to_its_record(
    contexts: Any, portal_server: str, portal_server_instance: DemoInstance
) -> None:
    server = portal_server
    accounts = demo_credentials(portal_server_instance.credentials_file)
    marker = f"JOURNEY-{uuid.uuid4().hex[:8]}"
    x_name, y_name, z_name = (f"{who} {marker}" for who in ("Xenia Listed", "Yuri Unnamed", "Zora"))
    today = dt.datetime.now(dt.UTC).date()

    co_chair = _signed_in(contexts(), server, accounts["co_chair"])
    officer = _signed_in(contexts(), server, accounts["triage_officer"])

    # 1. The co-chair schedules a session for today and opens its consultation from its page.
    co_chair.locator(f"table.desk-counts a[href='/staff/dialogues/{SLUG}/sessions']").click()
    co_chair.locator("#date").fill(today.isoformat())
    co_chair.locator("#place").select_option("video")
    co_chair.get_by_role("button", name="Schedule the session").click()
    expect(co_chair.locator("#session-stage")).to_have_text("Planned")
    session_id = int(re.search(r"/sessions/(\d+)$", co_chair.url)[1])
    co_chair.locator("#open-closes").fill(f"{today.isoformat()}T23:59")
    co_chair.get_by_role("button", name="Open the consultation").click()
    expect(co_chair.locator("#session-accepting")).to_have_text("Accepting input now")

    # 2. Submitter A, with JavaScript: one case naming X (the list) and Y (without the name).
    first = contexts()
    case_xy = _open_form(first, server, session_id, "individual-case")
    _case(first, f"{marker} XY")
    fill_named_person(first, 0, x_name, ON_THE_LIST)
    fill_named_person(first, 1, y_name, WITHOUT_THE_NAME)
    codename_xy = send_and_keep_codename(first)

    # Submitter B, without JavaScript: a seminar's recommendations, and a case naming Z.
    second = contexts(javascript=False)
    seminar = _open_form(second, server, session_id, "seminar-recommendations")
    second.get_by_label("The seminar (title, place, date)").fill(f"Seminar {marker}")
    row = second.locator("#field-recommendations-0")
    recommendation = f"{marker} release the journalists"
    row.get_by_label("Recommendation", exact=True).fill(recommendation)
    row.get_by_label("Addressed to").fill("Government")
    row.get_by_label("Agenda theme").select_option("freedom_of_expression")
    codename_seminar = send_and_keep_codename(second)
    case_z = _open_form(second, server, session_id, "individual-case")
    _case(second, f"{marker} Z")
    fill_named_person(second, 0, z_name, ON_THE_LIST)
    send_and_keep_codename(second)

    # 3. The co-chair closes the consultation and drafts the agenda: one item of each side.
    _hub(co_chair, session_id)
    co_chair.get_by_role("button", name="Close the consultation now").click()
    expect(co_chair.locator("#session-stage")).to_have_text("Consultation closed")
    expression, un = f"Freedom of expression {marker}", f"UN cooperation {marker}"
    co_chair.locator("ul.session-work").get_by_role("link", name="The agenda", exact=True).click()
    for title, theme, priority in (
        (expression, "specific_topic", "eu"),
        (un, "un_cooperation", "partner"),
    ):
        co_chair.locator("#add-title").fill(title)
        co_chair.locator("#add-theme").select_option(theme)
        if theme == "specific_topic":
            co_chair.locator("#add-topic").select_option("freedom_of_expression")
        co_chair.locator(f"#add input[name='priority'][value='{priority}']").check()
        co_chair.locator("#add-gender").fill("Women journalists are targeted online.")
        co_chair.get_by_role("button", name="Add the item").click()
        expect(co_chair.locator("#items").get_by_role("link", name=title)).to_be_visible()

    # 4. The triage officer triages the three inputs from the session's queue, linking each.
    for public_id, item, name_co_chair in (
        (case_xy, f"1. {expression}", True),
        (seminar, f"1. {expression}", False),
        (case_z, f"2. {un}", True),
    ):
        _work(officer, session_id, "Submissions for this session")
        _triage(officer, public_id, item=item, name_co_chair=name_co_chair)
    # Z's case goes on the list of this session; the officer proposes it.
    handover = officer.locator("#handover")
    handover.get_by_role("button", name="Propose for the handover list").click()
    expect(officer.locator("#handover")).to_contain_text("awaiting a co-chair's approval")
    # X and Y's case may not: Y consented to being raised without the name only.
    _work(officer, session_id, "Submissions for this session")
    officer.locator(f"a[href='/staff/submissions/{case_xy}']").first.click()
    expect(officer.locator("#handover")).to_contain_text(
        "not every person named has consented to the handover list"
    )
    expect(officer.get_by_role("button", name="Propose for the handover list")).to_have_count(0)

    # The officer proposes an agenda item of their own.
    agenda = f"/staff/dialogues/{SLUG}/sessions/{session_id}/agenda"
    officer.locator(f"#agenda a[href='{agenda}']").click()
    proposed = f"Rule of law {marker}"
    officer.locator("#add-title").fill(proposed)
    officer.locator("#add-theme").select_option("good_governance_and_rule_of_law")
    officer.locator("#add input[name='priority'][value='both']").check()
    officer.get_by_role("button", name="Propose the item").click()
    expect(officer.locator("#items")).to_contain_text("Proposed by")

    # 5. The proposer may not approve: the list says so, and a posted approval is refused.
    _work(officer, session_id, "Handover list")
    proposal = officer.locator("section[aria-labelledby='awaiting'] tr", has_text=case_z)
    expect(proposal).to_contain_text("You proposed it: a co-chair decides.")
    expect(proposal.get_by_role("button", name="Approve")).to_have_count(0)
    token = officer.locator("input[name='csrf_token']").first.input_value()
    _work(co_chair, session_id, "Handover list")
    approve_form = co_chair.locator("form[action$='/approve']").first
    refused = officer.request.post(
        server + approve_form.get_attribute("action"), form={"csrf_token": token}
    )
    assert refused.status == 403, refused.status
    assert "you proposed this case" in refused.text()
    co_chair.reload()
    expect(co_chair.locator("section[aria-labelledby='approved']")).to_contain_text(
        "No case is on the list yet."
    )

    # 6. The officer writes the briefing points: one per item, one per case.
    _work(officer, session_id, "Briefing pack")
    pack = officer.locator("main")
    for field in pack.locator("textarea[id^='point-']").all():
        field_id = field.get_attribute("id")
        officer.locator(f"#{field_id}").fill(f"**Point** {marker} {field_id}: ask for releases.")
        officer.locator(f"#{field_id}").locator("xpath=..").get_by_role(
            "button", name="Save the point"
        ).click()
        expect(officer.locator("#refusal")).to_have_count(0)
    expect(officer.locator(".briefing-point strong").first).to_have_text("Point")

    # 7. The co-chair includes the officer's item, shares and agrees the agenda, from the work
    # their home page lists.
    _waiting(co_chair, session_id, "Agenda to agree")
    co_chair.locator("li.agenda-item", has_text=proposed).get_by_role(
        "button", name="Include"
    ).click()
    expect(co_chair.locator("li.agenda-item", has_text=proposed)).not_to_contain_text("Proposed by")
    co_chair.get_by_role("button", name="Share with observers").click()
    expect(co_chair.locator("#stage li.current")).to_have_text("Shared with observers")
    co_chair.get_by_role("button", name="Record as agreed with the partner").click()
    expect(co_chair.locator("#stage li.current")).to_have_text("Agreed with the partner")

    # 8. The co-chair prints the briefing pack: X and Z by name, Y's situation only.
    _work(co_chair, session_id, "Briefing pack")
    co_chair.get_by_role("link", name="Printable version").click()
    co_chair.emulate_media(media="print")
    printed = co_chair.locator("main")
    # What the printed page shows: the text as rendered under the print stylesheet.
    points = f"{marker} point-item-"
    for shown in (x_name, z_name, recommendation, points, expression, un, proposed):
        expect(printed).to_contain_text(shown, use_inner_text=True)
    expect(co_chair.locator("li.raise-by_name", has_text=x_name)).to_contain_text(
        "may be raised by name"
    )
    expect(co_chair.locator("li.raise-situation_only")).to_have_text(
        re.compile(r"Person 2\s+— situation only, never the name")
    )
    expect(printed.locator("form")).to_have_count(0)
    expect(printed).not_to_contain_text(y_name)
    assert y_name not in co_chair.content(), "Y's name reaches neither the print nor the page"
    co_chair.emulate_media(media="screen")
    co_chair.go_back()  # the print view is a bare document, without navigation

    # 9. The co-chair approves Z's case and freezes the list.
    _waiting(co_chair, session_id, "1 handover entry to approve")
    co_chair.locator("ul.session-work").get_by_role("link", name="Handover list").click()
    co_chair.locator("section[aria-labelledby='awaiting'] tr", has_text=case_z).get_by_role(
        "button", name="Approve"
    ).click()
    expect(co_chair.locator("section[aria-labelledby='approved']")).to_contain_text(case_z)
    co_chair.get_by_role("button", name="Freeze the list").click()
    expect(co_chair.locator(".badge-frozen")).to_have_text("Frozen")
    # The frozen list prints Z alone: X and Y's case is not on it.
    co_chair.get_by_role("link", name="Print the list").click()
    co_chair.emulate_media(media="print")
    expect(co_chair.locator("main")).to_contain_text(z_name, use_inner_text=True)
    expect(co_chair.locator("main")).not_to_contain_text(x_name)
    assert y_name not in co_chair.content()
    co_chair.emulate_media(media="screen")

    # 10. The session is held today; the co-chair enters its record.
    _hub(co_chair, session_id)
    co_chair.locator("form[action$='/held']").get_by_role(
        "button", name="Record the session as held"
    ).click()
    expect(co_chair.locator("#session-stage")).to_have_text("Held")
    co_chair.locator("#record-link").click()
    expect(co_chair.locator("#held-on")).to_have_text("Not recorded yet")
    held = co_chair.locator("#held form")
    expect(held.locator("input[name='held_on']")).to_have_value(today.isoformat())
    held.get_by_role("button", name="Record the session as held").click()
    expect(co_chair.locator("#held-on")).to_contain_text(str(today.year))
    replies = {
        title: f"{marker} the partner on {title.split()[0]}" for title in (expression, un, proposed)
    }
    for title, reply in replies.items():
        entry = co_chair.locator("#items article.record-entry", has_text=title)
        entry.locator("input[name='discussed'][value='yes']").check()
        entry.locator("textarea[name='reply']").fill(reply)
        entry.get_by_role("button", name="Save this item").click()
        expect(co_chair.locator("#items article.record-entry", has_text=title)).to_contain_text(
            reply
        )
    # The standing point on reprisals joined the agenda with its first item: not discussed.
    standing = co_chair.locator("#items article.record-entry", has_text="Reprisals against")
    standing.locator("input[name='discussed'][value='no']").check()
    standing.get_by_role("button", name="Save this item").click()
    expect(standing).to_contain_text("Not discussed")
    raised = {
        case_xy: (f"During the item “{expression}”", f"{marker} reply on X and Y's case"),
        case_z: ("On the handover list", f"{marker} reply on Z's case"),
    }
    for public_id, (how, reply) in raised.items():
        entry = co_chair.locator(f"#case-{public_id}")
        entry.locator("select[name='raised']").select_option(label=how)
        entry.locator("textarea[name='reply']").fill(reply)
        entry.get_by_role("button", name="Save this case").click()
        expect(co_chair.locator(f"#case-{public_id} p.written")).to_have_text(reply)
    response = co_chair.locator(f"#recommendation-{seminar}-0")
    response.locator("input[name='outcome'][value='taken_up']").check()
    response.locator("textarea[name='note']").fill(f"{marker} a review of the press law")
    response.get_by_role("button", name="Save this response").click()
    expect(co_chair.locator(f"#recommendation-{seminar}-0")).to_contain_text("Taken up")
    expect(co_chair.locator("#missing")).to_have_count(0)
    co_chair.get_by_role("button", name="The record is complete").click()
    expect(co_chair.locator("#record-state")).to_contain_text("Complete since")

    # 11. At the end: the cases are raised, the replies read back, the list stays frozen.
    for public_id, (_how, reply) in raised.items():
        expect(co_chair.locator(f"#case-{public_id} p.written")).to_have_text(reply)
        co_chair.locator(f"#case-{public_id} h3 a").click()
        expect(co_chair.locator("#state")).to_have_text("Raised in the session")
        co_chair.go_back()
    _work(co_chair, session_id, "Handover list")
    expect(co_chair.locator(".badge-frozen")).to_have_text("Frozen")
    expect(co_chair.locator("section[aria-labelledby='approved']")).to_contain_text(case_z)

    # 12. The co-chair writes the debrief, checks what each will receive, and sends it.
    _work(co_chair, session_id, "The session's debrief")
    general = f"The dialogue discussed **press freedom** {marker} and meets again in spring."
    co_chair.locator("#general-text").fill(general)
    co_chair.get_by_role("button", name="Preview").click()
    expect(co_chair.locator("#general-preview strong")).to_have_text("press freedom")
    co_chair.get_by_role("button", name="Save the general debrief").click()
    expect(co_chair.locator("#general-rendered strong")).to_have_text("press freedom")
    words = f"{marker} thank you for the seminar's careful work"
    entry = co_chair.locator(f"#contributor-{seminar}")
    entry.locator("textarea[name='text']").fill(words)
    entry.get_by_role("button", name="Save these words").click()
    for public_id, shown in (
        (seminar, words),
        (case_xy, f"during the agenda item “{expression}”"),
        (case_z, "on the written list handed to the partner"),
    ):
        preview = co_chair.locator(f"#preview-{public_id}")
        preview.locator("summary").click()
        expect(preview).to_contain_text(shown)
        expect(preview).to_contain_text(f"{marker} and meets again")
    expect(co_chair.locator(f"#preview-{case_xy}")).to_contain_text(
        "Person 2: their situation was raised without their name"
    )
    assert y_name not in co_chair.content() and x_name not in co_chair.content()
    co_chair.get_by_role("button", name="Send to all outstanding").click()
    expect(co_chair.locator("p[role='status']")).to_contain_text("3 notices sent.")
    expect(co_chair.locator(".debrief-standing", has_text="Notice sent on")).to_have_count(3)
    co_chair.get_by_role("button", name="Record the session as debriefed").click()
    expect(co_chair.locator("#session-stage")).to_have_text("Debriefed")

    # 13. Each submitter reads the general debrief and their own feedback, and nothing else:
    # A with JavaScript (the page opens the notice), B without (the server opens it).
    mine = {
        case_xy: (
            f"{marker} reply on X and Y's case",
            f"The case was raised with the partner during the agenda item “{expression}”",
        ),
        seminar: (f"{marker} a review of the press law", words),
    }
    for page, codename, public_id in (
        (first, codename_xy, case_xy),
        (second, codename_seminar, seminar),
    ):
        page.goto(f"{server}/inbox/sign-in")
        page.fill("#codename", codename)
        page.get_by_role("button", name="Open my inbox").click()
        page.wait_for_url(f"{server}/inbox")
        page.locator(f"a[href='/inbox/{public_id}']").first.click()
        main = page.locator("main")
        expect(main.locator("strong", has_text="press freedom")).to_be_visible()
        for shown in mine[public_id]:
            expect(main).to_contain_text(shown)
        for other, texts in mine.items():
            if other != public_id:
                for hidden in texts:
                    expect(main).not_to_contain_text(hidden)
        expect(main).not_to_contain_text(f"{marker} reply on Z's case")
    # B's feedback gives the recommendation's outcome; A's speaks of persons by number only.
    expect(second.locator(".notice-text")).to_contain_text("Recommendation 1: taken up")
    notice = first.locator(".notice-text")
    expect(notice).to_contain_text("Person 1")
    for name in (x_name, y_name):
        expect(notice).not_to_contain_text(name)
