"""Inbox sessions: two halves, a cookie ticket and a sealed row, that open nothing apart."""

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, select

import crypto
from portal.models import SubmitterSession
from portal.security import SESSION_IDLE_LIFETIME
from portal.services.contexts import SUBMITTER_SESSION_PURPOSE
from portal.services.submissions.inbox_web_sessions import (
    SessionEndedError,
    SessionLifetime,
    SessionTicket,
    end_session,
    resume_session,
    start_browser_held_session,
    start_session,
)
from portal.services.submissions.submitters import NewCodename, register_new_codename
from tests.conftest import ConsultationWorld


def _signed_up(world: ConsultationWorld) -> NewCodename:
    new = register_new_codename(world.session, world.pepper, language="en", today=world.now.date())
    world.session.commit()
    return new


def _rows(world: ConsultationWorld) -> int:
    return world.session.scalar(select(func.count()).select_from(SubmitterSession))


def test_the_row_holds_only_a_box_that_the_cookie_key_opens(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _signed_up(world)
    ticket = start_session(world.session, new.secrets, now=world.now)
    world.session.commit()

    row = world.session.scalars(select(SubmitterSession)).one()
    private_key = crypto.private_key_bytes(new.secrets.private_key())
    stored = b"".join(
        value if isinstance(value, bytes) else str(value).encode()
        for value in (row.reference, row.sealed_key, row.created_at, row.expires_at)
    )
    tag_key = crypto.owner_tag_key(new.secrets.key_seed)
    assert private_key not in stored and ticket.key not in stored and tag_key not in stored
    assert new.secrets.login_secret not in stored
    with pytest.raises(crypto.DecryptionError):
        crypto.open_box(crypto.new_symmetric_key(), row.sealed_key, SUBMITTER_SESSION_PURPOSE)
    assert (
        crypto.open_box(ticket.key, row.sealed_key, SUBMITTER_SESSION_PURPOSE)
        == private_key + tag_key
    )

    signed_in = resume_session(world.session, ticket, now=world.now)
    assert signed_in.owner_tag_key == tag_key
    assert crypto.private_key_bytes(signed_in.private_key()) == private_key
    assert ticket.key.hex() not in repr(ticket)
    assert private_key.hex() not in repr(signed_in) and tag_key.hex() not in repr(signed_in)


def test_a_forged_key_or_reference_opens_nothing_and_leaves_the_real_session(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _signed_up(world)
    ticket = start_session(world.session, new.secrets, now=world.now)
    world.session.commit()

    for forged in (
        dataclasses.replace(ticket, key=crypto.new_symmetric_key()),
        dataclasses.replace(ticket, key=b"short"),
        dataclasses.replace(ticket, reference=crypto.random_token(32)),
    ):
        with pytest.raises(SessionEndedError):
            resume_session(world.session, forged, now=world.now)
    assert resume_session(world.session, ticket, now=world.now).private_key_bytes is not None


def test_a_browser_held_session_holds_the_tag_key_alone_and_the_old_layout_is_ended(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _signed_up(world)
    tag_key = crypto.owner_tag_key(new.secrets.key_seed)
    ticket = start_browser_held_session(world.session, tag_key, now=world.now)
    world.session.commit()
    row = world.session.scalars(select(SubmitterSession)).one()
    assert crypto.open_box(ticket.key, row.sealed_key, SUBMITTER_SESSION_PURPOSE) == tag_key
    signed_in = resume_session(world.session, ticket, now=world.now)
    assert (signed_in.owner_tag_key, signed_in.private_key_bytes) == (tag_key, None)

    # Before owner tags the box held the private key (or nothing) and the submitter's id.
    private_key = crypto.private_key_bytes(new.secrets.private_key())
    for before in (b"", private_key):
        old_box = before + new.submitter.id.to_bytes(8, "big")
        row.sealed_key = crypto.seal_box(ticket.key, old_box, SUBMITTER_SESSION_PURPOSE)
        world.session.commit()
        with pytest.raises(SessionEndedError):
            resume_session(world.session, ticket, now=world.now)


def test_the_cookie_form_round_trips_and_malformed_values_are_no_ticket() -> None:
    ticket = SessionTicket(reference="r" * 43, key=crypto.new_symmetric_key())

    assert SessionTicket.from_cookie(ticket.to_cookie()) == ticket
    for malformed in (None, "text", {"reference": "r"}, {"reference": "r", "key": "%%%"}):
        assert SessionTicket.from_cookie(malformed) is None


def test_idle_time_counts_from_the_last_request(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    new = _signed_up(world)
    lifetime = SessionLifetime()
    ticket = start_session(world.session, new.secrets, now=world.now)
    world.session.commit()

    busy = world.now + lifetime.idle - dt.timedelta(seconds=1)
    resume_session(world.session, ticket, now=busy)
    resume_session(world.session, ticket, now=busy + lifetime.idle - dt.timedelta(seconds=1))
    world.session.commit()

    with pytest.raises(SessionEndedError):
        resume_session(world.session, ticket, now=busy + 3 * lifetime.idle)
    world.session.commit()
    assert _rows(world) == 0


def test_a_session_ends_at_its_absolute_expiry_however_busy(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _signed_up(world)
    ticket = start_session(world.session, new.secrets, now=world.now)
    row = world.session.scalars(select(SubmitterSession)).one()
    row.expires_at = world.now + dt.timedelta(minutes=5)
    world.session.commit()

    resume_session(world.session, ticket, now=world.now + dt.timedelta(minutes=4))
    with pytest.raises(SessionEndedError):
        resume_session(world.session, ticket, now=world.now + dt.timedelta(minutes=5))
    world.session.commit()
    assert _rows(world) == 0


def test_sign_out_deletes_the_row_and_a_new_sign_in_sweeps_ended_rows(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = _signed_up(world)
    lifetime = SessionLifetime()
    first = start_session(world.session, new.secrets, now=world.now)
    second = start_session(world.session, new.secrets, now=world.now)
    world.session.commit()

    end_session(world.session, first)
    world.session.commit()
    assert _rows(world) == 1
    with pytest.raises(SessionEndedError):
        resume_session(world.session, first, now=world.now)

    later = world.now + lifetime.absolute
    start_session(world.session, new.secrets, now=later)
    world.session.commit()
    assert _rows(world) == 1
    with pytest.raises(SessionEndedError):
        resume_session(world.session, second, now=later)


def test_the_idle_limit_is_the_session_cookies() -> None:
    assert SessionLifetime().idle == SESSION_IDLE_LIFETIME
    assert SessionLifetime().absolute > SessionLifetime().idle
