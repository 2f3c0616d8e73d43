"""The desk pages through the Flask test client, on a demo instance on both databases.

Who may see a desk (members only: 404 for an unknown dialogue, 403 for a known one), what the
page shows (members, who awaits the key, the fingerprint, the desk's own audit events, emergency
accesses), and the three actions: grant (only with the recipient's fingerprint confirmed; a key
swapped into the database is refused), remove (holders only by holders, never the last holder
on the web) and rotate.
"""

import datetime as dt
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal import create_app
from portal.db import app_database
from portal.models import (
    AuditEvent,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    DialogueSession,
    EmergencyAccess,
    StaffRole,
    StaffUser,
    SubmissionKind,
    utc_now,
)
from portal.services.audit.trail import AuditAction
from portal.services.desks.keys import current_desk_key, open_desk_key_grant
from portal.services.desks.membership import assign_member, holds_key
from portal.services.dialogues.dialogue_sessions import consultation_accepts_submissions
from portal.services.staff.accounts import create_staff_account
from portal.services.staff.fingerprints import short_fingerprint
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.submitters import register_submitter
from tests.conftest import DemoInstance, csrf_token_for
from tests.intake_support import TEST_SUBMISSION_IDS
from tests.staff_sessions_support import demo_credentials, sign_in_client


@pytest.fixture(scope="module")
def app(writable_demo_instance: DemoInstance) -> Flask:
    return create_app(writable_demo_instance.settings)


@pytest.fixture
def database(app: Flask) -> Iterator[Session]:
    # No application context is kept open: the test client's requests must each get their own.
    with app_database(app).session() as session:
        yield session


def _client(app: Flask, instance: DemoInstance, role: str) -> Any:
    client = app.test_client()
    account = demo_credentials(instance.credentials_file)[role]
    sign_in_client(app, client, account.email, account.password)
    return client


def _post(client: Any, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_token_for(client), **data})


def _user(session: Session, email: str) -> StaffUser:
    session.expire_all()
    return session.scalars(select(StaffUser).where(StaffUser.email == email)).one()


def _dialogue(session: Session, slug: str) -> Dialogue:
    session.expire_all()
    return session.scalars(select(Dialogue).where(Dialogue.slug == slug)).one()


def _count(session: Session, table: Any) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(table))


def _grant(client: Any, slug: str, member: StaffUser) -> Any:
    """Step two of a grant: the digits the member read out, as the page showed their key."""
    return _post(
        client,
        f"/staff/desks/{slug}/grant",
        staff_user_id=str(member.id),
        fingerprint=short_fingerprint(member.personal_public_key),
        shown_fingerprint=crypto.fingerprint(member.personal_public_key),
    )


def _new_account(
    session: Session, name: str, role=StaffRole.TRIAGE_OFFICER
) -> tuple[StaffUser, str]:
    created = create_staff_account(
        session,
        email=f"{name}@example.org",
        display_name=name.title(),
        role=role,
        created_by=None,
    )
    session.commit()
    return created.user, created.one_time_passphrase


def test_only_members_see_a_desk(app: Flask, writable_demo_instance: DemoInstance) -> None:
    triage = _client(app, writable_demo_instance, "triage_officer")
    cochair = _client(app, writable_demo_instance, "co_chair")
    admin = _client(app, writable_demo_instance, "administrator")
    observer = _client(app, writable_demo_instance, "observer")

    assert triage.get("/staff/desks/valdoria").status_code == 200
    assert cochair.get("/staff/desks/valdoria").status_code == 200
    assert triage.get("/staff/desks/northvale").status_code == 403
    assert triage.get("/staff/desks/no-such-dialogue").status_code == 404
    for outsider in (admin, observer):
        assert outsider.get("/staff/desks/valdoria").status_code == 403
        assert outsider.get("/staff/desks/no-such-dialogue").status_code == 404
        assert _post(outsider, "/staff/desks/valdoria/rotate").status_code == 403
        assert _post(outsider, "/staff/desks/valdoria/grant", email="x@y.org").status_code == 403
    anonymous = app.test_client()
    response = anonymous.get("/staff/desks/valdoria")
    assert response.status_code == 302 and "/staff/sign-in" in response.headers["Location"]


def test_the_desk_page_shows_members_key_and_its_own_events(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    triage = _client(app, writable_demo_instance, "triage_officer")
    valdoria = _dialogue(database, "valdoria")
    fingerprint = crypto.fingerprint(current_desk_key(database, valdoria).public_key)

    page = triage.get("/staff/desks/valdoria").get_data(as_text=True)

    assert fingerprint in page
    assert "Demo Triage Officer" in page and "Demo Co-chair" in page
    assert "Demo Observer" not in page.split('id="add"')[0]
    assert "desk_key.granted" in page
    # Only this desk's events: northvale's creation is not listed.
    northvale = _dialogue(database, "northvale")
    northvale_event = database.scalars(
        select(AuditEvent).where(AuditEvent.dialogue_id == northvale.id)
    ).first()
    assert f"<td>{northvale_event.sequence}</td>" not in page


def test_a_member_grants_the_desk_to_a_new_account_who_then_opens_the_key(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    triage = _client(app, writable_demo_instance, "triage_officer")
    newcomer, passphrase = _new_account(database, "nadia")
    assert "Nadia" in triage.get("/staff/desks/valdoria").get_data(as_text=True)

    step_one = _post(triage, "/staff/desks/valdoria/grant", staff_user_id=str(newcomer.id))
    confirm_page = step_one.get_data(as_text=True)
    assert step_one.status_code == 200
    assert crypto.fingerprint(newcomer.personal_public_key) in confirm_page
    assert short_fingerprint(newcomer.personal_public_key) not in confirm_page
    assert not database.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == newcomer.id)
    ).all()

    response = _grant(triage, "valdoria", newcomer)

    assert response.status_code == 302
    valdoria = _dialogue(database, "valdoria")
    newcomer = _user(database, "nadia@example.org")
    current = current_desk_key(database, valdoria)
    assert holds_key(database, newcomer, current)
    grant = database.scalars(
        select(DeskKeyGrant).where(
            DeskKeyGrant.desk_key_id == current.id,
            DeskKeyGrant.recipient_staff_user_id == newcomer.id,
        )
    ).one()
    personal_key = crypto.unwrap_private_key(newcomer.personal_private_key_wrapped, passphrase)
    opened = open_desk_key_grant(grant, personal_key)
    assert crypto.public_key_bytes(opened) == current.public_key
    page = triage.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nadia&#39;s key is confirmed and they now hold 1 desk keys of this dialogue." in page
    added = database.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == str(AuditAction.DESK_MEMBER_ADDED))
        .order_by(AuditEvent.sequence.desc())
    ).first()
    assert added.details["staff_user_id"] == newcomer.id
    assert added.actor_staff_user_id == _user(database, "triage@demo.parley.invalid").id


def test_grant_by_e_mail_refusals_and_granting_the_key_to_an_awaiting_member(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    cochair = _client(app, writable_demo_instance, "co_chair")
    _new_account(database, "olga", StaffRole.OBSERVER)
    _new_account(database, "paul", StaffRole.CO_CHAIR)
    northvale = _dialogue(database, "northvale")
    assign_member(database, northvale, _user(database, "paul@example.org"), actor=None)
    database.commit()
    page = cochair.get("/staff/desks/northvale").get_data(as_text=True)
    assert "Awaiting key" in page and "Grant the key" in page

    refused = _post(cochair, "/staff/desks/northvale/grant", email="olga@example.org")
    assert refused.status_code == 400
    assert "never reads submissions" in refused.get_data(as_text=True)
    unknown = _post(cochair, "/staff/desks/northvale/grant", email="nobody@example.org")
    assert unknown.status_code == 400
    step_one = _post(cochair, "/staff/desks/northvale/grant", email="PAUL@example.org")
    assert step_one.status_code == 200 and 'name="fingerprint"' in step_one.get_data(as_text=True)

    response = _grant(cochair, "northvale", _user(database, "paul@example.org"))

    assert response.status_code == 302
    assert holds_key(
        database,
        _user(database, "paul@example.org"),
        current_desk_key(database, _dialogue(database, "northvale")),
    )
    assert "Awaiting key" not in cochair.get("/staff/desks/northvale").get_data(as_text=True)


def test_rotation_makes_a_new_current_key_held_by_the_members(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    triage = _client(app, writable_demo_instance, "triage_officer")
    coral = _dialogue(database, "coral-straits")
    old_key = current_desk_key(database, coral)

    response = _post(triage, "/staff/desks/coral-straits/rotate")

    assert response.status_code == 302
    coral = _dialogue(database, "coral-straits")
    new_key = current_desk_key(database, coral)
    assert new_key.id != old_key.id
    triage_user = _user(database, "triage@demo.parley.invalid")
    assert holds_key(database, triage_user, new_key) and holds_key(database, triage_user, old_key)
    page = triage.get("/staff/desks/coral-straits").get_data(as_text=True)
    assert crypto.fingerprint(new_key.public_key) in page
    assert "desk_key.rotated" in page


def test_the_last_key_holder_is_never_removed_on_the_web(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    triage = _client(app, writable_demo_instance, "triage_officer")
    triage_user = _user(database, "triage@demo.parley.invalid")
    url = f"/staff/desks/elbaria-local/members/{triage_user.id}/remove"
    grants_before = _count(database, DeskKeyGrant)
    # The page offers no removal the service would refuse.
    assert url not in triage.get("/staff/desks/elbaria-local").get_data(as_text=True)

    for data in ({}, {"confirm_last": "yes"}):
        refused = _post(triage, url, **data)
        assert refused.status_code == 409
        assert "only an operator with the recovery key" in refused.get_data(as_text=True)

    assert _count(database, DeskKeyGrant) == grants_before
    elbaria = _dialogue(database, "elbaria-local")
    assert holds_key(database, triage_user, current_desk_key(database, elbaria))
    assert triage.get("/staff/desks/elbaria-local").status_code == 200


def test_a_member_without_the_key_cannot_remove_one_who_holds_it(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    """An administrator puts themselves on a desk (a membership, no key) and tries to strip it
    of its reader, on the desk page and on the administration page: both refused."""
    valdoria = _dialogue(database, "valdoria")
    admin_user = _user(database, "admin@demo.parley.invalid")
    assign_member(database, valdoria, admin_user, actor=admin_user)
    database.commit()
    admin = _client(app, writable_demo_instance, "administrator")
    cochair_user = _user(database, "cochair@demo.parley.invalid")
    grants_before = _count(database, DeskKeyGrant)
    removal = f"/staff/desks/valdoria/members/{cochair_user.id}/remove"
    assert removal not in admin.get("/staff/desks/valdoria").get_data(as_text=True)

    on_desk = _post(admin, removal)
    on_admin = _post(admin, f"/admin/staff/{cochair_user.id}/desks/valdoria/remove")

    for refused in (on_desk, on_admin):
        assert refused.status_code == 400
        assert "only someone who holds it can take them off" in refused.get_data(as_text=True)
    assert _count(database, DeskKeyGrant) == grants_before
    assert holds_key(
        database, _user(database, cochair_user.email), current_desk_key(database, valdoria)
    )
    # A holder takes the key-less administrator off again.
    triage = _client(app, writable_demo_instance, "triage_officer")
    admin_removal = f"/staff/desks/valdoria/members/{admin_user.id}/remove"
    assert admin_removal in triage.get("/staff/desks/valdoria").get_data(as_text=True)
    assert _post(triage, admin_removal).status_code == 302


def test_a_key_swapped_in_the_database_before_the_grant_is_refused(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    """The colleague reads the digits of their own key; between the page and the post, someone
    who can write the database puts another key on the account. Nothing is granted."""
    triage = _client(app, writable_demo_instance, "triage_officer")
    victim, _passphrase = _new_account(database, "quentin")
    shown = triage.get("/staff/desks/valdoria")
    assert shown.status_code == 200
    read_out = short_fingerprint(victim.personal_public_key)
    intruder = crypto.public_key_bytes(crypto.generate_private_key())
    victim.personal_public_key = intruder
    database.commit()
    before = tuple(_count(database, table) for table in (DeskKeyGrant, DeskMembership, AuditEvent))

    refused = _post(
        triage,
        "/staff/desks/valdoria/grant",
        staff_user_id=str(victim.id),
        fingerprint=read_out,
    )
    stale = _post(
        triage,
        "/staff/desks/valdoria/grant",
        staff_user_id=str(victim.id),
        fingerprint=short_fingerprint(intruder),
        shown_fingerprint=crypto.fingerprint(
            crypto.public_key_bytes(crypto.generate_private_key())
        ),
    )

    assert refused.status_code == 400
    assert "not the fingerprint of Quentin" in refused.get_data(as_text=True)
    assert stale.status_code == 400
    assert "key changed since the page was shown; confirm it again" in stale.get_data(as_text=True)
    after = tuple(_count(database, table) for table in (DeskKeyGrant, DeskMembership, AuditEvent))
    assert after == before


def test_emergency_accesses_on_the_desks_submissions_are_shown_to_the_desk(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    cochair = _client(app, writable_demo_instance, "co_chair")
    valdoria = _dialogue(database, "valdoria")
    now = utc_now()
    open_session = next(
        item
        for item in database.scalars(
            select(DialogueSession).where(DialogueSession.dialogue_id == valdoria.id)
        )
        if consultation_accepts_submissions(item, now)
    )
    codename_key = crypto.CodenameSecrets(
        login_secret=secrets.token_bytes(32), key_seed=secrets.token_bytes(32)
    )
    register_submitter(
        database,
        secrets.token_bytes(32),
        login_secret=codename_key.login_secret,
        public_key=codename_key.public_key_bytes(),
        today=now.date(),
    )
    submission = accept_plain_submission(
        database,
        address=submission_address(
            database,
            dialogue=valdoria,
            dialogue_session=open_session,
            kind=SubmissionKind.AGENDA_INPUT,
            public_id=TEST_SUBMISSION_IDS.issue(now),
            ids=TEST_SUBMISSION_IDS,
            now=now,
        ),
        submitter_key=codename_key,
        form={"topics": ["death_penalty"], "situation": "A point for the agenda."},
        today=now.date(),
    )
    database.add(
        EmergencyAccess(
            submission_id=submission.id,
            staff_user=_user(database, "triage@demo.parley.invalid"),
            justification="Named member unreachable; hearing tomorrow morning.",
            granted_at=now,
            expires_at=now + dt.timedelta(hours=24),
        )
    )
    database.commit()

    page = cochair.get("/staff/desks/valdoria").get_data(as_text=True)

    assert "Named member unreachable; hearing tomorrow morning." in page
    assert submission.public_id in page
