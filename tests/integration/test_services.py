"""Service rules that guard content: the audit chain and who may be granted a desk key.

Each test works inside a transaction that is rolled back, so the shared demo instance is left as
it was.
"""

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.db import app_database
from portal.models import AuditEvent, DeskKey, StaffRole, StaffUser
from portal.services.audit.trail import AuditAction, record_event, verify_audit_chain
from portal.services.desks.keys import GrantRefusedError, grant_desk_access, open_desk_key_grant
from portal.services.staff.accounts import StaffDetailsError, create_staff_user
from tests.conftest import DemoInstance


@pytest.fixture
def session(demo_app: Flask) -> Iterator[Session]:
    """A session on the demo database whose changes are all rolled back."""
    with Session(app_database(demo_app).engine) as session:
        try:
            yield session
        finally:
            session.rollback()


def _user(session: Session, role: StaffRole) -> StaffUser:
    return session.scalars(select(StaffUser).where(StaffUser.role == role)).one()


def _desk_key(session: Session) -> DeskKey:
    return session.scalars(select(DeskKey).order_by(DeskKey.id)).first()


def test_audit_chain_detects_an_edited_event(session: Session) -> None:
    assert verify_audit_chain(session).intact
    victim = session.scalars(select(AuditEvent).where(AuditEvent.sequence == 3)).one()
    victim.details = {**victim.details, "edited": True}
    session.flush()

    assert verify_audit_chain(session).first_broken_sequence == 3


def test_audit_chain_detects_a_removed_event(session: Session) -> None:
    total = session.scalar(select(func.count()).select_from(AuditEvent))
    session.delete(session.scalars(select(AuditEvent).where(AuditEvent.sequence == 2)).one())
    session.flush()

    result = verify_audit_chain(session)

    assert result.first_broken_sequence == 2
    assert result.events_checked == 1 < total


def test_audit_events_append_to_the_chain(session: Session) -> None:
    last = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()

    event = record_event(
        session, action=AuditAction.STAFF_CREATED, object_type="staff_user", object_id=1
    )

    assert (event.sequence, event.prev_hash) == (last.sequence + 1, last.hash)
    assert verify_audit_chain(session).intact


def test_audit_details_refuse_values_that_may_not_read_back_identically(session: Session) -> None:
    with pytest.raises(TypeError):
        record_event(
            session,
            action=AuditAction.STAFF_CREATED,
            object_type="staff_user",
            object_id=1,
            details={"score": 0.1},
        )


def test_grant_needs_the_desk_key_itself(session: Session) -> None:
    with pytest.raises(GrantRefusedError, match="not this desk key"):
        grant_desk_access(
            session,
            desk_key=_desk_key(session),
            desk_private_key=crypto.generate_private_key(),
            member=_user(session, StaffRole.ADMINISTRATOR),
            granted_by=None,
        )


def test_observers_are_never_granted_a_desk_key(
    session: Session, demo_instance: DemoInstance
) -> None:
    desk_key = _desk_key(session)
    (recovery_grant,) = [grant for grant in desk_key.grants if grant.recovery_key_id is not None]
    recovery_private_key = crypto.import_recovery_key(demo_instance.recovery_key)
    desk_private_key = open_desk_key_grant(recovery_grant, recovery_private_key)

    with pytest.raises(GrantRefusedError, match="observer"):
        grant_desk_access(
            session,
            desk_key=desk_key,
            desk_private_key=desk_private_key,
            member=_user(session, StaffRole.OBSERVER),
            granted_by=None,
        )


@pytest.mark.parametrize(
    ("email", "passphrase", "message"),
    [
        ("not-an-address", "a long enough passphrase", "e-mail"),
        ("someone@demo.parley.invalid", "too short", "at least"),
    ],
)
def test_staff_details_are_checked_before_any_key_is_made(
    session: Session, email: str, passphrase: str, message: str
) -> None:
    with pytest.raises(StaffDetailsError, match=message):
        create_staff_user(
            session,
            email=email,
            display_name="Someone",
            role=StaffRole.TRIAGE_OFFICER,
            passphrase=passphrase,
            at_rest_key=bytes(32),
        )
