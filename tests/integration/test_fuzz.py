"""Fuzzing every route: malformed requests never end in a server error and change nothing.

A seeded generator (so a failure can be replayed) sends requests to every rule of the URL map
with every method it takes and some it does not: as a visitor, as a visitor holding a CSRF
token, as a submitter signed in to their inbox, and as two signed-in staff members (a triage
officer, an administrator). Paths carry ids and slugs that exist, do not, or cannot (too wide,
control characters, junk); query strings carry junk and huge numbers; Host, Content-Type, Accept
and Content-Length headers are odd; bodies are multipart, urlencoded, JSON or binary, built to be
almost right, with the field names the portal's forms read. Through the Flask test client (a
WSGI call), for speed.

No answer may be a 5xx. A refused request (4xx) must leave the row count of every table and the
storage folder as they were; only the sign-in limit may count a refused sign-in attempt, which
is its rule. Nothing generated can pass for a valid submission (no valid signature or envelope),
and what a request may legitimately change (a staff action with its token) is taken as the new
baseline. With ``CI=true`` the run is 20,000 requests on SQLite and 1,500 on PostgreSQL.
"""

import json
import os
import random
import re
import string
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.routing import Rule

from portal import create_app
from portal.db import app_database
from portal.instance import InstanceFolder
from portal.models import Base, SubmissionKind
from tests.conftest import DemoInstance, csrf_token_for, send_to_valdoria
from tests.staff_sessions_support import demo_credentials, sign_in_client

IN_CI = os.environ.get("CI") == "true"
REQUESTS = {"sqlite": 20_000 if IN_CI else 2_000, "postgresql": 1_500 if IN_CI else 300}
SEED = 12
# A refused sign-in counts towards the limit (a staff one is audited too): the one change a
# refusal may make, on the routes that sign in (the forms sign an existing codename in).
MAY_COUNT_REFUSALS = frozenset({"sign_in_throttles", "audit_events"})
SIGN_IN_ENDPOINTS = frozenset(
    {"staff_account.sign_in", "submitter.sign_in", "submitter_sealed.sign_in_with_login_secret"}
)
SIGN_IN_BLUEPRINTS = frozenset({"forms", "forms_sealed"})
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
# Names the portal's forms read, numbers among them (ids of people, items, sessions, rounds).
FORM_FIELDS = (
    "email",
    "codename",
    "word",
    "body",
    "person",
    "named",
    "member",
    "agenda_item",
    "staff_user_id",
    "session",
    "item",
    "number",
    "result",
    "round",
    "level",
    "hold",
    "token",
)
AGENDA = {"topics": ["freedom_of_expression"], "situation": "Closures"}
ARGUMENT = re.compile(r"<(?:(\w+):)?(\w+)>")


def _junk_text(rng: random.Random, longest: int = 40) -> str:
    alphabet = string.printable + "éß²\u202e\u0000\x7f漢"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, longest)))


def _number(rng: random.Random) -> str:
    return str(rng.choice([0, 1, 2, 3, 2**31 - 1, 2**31, 2**63, 10**40, -1]))


def _path_value(rng: random.Random, converter: str | None, known: list[str]) -> str:
    if converter == "int":
        return rng.choice([_number(rng), _number(rng), "x", "\uff11"])  # a fullwidth digit
    return rng.choice(
        ["valdoria", "en", "css/parley.css", _junk_text(rng), "a" * 300, "%00", "..", _number(rng)]
        + [rng.choice(known)] * 3
    )


def _path(rng: random.Random, rule: Rule, known: list[str]) -> str:
    """``rule``'s path with values for its arguments; ``known`` are public ids that exist."""

    def replace(match: re.Match[str]) -> str:
        return urllib.parse.quote(_path_value(rng, match.group(1), known), safe="")

    path = ARGUMENT.sub(replace, rule.rule)
    roll = rng.random()
    if roll < 0.05:
        path += "/" + urllib.parse.quote(_junk_text(rng, 10), safe="")
    elif roll < 0.08:
        path = path.replace("/", "//", 1)
    return path


def _query(rng: random.Random) -> str:
    names = ["offset", "before", "after", "limit", "session", "page", "risk", "topic", "x"]
    pairs = []
    for _ in range(rng.randint(0, 3)):
        # Encoded as a client must (an HTTP server refuses raw control characters), or broken.
        junk = urllib.parse.quote(_junk_text(rng, 12), safe="")
        value = rng.choice([_number(rng), junk, "%ff", "%zz", "%0d%0a", "%C2%B2"])
        pairs.append(f"{rng.choice(names)}={value}")
    return "&".join(pairs)


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randint(0, 7 if depth < 4 else 4)
    if kind == 0:
        return rng.choice([2**31, 2**64, -(2**70), 10**30, 1.5e308, 0])
    if kind == 1:
        return _junk_text(rng, 20)
    if kind == 2:
        return rng.choice([True, False, None])
    if kind == 3:
        return "A" * rng.choice([43, 44, 88]) + "="
    if kind == 4:
        return rng.randint(-5, 5)
    if kind == 5:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    fields = [
        "submission",
        "size",
        "session",
        "round",
        "kind",
        "public_id",
        "envelope",
        "signature",
        "login_secret",
        "owner_tag_key",
        "messages",
        "dialogue",
        "topics",
    ]
    return {rng.choice(fields): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def _body(rng: random.Random, token: str | None) -> tuple[bytes, str | None]:
    """A body and the Content-Type it is sent with."""
    roll = rng.randint(0, 8)
    if roll == 0:
        return b"", None
    if roll == 1:
        return rng.randbytes(rng.randint(1, 2000)), rng.choice(
            ["application/octet-stream", None, "text/plain; charset=utf-7"]
        )
    if roll == 2:
        return json.dumps(_json_value(rng)).encode(), "application/json"
    if roll == 3:
        deep = rng.randint(30, 20_000)
        return b"[" * deep + b"]" * rng.randint(0, deep), "application/json"
    if roll == 4:
        fields = {"csrf_token": token or "x"}
        for _ in range(rng.randint(0, 4)):
            fields[rng.choice(FORM_FIELDS)] = rng.choice([_junk_text(rng), _number(rng), "²"])
        text = urllib.parse.urlencode(fields).encode() + rng.choice([b"", b"&a=\xff\xfe", b"%"])
        return text, "application/x-www-form-urlencoded"
    if roll == 5:
        boundary = "fuzzboundary"
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}',
            f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; '
            f'filename="a.txt"\r\nContent-Type: text/plain\r\n\r\n{_junk_text(rng)}',
            f'--{boundary}\r\nContent-Disposition: form-data; name="statement"\r\n\r\n'
            f"{_junk_text(rng)}",
            f'--{boundary}\r\nContent-Disposition: form-data; name="{rng.choice(FORM_FIELDS)}"'
            f"\r\n\r\n{_number(rng)}",
        ]
        body = "\r\n".join(rng.sample(parts, rng.randint(0, 3))).encode("utf-8", "replace")
        ending = rng.choice([f"\r\n--{boundary}--\r\n".encode(), b"", b"\r\n--junk"])
        content_type = rng.choice(
            [
                f"multipart/form-data; boundary={boundary}",
                "multipart/form-data",
                "multipart/form-data; boundary=",
            ]
        )
        return body + ending, content_type
    if roll == 6:
        return b"a=\xff\xfe&b=%zz&=&&" + rng.randbytes(8), "application/x-www-form-urlencoded"
    if roll == 7:
        return b"{", rng.choice(["application/json", "application/json; charset=latin-1"])
    return rng.randbytes(16), rng.choice(["multipart/mixed", "garbage", "text/html;;;", "*/*"])


def _headers(rng: random.Random, token: str | None) -> dict[str, str]:
    headers = {}
    if token is not None and rng.random() < 0.8:
        headers["X-CSRFToken"] = token
    if rng.random() < 0.1:
        headers["Host"] = rng.choice(
            ["a" * 70 + ".example", "exa mple", "[::1", "localhost:99999", "-.-", "x" * 300]
        )
    if rng.random() < 0.2:
        headers["Accept"] = rng.choice(["application/json", "*/*", "text/html;q=0", "??"])
    if rng.random() < 0.1:
        headers["Accept-Language"] = rng.choice(["zz", "*;q=x", "fr-FR,en;q=0.5", "ü"])
    if rng.random() < 0.05:
        headers["X-Upload-Token"] = "".join(rng.choice(string.ascii_letters) for _ in range(40))
    return headers


def _row_counts(app: Flask) -> dict[str, int]:
    with app_database(app).engine.connect() as connection:
        counts = connection.execute(COUNT_ROWS).one()
    return dict(zip((t.name for t in TABLES), counts, strict=True))


def _storage(folder: Path) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((path.name, path.stat().st_size) for path in folder.rglob("*")))


TABLES = Base.metadata.sorted_tables
COUNT_ROWS = select(*(select(func.count()).select_from(t).scalar_subquery() for t in TABLES))


@pytest.fixture(scope="module")
def fuzz_app(writable_demo_instance: DemoInstance) -> Iterator[Flask]:
    app = create_app(writable_demo_instance.settings)
    yield app


def _clients(
    app: Flask, instance: DemoInstance, codename: str
) -> list[tuple[FlaskClient, str | None]]:
    """A visitor, a visitor holding a CSRF token, a submitter signed in to their inbox, and two
    staff members (a triage officer, an administrator), each with a token."""
    visitor, holder, submitter = app.test_client(), app.test_client(), app.test_client()
    clients = [(visitor, None), (holder, csrf_token_for(holder))]
    token = csrf_token_for(submitter)
    signed_in = submitter.post("/inbox/sign-in", data={"codename": codename, "csrf_token": token})
    assert signed_in.status_code == 302, signed_in.status_code
    clients.append((submitter, csrf_token_for(submitter)))
    credentials = demo_credentials(instance.credentials_file)
    for role in ("triage_officer", "administrator"):
        staff = app.test_client()
        sign_in_client(app, staff, credentials[role].email, credentials[role].password)
        clients.append((staff, csrf_token_for(staff)))
    return clients


def test_no_request_ends_in_a_server_error_or_changes_anything_when_refused(
    fuzz_app: Flask, writable_demo_instance: DemoInstance
) -> None:
    backend = app_database(fuzz_app).engine.dialect.name
    count = REQUESTS["postgresql" if backend == "postgresql" else "sqlite"]
    rng = random.Random(SEED)  # noqa: S311 - a replayable fuzz, not a secret
    rules = list(fuzz_app.url_map.iter_rules())
    storage = InstanceFolder(writable_demo_instance.settings.instance_dir).storage_dir
    # A submission and the submitter's inbox, so that the staff's and the inbox's routes for one
    # submission are reached with an id that exists, and their forms are read.
    sent = send_to_valdoria(writable_demo_instance.settings, SubmissionKind.AGENDA_INPUT, AGENDA)
    known = [sent.public_id]
    clients = _clients(fuzz_app, writable_demo_instance, sent.codename)
    counts, files = _row_counts(fuzz_app), _storage(storage)
    statuses: dict[int, int] = {}
    started = time.monotonic()
    for number in range(count):
        rule = rng.choice(rules)
        client, token = rng.choice(clients)
        allowed = sorted(rule.methods or ())
        method = rng.choice(allowed) if rng.random() < 0.7 else rng.choice(METHODS)
        path = _path(rng, rule, known)
        query = _query(rng)
        body, content_type = (
            _body(rng, token)
            if method not in ("GET", "HEAD") or rng.random() < 0.1
            else (b"", None)
        )
        overrides = {}
        if rng.random() < 0.05:
            overrides["CONTENT_LENGTH"] = rng.choice(["0", "-1", "x", str(len(body) + 50), "1"])
        response = client.open(
            path,
            method=method,
            query_string=query,
            data=body,
            content_type=content_type,
            headers=_headers(rng, token),
            environ_overrides=overrides,
        )
        status = response.status_code
        statuses[status] = statuses.get(status, 0) + 1
        case = (number, method, path[:120], query[:60], content_type, status)
        signs_in = rule.endpoint in SIGN_IN_ENDPOINTS or (
            rule.endpoint.partition(".")[0] in SIGN_IN_BLUEPRINTS
        )
        # A sign-in may be told "busy, try again" (503 with Retry-After) while the budget for
        # its slow derivations is spent (SECURITY.md, "Sign-in floods"): nothing was tried.
        busy = signs_in and status == 503 and "Retry-After" in response.headers
        assert status < 500 or busy, case
        after, after_files = _row_counts(fuzz_app), _storage(storage)
        if status >= 400:
            changed = {name for name in counts if counts[name] != after[name]}
            assert changed <= (MAY_COUNT_REFUSALS if signs_in else set()), (case, changed)
            assert after_files == files, case
        counts, files = after, after_files
    elapsed = time.monotonic() - started
    print(f"fuzz on {backend}: {count} requests in {elapsed:.0f} s, {sorted(statuses.items())}")
    assert sum(statuses.values()) == count
