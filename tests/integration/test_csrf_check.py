"""The portal's CSRF check accepts and refuses what Flask-WTF's ``CSRFProtect`` does.

``portal.web.csrf_check`` checks tokens with a serializer built once instead of Flask-WTF's
``validate_csrf``; here the same requests go to two bare Flask apps sharing one secret key, one
protected by Flask-WTF's ``CSRFProtect`` and one by ``PortalCSRFProtect``, and each answer (the
status and the refusal's reason) must be the same from both, with the token in the header of a
JSON post and in the field of a form post.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask, session
from flask.testing import FlaskClient
from flask_wtf import CSRFProtect
from flask_wtf.csrf import CSRFError, generate_csrf
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.web.csrf_check import TOKEN_SALT, PortalCSRFProtect

SECRET = "k" * 64
TIME_LIMIT = 3600


def _app(protect: type[CSRFProtect]) -> Flask:
    """A Flask app with ``protect``, a page handing out a token and a post answering "sent"; a
    refusal answers its reason."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET, WTF_CSRF_SSL_STRICT=False)
    protect(app)

    @app.get("/token")
    def token() -> str:
        return generate_csrf()

    @app.get("/forget")
    def forget() -> str:
        session.clear()
        return ""

    @app.post("/post")
    def post() -> str:
        return "sent"

    @app.errorhandler(CSRFError)
    def refused(error: CSRFError) -> tuple[str, int]:
        return str(error.description), 400

    return app


@dataclass
class Pair:
    """A client of each app, carrying the same session cookie."""

    flask_wtf: FlaskClient
    portal: FlaskClient

    def token(self) -> str:
        """A token Flask-WTF's ``generate_csrf`` made, in the session both clients carry."""
        token = self.flask_wtf.get("/token").get_data(as_text=True)
        cookie = self.flask_wtf.get_cookie("session")
        assert cookie is not None
        self.portal.set_cookie("session", cookie.value)
        return token

    def post(self, how: str, token: str | None) -> tuple[tuple[int, str], tuple[int, str]]:
        """The answer of each app to the same post, its token sent ``how``."""
        answers = []
        for client in (self.flask_wtf, self.portal):
            if how == "header":
                headers = {} if token is None else {"X-CSRFToken": token}
                answer = client.post("/post", json={"situation": "x"}, headers=headers)
            else:
                fields = {"situation": "x"} if token is None else {"csrf_token": token}
                answer = client.post("/post", data=fields)
            answers.append((answer.status_code, answer.get_data(as_text=True)))
        return answers[0], answers[1]


@pytest.fixture
def pair() -> Pair:
    return Pair(_app(CSRFProtect).test_client(), _app(PortalCSRFProtect).test_client())


HOW = pytest.mark.parametrize("how", ["header", "form"])


@HOW
def test_a_token_flask_wtf_made_is_accepted(pair: Pair, how: str) -> None:
    token = pair.token()

    assert pair.post(how, token) == ((200, "sent"), (200, "sent"))


@HOW
def test_a_missing_token_is_refused_for_the_same_reason(pair: Pair, how: str) -> None:
    pair.token()

    flask_wtf, portal = pair.post(how, None)

    assert portal == flask_wtf == (400, "The CSRF token is missing.")


@HOW
def test_a_session_without_a_token_is_refused_for_the_same_reason(pair: Pair, how: str) -> None:
    token = pair.token()
    pair.flask_wtf.get("/forget")
    pair.portal.get("/forget")

    flask_wtf, portal = pair.post(how, token)

    assert portal == flask_wtf == (400, "The CSRF session token is missing.")


def _tampered(token: str) -> str:
    """The token with one signature character changed. Not the last: of its six bits only four
    are the signature's, and base64 decoding ignores the other two, so swapping it for a
    character that differs only there (``B`` for ``A``) would change nothing."""
    return token[:-2] + ("A" if token[-2] != "A" else "Q") + token[-1]


def _other_key(token: str) -> str:
    raw = URLSafeTimedSerializer(SECRET, salt=TOKEN_SALT).loads(token)
    return URLSafeTimedSerializer("other" * 13, salt=TOKEN_SALT).dumps(raw)


def _other_salt(token: str) -> str:
    raw = URLSafeTimedSerializer(SECRET, salt=TOKEN_SALT).loads(token)
    return URLSafeTimedSerializer(SECRET, salt="another-salt").dumps(raw)


def _unsigned(token: str) -> str:
    return token.split(".")[0]


@HOW
@pytest.mark.parametrize("forge", [_tampered, _other_key, _other_salt, _unsigned, str.upper])
def test_a_forged_token_is_refused_for_the_same_reason(pair: Pair, how: str, forge: object) -> None:
    token = pair.token()
    assert callable(forge)

    flask_wtf, portal = pair.post(how, forge(token))

    assert portal == flask_wtf == (400, "The CSRF token is invalid.")


@HOW
def test_another_sessions_token_is_refused_for_the_same_reason(pair: Pair, how: str) -> None:
    other = Pair(pair.flask_wtf.application.test_client(), pair.portal.application.test_client())
    stolen = other.token()
    pair.token()

    flask_wtf, portal = pair.post(how, stolen)

    assert portal == flask_wtf == (400, "The CSRF tokens do not match.")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The time itsdangerous signs and checks with, moved by setting ``clock[0]`` (seconds)."""
    offset = [0]
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda _: int(time.time()) + offset[0])
    yield offset


@HOW
@pytest.mark.parametrize(
    ("moved", "answer"),
    [
        (TIME_LIMIT - 5, (200, "sent")),
        (TIME_LIMIT + 5, (400, "The CSRF token has expired.")),
    ],
    ids=["within the limit", "past the limit"],
)
def test_the_tokens_age_is_judged_the_same(
    pair: Pair, clock: list[int], how: str, moved: int, answer: tuple[int, str]
) -> None:
    token = pair.token()
    clock[0] = moved

    flask_wtf, portal = pair.post(how, token)

    assert portal == flask_wtf == answer


@HOW
def test_a_token_signed_in_the_future_is_refused_for_the_same_reason(
    pair: Pair, clock: list[int], how: str
) -> None:
    raw = URLSafeTimedSerializer(SECRET, salt=TOKEN_SALT).loads(pair.token())
    clock[0] = 60
    from_the_future = URLSafeTimedSerializer(SECRET, salt=TOKEN_SALT).dumps(raw)
    clock[0] = 0

    flask_wtf, portal = pair.post(how, from_the_future)

    assert portal == flask_wtf == (400, "The CSRF token has expired.")


def test_a_shorter_time_limit_in_the_settings_is_kept(pair: Pair, clock: list[int]) -> None:
    for client in (pair.flask_wtf, pair.portal):
        client.application.config["WTF_CSRF_TIME_LIMIT"] = 60
    token = pair.token()
    clock[0] = 61

    flask_wtf, portal = pair.post("header", token)

    assert portal == flask_wtf == (400, "The CSRF token has expired.")


def test_a_token_of_a_replaced_secret_key_is_refused() -> None:
    app = _app(PortalCSRFProtect)
    client = app.test_client()
    old_token = client.get("/token").get_data(as_text=True)
    assert client.post("/post", headers={"X-CSRFToken": old_token}).status_code == 200

    app.secret_key = "n" * 64
    # The session cookie was signed with the old key too: start a new one under the new key.
    client = app.test_client()
    client.get("/token")

    refused = client.post("/post", headers={"X-CSRFToken": old_token})
    new_token = client.get("/token").get_data(as_text=True)
    accepted = client.post("/post", headers={"X-CSRFToken": new_token})

    assert (refused.status_code, refused.get_data(as_text=True)) == (
        400,
        "The CSRF token is invalid.",
    )
    assert accepted.status_code == 200


def test_the_token_serializer_is_built_once_for_the_same_key() -> None:
    protect = PortalCSRFProtect()

    first = protect._reader_for(SECRET)

    assert protect._reader_for(SECRET) is first
    assert protect._reader_for("n" * 64) is not first
