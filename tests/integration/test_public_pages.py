"""Public pages over the demo instance: listings, times in two zones, headers, cookies, CSRF."""

import dataclasses
import datetime as dt
import re
import urllib.request
from zoneinfo import ZoneInfo

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import app_database
from portal.models import Dialogue, DialogueSession, DialogueStatus, SessionState
from portal.privacy import FORGOTTEN_ENVIRON_KEYS, ForgetClientDetails
from portal.security import CONTENT_SECURITY_POLICY
from tests.conftest import DemoInstance

BRUSSELS = ZoneInfo("Europe/Brussels")
EXPECTED_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _dialogues(app: Flask) -> list[Dialogue]:
    with Session(app_database(app).engine) as session:
        return list(session.scalars(select(Dialogue)))


def _open_session(app: Flask) -> tuple[Dialogue, DialogueSession]:
    with Session(app_database(app).engine) as session:
        row = session.execute(
            select(Dialogue, DialogueSession)
            .join(DialogueSession)
            .where(DialogueSession.state == SessionState.CONSULTATION_OPEN)
        ).one()
        return row[0], row[1]


def test_csp_is_the_strict_policy() -> None:
    assert CONTENT_SECURITY_POLICY == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def test_index_lists_every_dialogue_with_frozen_ones_marked(demo_app: Flask) -> None:
    response = demo_app.test_client().get("/", headers={"Accept-Language": "de, en;q=0.5"})
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert '<html lang="en" dir="ltr">' in page
    dialogues = _dialogues(demo_app)
    assert {d.status for d in dialogues} == {DialogueStatus.ACTIVE, DialogueStatus.FROZEN}
    for dialogue in dialogues:
        assert dialogue.partner in page
        row = page.split(f'id="dialogue-{dialogue.slug}"')[1].split("</tr>")[0]
        assert ("Frozen" in row) == (dialogue.status is DialogueStatus.FROZEN)
    assert "style=" not in page
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(' src="/static/js/' in tag for tag in scripts)
    assert page.count("</script>") == len(scripts) and "></script>" in page


def test_open_consultation_shows_its_close_in_utc_and_brussels_time(demo_app: Flask) -> None:
    dialogue, session = _open_session(demo_app)
    closes = session.consultation_closes_at
    assert closes is not None and closes.tzinfo is not None
    page = demo_app.test_client().get("/").get_data(as_text=True)
    row = page.split(f'id="dialogue-{dialogue.slug}"')[1].split("</tr>")[0]

    assert "Open" in row
    assert f'datetime="{closes.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"' in row
    assert f"{closes.astimezone(dt.UTC):%H:%M} UTC" in row
    assert f"{closes.astimezone(BRUSSELS):%H:%M} Brussels time" in row


def test_dialogue_page_lists_its_sessions(demo_app: Flask) -> None:
    dialogue, _ = _open_session(demo_app)
    with Session(app_database(demo_app).engine) as session:
        count = len(session.get_one(Dialogue, dialogue.id).sessions)
    client = demo_app.test_client()

    page = client.get(f"/dialogues/{dialogue.slug}").get_data(as_text=True)

    assert dialogue.partner in page
    assert page.count('<tr class="session">') == count >= 2
    assert "Brussels time" in page
    assert client.get("/dialogues/no-such-dialogue").status_code == 404


def test_frozen_dialogue_page_says_so(demo_app: Flask) -> None:
    frozen = next(d for d in _dialogues(demo_app) if d.status is DialogueStatus.FROZEN)

    page = demo_app.test_client().get(f"/dialogues/{frozen.slug}").get_data(as_text=True)

    assert "This dialogue is frozen" in page


def test_healthz_is_minimal(demo_app: Flask) -> None:
    response = demo_app.test_client().get("/healthz")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"


def _every_page(app: Flask, slug: str, session_id: int) -> list[str]:
    """One URL per GET route in the application, plus a page that does not exist."""
    urls = ["/no-such-page"]
    arguments = {
        "slug": slug,
        "session_id": session_id,
        "filename": "css/parley.css",
        "public_id": "A" * 22,
        "language": "en",
        "upload_id": "A" * 22,
        "user_id": 1,
        "item_id": 1,
        "result_id": 1,
        "action_id": 1,
    }
    for rule in app.url_map.iter_rules():
        if rule.methods and "GET" in rule.methods:
            urls.append(rule.build({name: arguments[name] for name in rule.arguments})[1])
    return urls


def test_every_response_carries_the_security_headers(demo_app: Flask) -> None:
    dialogue, dialogue_session = _open_session(demo_app)
    client = demo_app.test_client()
    for url in _every_page(demo_app, dialogue.slug, dialogue_session.id):
        response = client.get(url)
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, (url, name)
        assert "camera=()" in response.headers["Permissions-Policy"]
        assert "Strict-Transport-Security" not in response.headers, url
    refused = client.post("/")
    assert refused.status_code == 405
    assert refused.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_secure_cookie_setting_brings_hsts_and_cookie_flags(demo_instance: DemoInstance) -> None:
    secure_app = create_app(dataclasses.replace(demo_instance.settings, cookie_secure=True))

    response = secure_app.test_client().get("/")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert secure_app.config["SESSION_COOKIE_SECURE"] is True
    assert secure_app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert secure_app.config["SESSION_COOKIE_SAMESITE"] == "Strict"


def test_csrf_protection_is_on(demo_app: Flask) -> None:
    assert isinstance(demo_app.extensions["csrf"], CSRFProtect)
    assert demo_app.config["WTF_CSRF_ENABLED"] is True
    assert demo_app.config.get("WTF_CSRF_CHECK_DEFAULT", True) is True


def test_browser_module_is_served_as_javascript(demo_app: Flask) -> None:
    response = demo_app.test_client().get("/static/js/parley-crypto.mjs")

    assert response.status_code == 200
    assert response.mimetype == "text/javascript"


def test_application_never_sees_client_address_agent_or_referrer() -> None:
    seen: dict[str, object] = {}

    def inner(environ: dict[str, object], start_response: object) -> list[bytes]:
        seen.update(environ)
        return []

    environ = {key: "198.51.100.23" for key in FORGOTTEN_ENVIRON_KEYS}
    environ["PATH_INFO"] = "/"
    ForgetClientDetails(inner)(environ, None)

    assert seen == {"PATH_INFO": "/"}


def test_portal_server_serves_the_demo(portal_server: str) -> None:
    with urllib.request.urlopen(f"{portal_server}/", timeout=10) as response:  # noqa: S310
        page = response.read().decode("utf-8")
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "Republic of Valdoria" in page
