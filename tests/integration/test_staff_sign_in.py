"""Staff sign-in through the page: one generic refusal, limits per account and overall without any
address, refused replayed codes, equal Argon2 work for unknown e-mails, the Argon2 cap (503).

Every test makes its own accounts in a plain instance shared by the module, and the tests that
fill buckets use limits small enough to reach and names no other test touches.
"""

import dataclasses
import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal import create_app
from portal.blueprints import staff_account
from portal.blueprints.staff_access import STAFF_TICKET_ENTRY
from portal.db import app_database
from portal.models import AuditEvent, SignInThrottle, StaffRole, StaffSession, StaffUser, utc_now
from portal.services.contexts import STAFF_TOTP_SECRET_PURPOSE
from portal.services.staff import known_devices
from portal.services.staff import sign_in as staff_sign_in
from portal.services.staff.accounts import (
    create_staff_account,
    set_staff_active,
    set_staff_passphrase,
)
from portal.services.staff.sign_in import (
    GLOBAL_BUCKET,
    LeakyBucket,
    StaffSignInLimits,
)
from portal.services.work_gate import BusyError, WorkGate
from portal.web.instance import web_instance
from tests.conftest import PlainInstance
from tests.held_arrivals_support import arrive_together

REFUSAL = "These details do not open a staff account"
THROTTLED = "Too many attempts to sign in"
BUSY = "The portal is busy"
GOOD_PASSPHRASE = "quartz meadow lantern oboe"
ROOMY = LeakyBucket(capacity=1e6, leak_per_second=1e6)


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    passphrase: str
    totp_secret: bytes | None

    def code(self, offset_steps: int = 0) -> str:
        assert self.totp_secret is not None
        return crypto.totp_code(self.totp_secret, time.time() + 30 * offset_steps)


@pytest.fixture(scope="module")
def app(plain_instance: PlainInstance) -> Iterator[Flask]:
    app = create_app(plain_instance.settings)
    app.config["WTF_CSRF_ENABLED"] = False
    yield app


@pytest.fixture(autouse=True)
def default_limits(app: Flask) -> Iterator[None]:
    """Each test starts with the default limits (but for a strangers' work budget that a busy
    test machine cannot spend), a fresh gate, and no buckets."""
    app.extensions[staff_account.LIMITS_EXTENSION] = StaffSignInLimits(work=ROOMY)
    app.extensions[staff_account.GATE_EXTENSION] = WorkGate(reserved_slots=1)
    with Session(app_database(app).engine) as session:
        session.execute(SignInThrottle.__table__.delete())
        session.commit()
    yield
    app.extensions.pop(staff_account.LIMITS_EXTENSION, None)


def make_account(
    app: Flask, *, enrolled: bool = True, role: StaffRole = StaffRole.TRIAGE_OFFICER
) -> Account:
    """A new account; enrolled means own passphrase chosen and TOTP set up."""
    email = f"staff-{uuid.uuid4().hex[:10]}@example.org"
    at_rest_key = web_instance(app).secrets.at_rest_key
    with Session(app_database(app).engine) as session:
        created = create_staff_account(
            session, email=email, display_name="Test Person", role=role, created_by=None
        )
        user = created.user
        passphrase, secret = created.one_time_passphrase, None
        if enrolled:
            key = crypto.unwrap_private_key(user.personal_private_key_wrapped, passphrase)
            set_staff_passphrase(session, user, key, GOOD_PASSPHRASE, changed_by=user)
            passphrase = GOOD_PASSPHRASE
            secret = crypto.new_totp_secret()
            user.totp_secret_sealed = crypto.seal_box(
                at_rest_key, secret, STAFF_TOTP_SECRET_PURPOSE
            )
        session.commit()
        return Account(id=user.id, email=email, passphrase=passphrase, totp_secret=secret)


def post_sign_in(app: Flask, email: str, passphrase: str, code: str = "", client=None):
    client = client or app.test_client()
    response = client.post(
        "/staff/sign-in", data={"email": email, "passphrase": passphrase, "code": code}
    )
    return client, response


def events(app: Flask, action: str) -> list[AuditEvent]:
    with Session(app_database(app).engine) as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.sequence)
            )
        )


def small_limits(**overrides: LeakyBucket) -> StaffSignInLimits:
    values = {
        "passphrase": LeakyBucket(capacity=3, leak_per_second=1e-6),
        "totp": LeakyBucket(capacity=2, leak_per_second=1e-6),
        "overall": LeakyBucket(capacity=1000, leak_per_second=1e-6),
        "work": ROOMY,
    }
    values.update(overrides)
    return StaffSignInLimits(**values)


class Argon2Counter:
    """Counts the Argon2 calls the sign-in makes (login hash checks and key unwraps)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.verify = 0
        self.unwrap = 0
        real_verify, real_unwrap = crypto.verify_password, crypto.unwrap_private_key

        def verify(*args, **kwargs):
            self.verify += 1
            return real_verify(*args, **kwargs)

        def unwrap(*args, **kwargs):
            self.unwrap += 1
            return real_unwrap(*args, **kwargs)

        monkeypatch.setattr(staff_sign_in.crypto, "verify_password", verify)
        monkeypatch.setattr(staff_sign_in.crypto, "unwrap_private_key", unwrap)

    @property
    def total(self) -> int:
        return self.verify + self.unwrap


def test_the_sign_in_page_is_one_form_for_all_three(app: Flask) -> None:
    page = app.test_client().get("/staff/sign-in").get_data(as_text=True)

    for field in ('name="email"', 'name="passphrase"', 'name="code"'):
        assert field in page


def test_an_enrolled_account_signs_in_with_passphrase_and_code(app: Flask) -> None:
    account = make_account(app)

    client, response = post_sign_in(app, account.email, account.passphrase, account.code())

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/")
    with client.session_transaction() as cookie:
        assert STAFF_TICKET_ENTRY in cookie
    assert client.get("/staff/account").status_code == 200
    signed_in = [e for e in events(app, "staff.signed_in") if e.object_id == str(account.id)]
    assert len(signed_in) == 1 and signed_in[0].actor_staff_user_id == account.id


def test_the_e_mail_address_is_read_without_regard_to_case(app: Flask) -> None:
    account = make_account(app)

    _client, response = post_sign_in(
        app, f"  {account.email.upper()} ", account.passphrase, account.code()
    )

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("unknown", "unknown_account"),
        ("wrong passphrase", "wrong_passphrase"),
        ("wrong code", "totp_wrong"),
        ("no code", "totp_missing"),
        ("deactivated", "account_inactive"),
    ],
)
def test_every_wrong_combination_gets_the_same_refusal(app: Flask, case: str, reason: str) -> None:
    account = make_account(app)
    email, passphrase, code = account.email, account.passphrase, account.code()
    if case == "unknown":
        email = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    elif case == "wrong passphrase":
        passphrase = "not the passphrase at all"
    elif case == "wrong code":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    elif case == "no code":
        code = ""
    else:
        with Session(app_database(app).engine) as session:
            user = session.get(StaffUser, account.id)
            set_staff_active(session, user, False, actor=None)
            session.commit()

    client, response = post_sign_in(app, email, passphrase, code)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert REFUSAL in page
    assert passphrase not in page
    with client.session_transaction() as cookie:
        assert STAFF_TICKET_ENTRY not in cookie
    failed = events(app, "staff.sign_in_failed")[-1]
    assert failed.details["reason"] == reason
    stored = repr((failed.object_id, failed.details))
    assert email not in stored and passphrase not in stored
    if case == "unknown":
        assert failed.object_id == "unknown" and "staff_user_id" not in failed.details
    else:
        assert failed.details["staff_user_id"] == account.id


def test_a_code_is_accepted_once(app: Flask) -> None:
    account = make_account(app)
    code = account.code()

    _first, accepted = post_sign_in(app, account.email, account.passphrase, code)
    _second, replayed = post_sign_in(app, account.email, account.passphrase, code)
    _third, next_code = post_sign_in(app, account.email, account.passphrase, account.code(1))

    assert accepted.status_code == 302
    assert replayed.status_code == 400 and REFUSAL in replayed.get_data(as_text=True)
    assert events(app, "staff.sign_in_failed")[-1].details["reason"] == "totp_replayed"
    assert next_code.status_code == 302


def test_an_account_not_yet_enrolled_signs_in_without_a_code_and_goes_to_enrolment(
    app: Flask,
) -> None:
    account = make_account(app, enrolled=False)

    client, response = post_sign_in(app, account.email, account.passphrase)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/staff/account/enrol")
    assert client.get("/staff/").headers["Location"].endswith("/staff/account/enrol")


def test_an_unknown_e_mail_costs_the_same_argon2_work_as_a_wrong_passphrase(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_account(app)
    counter = Argon2Counter(monkeypatch)

    post_sign_in(app, account.email, "wrong wrong wrong wrong", account.code())
    known = (counter.verify, counter.unwrap)
    post_sign_in(app, "nobody-at-all@example.org", "wrong wrong wrong wrong", "123456")
    unknown = (counter.verify - known[0], counter.unwrap - known[1])
    post_sign_in(app, account.email, account.passphrase, "000000")
    wrong_code = (counter.verify - known[0] - unknown[0], counter.unwrap - known[1] - unknown[1])

    assert known == unknown == wrong_code == (1, 0)


def test_the_stand_in_hash_has_todays_parameters(app: Flask) -> None:
    account = make_account(app)
    with Session(app_database(app).engine) as session:
        real = session.get(StaffUser, account.id).login_hash

    stand_in = staff_sign_in._stand_in_login_hash()

    assert stand_in.rsplit("$", 2)[0] == real.rsplit("$", 2)[0]


def test_wrong_passphrases_lock_the_account_without_running_argon2(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.extensions[staff_account.LIMITS_EXTENSION] = small_limits()
    account = make_account(app)
    other = make_account(app)
    for _attempt in range(3):
        _client, response = post_sign_in(app, account.email, "wrong wrong wrong", account.code())
        assert response.status_code == 400
    counter = Argon2Counter(monkeypatch)

    _client, locked = post_sign_in(app, account.email, account.passphrase, account.code())
    _client, unaffected = post_sign_in(app, other.email, other.passphrase, other.code())

    assert locked.status_code == 429
    assert THROTTLED in locked.get_data(as_text=True)
    assert counter.verify == 1  # the other account's sign-in only
    assert unaffected.status_code == 302


def test_an_unknown_address_locks_exactly_like_a_known_one(app: Flask) -> None:
    app.extensions[staff_account.LIMITS_EXTENSION] = small_limits()
    known = make_account(app)
    unknown = f"nobody-{uuid.uuid4().hex[:8]}@example.org"
    answers: dict[str, list[int]] = {known.email: [], unknown: []}

    for email in answers:
        for _attempt in range(4):
            _client, response = post_sign_in(app, email, "wrong wrong wrong", "123456")
            answers[email].append(response.status_code)

    assert answers[known.email] == answers[unknown] == [400, 400, 400, 429]


def test_wrong_codes_lock_the_account_even_for_the_right_code(app: Flask) -> None:
    app.extensions[staff_account.LIMITS_EXTENSION] = small_limits()
    account = make_account(app)
    for _attempt in range(2):
        _client, response = post_sign_in(app, account.email, account.passphrase, "000000")
        assert response.status_code == 400

    _client, locked = post_sign_in(app, account.email, account.passphrase, account.code())

    assert locked.status_code == 429
    with Session(app_database(app).engine) as session:
        names = set(session.scalars(select(SignInThrottle.name)))
    assert f"staff-totp:{account.id}" in names
    assert all(len(name) <= 32 for name in names)
    assert not any(account.email in name for name in names)


def test_failures_spread_over_many_addresses_fill_the_overall_limit(app: Flask) -> None:
    app.extensions[staff_account.LIMITS_EXTENSION] = small_limits(
        overall=LeakyBucket(capacity=4, leak_per_second=1e-6)
    )
    account = make_account(app)
    for index in range(4):
        post_sign_in(app, f"guess-{index}-{uuid.uuid4().hex[:6]}@example.org", "wrong", "1")

    _client, response = post_sign_in(app, account.email, account.passphrase, account.code())

    assert response.status_code == 429


def test_the_overall_bucket_drains(app: Flask) -> None:
    limits = small_limits(overall=LeakyBucket(capacity=2, leak_per_second=1000))
    app.extensions[staff_account.LIMITS_EXTENSION] = limits
    account = make_account(app)
    for index in range(3):
        post_sign_in(app, f"guess-{index}-{uuid.uuid4().hex[:6]}@example.org", "wrong", "1")
    time.sleep(0.01)

    _client, response = post_sign_in(app, account.email, account.passphrase, account.code())

    assert response.status_code == 302


def test_drained_per_address_buckets_are_deleted(app: Flask) -> None:
    app.extensions[staff_account.LIMITS_EXTENSION] = small_limits(
        passphrase=LeakyBucket(capacity=3, leak_per_second=1000)
    )
    first = f"first-{uuid.uuid4().hex[:6]}@example.org"
    post_sign_in(app, first, "wrong", "1")
    pepper = web_instance(app).secrets.codename_pepper
    first_bucket = staff_sign_in.passphrase_bucket_name(pepper, first)
    time.sleep(0.05)

    post_sign_in(app, f"second-{uuid.uuid4().hex[:6]}@example.org", "wrong", "1")

    with Session(app_database(app).engine) as session:
        names = set(session.scalars(select(SignInThrottle.name)))
    assert first_bucket not in names
    assert GLOBAL_BUCKET in names


def test_a_full_argon2_gate_answers_busy_without_trying(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = make_account(app)
    gate = WorkGate(slots=1, wait_seconds=0)
    app.extensions[staff_account.GATE_EXTENSION] = gate
    counter = Argon2Counter(monkeypatch)

    with gate.slot():
        client, response = post_sign_in(app, account.email, account.passphrase, account.code())
    _client, after = post_sign_in(app, account.email, account.passphrase, account.code())

    assert response.status_code == 503
    assert BUSY in response.get_data(as_text=True)
    assert counter.verify == 1  # only the sign-in after the slot was freed
    with client.session_transaction() as cookie:
        assert STAFF_TICKET_ENTRY not in cookie
    assert after.status_code == 302


def test_the_gate_lets_only_its_slots_through_at_once() -> None:
    gate = WorkGate(slots=2, wait_seconds=0)
    inside, release, outcomes = threading.Barrier(3), threading.Event(), []

    def hold() -> None:
        with gate.slot():
            inside.wait()
            release.wait()

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for thread in holders:
        thread.start()
    inside.wait()
    try:
        with gate.slot():
            outcomes.append("entered")
    except BusyError:
        outcomes.append("busy")
    release.set()
    for thread in holders:
        thread.join()
    with gate.slot():
        outcomes.append("entered")

    assert outcomes == ["busy", "entered"]


def test_the_gate_size_comes_from_the_settings(plain_instance: PlainInstance) -> None:
    settings = dataclasses.replace(plain_instance.settings, argon2_slots=5, argon2_wait_seconds=2)

    gate = create_app(settings).extensions[staff_account.GATE_EXTENSION]

    assert (gate.slots, gate.wait_seconds) == (5, 2)


def test_sign_out_ends_the_session_and_is_audited(app: Flask) -> None:
    account = make_account(app)
    client, _response = post_sign_in(app, account.email, account.passphrase, account.code())

    response = client.post("/staff/sign-out")

    assert response.status_code == 302
    assert "signed_out=1" in response.headers["Location"]
    assert client.get("/staff/account").status_code == 302
    with Session(app_database(app).engine) as session:
        rows = session.scalars(
            select(StaffSession).where(StaffSession.staff_user_id == account.id)
        ).all()
    assert rows == []
    assert events(app, "staff.signed_out")[-1].object_id == str(account.id)


def test_sign_out_without_a_session_just_goes_to_the_sign_in_page(app: Flask) -> None:
    response = app.test_client().post("/staff/sign-out")

    assert response.status_code == 302


def test_the_sign_in_form_needs_its_csrf_token(plain_instance: PlainInstance) -> None:
    strict = create_app(plain_instance.settings)

    response = strict.test_client().post(
        "/staff/sign-in", data={"email": "a@example.org", "passphrase": "x", "code": ""}
    )

    assert response.status_code == 400


def test_concurrent_failures_create_and_count_one_bucket(app: Flask) -> None:
    """Threads, each in its own transaction, fail for the same new address at once: the bucket
    row is created once and counts every failure."""
    email = f"race-{uuid.uuid4().hex[:8]}@example.org"
    secrets = web_instance(app).secrets
    gate = WorkGate(slots=8, wait_seconds=30)
    threads, start, outcomes = 4, threading.Barrier(4), []

    def attempt() -> None:
        with Session(app_database(app).engine) as session:
            start.wait()
            try:
                staff_sign_in.sign_in_staff(
                    session,
                    email=email,
                    passphrase="wrong",
                    code="",
                    now=utc_now(),
                    pepper=secrets.codename_pepper,
                    at_rest_key=secrets.at_rest_key,
                    gate=gate,
                    limits=StaffSignInLimits(work=ROOMY),
                )
            except staff_sign_in.StaffSignInRefusedError:
                session.commit()
                outcomes.append("refused")

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    name = staff_sign_in.passphrase_bucket_name(secrets.codename_pepper, email)
    with Session(app_database(app).engine) as session:
        bucket = session.get(SignInThrottle, name)
    assert outcomes == ["refused"] * threads
    assert bucket is not None and bucket.level == pytest.approx(threads, abs=0.01)


def test_strangers_arriving_together_start_no_more_argon2_than_the_work_budget_holds(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four strangers at once, a gate wide enough for all, a work budget with room for two: each
    reserves its second before its Argon2 starts, so two run and two are answered busy, however
    the threads interleave (the Argon2 runs are held until every arrival has its answer)."""
    secrets = web_instance(app).secrets
    gate = WorkGate(slots=8, wait_seconds=30)
    limits = small_limits(work=LeakyBucket(capacity=2, leak_per_second=1e-6))

    def attempt(ask_together: Callable[[], object]) -> str:
        with Session(app_database(app).engine) as session:
            ask_together()
            try:
                staff_sign_in.sign_in_staff(
                    session,
                    email=f"arrival-{uuid.uuid4().hex}@example.org",
                    passphrase="wrong",
                    code="",
                    now=utc_now(),
                    pepper=secrets.codename_pepper,
                    at_rest_key=secrets.at_rest_key,
                    gate=gate,
                    limits=limits,
                )
            except staff_sign_in.StaffSignInRefusedError:
                session.commit()
                return "refused"
            except BusyError:
                return "busy"
        return "signed in"

    arrivals = arrive_together(monkeypatch, staff_sign_in.crypto, "verify_password", attempt)

    assert arrivals.settled
    assert arrivals.started == 2
    assert sorted(arrivals.outcomes) == ["busy", "busy", "refused", "refused"]


# -- Known devices ------------------------------------------------------------------------------


def signed_in_before(app: Flask, account: Account) -> FlaskClient:
    """A browser that signed in once (with the previous step's code) and then signed out: it
    keeps the known-device cookie and nothing else of the session."""
    client, response = post_sign_in(app, account.email, account.passphrase, account.code(-1))
    assert response.status_code == 302
    client.post("/staff/sign-out")
    return client


def test_a_sign_in_hands_out_a_known_device_cookie_that_names_nobody(app: Flask) -> None:
    account = make_account(app)

    _client, response = post_sign_in(app, account.email, account.passphrase, account.code())

    cookie = next(
        header
        for header in response.headers.getlist("Set-Cookie")
        if header.startswith(f"{staff_account.DEVICE_COOKIE}=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "max-age", "samesite"} <= attributes
    assert "SameSite=Strict" in cookie and "Path=/staff" in cookie
    assert account.email not in cookie and account.email.split("@")[0] not in cookie


def test_a_known_device_signs_in_while_strangers_have_filled_every_shared_limit(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.extensions[staff_account.LIMITS_EXTENSION] = small_limits(
        overall=LeakyBucket(capacity=2, leak_per_second=1e-6),
        work=LeakyBucket(capacity=1, leak_per_second=1e-6),
    )
    account = make_account(app)
    device = signed_in_before(app, account)
    # Strangers: wrong passphrases for this very address, and unknown addresses.
    for email in (account.email, f"nobody-{uuid.uuid4().hex[:8]}@example.org"):
        post_sign_in(app, email, "wrong wrong wrong", "123456")
    _client, stranger = post_sign_in(app, account.email, account.passphrase, account.code())
    gate = app.extensions[staff_account.GATE_EXTENSION]

    with gate.slot(), gate.slot():  # every shared Argon2 slot is taken by the flood
        _client, known = post_sign_in(
            app, account.email, account.passphrase, account.code(), client=device
        )

    assert stranger.status_code in (429, 503) and "Retry-After" in stranger.headers
    assert known.status_code == 302 and known.headers["Location"].endswith("/staff/")


def test_a_known_device_counts_in_its_own_bucket_and_only_for_its_address(app: Flask) -> None:
    app.extensions[staff_account.LIMITS_EXTENSION] = small_limits()
    account, other = make_account(app), make_account(app)
    device = signed_in_before(app, account)
    pepper = web_instance(app).secrets.codename_pepper

    for _attempt in range(3):
        _client, wrong = post_sign_in(app, account.email, "wrong wrong wrong", "1", client=device)
        assert wrong.status_code == 400
    _client, locked = post_sign_in(
        app, account.email, account.passphrase, account.code(), client=device
    )
    # The token names the address it was issued for: for another one it is a stranger's try.
    _client, elsewhere = post_sign_in(app, other.email, "wrong wrong wrong", "1", client=device)

    assert locked.status_code == 429
    assert elsewhere.status_code == 400
    with Session(app_database(app).engine) as session:
        levels = {row.name: row.level for row in session.scalars(select(SignInThrottle))}
    assert levels[staff_sign_in.device_bucket_name(pepper, account.email)] == pytest.approx(
        3, abs=0.01
    )
    assert staff_sign_in.passphrase_bucket_name(pepper, account.email) not in levels
    assert levels[staff_sign_in.GLOBAL_BUCKET] == pytest.approx(
        1, abs=0.01
    )  # the stranger's try only
    _client, stranger = post_sign_in(app, account.email, account.passphrase, account.code())
    assert stranger.status_code == 302  # strangers typing this address were never locked


def test_a_forged_or_expired_device_token_is_a_strangers(app: Flask) -> None:
    secrets = web_instance(app).secrets
    address = known_devices.address_hash(secrets.codename_pepper, "someone@example.org")
    today = dt.date(2026, 3, 1)
    token = known_devices.issue_device_token(secrets.at_rest_key, address, today)
    last_day = today + dt.timedelta(days=known_devices.KNOWN_DEVICE_DAYS)

    def names(candidate: str, day: dt.date, named: str = address) -> bool:
        return known_devices.device_token_names(secrets.at_rest_key, candidate, named, day)

    assert names(token, last_day)
    assert not names(token, last_day + dt.timedelta(days=1))
    assert not names(token, today, named=address[::-1])
    assert not names(token[:-4] + "AAAA", today)
    assert not names("not base64 at all!", today)


def test_the_reserved_slot_is_only_for_reserved_work() -> None:
    gate = WorkGate(slots=1, wait_seconds=0, reserved_slots=1)

    with gate.slot():
        with gate.slot(reserved=True), pytest.raises(BusyError), gate.slot(reserved=True):
            pass
        with pytest.raises(BusyError), gate.slot():
            pass
