"""The cheaper ways around each request do what Flask's and Flask-WTF's own ways did.

The CSRF check skips the form of a body that cannot have fields (``portal.web.csrf_check``), the
application knows which functions are coroutine functions without asking each time
(``portal.app.Portal.ensure_sync``), the session cookie's serializer is built once and a cookie
left alone is not prepared (``portal.security.SessionCookies``), the cookies are read from their
environ key (``portal.web.request_limits.PortalRequest``), the security headers are added by a
WSGI middleware (``portal.security.SecurityHeaders``) and a parameter that is absent is answered
without an exception (``portal.web.request_limits``); each is checked here on a bare Flask app,
or alone, with only that part of the portal, so that what is asserted is the part alone.
"""

import gc
import io
import operator
import re

import pytest
from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface
from flask.testing import FlaskClient
from flask_wtf.csrf import generate_csrf
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from portal import app as portal_app
from portal.app import Portal
from portal.security import SecurityHeaders, SessionCookies
from portal.web.csrf_check import PortalCSRFProtect
from portal.web.request_limits import BoundedParameters, PortalRequest

SECRET = "s" * 64


def _csrf_app() -> Flask:
    """A Flask app with the portal's CSRF check, a page that hands out a token and a post that
    says whether its form was read."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, WTF_CSRF_SSL_STRICT=False)
    PortalCSRFProtect(app)

    @app.get("/token")
    def token() -> str:
        return generate_csrf()

    @app.post("/post")
    def post() -> dict[str, bool]:
        return {"form_read": "form" in request.__dict__}

    return app


@pytest.fixture
def csrf_client() -> FlaskClient:
    return _csrf_app().test_client()


def test_a_json_post_is_checked_by_its_header_without_reading_a_form(
    csrf_client: FlaskClient,
) -> None:
    token = csrf_client.get("/token").get_data(as_text=True)

    answer = csrf_client.post("/post", json={"csrf_token": token}, headers={"X-CSRFToken": token})

    assert answer.status_code == 200
    assert answer.get_json() == {"form_read": False}


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-CSRFToken": ""}, {"X-CSRFToken": "not-a-token"}],
    ids=["no header", "empty header", "forged header"],
)
def test_a_json_post_without_a_good_header_is_refused(
    csrf_client: FlaskClient, headers: dict[str, str]
) -> None:
    token = csrf_client.get("/token").get_data(as_text=True)

    # A token in the JSON body is no form field: it counts for nothing.
    answer = csrf_client.post("/post", json={"csrf_token": token}, headers=headers)

    assert answer.status_code == 400
    assert b"CSRF" in answer.data


def test_the_second_header_flask_wtf_reads_is_read_too(csrf_client: FlaskClient) -> None:
    token = csrf_client.get("/token").get_data(as_text=True)

    answer = csrf_client.post(
        "/post", data=b"chunk", headers={"X-CSRF-Token": token, "Content-Type": "text/plain"}
    )

    assert answer.status_code == 200


@pytest.mark.parametrize("content_type", ["urlencoded", "multipart"])
def test_a_form_post_is_checked_by_its_field(csrf_client: FlaskClient, content_type: str) -> None:
    token = csrf_client.get("/token").get_data(as_text=True)

    def fields(token: str) -> dict[str, object]:
        files = {"file": (io.BytesIO(b"x"), "x.txt")} if content_type == "multipart" else {}
        return {"csrf_token": token, **files}

    answer = csrf_client.post("/post", data=fields(token))
    refused = csrf_client.post("/post", data=fields("forged"))

    assert answer.status_code == 200
    assert answer.get_json() == {"form_read": True}
    assert refused.status_code == 400


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_announced_over_the_limit_is_refused_before_its_token(
    csrf_client: FlaskClient, content_type: str
) -> None:
    csrf_client.application.config["MAX_CONTENT_LENGTH"] = 10

    answer = csrf_client.post("/post", data=b"x" * 11, headers={"Content-Type": content_type})

    assert answer.status_code == 413


def _session_app(interface: SecureCookieSessionInterface) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = SECRET
    app.session_interface = interface

    @app.post("/remember/<value>")
    def remember(value: str) -> str:
        session["value"] = value
        return ""

    @app.get("/recall")
    def recall() -> str:
        return session.get("value", "-")

    @app.post("/forget")
    def forget() -> str:
        session.clear()
        return ""

    @app.post("/keep")
    def keep() -> str:
        session.permanent = True
        return ""

    @app.get("/untouched")
    def untouched() -> str:
        return ""

    return app


def test_the_session_serializer_is_built_once_for_the_same_keys() -> None:
    interface = SessionCookies()
    app = _session_app(interface)

    first = interface.get_signing_serializer(app)

    assert interface.get_signing_serializer(app) is first
    app.config["SECRET_KEY_FALLBACKS"] = ["older"]
    with_fallback = interface.get_signing_serializer(app)
    assert with_fallback is not first
    app.secret_key = "t" * 64
    assert interface.get_signing_serializer(app) is not with_fallback


@pytest.mark.parametrize("writer", ["flask", "portal"])
def test_a_session_cookie_reads_the_same_whichever_interface_signed_it(writer: str) -> None:
    """Cookies already in browsers when the portal is updated stay valid, and the other way."""
    flask_app = _session_app(SecureCookieSessionInterface())
    portal_app = _session_app(SessionCookies())
    signer, reader = (flask_app, portal_app) if writer == "flask" else (portal_app, flask_app)
    signing_client = signer.test_client()
    signing_client.post("/remember/kept")
    cookie = signing_client.get_cookie("session")
    assert cookie is not None

    reading_client = reader.test_client()
    reading_client.set_cookie("session", cookie.value)
    assert reading_client.get("/recall").get_data(as_text=True) == "kept"
    reading_client.set_cookie("session", cookie.value[:-2] + "xx")
    assert reading_client.get("/recall").get_data(as_text=True) == "-"


SIGNED = re.compile(r"(session=)[^;]*|(Expires=)[^;]*")


def _answer_headers(client: FlaskClient, method: str, path: str) -> list[tuple[str, str]]:
    """The headers of an answer, with the cookie's signed value and expiry date masked: they
    change with the second they are made in."""
    answer = client.open(path, method=method)
    return [(name, SIGNED.sub(r"\1\2…", value)) for name, value in answer.headers.items()]


@pytest.mark.parametrize("refresh", [True, False], ids=["refreshed", "not refreshed"])
@pytest.mark.parametrize("second_key", [False, True], ids=["one key", "a fallback key"])
def test_a_session_is_saved_as_flask_saves_it(refresh: bool, second_key: bool) -> None:
    """The same requests, in turn, with Flask's interface and the portal's: every answer has the
    same headers in the same order (whether the cookie is written, deleted or left, and whether
    ``Vary: Cookie`` is added)."""
    clients = []
    for interface in (SecureCookieSessionInterface(), SessionCookies()):
        app = _session_app(interface)
        app.config["SESSION_REFRESH_EACH_REQUEST"] = refresh
        if second_key:
            app.config["SECRET_KEY_FALLBACKS"] = ["older" * 13]
        clients.append(app.test_client())
    steps = [
        ("GET", "/untouched"),
        ("GET", "/recall"),
        ("POST", "/remember/kept"),
        ("GET", "/untouched"),
        ("GET", "/recall"),
        ("POST", "/keep"),
        ("GET", "/untouched"),
        ("GET", "/recall"),
        ("POST", "/forget"),
        ("GET", "/recall"),
        ("POST", "/forget"),
    ]

    for method, path in steps:
        flask, portal = (_answer_headers(client, method, path) for client in clients)

        assert portal == flask, (method, path)
    assert [client.get("/recall").get_data() for client in clients] == [b"-", b"-"]


def test_a_session_cookie_is_refused_after_the_key_changes() -> None:
    app = _session_app(SessionCookies())
    client = app.test_client()
    client.post("/remember/kept")

    app.secret_key = "t" * 64

    assert client.get("/recall").get_data(as_text=True) == "-"


POLICY = {"Cache-Control": "no-store", "X-Frame-Options": "DENY"}


def _headers_app() -> Flask:
    app = Flask(__name__)

    @app.get("/own")
    def own() -> tuple[str, int, dict[str, str]]:
        return "", 200, {"cache-control": "public, max-age=60", "X-Own": "kept"}

    @app.get("/failing")
    def failing() -> str:
        return ""

    @app.after_request
    def fail_on_failing(response: Response) -> Response:
        if request.path == "/failing":
            raise RuntimeError("a hook that fails")
        return response

    app.wsgi_app = SecurityHeaders(app.wsgi_app, POLICY)  # type: ignore[method-assign]
    return app


def test_the_policy_replaces_a_header_of_the_same_name_and_keeps_the_others() -> None:
    answer = _headers_app().test_client().get("/own")

    assert answer.headers.getlist("Cache-Control") == ["no-store"]
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["X-Own"] == "kept"


def test_an_answer_flask_makes_after_a_failing_hook_carries_the_policy_too() -> None:
    answer = _headers_app().test_client().get("/failing")

    assert answer.status_code == 500
    assert {name: answer.headers.get(name) for name in POLICY} == POLICY


@pytest.mark.parametrize(
    ("name", "default", "kind", "expected"),
    [
        ("absent", None, None, None),
        ("absent", "fallback", None, "fallback"),
        ("absent", 7, int, 7),
        ("word", None, None, "fr"),
        ("word", 7, int, 7),
        ("number", None, int, 12),
        ("number", None, str, "12"),
        ("empty", "fallback", None, ""),
        ("empty", 7, int, 7),
    ],
)
def test_parameters_answer_get_as_before(
    name: str, default: object, kind: type | None, expected: object
) -> None:
    parameters = BoundedParameters([("word", "fr"), ("number", "12"), ("empty", "")])

    assert parameters.get(name, default, kind) == expected


def test_an_absent_parameter_is_answered_without_looking_it_up() -> None:
    class Watched(BoundedParameters):
        def __getitem__(self, key: str) -> str:
            assert key in self, f"looked up {key!r}, which is absent"
            return super().__getitem__(key)

    parameters = Watched([("word", "fr")])

    assert parameters.get("lang") is None
    assert parameters.get("lang", 3, int) == 3
    assert parameters.get("word") == "fr"


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "",
        "session=abc.def",
        "a=1; b=2;c=3",
        "a=1; a=2",
        'quoted="x y; z"; escaped="\\101\\"b"',
        "café=thé".encode().decode("latin-1"),
        "=;;novalue; =x; y=",
    ],
)
def test_cookies_are_read_as_werkzeug_reads_them(cookie: str | None) -> None:
    headers = {} if cookie is None else {"Cookie": cookie}
    environ = EnvironBuilder(headers=headers).get_environ()

    portal = PortalRequest(environ).cookies
    werkzeug = Request(environ).cookies

    assert list(portal.items(multi=True)) == list(werkzeug.items(multi=True))
    assert type(portal) is type(werkzeug)


def test_a_plain_function_is_called_as_it_is_and_asked_about_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[object] = []

    def counted(func: object) -> bool:
        asked.append(func)
        return False

    monkeypatch.setattr(portal_app, "iscoroutinefunction", counted)
    app = Portal(__name__)

    def hook() -> None:
        return None

    unreferable = operator.itemgetter(0)  # a callable that takes no weak reference

    assert [app.ensure_sync(hook) for _ in range(3)] == [hook] * 3
    assert [app.ensure_sync(unreferable) for _ in range(2)] == [unreferable] * 2
    assert asked == [hook]


def test_a_coroutine_function_is_run_as_flask_runs_it() -> None:
    async def coroutine() -> str:
        return "ran"

    def outcome(app: Flask) -> str:
        try:
            return str(app.ensure_sync(coroutine)())
        except RuntimeError as refused:  # Flask needs its "async" extra to run one
            return str(refused)

    portal = Portal(__name__)

    assert outcome(portal) == outcome(portal) == outcome(Flask(__name__))
    assert outcome(portal) != str(coroutine)


def test_what_is_remembered_of_a_function_goes_with_it() -> None:
    app = Portal(__name__)

    def passing() -> None:
        return None

    app.ensure_sync(passing)
    remembered = len(app._coroutine_functions)
    del passing
    gc.collect()

    assert (remembered, len(app._coroutine_functions)) == (1, 0)
