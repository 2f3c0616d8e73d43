"""When a web session has ended: one rule, for a row in hand and as a query condition."""

import datetime as dt

import pytest
from sqlalchemy import DateTime, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from portal.services.web_session_tickets import SessionLifetime, SessionTicket

LIFETIME = SessionLifetime(idle=dt.timedelta(minutes=30), absolute=dt.timedelta(hours=2))
BEGUN = dt.datetime(2026, 3, 1, 9, 0)


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "rows"
    id: Mapped[int] = mapped_column(primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    last_used_at: Mapped[dt.datetime] = mapped_column(DateTime)


CASES = [
    # (minutes since the last request, minutes since the start, ended?)
    (0, 0, False),
    (29, 29, False),
    (30, 30, True),  # idle for exactly the idle span: ended
    (10, 119, False),
    (0, 120, True),  # busy, but the absolute span is over
    (45, 60, True),
]


@pytest.mark.parametrize(("idle_minutes", "age_minutes", "ended"), CASES)
def test_a_row_in_hand_has_ended_after_either_span(idle_minutes, age_minutes, ended):
    now = BEGUN + dt.timedelta(minutes=age_minutes)
    last_used = now - dt.timedelta(minutes=idle_minutes)
    expires = LIFETIME.opening_times(BEGUN)["expires_at"]
    assert expires == BEGUN + dt.timedelta(hours=2)
    assert LIFETIME.has_ended(expires_at=expires, last_used_at=last_used, now=now) is ended


def test_the_query_condition_selects_exactly_the_rows_that_have_ended():
    engine = create_engine("sqlite://")
    _Base.metadata.create_all(engine)
    now = BEGUN + dt.timedelta(minutes=150)
    expected = set()
    with Session(engine) as session:
        for number, (idle_minutes, age_minutes, _) in enumerate(CASES, start=1):
            begun = now - dt.timedelta(minutes=age_minutes)
            row = _Row(
                id=number,
                expires_at=LIFETIME.opening_times(begun)["expires_at"],
                last_used_at=now - dt.timedelta(minutes=idle_minutes),
            )
            session.add(row)
            if LIFETIME.has_ended(
                expires_at=row.expires_at, last_used_at=row.last_used_at, now=now
            ):
                expected.add(number)
        session.flush()
        found = set(
            session.scalars(
                select(_Row.id).where(LIFETIME.ended(_Row.expires_at, _Row.last_used_at, now))
            )
        )
    assert found == expected
    assert expected == {3, 5, 6}


def test_a_ticket_survives_the_cookie_and_a_malformed_one_is_none():
    ticket = SessionTicket(reference="abc", key=bytes(range(32)))
    assert SessionTicket.from_cookie(ticket.to_cookie()) == ticket
    assert "key=" not in repr(ticket)
    for malformed in [
        None,
        "x",
        {"reference": "abc"},
        {"reference": 1, "key": "AA"},
        {"reference": "abc", "key": "not base64!"},
    ]:
        assert SessionTicket.from_cookie(malformed) is None


def test_a_new_ticket_is_random_and_opens_at_now():
    first, second = SessionTicket.new(), SessionTicket.new()
    assert first.reference != second.reference and first.key != second.key
    assert len(first.key) == 32
    assert LIFETIME.opening_times(BEGUN) == {
        "created_at": BEGUN,
        "last_used_at": BEGUN,
        "expires_at": BEGUN + dt.timedelta(hours=2),
    }
