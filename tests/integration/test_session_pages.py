"""The desk's session pages: scheduling, the consultation's window, and recording a session held.

One demo instance per backend for the module. The demo co-chair sits on ``valdoria`` (active)
and ``marenland`` (frozen); the demo triage officer on ``valdoria`` but not on ``northvale``.
Every change goes through the pages with a real CSRF token; every refusal is checked to store
nothing: the session rows and the audit trail are compared before and after.
"""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import create_app
from portal.db import Database
from portal.models import (
    AuditEvent,
    Dialogue,
    DialogueSession,
    SessionPlace,
    SessionState,
    StaffUser,
)
from portal.services.dialogues.catalogue import schedule_session
from tests.conftest import DemoInstance, csrf_token_for
from tests.staff_sessions_support import demo_credentials, sign_in_client


@dataclass
class Desk:
    """The module's world: the app, the demo accounts, and helpers to read what was stored."""

    app: Flask
    database: Database
    accounts: dict[str, tuple[str, str]]
    # Sessions the fixture made in the frozen dialogue: one closed, one left open by a row
    # changed outside the rules.
    frozen_closed: int
    frozen_open: int
    _clients: dict[str, FlaskClient] = field(default_factory=dict)

    def client(self, who: str) -> FlaskClient:
        if who not in self._clients:
            client = self._clients[who] = self.app.test_client()
            sign_in_client(self.app, client, *self.accounts[who])
        return self._clients[who]

    def snapshot(self) -> tuple[object, ...]:
        """Every session row and the length of the audit trail."""
        with self.database.session() as session:
            rows = tuple(
                session.execute(
                    select(
                        DialogueSession.id,
                        DialogueSession.state,
                        DialogueSession.date,
                        DialogueSession.consultation_opens_at,
                        DialogueSession.consultation_closes_at,
                    ).order_by(DialogueSession.id)
                )
            )
            return rows, session.scalar(select(func.count()).select_from(AuditEvent))

    def stored(self, session_id: int) -> DialogueSession:
        with self.database.session() as session:
            found = session.get_one(DialogueSession, session_id)
            session.expunge(found)
            return found

    def last_event(self) -> AuditEvent:
        with self.database.session() as session:
            event = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()
            assert event is not None
            session.expunge(event)
            return event

    def user_id(self, who: str) -> int:
        with self.database.session() as session:
            return session.scalars(
                select(StaffUser.id).where(StaffUser.email == self.accounts[who][0])
            ).one()


@pytest.fixture(scope="module")
def desk(writable_demo_instance: DemoInstance) -> Iterator[Desk]:
    app = create_app(writable_demo_instance.settings)
    database = Database(writable_demo_instance.settings.database_url)
    credentials = demo_credentials(writable_demo_instance.credentials_file)
    accounts = {role: (c.email, c.password) for role, c in credentials.items()}
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    with database.session() as session:
        frozen = session.scalars(select(Dialogue).where(Dialogue.slug == "marenland")).one()
        made = [
            schedule_session(
                session,
                frozen,
                date=soon.date() + dt.timedelta(days=30),
                place=SessionPlace.BRUSSELS,
                state=state,
                consultation_opens_at=soon - dt.timedelta(days=3),
                consultation_closes_at=soon,
            )
            for state in (SessionState.CONSULTATION_CLOSED, SessionState.CONSULTATION_OPEN)
        ]
        session.commit()
        ids = [item.id for item in made]
    try:
        yield Desk(app, database, accounts, frozen_closed=ids[0], frozen_open=ids[1])
    finally:
        database.dispose()


def _post(client: FlaskClient, url: str, data: dict[str, str] | None = None) -> Any:
    return client.post(url, data={"csrf_token": csrf_token_for(client), **(data or {})})


def _moment(moment: dt.datetime) -> str:
    """A moment as the datetime-local control posts it (read as UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M")


def _midnight_after(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _schedule(desk: Desk, day: dt.date, **window: str) -> int:
    response = _post(
        desk.client("co_chair"),
        "/staff/dialogues/valdoria/sessions",
        {"date": day.isoformat(), "place": "video", **window},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _hub(session_id: int) -> str:
    return f"/staff/dialogues/valdoria/sessions/{session_id}"


def _refused(desk: Desk, who: str, url: str, data: dict[str, str], status: int, words: str) -> str:
    before = desk.snapshot()
    response = _post(desk.client(who), url, data)
    page = response.get_data(as_text=True)
    assert response.status_code == status, page
    assert words in page
    assert desk.snapshot() == before
    return page


# --- the happy paths ---------------------------------------------------------------------------


def test_schedule_open_extend_close_reopen_and_held_only_from_the_date(desk: Desk) -> None:
    today = dt.datetime.now(dt.UTC).date()
    later = today + dt.timedelta(days=30)
    opens = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    closes = dt.datetime.combine(today + dt.timedelta(days=10), dt.time(12), tzinfo=dt.UTC)

    future = _schedule(desk, later, opens=_moment(opens), closes=_moment(closes))

    stored = desk.stored(future)
    assert (stored.state, stored.date, stored.place) == (
        SessionState.PLANNED,
        later,
        SessionPlace.VIDEO,
    )
    assert (stored.consultation_opens_at, stored.consultation_closes_at) == (opens, closes)
    event = desk.last_event()
    assert (event.action, event.actor_staff_user_id) == (
        "session.scheduled",
        desk.user_id("co_chair"),
    )
    page = desk.client("co_chair").get(_hub(future)).get_data(as_text=True)
    assert "The session is scheduled" in page and "Open the consultation" in page
    assert f"/staff/dialogues/valdoria/queue?session={future}" in page

    # Open, as the triage officer: the desk's other working role.
    assert _post(desk.client("triage_officer"), _hub(future) + "/open").status_code == 302
    assert desk.stored(future).state is SessionState.CONSULTATION_OPEN
    page = desk.client("triage_officer").get(_hub(future)).get_data(as_text=True)
    assert "Accepting input now" in page and "Extend the consultation" in page

    extended = closes + dt.timedelta(days=10)
    response = _post(
        desk.client("co_chair"), _hub(future) + "/extend", {"closes": _moment(extended)}
    )
    assert response.status_code == 302
    assert desk.stored(future).consultation_closes_at == extended
    event = desk.last_event()
    assert event.action == "session.consultation_extended"
    assert event.details == {
        "from": closes.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "to": extended.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }

    assert _post(desk.client("co_chair"), _hub(future) + "/close").status_code == 302
    assert desk.stored(future).state is SessionState.CONSULTATION_CLOSED
    page = desk.client("co_chair").get(_hub(future)).get_data(as_text=True)
    assert "Reopen the consultation" in page
    assert "can be recorded as held from" in page and "Record the session as held" not in page

    _refused(desk, "co_chair", _hub(future) + "/held", {}, 400, "only on or after that day")

    assert _post(desk.client("co_chair"), _hub(future) + "/open").status_code == 302
    assert desk.stored(future).state is SessionState.CONSULTATION_OPEN
    assert desk.stored(future).consultation_closes_at == extended
    assert _post(desk.client("co_chair"), _hub(future) + "/close").status_code == 302

    # A session dated today is recorded as held once its consultation is closed.
    now_session = _schedule(desk, today)
    response = _post(
        desk.client("co_chair"),
        _hub(now_session) + "/open",
        {"closes": _moment(_midnight_after(today))},
    )
    assert response.status_code == 302
    assert _post(desk.client("co_chair"), _hub(now_session) + "/close").status_code == 302
    assert "Record the session as held" in desk.client("co_chair").get(_hub(now_session)).get_data(
        as_text=True
    )
    assert _post(desk.client("co_chair"), _hub(now_session) + "/held").status_code == 302
    assert desk.stored(now_session).state is SessionState.HELD
    event = desk.last_event()
    assert (event.action, event.details["to"], event.actor_staff_user_id) == (
        "session.state_changed",
        "held",
        desk.user_id("co_chair"),
    )
    page = desk.client("co_chair").get(_hub(now_session)).get_data(as_text=True)
    assert "Held" in page and "Reopen" not in page


def test_a_session_without_a_consultation_is_closed_unopened_then_held(desk: Desk) -> None:
    session_id = _schedule(desk, dt.datetime.now(dt.UTC).date())
    assert "Close without a consultation" in desk.client("co_chair").get(_hub(session_id)).get_data(
        as_text=True
    )

    assert _post(desk.client("triage_officer"), _hub(session_id) + "/close").status_code == 302
    assert _post(desk.client("triage_officer"), _hub(session_id) + "/held").status_code == 302

    stored = desk.stored(session_id)
    assert stored.state is SessionState.HELD
    assert stored.consultation_opens_at is None and stored.consultation_closes_at is None


def test_the_overview_lists_the_sessions_and_links_each_hub(desk: Desk) -> None:
    response = desk.client("co_chair").get("/staff/dialogues/valdoria/sessions")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    with desk.database.session() as session:
        ids = session.scalars(
            select(DialogueSession.id).join(Dialogue).where(Dialogue.slug == "valdoria")
        ).all()
    for session_id in ids:
        assert f'href="{_hub(session_id)}"' in page
    assert "Schedule the session" in page
    # The navigation reaches the dialogue's other pages from here.
    for path in ("/staff/dialogues/valdoria/queue", "/staff/desks/valdoria", "/staff/"):
        assert f'href="{path}"' in page


def test_the_home_links_every_desk_page(desk: Desk) -> None:
    page = desk.client("co_chair").get("/staff/").get_data(as_text=True)

    for path in (
        "/staff/dialogues/valdoria/sessions",
        "/staff/dialogues/valdoria/queue",
        "/staff/desks/valdoria",
        "/staff/account",
    ):
        assert f'href="{path}"' in page
    assert "Sessions of your desks and what is waiting for you" in page


# --- refusals ----------------------------------------------------------------------------------


def test_a_frozen_dialogue_schedules_opens_and_extends_nothing(desk: Desk) -> None:
    frozen = "/staff/dialogues/marenland/sessions"
    in_a_month = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=30)).isoformat()

    _refused(desk, "co_chair", frozen, {"date": in_a_month, "place": "video"}, 400, "is frozen")
    _refused(desk, "co_chair", f"{frozen}/{desk.frozen_closed}/open", {}, 400, "is frozen")
    later = _moment(dt.datetime.now(dt.UTC) + dt.timedelta(days=5))
    _refused(
        desk, "co_chair", f"{frozen}/{desk.frozen_open}/extend", {"closes": later}, 400, "frozen"
    )
    page = desk.client("co_chair").get(frozen).get_data(as_text=True)
    assert "Schedule the session" not in page and "The dialogue is frozen" in page
    # Closing is always possible: it accepts less, never more.
    assert _post(desk.client("co_chair"), f"{frozen}/{desk.frozen_open}/close").status_code == 302
    assert desk.stored(desk.frozen_open).state is SessionState.CONSULTATION_CLOSED


MALFORMED = [
    ({"date": "2031-02-30", "place": "video"}, "date"),
    ({"date": "next week", "place": "video"}, "date"),
    ({"place": "video"}, "date"),
    ({"date": "{future}", "place": "moon"}, "Choose where"),
    ({"date": "{future}"}, "Choose where"),
    ({"date": "{future}", "place": "video", "opens": "soon", "closes": "{close}"}, "HH:MM"),
    ({"date": "{future}", "place": "video", "closes": "{close}"}, "both"),
    ({"date": "{past}", "place": "video"}, "has passed"),
    (
        {"date": "{future}", "place": "video", "opens": "{close}", "closes": "{open}"},
        "open before it closes",
    ),
    (
        {"date": "{future}", "place": "video", "opens": "{open}", "closes": "{too_late}"},
        "end of the session&#39;s day",
    ),
]


@pytest.mark.parametrize(("data", "words"), MALFORMED)
def test_a_malformed_schedule_is_refused_with_nothing_stored(
    desk: Desk, data: dict[str, str], words: str
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    future = today + dt.timedelta(days=20)
    values = {
        "future": future.isoformat(),
        "past": (today - dt.timedelta(days=1)).isoformat(),
        "open": _moment(dt.datetime.now(dt.UTC) + dt.timedelta(days=1)),
        "close": _moment(dt.datetime.now(dt.UTC) + dt.timedelta(days=5)),
        "too_late": _moment(_midnight_after(future) + dt.timedelta(minutes=1)),
    }
    posted = {key: value.format(**values) for key, value in data.items()}

    page = _refused(desk, "co_chair", "/staff/dialogues/valdoria/sessions", posted, 400, words)

    # What was typed is offered again.
    if "date" in posted:
        assert f'value="{posted["date"]}"' in page


def test_malformed_oversized_and_forged_changes_of_a_session(desk: Desk) -> None:
    session_id = _schedule(desk, dt.datetime.now(dt.UTC).date() + dt.timedelta(days=40))
    hub = _hub(session_id)

    _refused(desk, "co_chair", hub + "/extend", {}, 400, "HH:MM")
    _refused(desk, "co_chair", hub + "/extend", {"closes": "2031-01-01T08:00"}, 400, "not open")
    _refused(desk, "co_chair", hub + "/open", {"closes": "tomorrow"}, 400, "HH:MM")
    _refused(desk, "co_chair", hub + "/open", {}, 400, "no consultation close yet")
    _refused(desk, "co_chair", hub + "/held", {}, 400, "only on or after that day")
    _refused(desk, "co_chair", hub + "/open", {"closes": "x" * 8000}, 413, "")
    # Without the CSRF token nothing happens either.
    before = desk.snapshot()
    assert desk.client("co_chair").post(hub + "/open", data={"closes": "x"}).status_code == 400
    assert desk.snapshot() == before


def test_who_may_see_and_change_the_sessions(desk: Desk) -> None:
    session_id = _schedule(desk, dt.datetime.now(dt.UTC).date() + dt.timedelta(days=50))
    with desk.database.session() as session:
        elsewhere = session.scalars(
            select(DialogueSession.id).join(Dialogue).where(Dialogue.slug == "northvale")
        ).first()
    later = _moment(dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    for who, url, status in (
        ("observer", _hub(session_id), 403),
        ("observer", "/staff/dialogues/valdoria/sessions", 403),
        ("administrator", _hub(session_id), 403),
        ("triage_officer", "/staff/dialogues/northvale/sessions", 403),
        ("co_chair", "/staff/dialogues/no-such-dialogue/sessions", 404),
        ("co_chair", f"/staff/dialogues/valdoria/sessions/{elsewhere}", 404),
        ("co_chair", "/staff/dialogues/valdoria/sessions/999999999", 404),
    ):
        assert desk.client(who).get(url).status_code == status, (who, url)
    for who, url, status in (
        ("observer", _hub(session_id) + "/open", 403),
        ("administrator", _hub(session_id) + "/open", 403),
        ("triage_officer", f"/staff/dialogues/northvale/sessions/{elsewhere}/open", 403),
        ("co_chair", f"/staff/dialogues/valdoria/sessions/{elsewhere}/open", 404),
    ):
        _refused(desk, who, url, {"closes": later}, status, "")
    assert desk.app.test_client().get(_hub(session_id)).status_code == 302
