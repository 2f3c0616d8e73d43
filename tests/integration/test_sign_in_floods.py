"""Floods do not lock out legitimate people: a real ``portal serve`` on each database, flooded.

Two floods, each of 200 sign-ins sent by 20 concurrent clients, against the server as it ships
(``portal serve`` with its default workers) and with the product's own limits and Argon2 and
PBKDF2 costs (the suite does not cheapen either):

- **Codenames.** Half of the flood posts well-formed wrong codenames to the no-JavaScript form
  (each one the server would derive), half posts random login secrets as the JavaScript path does
  and never solves a challenge. Ten people sign in while it runs, started one after another as it
  goes on: every other one with the form, the others as the browser does (their login secret
  derived beforehand, as the browser derives it before posting; a challenge solved as the
  browser module solves it).
- **Staff.** The flood posts unknown e-mail addresses. Ten staff members, each of whom signed in
  on their device before the flood (so the browser holds their known-device cookie), sign in
  while it runs, with their passphrase and a fresh authenticator code.

Each person has the sign-in page open before the flood starts, as someone who loaded it and then
typed. At least nine of the ten must each be in within 10 seconds of their first attempt. A person
whose attempt is answered "busy" (503) or "too many attempts" (429) does what the page asks:
waits the ``Retry-After`` seconds, or solves the challenge, and tries again -- that waiting is
what the answer tells a client to do, not a pause of the test's own.
"""

import base64
import datetime as dt
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session

import crypto
from crypto.totp import TIME_STEP
from portal import create_app
from portal.db import app_database
from portal.models import StaffRole
from portal.services.contexts import STAFF_TOTP_SECRET_PURPOSE
from portal.services.staff.accounts import create_staff_account, set_staff_passphrase
from portal.services.submissions.submitters import register_new_codename
from portal.web.instance import web_instance
from tests.conftest import PlainInstance
from tests.integration.test_serve import free_port
from tests.proof_of_work_support import solve

FLOOD = 200
FLOODERS = 20
PEOPLE = 10
NEEDED = 9
WITHIN_SECONDS = 10.0
PASSPHRASE = "harbour violet ember quill"
LOGIN_SECRET_PATH = "/inbox/sign-in/login-secret"
DEVICE_COOKIE = "parley_staff_device"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Client:
    """One browser: its cookies, and requests to the server on ``port``."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    token: str = ""

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict | None = None,
        json_body: dict | None = None,
        headers: dict | None = None,
    ) -> tuple[int, dict[str, str], str]:
        sent = dict(headers or {})
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            body = json.dumps(json_body)
            sent["Content-Type"] = "application/json"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return response.status, {k.lower(): v for k, v in response.getheaders()}, text
        finally:
            connection.close()

    def csrf_token(self, path: str) -> str:
        status, _, page = self.request("GET", path)
        match = CSRF_FIELD.search(page)
        assert status == 200 and match is not None, (path, status)
        return match.group(1)


@dataclass(frozen=True)
class Person:
    """Someone who signs in during the flood: ``attempt`` sends the open sign-in page once and
    returns the answer's status, headers and body; ``signed_in`` says whether it let them in;
    ``retry`` does what a refusal asks before the next attempt."""

    attempt: Callable[[], tuple[int, dict[str, str], str]]
    signed_in: Callable[[int, dict[str, str], str], bool]
    retry: Callable[[int, dict[str, str], str], None]


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    """Until ``/healthz`` answers; a busy test machine may take a while to start the workers."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "portal serve exited early"
        try:
            if Client(port).request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            threading.Event().wait(0.2)
    raise AssertionError("portal serve did not come up")


@pytest.fixture(scope="module")
def server(
    plain_instance: PlainInstance, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    """``portal serve`` on the plain instance, with its default workers; yields the port."""
    port = free_port()
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    portal = {k: v for k, v in plain_instance.environment.items() if v is not None}
    log_path = tmp_path_factory.mktemp("flood-log") / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port)],
            env={**inherited, **portal},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(port, process)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)


@dataclass(frozen=True)
class Flood:
    """Wrong sign-ins: the page whose form gives the CSRF token, and how to send number ``n``."""

    form_page: str
    send: Callable[[Client, int], int]


class Progress:
    """How many of the flood's requests are answered, for people to arrive as it goes on."""

    def __init__(self) -> None:
        self.statuses: list[int] = []
        self._changed = threading.Condition()

    def add(self, status: int) -> None:
        with self._changed:
            self.statuses.append(status)
            self._changed.notify_all()

    def wait_for(self, answered: int) -> None:
        with self._changed:
            assert self._changed.wait_for(lambda: len(self.statuses) >= answered, timeout=300)


def _flood(port: int, flood: Flood, progress: Progress) -> None:
    """``FLOOD`` requests from ``FLOODERS`` clients at once, each answer noted in ``progress``."""

    def flooder(index: int) -> None:
        client = Client(port)
        client.token = client.csrf_token(flood.form_page)
        for round_ in range(FLOOD // FLOODERS):
            progress.add(flood.send(client, index * FLOOD + round_))

    threads = [threading.Thread(target=flooder, args=(index,)) for index in range(FLOODERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)


def _during_flood(port: int, flood: Flood, people: list[Person]) -> tuple:
    """Run the flood and, while it goes on, each person's sign-in; how long each took (``None``:
    not in within the time), and the flood's statuses.

    Person ``i`` arrives once the flood has had ``20 + 15 i`` answers, so all ten arrive while
    it goes on, as fast or slow as the server makes it go."""
    progress = Progress()
    flooding = threading.Thread(target=_flood, args=(port, flood, progress))
    flooding.start()
    took: list[float | None] = [None] * len(people)

    def sign_in(index: int, person: Person) -> None:
        begun = time.monotonic()
        while time.monotonic() - begun < WITHIN_SECONDS:
            status, headers, body = person.attempt()
            if person.signed_in(status, headers, body):
                took[index] = time.monotonic() - begun
                return
            person.retry(status, headers, body)

    threads = []
    for index, person in enumerate(people):
        progress.wait_for(FLOOD // 10 + index * (FLOOD - FLOOD // 4) // len(people))
        thread = threading.Thread(target=sign_in, args=(index, person))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout=60)
    flooding.join(timeout=300)
    return took, progress.statuses


def _in_time(took: list[float | None]) -> int:
    """How many people were in within the time."""
    return sum(seconds is not None and seconds <= WITHIN_SECONDS for seconds in took)


def _wait_as_asked(status: int, headers: dict[str, str], body: str) -> None:
    """What a client does with "busy" or "too many attempts": wait ``Retry-After`` seconds.
    Any other answer (a refusal of the right details) is a failure of the sign-in."""
    assert status in (429, 503), (status, body[:200])
    threading.Event().wait(float(headers.get("retry-after", "1")))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


# -- Codenames ----------------------------------------------------------------------------------


def _wrong_codename(client: Client, number: int) -> int:
    """Half well-formed wrong codenames without JavaScript, half random login secrets."""
    if number % 2:
        form = {"codename": crypto.generate_codename(), "csrf_token": client.token}
        return client.request("POST", "/inbox/sign-in", form=form)[0]
    body = {"login_secret": _b64(os.urandom(32)), "owner_tag_key": _b64(os.urandom(32))}
    headers = {"X-CSRFToken": client.token}
    return client.request("POST", LOGIN_SECRET_PATH, json_body=body, headers=headers)[0]


def _form_person(port: int, codename: str) -> Person:
    client = Client(port)
    client.token = client.csrf_token("/inbox/sign-in")  # the page is open before the flood

    def attempt() -> tuple[int, dict[str, str], str]:
        form = {"codename": codename, "csrf_token": client.token}
        return client.request("POST", "/inbox/sign-in", form=form)

    def signed_in(status: int, headers: dict[str, str], body: str) -> bool:
        return status == 302 and headers.get("location") == "/inbox"

    return Person(attempt, signed_in, _wait_as_asked)


def _browser_person(port: int, codename: str) -> Person:
    secrets = crypto.derive_codename_secrets(codename)
    body = {
        "login_secret": _b64(secrets.login_secret),
        "owner_tag_key": _b64(crypto.owner_tag_key(secrets.key_seed)),
    }
    proof: list[dict] = []
    client = Client(port)
    client.token = client.csrf_token("/inbox/sign-in")  # the page is open before the flood

    def attempt() -> tuple[int, dict[str, str], str]:
        sent = {**body, "proof": proof.pop()} if proof else body
        headers = {"X-CSRFToken": client.token}
        return client.request("POST", LOGIN_SECRET_PATH, json_body=sent, headers=headers)

    def signed_in(status: int, headers: dict[str, str], answer: str) -> bool:
        return status == 200 and json.loads(answer) == {"next": "/inbox"}

    def retry(status: int, headers: dict[str, str], answer: str) -> None:
        challenge = json.loads(answer).get("challenge") if status == 429 else None
        if challenge is None:
            _wait_as_asked(status, headers, answer)
        else:
            proof.append(solve(challenge, secrets.login_secret))

    return Person(attempt, signed_in, retry)


def test_a_flood_of_wrong_codenames_keeps_nobody_out(
    plain_instance: PlainInstance, server: int
) -> None:
    app = create_app(plain_instance.settings)
    pepper = web_instance(app).secrets.codename_pepper
    with Session(app_database(app).engine) as session:
        today = dt.datetime.now(dt.UTC).date()
        codenames = [
            register_new_codename(session, pepper, language="en", today=today).codename
            for _ in range(PEOPLE)
        ]
        session.commit()
    people = [
        (_form_person if index % 2 == 0 else _browser_person)(server, codename)
        for index, codename in enumerate(codenames)
    ]

    took, flood = _during_flood(server, Flood("/inbox/sign-in", _wrong_codename), people)

    assert len(flood) == FLOOD
    assert _in_time(took) >= NEEDED, took
    assert {429, 503} & set(flood), "none of the flood was turned away before any work"


# -- Staff --------------------------------------------------------------------------------------


def _unknown_email(client: Client, number: int) -> int:
    form = {
        "email": f"nobody-{number}@example.org",
        "passphrase": "a guess at somebody's passphrase",
        "code": "123456",
        "csrf_token": client.token,
    }
    return client.request("POST", "/staff/sign-in", form=form)[0]


@dataclass(frozen=True)
class StaffMember:
    email: str
    totp_secret: bytes


def _staff_sign_in(client: Client, member: StaffMember, at: float) -> tuple:
    """One sign-in from ``client``'s open sign-in page, with the code of the time ``at``."""
    form = {
        "email": member.email,
        "passphrase": PASSPHRASE,
        "code": crypto.totp_code(member.totp_secret, at),
        "csrf_token": client.token,
    }
    return client.request("POST", "/staff/sign-in", form=form)


def _sign_in_page(port: int, cookies: dict[str, str]) -> Client:
    """A browser holding ``cookies`` that has the sign-in page open."""
    client = Client(port, cookies=dict(cookies))
    client.token = client.csrf_token("/staff/sign-in")
    return client


def _previous_step() -> float:
    """A moment in the previous 30-second code step, taken at least ten seconds before the
    current step ends: the portal accepts one step either side of its own, so a code of the
    previous step sent just before a step boundary could be checked after it and refused."""
    into_step = time.time() % TIME_STEP
    if into_step > TIME_STEP - 10:
        threading.Event().wait(TIME_STEP - into_step)
    return time.time() - TIME_STEP


def _device_signed_in_before(port: int, member: StaffMember) -> dict[str, str]:
    """The cookies a device keeps from an earlier sign-in once its session is over: signed in
    with the previous step's code (so that the code used later is a newer one), as a stranger
    still, who may be asked to wait a moment."""
    client = _sign_in_page(port, {})
    for _ in range(10):
        status, headers, body = _staff_sign_in(client, member, _previous_step())
        if status == 302:
            return {DEVICE_COOKIE: client.cookies[DEVICE_COOKIE]}
        _wait_as_asked(status, headers, body)
    raise AssertionError("the staff member could not sign in before the flood")


def _staff_person(port: int, member: StaffMember, device: dict[str, str]) -> Person:
    client = _sign_in_page(port, device)  # the page is open before the flood

    def attempt() -> tuple[int, dict[str, str], str]:
        return _staff_sign_in(client, member, time.time())

    def signed_in(status: int, headers: dict[str, str], body: str) -> bool:
        return status == 302 and headers.get("location", "").startswith("/staff")

    return Person(attempt, signed_in, _wait_as_asked)


def test_a_flood_of_unknown_staff_e_mails_keeps_known_devices_in(
    plain_instance: PlainInstance, server: int
) -> None:
    app = create_app(plain_instance.settings)
    at_rest_key = web_instance(app).secrets.at_rest_key
    members = []
    with Session(app_database(app).engine) as session:
        for index in range(PEOPLE):
            created = create_staff_account(
                session,
                email=f"desk-{index}@example.org",
                display_name=f"Desk Person {index}",
                role=StaffRole.TRIAGE_OFFICER,
                created_by=None,
            )
            user = created.user
            key = crypto.unwrap_private_key(
                user.personal_private_key_wrapped, created.one_time_passphrase
            )
            set_staff_passphrase(session, user, key, PASSPHRASE, changed_by=user)
            secret = crypto.new_totp_secret()
            user.totp_secret_sealed = crypto.seal_box(
                at_rest_key, secret, STAFF_TOTP_SECRET_PURPOSE
            )
            members.append(StaffMember(email=user.email, totp_secret=secret))
        session.commit()
    devices = [_device_signed_in_before(server, member) for member in members]
    people = [
        _staff_person(server, member, device)
        for member, device in zip(members, devices, strict=True)
    ]

    took, flood = _during_flood(server, Flood("/staff/sign-in", _unknown_email), people)

    assert len(flood) == FLOOD
    assert _in_time(took) >= NEEDED, took
    assert 503 in flood, "the strangers' Argon2 work was not budgeted"
