"""The administration pages through the Flask test client, on a demo instance on both databases.

Accounts (list, creation with a one-time passphrase shown once, reset, deactivation, ending
sessions), desk assignment without any key, the dialogue list and the audit log (newest first,
keyset pages, filters, and each view audited once).
"""

import re
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
from portal.instance import InstanceFolder
from portal.models import (
    AuditEvent,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    StaffRole,
    StaffSession,
    StaffUser,
)
from portal.services.audit.trail import AuditAction
from portal.services.desks.keys import current_desk_key
from portal.services.desks.membership import MemberKeys, grant_member, holds_key
from portal.services.staff.accounts import create_staff_user
from portal.services.staff.fingerprints import short_fingerprint
from portal.services.staff.web_sessions import SignedInStaff
from tests.conftest import DemoInstance, csrf_token_for
from tests.staff_sessions_support import demo_credentials, sign_in_client

ADMIN_PAGES = ("/admin/staff", "/admin/audit", "/admin/dialogues")


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
    return session.scalars(select(Dialogue).where(Dialogue.slug == slug)).one()


def _create(admin: Any, email: str, name: str, role: str) -> str:
    """Create an account through the page; the one-time passphrase it shows."""
    response = _post(admin, "/admin/staff", email=email, display_name=name, role=role)
    assert response.status_code == 200, response.get_data(as_text=True)
    page = response.get_data(as_text=True)
    start = page.index('<code class="one-time-passphrase">') + len(
        '<code class="one-time-passphrase">'
    )
    return page[start : page.index("</code>", start)]


SECOND_ADMIN_PASSPHRASE = "a second administrator approves resets"


def _second_administrator(app: Flask, instance: DemoInstance, database: Session) -> Any:
    """A client signed in as another administrator, to approve a reset the demo one asked for."""
    email = f"second-admin-{secrets.token_hex(4)}@example.org"
    create_staff_user(
        database,
        email=email,
        display_name="Second Administrator",
        role=StaffRole.ADMINISTRATOR,
        passphrase=SECOND_ADMIN_PASSPHRASE,
        at_rest_key=InstanceFolder(instance.settings.instance_dir).load_secrets().at_rest_key,
        must_change_passphrase=False,
    )
    database.commit()
    client = app.test_client()
    sign_in_client(app, client, email, SECOND_ADMIN_PASSPHRASE)
    return client


def _audit_count(session: Session, action: AuditAction) -> int:
    session.expire_all()
    return session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == str(action))
    )


def test_only_administrators_reach_the_administration_pages(
    app: Flask, writable_demo_instance: DemoInstance
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")
    for url in ADMIN_PAGES:
        assert admin.get(url).status_code == 200, url
    for role in ("triage_officer", "co_chair", "observer"):
        client = _client(app, writable_demo_instance, role)
        for url in ADMIN_PAGES:
            assert client.get(url).status_code == 403, (role, url)
        assert _post(client, "/admin/staff", email="a@b.org").status_code == 403
    anonymous = app.test_client()
    assert anonymous.get("/admin/staff").status_code == 302


def test_the_account_list_shows_roles_desks_enrolment_and_sessions(
    app: Flask, writable_demo_instance: DemoInstance
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")

    page = admin.get("/admin/staff").get_data(as_text=True)

    for name in ("Demo Administrator", "Demo Triage Officer", "Demo Co-chair", "Demo Observer"):
        assert name in page
    assert "Triage officer" in page and "Observer" in page
    assert "valdoria" in page and "coral-straits" in page and "marenland" in page
    assert "awaiting key" not in page


def test_a_created_account_gets_its_one_time_passphrase_once(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")

    passphrase = _create(admin, "Rita@Example.org", "Rita Officer", "triage_officer")

    rita = _user(database, "rita@example.org")
    assert rita.must_change_passphrase and rita.totp_secret_sealed is None
    assert crypto.verify_password(rita.login_hash, passphrase)
    crypto.unwrap_private_key(rita.personal_private_key_wrapped, passphrase)
    detail = admin.get(f"/admin/staff/{rita.id}").get_data(as_text=True)
    assert passphrase not in detail
    assert "Not yet" in detail
    listing = admin.get("/admin/staff").get_data(as_text=True)
    assert "Rita Officer" in listing and passphrase not in listing
    created = database.scalars(
        select(AuditEvent).where(
            AuditEvent.action == str(AuditAction.STAFF_CREATED),
            AuditEvent.object_id == str(rita.id),
        )
    ).one()
    assert created.actor_staff_user_id == _user(database, "admin@demo.parley.invalid").id

    duplicate = _post(
        admin, "/admin/staff", email="rita@example.org", display_name="Again", role="co_chair"
    )
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.get_data(as_text=True)
    no_role = _post(admin, "/admin/staff", email="x@example.org", display_name="X", role="king")
    assert no_role.status_code == 400


def test_an_assignment_gives_no_key_until_a_member_grants_it_and_a_reset_takes_it_away(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    instance = writable_demo_instance
    admin = _client(app, instance, "administrator")
    _create(admin, "sam@example.org", "Sam Chair", "co_chair")
    sam = _user(database, "sam@example.org")

    response = _post(admin, f"/admin/staff/{sam.id}/desks", dialogue="valdoria")

    assert response.status_code == 302
    valdoria = _dialogue(database, "valdoria")
    assert database.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == sam.id)
    ).one()
    assert not database.scalars(
        select(DeskKeyGrant).where(DeskKeyGrant.recipient_staff_user_id == sam.id)
    ).all()
    assert "awaiting key" in admin.get(f"/admin/staff/{sam.id}").get_data(as_text=True)
    assert "awaiting key" in admin.get("/admin/staff").get_data(as_text=True)
    # The administrator, on no desk, still cannot open the desk page.
    assert admin.get("/staff/desks/valdoria").status_code == 403

    # A desk member grants the key in their own session.
    triage = _user(database, "triage@demo.parley.invalid")
    password = demo_credentials(instance.credentials_file)["triage_officer"].password
    triage_key = crypto.unwrap_private_key(triage.personal_private_key_wrapped, password)
    signed_in = SignedInStaff(triage, "test", crypto.private_key_bytes(triage_key))
    sam = _user(database, "sam@example.org")
    grant_member(
        database,
        valdoria,
        sam,
        keys=MemberKeys(signed_in),
        typed_fingerprint=short_fingerprint(sam.personal_public_key),
        at_rest_key=InstanceFolder(instance.settings.instance_dir).load_secrets().at_rest_key,
    )
    database.commit()
    assert "awaiting key" not in admin.get(f"/admin/staff/{sam.id}").get_data(as_text=True)

    asked = _post(admin, f"/admin/staff/{sam.id}/reset")
    assert asked.status_code == 302
    assert holds_key(
        database, _user(database, "sam@example.org"), current_desk_key(database, valdoria)
    )
    reset = _post(
        _second_administrator(app, instance, database), f"/admin/staff/{sam.id}/reset/approve"
    )

    assert reset.status_code == 200
    page = reset.get_data(as_text=True)
    assert "new personal key" in page and "grants the key again" in page
    sam = _user(database, "sam@example.org")
    assert sam.must_change_passphrase and sam.totp_secret_sealed is None
    assert not holds_key(database, sam, current_desk_key(database, _dialogue(database, "valdoria")))
    assert "awaiting key" in admin.get(f"/admin/staff/{sam.id}").get_data(as_text=True)

    # Taking Sam off the desk deletes the membership.
    removed = _post(admin, f"/admin/staff/{sam.id}/desks/valdoria/remove")
    assert removed.status_code == 302
    database.expire_all()
    assert not database.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == sam.id)
    ).all()


def test_observers_are_put_on_no_desk(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")
    observer = _user(database, "observer@demo.parley.invalid")

    refused = _post(admin, f"/admin/staff/{observer.id}/desks", dialogue="valdoria")

    assert refused.status_code == 400
    assert "never reads submissions" in refused.get_data(as_text=True)
    assert _post(admin, f"/admin/staff/{observer.id}/desks", dialogue="").status_code == 400


def test_deactivation_and_ending_sessions_sign_the_person_out(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    instance = writable_demo_instance
    admin = _client(app, instance, "administrator")
    cochair_client = _client(app, instance, "co_chair")
    cochair = _user(database, "cochair@demo.parley.invalid")
    assert cochair_client.get("/staff/desks/valdoria").status_code == 200
    ended_before = _audit_count(database, AuditAction.STAFF_SESSIONS_ENDED)

    assert _post(admin, f"/admin/staff/{cochair.id}/end-sessions").status_code == 302

    assert cochair_client.get("/staff/desks/valdoria").status_code == 302
    assert _audit_count(database, AuditAction.STAFF_SESSIONS_ENDED) == ended_before + 1
    database.expire_all()
    assert not database.scalars(
        select(StaffSession).where(StaffSession.staff_user_id == cochair.id)
    ).all()

    cochair_client = _client(app, instance, "co_chair")
    assert _post(admin, f"/admin/staff/{cochair.id}/active", active="no").status_code == 302
    assert not _user(database, "cochair@demo.parley.invalid").active
    assert cochair_client.get("/staff/desks/valdoria").status_code == 302
    assert "Deactivated" in admin.get("/admin/staff").get_data(as_text=True)

    assert _post(admin, f"/admin/staff/{cochair.id}/active", active="yes").status_code == 302
    assert _user(database, "cochair@demo.parley.invalid").active
    cochair_client = _client(app, instance, "co_chair")
    assert cochair_client.get("/staff/desks/valdoria").status_code == 200

    own = _user(database, "admin@demo.parley.invalid")
    assert _post(admin, f"/admin/staff/{own.id}/active", active="no").status_code == 400
    assert _post(admin, f"/admin/staff/{own.id}/reset").status_code == 400
    assert admin.get("/admin/staff/999999").status_code == 404


def test_the_dialogue_list_shows_review_mode_and_desk_sizes(
    app: Flask, writable_demo_instance: DemoInstance
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")

    page = admin.get("/admin/dialogues").get_data(as_text=True)

    for slug in ("valdoria", "coral-straits", "elbaria-local", "northvale", "marenland"):
        assert slug in page
    assert "Online" in page


def test_the_audit_log_is_paged_filtered_and_each_view_is_audited_once(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")
    views_before = _audit_count(database, AuditAction.AUDIT_LOG_VIEWED)
    newest = database.scalar(select(func.max(AuditEvent.sequence)))

    first = admin.get("/admin/audit?limit=5")

    assert first.status_code == 200
    assert _audit_count(database, AuditAction.AUDIT_LOG_VIEWED) == views_before + 1
    page = first.get_data(as_text=True)
    assert f"<td>{newest}</td>" in page
    assert "Older events" in page
    older = page.split("Older events")[0].rsplit('href="', 1)[1].split('"')[0]
    assert "before=" in older and "limit=5" in older
    before = int(older.split("before=")[1].split("&")[0])
    second = admin.get(older.replace("&amp;", "&")).get_data(as_text=True)
    assert f"<td>{before - 1}</td>" in second
    assert f"<td>{newest}</td>" not in second
    assert _audit_count(database, AuditAction.AUDIT_LOG_VIEWED) == views_before + 2

    filtered = admin.get("/admin/audit?action=desk_key.granted&dialogue=valdoria")
    text = filtered.get_data(as_text=True)
    assert "<code>desk_key.granted</code>" in text
    assert "<code>staff.created</code>" not in text
    assert "<code>audit.viewed</code>" not in text
    viewed = database.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == str(AuditAction.AUDIT_LOG_VIEWED))
        .order_by(AuditEvent.sequence.desc())
    ).first()
    assert viewed.details == {
        "filter_action": "desk_key.granted",
        "filter_dialogue_id": _dialogue(database, "valdoria").id,
    }
    assert viewed.actor_staff_user_id == _user(database, "admin@demo.parley.invalid").id


def test_a_reset_needs_a_second_administrator_and_a_self_approval_is_refused(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    instance = writable_demo_instance
    admin = _client(app, instance, "administrator")
    _create(admin, "uma@example.org", "Uma Officer", "triage_officer")
    uma = _user(database, "uma@example.org")
    key_before = bytes(uma.personal_public_key)
    resets_before = _audit_count(database, AuditAction.STAFF_PASSPHRASE_RESET)

    asked = _post(admin, f"/admin/staff/{uma.id}/reset")
    again = _post(admin, f"/admin/staff/{uma.id}/reset")
    self_approved = _post(admin, f"/admin/staff/{uma.id}/reset/approve")

    assert asked.status_code == 302
    assert again.status_code == 400 and "already waiting" in again.get_data(as_text=True)
    assert self_approved.status_code == 400
    assert "another administrator must approve it" in self_approved.get_data(as_text=True)
    assert bytes(_user(database, "uma@example.org").personal_public_key) == key_before
    assert _audit_count(database, AuditAction.STAFF_PASSPHRASE_RESET) == resets_before
    assert "Uma Officer" in admin.get("/admin/staff").get_data(as_text=True).split('id="resets"')[1]
    detail = admin.get(f"/admin/staff/{uma.id}").get_data(as_text=True)
    assert "Approve the reset" not in detail and "Cancel the reset" in detail
    # Cancelled, there is nothing left to approve.
    assert _post(admin, f"/admin/staff/{uma.id}/reset/cancel").status_code == 302
    second = _second_administrator(app, instance, database)
    nothing = _post(second, f"/admin/staff/{uma.id}/reset/approve")
    assert nothing.status_code == 400 and "no reset" in nothing.get_data(as_text=True)

    _post(admin, f"/admin/staff/{uma.id}/reset")
    approved = _post(second, f"/admin/staff/{uma.id}/reset/approve")

    assert approved.status_code == 200
    page = approved.get_data(as_text=True)
    one_time = re.search(r'<code class="one-time-passphrase">([^<]+)</code>', page).group(1)
    assert "the administrator who asked for it does not" in page
    uma = _user(database, "uma@example.org")
    assert bytes(uma.personal_public_key) != key_before
    assert crypto.unwrap_private_key(uma.personal_private_key_wrapped, one_time)
    assert one_time not in admin.get(f"/admin/staff/{uma.id}").get_data(as_text=True)
    event = database.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == str(AuditAction.STAFF_PASSPHRASE_RESET))
        .order_by(AuditEvent.sequence.desc())
    ).first()
    demo_admin = _user(database, "admin@demo.parley.invalid")
    assert event.details["requested_by"] == demo_admin.id
    assert event.details["approved_by"] == event.actor_staff_user_id != demo_admin.id


def test_take_off_the_desk_is_offered_only_where_the_service_would_do_it(
    app: Flask, writable_demo_instance: DemoInstance, database: Session
) -> None:
    admin = _client(app, writable_demo_instance, "administrator")
    holder = _user(database, "triage@demo.parley.invalid")
    _create(admin, "kim@example.org", "Kim Keyless", "triage_officer")
    keyless = _user(database, "kim@example.org")
    assert _post(admin, f"/admin/staff/{keyless.id}/desks", dialogue="valdoria").status_code == 302
    holder_removal = f"/admin/staff/{holder.id}/desks/valdoria/remove"

    # The triage officer holds the desk key, which the administrator cannot open: the page says
    # why instead of offering a button the service would refuse.
    page = admin.get(f"/admin/staff/{holder.id}").get_data(as_text=True)
    assert holder_removal not in page
    assert "only someone who holds it can take them off the desk" in page
    # The member without the key can be taken off, and the page offers it.
    keyless_page = admin.get(f"/admin/staff/{keyless.id}").get_data(as_text=True)
    assert f"/admin/staff/{keyless.id}/desks/valdoria/remove" in keyless_page

    refused = _post(admin, holder_removal)
    assert refused.status_code == 400
    assert "only someone who holds it can take them off the desk" in refused.get_data(as_text=True)
    database.expire_all()
    assert database.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == holder.id)
    ).all()
