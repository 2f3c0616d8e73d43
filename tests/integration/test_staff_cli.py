"""Operators manage staff accounts with ``portal staff ...``.

The happy paths run the command line end to end and then use what it printed (the one-time
passphrase signs in); every refusal is one line on standard error, exit status 1, and an
unchanged database.
"""

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import AuditEvent, StaffRole, StaffSession, StaffUser, utc_now
from portal.services.staff.accounts import staff_by_email
from portal.services.staff.resets import reset_notice_for
from portal.services.staff.web_sessions import start_staff_session
from tests.conftest import PlainInstance, run_portal

ONE_TIME_LINE = re.compile(r"^    (\S+)$", re.MULTILINE)


def _portal(instance: PlainInstance, *arguments: str) -> Any:
    return run_portal(instance.environment, *arguments)


def _session(instance: PlainInstance) -> Session:
    return Session(create_engine(instance.settings.database_url))


def _counts(instance: PlainInstance) -> tuple[int, int]:
    with _session(instance) as session:
        return (
            session.scalar(select(func.count()).select_from(StaffUser)),
            session.scalar(select(func.count()).select_from(AuditEvent)),
        )


def _one_line_refusal(result: Any, fragment: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert fragment in lines[0]


def _create(instance: PlainInstance, role: str = "triage_officer") -> tuple[str, str]:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.org"
    result = _portal(
        instance, "staff", "create", "--email", email, "--name", "Cli Person", "--role", role
    )
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    passphrases = ONE_TIME_LINE.findall(result.stdout)
    assert len(passphrases) == 1
    return email, passphrases[0]


def test_create_prints_a_one_time_passphrase_that_opens_the_new_key(
    plain_instance: PlainInstance,
) -> None:
    email, one_time = _create(plain_instance)

    with _session(plain_instance) as session:
        user = staff_by_email(session, email)
        assert user is not None and user.role == StaffRole.TRIAGE_OFFICER
        assert user.must_change_passphrase and user.totp_secret_sealed is None
        assert crypto.verify_password(user.login_hash, one_time)
        crypto.unwrap_private_key(user.personal_private_key_wrapped, one_time)
        event = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "staff.created", AuditEvent.object_id == str(user.id)
            )
        ).one()
        assert event.actor_staff_user_id is None
        assert one_time not in repr(event.details)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (("--email", "not-an-address", "--name", "X", "--role", "observer"), "e-mail"),
        (("--email", "blank@example.org", "--name", "  ", "--role", "observer"), "display name"),
    ],
)
def test_create_refusals_are_one_line_and_store_nothing(
    plain_instance: PlainInstance, arguments: tuple[str, ...], fragment: str
) -> None:
    before = _counts(plain_instance)

    result = _portal(plain_instance, "staff", "create", *arguments)

    _one_line_refusal(result, fragment)
    assert _counts(plain_instance) == before


def test_a_duplicate_account_is_refused(plain_instance: PlainInstance) -> None:
    email, _one_time = _create(plain_instance)
    before = _counts(plain_instance)

    result = _portal(
        plain_instance,
        "staff",
        "create",
        "--email",
        email.upper(),
        "--name",
        "Twin",
        "--role",
        "observer",
    )

    _one_line_refusal(result, "already exists")
    assert _counts(plain_instance) == before


def test_an_unknown_role_is_a_usage_error(plain_instance: PlainInstance) -> None:
    result = _portal(
        plain_instance, "staff", "create", "--email", "r@example.org", "--name", "R", "--role", "x"
    )

    assert result.exit_code == 2


def test_list_shows_every_account_and_its_state(plain_instance: PlainInstance) -> None:
    email, _one_time = _create(plain_instance, "co_chair")

    result = _portal(plain_instance, "staff", "list")

    assert result.exit_code == 0
    line = next(line for line in result.stdout.splitlines() if line.startswith(email))
    assert "co_chair" in line and "active" in line and "enrolment pending" in line
    assert "Cli Person" in line


def test_reset_replaces_the_passphrase_and_key_and_ends_sessions(
    plain_instance: PlainInstance,
) -> None:
    email, one_time = _create(plain_instance)
    with _session(plain_instance) as session:
        user = staff_by_email(session, email)
        old_public = bytes(user.personal_public_key)
        key = crypto.unwrap_private_key(user.personal_private_key_wrapped, one_time)
        start_staff_session(session, user, key, now=utc_now())
        session.commit()

    result = _portal(plain_instance, "staff", "reset", email.upper())

    assert result.exit_code == 0, result.output
    assert "granted again" in result.stdout
    (new_one_time,) = ONE_TIME_LINE.findall(result.stdout)
    with _session(plain_instance) as session:
        user = staff_by_email(session, email)
        assert bytes(user.personal_public_key) != old_public
        crypto.unwrap_private_key(user.personal_private_key_wrapped, new_one_time)
        assert not crypto.verify_password(user.login_hash, one_time)
        assert user.must_change_passphrase
        assert (
            session.scalar(
                select(func.count())
                .select_from(StaffSession)
                .where(StaffSession.staff_user_id == user.id)
            )
            == 0
        )
        # Immediate, with no second administrator, but audited and told to the owner.
        notice = reset_notice_for(session, user)
        assert notice is not None and notice.requested_by is notice.approved_by is None
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "staff.passphrase_reset")
        ).all()[-1]
        assert event.actor_staff_user_id is None and event.details["by"] == "operator"


def test_deactivate_reactivate_and_end_sessions(plain_instance: PlainInstance) -> None:
    email, one_time = _create(plain_instance)
    with _session(plain_instance) as session:
        user = staff_by_email(session, email)
        key = crypto.unwrap_private_key(user.personal_private_key_wrapped, one_time)
        for _ in range(2):
            start_staff_session(session, user, key, now=utc_now())
        session.commit()

    ended = _portal(plain_instance, "staff", "end-sessions", email)
    deactivated = _portal(plain_instance, "staff", "deactivate", email)
    listed = _portal(plain_instance, "staff", "list").stdout
    reactivated = _portal(plain_instance, "staff", "reactivate", email)

    assert ended.exit_code == 0 and "Ended 2 session(s)" in ended.stdout
    assert deactivated.exit_code == 0
    assert "deactivated" in next(line for line in listed.splitlines() if line.startswith(email))
    assert reactivated.exit_code == 0
    with _session(plain_instance) as session:
        user = staff_by_email(session, email)
        assert user.active
        actions = list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == str(user.id))
                .order_by(AuditEvent.sequence)
            )
        )
    assert actions[-3:] == ["staff.sessions_ended", "staff.deactivated", "staff.reactivated"]


def test_the_last_administrator_cannot_be_deactivated(plain_instance: PlainInstance) -> None:
    with _session(plain_instance) as session:
        for admin in session.scalars(
            select(StaffUser).where(StaffUser.role == StaffRole.ADMINISTRATOR)
        ):
            admin.active = False
        session.commit()
    email, _one_time = _create(plain_instance, "administrator")
    before = _counts(plain_instance)

    result = _portal(plain_instance, "staff", "deactivate", email)

    _one_line_refusal(result, "last active administrator")
    assert _counts(plain_instance) == before


@pytest.mark.parametrize("command", ["reset", "deactivate", "reactivate", "end-sessions"])
def test_an_unknown_address_is_one_line(plain_instance: PlainInstance, command: str) -> None:
    before = _counts(plain_instance)

    result = _portal(plain_instance, "staff", command, "nobody@example.org")

    _one_line_refusal(result, "no staff account")
    assert _counts(plain_instance) == before
