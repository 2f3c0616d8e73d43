"""``portal desk ...``: members, grant (with the recipient's fingerprint) and rotate with the
recovery key, remove (a holder only with the recovery key).

Each command runs end to end on a demo instance on both databases. Every refusal is one line on
standard error, exit status 1, and leaves the database as it was.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal.cli.main import main
from portal.db import Database
from portal.models import (
    AuditEvent,
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    StaffRole,
    StaffUser,
)
from portal.services.audit.trail import AuditAction, verify_audit_chain
from portal.services.desks.keys import current_desk_key
from portal.services.desks.membership import holds_key
from portal.services.staff.accounts import create_staff_account
from portal.services.staff.fingerprints import short_fingerprint
from tests.conftest import DemoInstance

TRIAGE = "triage@demo.parley.invalid"
COCHAIR = "cochair@demo.parley.invalid"
OBSERVER = "observer@demo.parley.invalid"
ADMIN = "admin@demo.parley.invalid"


def _portal(instance: DemoInstance, *arguments: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(
        main, list(arguments), env=instance.environment, input=stdin, catch_exceptions=False
    )


@pytest.fixture
def database(writable_demo_instance: DemoInstance) -> Iterator[Session]:
    db = Database(writable_demo_instance.settings.database_url)
    try:
        with db.session() as session:
            yield session
    finally:
        db.dispose()


def _snapshot(session: Session) -> tuple[int, ...]:
    session.expire_all()
    return tuple(
        session.scalar(select(func.count()).select_from(table))
        for table in (DeskKeyGrant, DeskMembership, DeskKey, AuditEvent)
    )


def _refused(instance: DemoInstance, session: Session, *arguments: str, stdin=None) -> str:
    before = _snapshot(session)
    result = _portal(instance, *arguments, stdin=stdin)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert _snapshot(session) == before
    return result.stderr


def _new_account(session: Session, email: str, role=StaffRole.TRIAGE_OFFICER) -> StaffUser:
    created = create_staff_account(
        session, email=email, display_name=email.split("@")[0], role=role, created_by=None
    )
    session.commit()
    return created.user


def _user(session: Session, email: str) -> StaffUser:
    session.expire_all()
    return session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def _dialogue(session: Session, slug: str) -> Dialogue:
    return session.scalars(select(Dialogue).where(Dialogue.slug == slug)).one()


def test_members_lists_the_desk_and_who_holds_the_key(
    writable_demo_instance: DemoInstance,
) -> None:
    result = _portal(writable_demo_instance, "desk", "members", "valdoria")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Desk of valdoria; current desk key ")
    assert lines[1].split() == ["email", "role", "account", "key", "name"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert set(rows) == {TRIAGE, COCHAIR}
    assert rows[TRIAGE][1:4] == ["triage_officer", "active", "holds"]


def test_grant_with_the_recovery_key_puts_on_the_desk_and_seals_the_key(
    writable_demo_instance: DemoInstance, database: Session
) -> None:
    instance = writable_demo_instance
    newcomer = _new_account(database, "newcomer@example.org")
    asked = _refused(
        instance,
        database,
        "desk",
        "grant",
        "northvale",
        "newcomer@example.org",
        stdin=instance.recovery_key + "\n",
    )
    assert crypto.fingerprint(newcomer.personal_public_key) in asked and "--fingerprint" in asked

    result = _portal(
        instance,
        "desk",
        "grant",
        "northvale",
        "Newcomer@Example.org",
        "--fingerprint",
        short_fingerprint(newcomer.personal_public_key).replace(" ", "-"),
        stdin=instance.recovery_key + "\n",
    )

    assert result.exit_code == 0, result.output
    assert crypto.fingerprint(newcomer.personal_public_key) in result.stdout
    assert "newcomer@example.org put on the desk and granted 1 desk key(s) of northvale" in (
        result.stdout
    )
    newcomer = _user(database, "newcomer@example.org")
    northvale = _dialogue(database, "northvale")
    assert holds_key(database, newcomer, current_desk_key(database, northvale))
    added = database.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == str(AuditAction.DESK_MEMBER_ADDED))
        .order_by(AuditEvent.sequence.desc())
    ).first()
    assert added.details["by"] == "recovery_key" and added.actor_staff_user_id is None
    confirmed = database.scalars(
        select(AuditEvent).where(AuditEvent.action == str(AuditAction.DESK_MEMBER_KEY_CONFIRMED))
    ).all()[-1]
    assert confirmed.details["fingerprint"] == crypto.fingerprint(newcomer.personal_public_key)
    assert verify_audit_chain(database).intact
    members = _portal(instance, "desk", "members", "northvale").stdout
    assert "newcomer@example.org" in members


def test_grant_refusals_are_one_line_and_store_nothing(
    writable_demo_instance: DemoInstance, database: Session
) -> None:
    instance = writable_demo_instance
    key = instance.recovery_key + "\n"
    other_key = crypto.export_recovery_key(crypto.generate_private_key()) + "\n"

    def digits(email: str) -> tuple[str, str]:
        return "--fingerprint", short_fingerprint(_user(database, email).personal_public_key)

    assert "Observer's role never reads submissions" in _refused(
        instance, database, "desk", "grant", "valdoria", OBSERVER, *digits(OBSERVER), stdin=key
    )
    assert "no staff account" in _refused(
        instance, database, "desk", "grant", "valdoria", "nobody@example.org", stdin=key
    )
    assert "no dialogue" in _refused(
        instance, database, "desk", "grant", "atlantis", TRIAGE, stdin=key
    )
    assert "already holds" in _refused(
        instance, database, "desk", "grant", "valdoria", TRIAGE, *digits(TRIAGE), stdin=key
    )
    assert "cannot open" in _refused(
        instance,
        database,
        "desk",
        "grant",
        "valdoria",
        ADMIN,
        *digits(ADMIN),
        stdin=other_key,
    )
    assert "checksum" in _refused(
        instance, database, "desk", "grant", "valdoria", TRIAGE, stdin=key[:-3] + "00\n"
    )
    assert "recovery key" in _refused(
        instance, database, "desk", "grant", "valdoria", TRIAGE, stdin=""
    )


def test_a_key_swapped_into_the_database_is_refused_and_nothing_is_granted(
    writable_demo_instance: DemoInstance, database: Session
) -> None:
    """The colleague reads out the digits of the key they made; before the operator runs the
    grant, someone who can write the database puts another key on the account."""
    instance = writable_demo_instance
    victim = _new_account(database, "swapped@example.org")
    read_out = short_fingerprint(victim.personal_public_key)
    victim.personal_public_key = crypto.public_key_bytes(crypto.generate_private_key())
    database.commit()

    refusal = _refused(
        instance,
        database,
        "desk",
        "grant",
        "valdoria",
        "swapped@example.org",
        "--fingerprint",
        read_out,
        stdin=instance.recovery_key + "\n",
    )

    assert "not the fingerprint" in refusal and "nothing was granted" in refusal
    assert not database.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == victim.id)
    ).all()


def test_rotate_with_the_recovery_key_keeps_every_holder(
    writable_demo_instance: DemoInstance, database: Session
) -> None:
    instance = writable_demo_instance
    old_key = current_desk_key(database, _dialogue(database, "elbaria-local"))
    old_fingerprint = crypto.fingerprint(old_key.public_key)

    result = _portal(
        instance, "desk", "rotate", "elbaria-local", stdin=instance.recovery_key + "\n"
    )

    assert result.exit_code == 0, result.output
    database.expire_all()
    new_key = current_desk_key(database, _dialogue(database, "elbaria-local"))
    assert new_key.id != old_key.id
    assert crypto.fingerprint(new_key.public_key) in result.stdout
    assert old_fingerprint not in result.stdout
    assert f"Granted to: {TRIAGE}" in result.stdout
    assert database.get(DeskKey, old_key.id).retired_at is not None
    triage = _user(database, TRIAGE)
    assert holds_key(database, triage, new_key) and holds_key(database, triage, old_key)
    wrong = crypto.export_recovery_key(crypto.generate_private_key()) + "\n"
    assert "cannot open" in _refused(
        instance, database, "desk", "rotate", "elbaria-local", stdin=wrong
    )


def test_remove_deletes_grants_and_guards_the_last_key_holder(
    writable_demo_instance: DemoInstance, database: Session
) -> None:
    instance = writable_demo_instance
    key = instance.recovery_key + "\n"
    # coral-straits has one member, the triage officer, who holds its key: removing them needs
    # the recovery key, and as the last holder also --confirm-last.
    assert "recovery key" in _refused(
        instance, database, "desk", "remove", "coral-straits", TRIAGE, "--confirm-last", stdin=""
    )
    other_key = crypto.export_recovery_key(crypto.generate_private_key()) + "\n"
    assert "only someone who holds it" in _refused(
        instance,
        database,
        "desk",
        "remove",
        "coral-straits",
        TRIAGE,
        "--confirm-last",
        stdin=other_key,
    )
    assert "--confirm-last" in _refused(
        instance, database, "desk", "remove", "coral-straits", TRIAGE, stdin=key
    )
    assert "not on the desk" in _refused(
        instance, database, "desk", "remove", "coral-straits", COCHAIR
    )

    result = _portal(
        instance, "desk", "remove", "coral-straits", TRIAGE, "--confirm-last", stdin=key
    )

    assert result.exit_code == 0, result.output
    assert "1 grant(s) deleted" in result.stdout
    triage = _user(database, TRIAGE)
    coral = _dialogue(database, "coral-straits")
    assert not holds_key(database, triage, current_desk_key(database, coral))
    assert (
        "Nobody sits on this desk." in _portal(instance, "desk", "members", "coral-straits").stdout
    )
    # The recovery key brings the desk back.
    again = _portal(
        instance,
        "desk",
        "grant",
        "coral-straits",
        TRIAGE,
        "--fingerprint",
        short_fingerprint(triage.personal_public_key),
        stdin=key,
    )
    assert again.exit_code == 0, again.output
    assert holds_key(database, _user(database, TRIAGE), current_desk_key(database, coral))
