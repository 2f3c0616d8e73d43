"""First sign-in enrolment, the account page, changing the passphrase, signing out everywhere, and
what an administrator's reset does to a person's keys, through the Flask test client.
"""

import base64
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal import create_app
from portal.blueprints.staff_account import PENDING_TOTP_ENTRY
from portal.db import app_database
from portal.models import (
    AuditEvent,
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    StaffRole,
    StaffSession,
    StaffUser,
)
from portal.services.desks.keys import open_desk_key_grant
from portal.services.staff.accounts import (
    StaffDetailsError,
    create_staff_account,
    reset_staff_account,
    set_staff_active,
    staff_by_email,
    staff_totp_secret,
)
from portal.services.staff.fingerprints import short_fingerprint
from portal.web.instance import web_instance
from tests.conftest import DemoInstance
from tests.staff_sessions_support import demo_credentials

NEW_PASSPHRASE = "violet harbour tractor sonnet"
OTHER_PASSPHRASE = "copper tundra whistle almanac"


@pytest.fixture(scope="module")
def app(writable_demo_instance: DemoInstance) -> Iterator[Flask]:
    app = create_app(writable_demo_instance.settings)
    app.config["WTF_CSRF_ENABLED"] = False
    yield app


def new_account(app: Flask, role: StaffRole = StaffRole.TRIAGE_OFFICER) -> tuple[str, str]:
    email = f"new-{uuid.uuid4().hex[:10]}@example.org"
    with Session(app_database(app).engine) as session:
        created = create_staff_account(
            session, email=email, display_name="Ada Newcomer", role=role, created_by=None
        )
        session.commit()
        return email, created.one_time_passphrase


def sign_in(app: Flask, email: str, passphrase: str, code: str = "") -> FlaskClient:
    client = app.test_client()
    response = client.post(
        "/staff/sign-in", data={"email": email, "passphrase": passphrase, "code": code}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def secret_on_page(page: str) -> bytes:
    match = re.search(r'<code class="totp-secret"[^>]*>([A-Z2-7 ]+)</code>', page)
    assert match is not None
    return crypto.totp_secret_from_base32(match.group(1))


def enrol(client: FlaskClient, passphrase: str = NEW_PASSPHRASE) -> bytes:
    """Go through both enrolment steps; the TOTP secret."""
    assert (
        client.post(
            "/staff/account/enrol/passphrase",
            data={"new_passphrase": passphrase, "confirm_passphrase": passphrase},
        ).status_code
        == 302
    )
    secret = secret_on_page(client.get("/staff/account/enrol").get_data(as_text=True))
    response = client.post(
        "/staff/account/enrol/totp", data={"code": crypto.totp_code(secret, time.time())}
    )
    assert response.status_code == 302
    return secret


def user_by_email(app: Flask, email: str) -> StaffUser:
    with Session(app_database(app).engine, expire_on_commit=False) as session:
        user = staff_by_email(session, email)
        assert user is not None
        return user


def actions_for(app: Flask, user_id: int) -> list[str]:
    with Session(app_database(app).engine) as session:
        return list(
            session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.object_id == str(user_id))
                .order_by(AuditEvent.sequence)
            )
        )


def test_first_sign_in_enrols_a_new_passphrase_and_an_authenticator(app: Flask) -> None:
    email, one_time = new_account(app)
    before = user_by_email(app, email)
    client = sign_in(app, email, one_time)

    step_one = client.get("/staff/account/enrol").get_data(as_text=True)
    weak = client.post(
        "/staff/account/enrol/passphrase",
        data={"new_passphrase": "password1234", "confirm_passphrase": "password1234"},
    )
    with_name = client.post(
        "/staff/account/enrol/passphrase",
        data={
            "new_passphrase": "Ada Newcomer likes tea",
            "confirm_passphrase": "Ada Newcomer likes tea",
        },
    )
    mismatch = client.post(
        "/staff/account/enrol/passphrase",
        data={"new_passphrase": NEW_PASSPHRASE, "confirm_passphrase": OTHER_PASSPHRASE},
    )
    chosen = client.post(
        "/staff/account/enrol/passphrase",
        data={"new_passphrase": NEW_PASSPHRASE, "confirm_passphrase": NEW_PASSPHRASE},
    )
    step_two = client.get("/staff/account/enrol").get_data(as_text=True)
    pending = user_by_email(app, email)
    secret = secret_on_page(step_two)
    wrong = client.post("/staff/account/enrol/totp", data={"code": "000000"})
    confirmed = client.post(
        "/staff/account/enrol/totp", data={"code": crypto.totp_code(secret, time.time())}
    )

    assert "Choose your passphrase" in step_one and "awaiting" not in step_one
    assert "grants you the desk key again" in step_one
    assert weak.status_code == 400 and "too easy to guess" in weak.get_data(as_text=True)
    assert with_name.status_code == 400 and "your name" in with_name.get_data(as_text=True)
    assert mismatch.status_code == 400 and "not the same" in mismatch.get_data(as_text=True)
    assert chosen.status_code == 302
    # The QR code is an SVG drawn on the server, inline as a data: image.
    qr = re.search(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', step_two)
    assert qr is not None
    svg = base64.b64decode(qr.group(1)).decode("utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "<path" in svg
    # Until confirmed, the secret is nowhere in the database.
    assert pending.totp_secret_sealed is None and not pending.must_change_passphrase
    assert wrong.status_code == 400 and "does not match" in wrong.get_data(as_text=True)
    assert confirmed.status_code == 302 and confirmed.headers["Location"].endswith("/staff/")
    with client.session_transaction() as cookie:
        assert PENDING_TOTP_ENTRY not in cookie

    after = user_by_email(app, email)
    at_rest_key = web_instance(app).secrets.at_rest_key
    assert staff_totp_secret(after, at_rest_key) == secret
    assert after.personal_public_key == before.personal_public_key
    key = crypto.unwrap_private_key(after.personal_private_key_wrapped, NEW_PASSPHRASE)
    assert crypto.public_key_bytes(key) == bytes(before.personal_public_key)
    with pytest.raises(crypto.DecryptionError):
        crypto.unwrap_private_key(after.personal_private_key_wrapped, one_time)
    assert crypto.verify_password(after.login_hash, NEW_PASSPHRASE)
    assert client.get("/staff/account").status_code == 200
    assert actions_for(app, after.id)[-3:] == [
        "staff.signed_in",
        "staff.passphrase_changed",
        "staff.totp_enrolled",
    ]


def test_the_enrolment_code_cannot_sign_in_again(app: Flask) -> None:
    email, one_time = new_account(app)
    client = sign_in(app, email, one_time)
    client.post(
        "/staff/account/enrol/passphrase",
        data={"new_passphrase": NEW_PASSPHRASE, "confirm_passphrase": NEW_PASSPHRASE},
    )
    secret = secret_on_page(client.get("/staff/account/enrol").get_data(as_text=True))
    code = crypto.totp_code(secret, time.time())
    client.post("/staff/account/enrol/totp", data={"code": code})

    response = app.test_client().post(
        "/staff/sign-in", data={"email": email, "passphrase": NEW_PASSPHRASE, "code": code}
    )

    assert response.status_code == 400


def test_an_account_with_enrolment_pending_reaches_only_enrolment(app: Flask) -> None:
    email, one_time = new_account(app)
    client = sign_in(app, email, one_time)

    for path in ("/staff/account", "/staff/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].endswith("/staff/account/enrol")
    assert client.post("/staff/account/enrol/totp", data={"code": "123456"}).status_code == 302


def test_the_pending_secret_belongs_to_its_session(app: Flask) -> None:
    email, one_time = new_account(app)
    client = sign_in(app, email, one_time)
    client.post(
        "/staff/account/enrol/passphrase",
        data={"new_passphrase": NEW_PASSPHRASE, "confirm_passphrase": NEW_PASSPHRASE},
    )
    first = secret_on_page(client.get("/staff/account/enrol").get_data(as_text=True))
    again = secret_on_page(client.get("/staff/account/enrol").get_data(as_text=True))
    with client.session_transaction() as cookie:
        sealed = cookie[PENDING_TOTP_ENTRY]

    other = sign_in(app, email, NEW_PASSPHRASE)
    with other.session_transaction() as cookie:
        cookie[PENDING_TOTP_ENTRY] = sealed
    other_secret = secret_on_page(other.get("/staff/account/enrol").get_data(as_text=True))

    assert first == again
    assert base64.b32encode(first).decode() not in sealed
    assert other_secret != first


def test_the_account_page_shows_who_where_and_how_many_sessions(
    app: Flask, writable_demo_instance: DemoInstance
) -> None:
    officer = demo_credentials(writable_demo_instance.credentials_file)["triage_officer"]
    code = crypto.totp_code(crypto.totp_secret_from_base32(officer.totp_secret), time.time())
    client = app.test_client()
    client.post(
        "/staff/sign-in",
        data={"email": officer.email, "passphrase": officer.password, "code": code},
    )

    page = client.get("/staff/account").get_data(as_text=True)

    user = user_by_email(app, officer.email)
    assert user.display_name in page
    assert "Triage officer" in page
    for slug in officer.dialogues:
        assert slug in page
    assert "awaiting a key grant" not in page
    assert re.search(r"Sessions open</dt><dd>\d+</dd>", page)
    # The short fingerprint to read out before a grant, and the full one.
    assert f"<code>{short_fingerprint(user.personal_public_key)}</code>" in page
    assert crypto.fingerprint(user.personal_public_key) in page
    assert "Your account was reset" not in page


def test_changing_the_passphrase_needs_the_current_one_and_ends_other_sessions(
    app: Flask,
) -> None:
    email, one_time = new_account(app)
    client = sign_in(app, email, one_time)
    secret = enrol(client)
    other = sign_in(app, email, NEW_PASSPHRASE, crypto.totp_code(secret, time.time() + 30))

    wrong_current = client.post(
        "/staff/account/passphrase",
        data={
            "current_passphrase": "not my passphrase",
            "new_passphrase": OTHER_PASSPHRASE,
            "confirm_passphrase": OTHER_PASSPHRASE,
        },
    )
    too_short = client.post(
        "/staff/account/passphrase",
        data={
            "current_passphrase": NEW_PASSPHRASE,
            "new_passphrase": "short",
            "confirm_passphrase": "short",
        },
    )
    changed = client.post(
        "/staff/account/passphrase",
        data={
            "current_passphrase": NEW_PASSPHRASE,
            "new_passphrase": OTHER_PASSPHRASE,
            "confirm_passphrase": OTHER_PASSPHRASE,
        },
    )

    assert wrong_current.status_code == 400
    assert "current passphrase is not right" in wrong_current.get_data(as_text=True)
    assert too_short.status_code == 400 and "at least 12" in too_short.get_data(as_text=True)
    assert changed.status_code == 302
    assert "Sessions ended elsewhere: 1" in client.get("/staff/account").get_data(as_text=True)
    assert other.get("/staff/account").status_code == 302
    user = user_by_email(app, email)
    crypto.unwrap_private_key(user.personal_private_key_wrapped, OTHER_PASSPHRASE)
    assert crypto.verify_password(user.login_hash, OTHER_PASSPHRASE)
    assert not crypto.verify_password(user.login_hash, NEW_PASSPHRASE)
    assert actions_for(app, user.id)[-1] == "staff.passphrase_changed"


def test_sign_out_everywhere_ends_every_session(app: Flask) -> None:
    email, one_time = new_account(app)
    client = sign_in(app, email, one_time)
    secret = enrol(client)
    other = sign_in(app, email, NEW_PASSPHRASE, crypto.totp_code(secret, time.time() + 30))

    response = client.post("/staff/account/sign-out-everywhere")

    assert response.status_code == 302
    assert client.get("/staff/account").status_code == 302
    assert other.get("/staff/account").status_code == 302
    user = user_by_email(app, email)
    with Session(app_database(app).engine) as session:
        left = session.scalar(
            select(func.count())
            .select_from(StaffSession)
            .where(StaffSession.staff_user_id == user.id)
        )
    assert left == 0
    assert actions_for(app, user.id)[-1] == "staff.sessions_ended"


def test_a_reset_leaves_desks_awaiting_a_grant_and_asks_for_enrolment_again(
    app: Flask, writable_demo_instance: DemoInstance
) -> None:
    officer = demo_credentials(writable_demo_instance.credentials_file)["triage_officer"]
    secret = crypto.totp_secret_from_base32(officer.totp_secret)
    old_session = sign_in(
        app, officer.email, officer.password, crypto.totp_code(secret, time.time() + 30)
    )
    with Session(app_database(app).engine) as session:
        user = staff_by_email(session, officer.email)
        admin = session.scalars(
            select(StaffUser).where(StaffUser.role == StaffRole.ADMINISTRATOR)
        ).first()
        memberships = session.scalar(
            select(func.count())
            .select_from(DeskMembership)
            .where(DeskMembership.staff_user_id == user.id)
        )
        grants_before = session.scalars(
            select(DeskKeyGrant).where(DeskKeyGrant.recipient_staff_user_id == user.id)
        ).all()
        assert memberships > 0 and grants_before
        old_public = bytes(user.personal_public_key)
        one_time = reset_staff_account(session, user, reset_by=admin)
        session.commit()

        assert bytes(user.personal_public_key) != old_public
        assert user.totp_secret_sealed is None and user.last_totp_step is None
        assert user.must_change_passphrase
        assert (
            session.scalar(
                select(func.count())
                .select_from(DeskKeyGrant)
                .where(DeskKeyGrant.recipient_staff_user_id == user.id)
            )
            == 0
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(DeskMembership)
                .where(DeskMembership.staff_user_id == user.id)
            )
            == memberships
        )
        # The recovery key's grants are untouched: the desk stays recoverable.
        assert session.scalar(
            select(func.count())
            .select_from(DeskKeyGrant)
            .where(DeskKeyGrant.recovery_key_id.is_not(None))
        )
        reset_event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "staff.passphrase_reset")
        ).all()[-1]
        assert reset_event.actor_staff_user_id == admin.id
        assert reset_event.details["approved_by"] == admin.id
        admin_name, user_id = admin.display_name, user.id
        assert reset_event.details["grants_removed"] == len(grants_before)

    assert old_session.get("/staff/account").status_code == 302
    refused = app.test_client().post(
        "/staff/sign-in",
        data={
            "email": officer.email,
            "passphrase": officer.password,
            "code": crypto.totp_code(secret, time.time()),
        },
    )
    assert refused.status_code == 400
    client = sign_in(app, officer.email, one_time)
    explained = client.get("/staff/account/enrol").get_data(as_text=True)
    assert "grants you the desk key again" in explained
    # The first sign-in after the reset says when and by whom, before anything else.
    assert "Your account was reset" in explained and "an operator" not in explained
    enrol(client)
    page = client.get("/staff/account").get_data(as_text=True)
    assert page.count("awaiting a key grant") >= 1
    assert "a member of that desk must grant you its key" in page
    notice = page.split('id="reset-notice"')[1].split("</div>")[0]
    assert "Your account was reset" in notice and admin_name in notice
    assert client.get("/staff/account").get_data(as_text=True).count('id="reset-notice"') == 1

    assert client.post("/staff/account/reset-notice").status_code == 302

    assert 'id="reset-notice"' not in client.get("/staff/account").get_data(as_text=True)
    assert actions_for(app, user_id)[-1] == "staff.reset_acknowledged"


def test_the_new_key_opens_no_old_grant(app: Flask, writable_demo_instance: DemoInstance) -> None:
    co_chair_email, one_time = new_account(app, StaffRole.CO_CHAIR)
    client = sign_in(app, co_chair_email, one_time)
    enrol(client)
    with Session(app_database(app).engine) as session:
        user = staff_by_email(session, co_chair_email)
        desk_key = session.scalars(select(DeskKey).order_by(DeskKey.id)).first()
        any_grant = session.scalars(
            select(DeskKeyGrant).where(DeskKeyGrant.desk_key_id == desk_key.id)
        ).first()
        key = crypto.unwrap_private_key(user.personal_private_key_wrapped, NEW_PASSPHRASE)
        with pytest.raises(crypto.CryptoError):
            open_desk_key_grant(any_grant, key)


def test_deactivating_ends_sessions_and_the_last_administrator_stays(app: Flask) -> None:
    email, one_time = new_account(app, StaffRole.OBSERVER)
    client = sign_in(app, email, one_time)
    with Session(app_database(app).engine) as session:
        user = staff_by_email(session, email)
        user_id = user.id
        set_staff_active(session, user, False, actor=None)
        session.commit()
        admins = session.scalars(
            select(StaffUser).where(
                StaffUser.role == StaffRole.ADMINISTRATOR, StaffUser.active.is_(True)
            )
        ).all()
        for admin in admins[1:]:
            set_staff_active(session, admin, False, actor=None)
        with pytest.raises(StaffDetailsError, match="last active administrator"):
            set_staff_active(session, admins[0], False, actor=None)
        session.rollback()

    assert client.get("/staff/account/enrol").status_code == 302
    assert actions_for(app, user_id)[-1] == "staff.deactivated"


def test_duplicate_and_malformed_accounts_are_refused(app: Flask) -> None:
    email, _one_time = new_account(app)
    with Session(app_database(app).engine) as session:
        for address, message in ((email.upper(), "already exists"), ("nobody", "e-mail")):
            with pytest.raises(StaffDetailsError, match=message):
                create_staff_account(
                    session,
                    email=address,
                    display_name="Someone",
                    role=StaffRole.OBSERVER,
                    created_by=None,
                )
        session.rollback()
        assert (
            session.scalar(
                select(func.count()).select_from(StaffUser).where(StaffUser.email == "nobody")
            )
            == 0
        )
