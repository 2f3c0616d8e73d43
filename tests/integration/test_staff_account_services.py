"""Staff account rules (``portal.services.staff.accounts``) that every caller shares.

On both databases: ending someone's sessions always records who did it (the person, an
administrator or an operator); confirming TOTP enrolment stores the secret only sealed, refuses a
wrong code without changing anything, and is audited.
"""

import datetime as dt

import pytest
from sqlalchemy import select

import crypto
from portal.models import AuditEvent, StaffRole, StaffSession, StaffUser
from portal.services.staff.accounts import (
    TotpCodeMismatchError,
    confirm_totp_enrolment,
    create_staff_account,
    end_all_sessions_audited,
    staff_accounts,
    staff_totp_secret,
)
from portal.services.staff.web_sessions import start_staff_session
from tests.conftest import ConsultationWorld

AT_REST_KEY = bytes(range(32))


def _account(world: ConsultationWorld, name: str, role=StaffRole.TRIAGE_OFFICER) -> StaffUser:
    created = create_staff_account(
        world.session,
        email=f"{name}@example.org",
        display_name=name.title(),
        role=role,
        created_by=None,
    )
    return created.user


def _last_event(world: ConsultationWorld) -> AuditEvent:
    return world.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()


@pytest.mark.parametrize("who", ["self", "administrator", "operator"])
def test_ending_every_session_is_audited_with_who_did_it(
    consultation_world: ConsultationWorld, who: str
) -> None:
    world = consultation_world
    user = _account(world, "ada")
    admin = _account(world, "grace", StaffRole.ADMINISTRATOR)
    for _ in range(2):
        start_staff_session(world.session, user, crypto.generate_private_key(), now=world.now)
    actor = {"self": user, "administrator": admin, "operator": None}[who]

    ended = end_all_sessions_audited(world.session, user, actor=actor)

    assert ended == 2
    assert (
        world.session.scalars(
            select(StaffSession).where(StaffSession.staff_user_id == user.id)
        ).all()
        == []
    )
    event = _last_event(world)
    assert event.action == "staff.sessions_ended"
    assert event.object_id == str(user.id)
    assert event.details == {"sessions_ended": 2, "by": who}
    assert event.actor_staff_user_id == (None if actor is None else actor.id)


def test_totp_enrolment_seals_the_secret_and_is_audited(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    user = _account(world, "ada")
    secret = crypto.new_totp_secret()
    now = dt.datetime.now(dt.UTC)

    confirm_totp_enrolment(
        world.session,
        user,
        secret,
        crypto.totp_code(secret, now.timestamp()),
        now=now,
        at_rest_key=AT_REST_KEY,
    )

    assert secret not in bytes(user.totp_secret_sealed)
    assert staff_totp_secret(user, AT_REST_KEY) == secret
    assert user.last_totp_step is not None
    event = _last_event(world)
    assert event.action == "staff.totp_enrolled"
    assert event.actor_staff_user_id == user.id


def test_a_wrong_enrolment_code_changes_nothing(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    user = _account(world, "ada")
    secret = crypto.new_totp_secret()
    before = _last_event(world).sequence
    now = dt.datetime.now(dt.UTC)
    wrong = "abc123"

    with pytest.raises(TotpCodeMismatchError):
        confirm_totp_enrolment(world.session, user, secret, wrong, now=now, at_rest_key=AT_REST_KEY)

    assert user.totp_secret_sealed is None and user.last_totp_step is None
    assert _last_event(world).sequence == before


def test_staff_accounts_are_listed_by_name(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    for name in ("zoe", "ada", "mia"):
        _account(world, name)

    assert [user.display_name for user in staff_accounts(world.session)] == ["Ada", "Mia", "Zoe"]
