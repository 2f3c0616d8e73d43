"""Malformed requests get a clear 4xx, JSON on the JSON routes, and bodies stay within limits.

Each case is one root cause an earlier run found ending as a server error: multipart bodies
without a boundary or with broken framing, a urlencoded body that is not UTF-8, integers wider
than a column in JSON bodies and query strings, deeply nested JSON, and a Host header the URL
map cannot parse (whose error page failed in turn). Run on both databases (the demo instance).
"""

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.test import EnvironBuilder, run_wsgi_app

from portal import create_app
from portal.db import request_session
from portal.services.submissions.uploads import MAX_CHUNK_BYTES
from portal.settings import (
    DEFAULT_MAX_JSON_DEPTH,
    DEFAULT_MAX_REQUEST_BYTES,
    SettingsError,
    load_settings,
)
from portal.web.json_bodies import LARGEST_JSON_INTEGER, nesting_depth
from tests.conftest import DemoInstance, csrf_token_for
from tests.staff_sessions_support import demo_credentials, sign_in_client

FORM_ROUTE = "/dialogues/valdoria/reprisal-report"
JSON_ROUTES = ("/uploads", "/sealed-submissions", "/inbox/sign-in/login-secret")
TOO_WIDE = 2**64 + 1


@pytest.fixture
def client(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


def _json_error(response: Any, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:200]
    assert response.mimetype == "application/json"
    message = response.get_json()["error"]
    assert isinstance(message, str) and message
    return message


def _html_error(response: Any, status: int) -> str:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--x\r\nno boundary was announced"),
        ("multipart/form-data; boundary=zz", b"junk that is no multipart framing"),
        ("application/x-www-form-urlencoded", b"statement=\xff\xfe&more=\xc3"),
    ],
)
def test_a_form_body_that_cannot_be_parsed_is_a_bad_request(
    client: FlaskClient, content_type: str, body: bytes
) -> None:
    response = client.post(FORM_ROUTE, data=body, content_type=content_type)
    _html_error(response, 400)


@pytest.mark.parametrize("route", JSON_ROUTES)
@pytest.mark.parametrize(
    "body",
    [
        b'{"submission": "x", "size": ' + str(TOO_WIDE).encode() + b"}",
        b'{"submission": "x", "size": ' + str(LARGEST_JSON_INTEGER + 1).encode() + b"}",
        b"[" * 5000 + b"]" * 5000,
        b'{"a": ' + b"[" * DEFAULT_MAX_JSON_DEPTH + b"]" * DEFAULT_MAX_JSON_DEPTH + b"}",
        b'{"size": NaN}',
        b"\xff\xfe{",
    ],
)
def test_json_bodies_beyond_the_limits_are_refused_in_json(
    client: FlaskClient, route: str, body: bytes
) -> None:
    token = csrf_token_for(client)
    response = client.post(
        route, data=body, content_type="application/json", headers={"X-CSRFToken": token}
    )
    _json_error(response, 400)


def test_the_json_loader_refuses_what_no_endpoint_takes(demo_app: Flask) -> None:
    loads = demo_app.json.loads
    assert loads(f'{{"size": {LARGEST_JSON_INTEGER}, "at": -{LARGEST_JSON_INTEGER}}}') == {
        "size": LARGEST_JSON_INTEGER,
        "at": -LARGEST_JSON_INTEGER,
    }
    nested = "[" * DEFAULT_MAX_JSON_DEPTH + "]" * DEFAULT_MAX_JSON_DEPTH
    assert loads(nested) is not None
    for refused in (
        str(LARGEST_JSON_INTEGER + 1),
        "-" + "9" * 5000,
        f"[{nested}]",
        "[" * 100_000 + "]" * 100_000,
        "[NaN]",
        "-Infinity",
    ):
        with pytest.raises(ValueError):
            loads(refused)


def test_the_nesting_depth_is_counted_without_recursion() -> None:
    assert nesting_depth(7) == 0
    assert nesting_depth({"a": [1, {"b": []}]}) == 4
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert nesting_depth(deep) == 100_001


def test_a_session_id_wider_than_a_column_is_no_such_session(client: FlaskClient) -> None:
    """The sealed submission's ``session`` reaches a lookup by id (an INTEGER on PostgreSQL)."""
    token = csrf_token_for(client)
    key = "A" * 43 + "="  # 32 bytes of base64
    body = {
        "dialogue": "valdoria",
        "session": 2**40,
        "kind": "agenda_input",
        "public_id": "x",
        "envelope": key,
        "signature": key,
        "submission_key": key,
        "signing_key": key,
        "login_secret": key,
        "owner_tag_key": key,
        "new_submitter": False,
        "urgent": False,
    }
    response = client.post("/sealed-submissions", json=body, headers={"X-CSRFToken": token})
    _json_error(response, 404)


@pytest.mark.parametrize(
    "query",
    ["before=" + "9" * 30, "before=" + str(2**31), "limit=" + "9" * 30, "before=%C2%B2"],
)
def test_numbers_in_query_strings_beyond_a_column_are_ignored(
    demo_app: Flask, demo_instance: DemoInstance, query: str
) -> None:
    credentials = demo_credentials(demo_instance.credentials_file)
    pages = {
        "administrator": ["/admin/audit"],
        "triage_officer": ["/staff/desks/valdoria", "/staff/dialogues/valdoria/queue"],
    }
    for role, paths in pages.items():
        client = demo_app.test_client()
        sign_in_client(demo_app, client, credentials[role].email, credentials[role].password)
        for path in paths:
            assert client.get(f"{path}?{query}").status_code == 200, (role, path)
        queue = "/staff/dialogues/valdoria/queue?session="
        if role == "triage_officer":
            assert client.get(queue + "9" * 12).status_code == 200
            assert client.get(queue + "%C2%B2").status_code == 200


def test_an_upload_offset_beyond_64_bits_is_refused(client: FlaskClient) -> None:
    token = csrf_token_for(client)
    response = client.put(
        "/uploads/abc?offset=" + "9" * 30, data=b"x", headers={"X-CSRFToken": token}
    )
    assert response.status_code in (400, 404)
    assert response.mimetype == "application/json"


def test_an_unparsable_host_gets_a_bare_error_page(client: FlaskClient) -> None:
    host = {"Host": "a" * 70 + ".example"}
    page = _html_error(client.get("/", headers=host), 400)
    assert "<h1>" in page and "href" not in page and "<script" not in page
    _json_error(client.post("/uploads", headers=host, json={}), 400)


def test_json_routes_answer_every_refusal_in_json(client: FlaskClient) -> None:
    _json_error(client.get("/uploads"), 405)
    response = client.get("/inbox/x/sealed-consent")
    _json_error(response, 405)
    assert "POST" in response.headers["Allow"]
    _json_error(client.post("/uploads", json={}), 400)  # no CSRF token
    _json_error(client.get("/no/such/page", headers={"Accept": "application/json"}), 404)
    _html_error(client.get("/no/such/page"), 404)
    _html_error(client.get("/staff/sign-out"), 405)


def test_an_unexpected_error_on_a_json_route_is_a_json_500(
    demo_instance: DemoInstance, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(demo_instance.settings)

    def broken(**_: Any) -> None:
        raise RuntimeError("canary-of-the-failure")

    app.view_functions["uploads.status"] = broken
    app.view_functions["public.dialogue"] = broken
    client = app.test_client()
    _json_error(client.get("/uploads/secret-upload-id"), 500)
    _html_error(client.get("/dialogues/secret-slug"), 500)
    logged = caplog.text
    assert "canary-of-the-failure" in logged
    assert "/uploads/<upload_id>" in logged and "secret-upload-id" not in logged
    assert "secret-slug" not in logged


def test_an_error_after_the_view_is_logged_by_route_too(
    demo_instance: DemoInstance, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(demo_instance.settings)

    @app.after_request
    def broken(response: Any) -> Any:
        raise RuntimeError("canary-after-the-view")

    _html_error(app.test_client().get("/dialogues/secret-slug-after"), 500)
    assert "canary-after-the-view" in caplog.text
    assert "/dialogues/<slug>" in caplog.text and "secret-slug-after" not in caplog.text


def test_a_failing_query_is_logged_without_its_values(
    demo_instance: DemoInstance, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLAlchemy's ``[parameters: ...]`` and PostgreSQL's ``DETAIL: Key (v)=(...)`` would both
    quote what the request sent."""
    app = create_app(demo_instance.settings)
    canary = "value-canary-0451"

    def colliding(**_: Any) -> None:
        database = request_session()
        database.execute(text("CREATE TEMPORARY TABLE canary_rows (v VARCHAR(40) UNIQUE)"))
        insert = text("INSERT INTO canary_rows (v) VALUES (:v)")
        database.execute(insert, {"v": canary})
        database.execute(insert, {"v": canary})

    app.view_functions["public.dialogue"] = colliding
    _html_error(app.test_client().get("/dialogues/valdoria"), 500)
    assert "IntegrityError" in caplog.text and "INSERT INTO canary_rows" in caplog.text
    assert canary not in caplog.text


class _CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes that counts what the application reads of it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = min(len(buffer), self.size - self.read_bytes)
        buffer[:count] = b"{" * count
        self.read_bytes += count
        return count


@pytest.mark.parametrize("route", ["/uploads", "/sealed-submissions", "/inbox/sign-in"])
def test_a_150_mib_body_is_refused_before_it_is_read(demo_app: Flask, route: str) -> None:
    size = 150 * 1024 * 1024
    body = _CountingStream(size)
    environ = EnvironBuilder(
        path=route, method="POST", content_type="application/json"
    ).get_environ()
    environ.update({"wsgi.input": body, "CONTENT_LENGTH": str(size)})
    _, status, _ = run_wsgi_app(demo_app, environ, buffered=True)
    assert status.startswith("413")
    assert body.read_bytes == 0


def test_the_upload_chunk_route_takes_a_whole_chunk(client: FlaskClient) -> None:
    token = csrf_token_for(client)
    headers = {"X-CSRFToken": token}
    chunk = client.put("/uploads/unknown?offset=0", data=b"x" * MAX_CHUNK_BYTES, headers=headers)
    assert chunk.status_code == 404  # read past the app-wide limit, refused for its id only
    over_body = b"x" * (MAX_CHUNK_BYTES + 1)
    over = client.put("/uploads/unknown?offset=0", data=over_body, headers=headers)
    _json_error(over, 413)
    assert MAX_CHUNK_BYTES > DEFAULT_MAX_REQUEST_BYTES
    too_big = client.post("/uploads", data=b"x" * (DEFAULT_MAX_REQUEST_BYTES + 1), headers=headers)
    _json_error(too_big, 413)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PORTAL_MAX_REQUEST_BYTES", "1000"),
        ("PORTAL_MAX_REQUEST_BYTES", "lots"),
        ("PORTAL_MAX_JSON_DEPTH", "1"),
        ("PORTAL_MAX_JSON_DEPTH", "100000"),
    ],
)
def test_request_limit_settings_are_checked(tmp_path: Any, variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        load_settings({variable: value}, cwd=tmp_path)


def test_request_limit_settings_have_defaults_and_can_be_set(tmp_path: Any) -> None:
    defaults = load_settings({}, cwd=tmp_path)
    assert (defaults.max_request_bytes, defaults.max_json_depth) == (
        DEFAULT_MAX_REQUEST_BYTES,
        DEFAULT_MAX_JSON_DEPTH,
    )
    chosen = load_settings(
        {"PORTAL_MAX_REQUEST_BYTES": "65536", "PORTAL_MAX_JSON_DEPTH": "4"}, cwd=tmp_path
    )
    assert (chosen.max_request_bytes, chosen.max_json_depth) == (65536, 4)
