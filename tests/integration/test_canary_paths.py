"""Acceptance 2, the two places the other canary tests do not reach.

``test_forms_attachments`` sends a canary through the no-JavaScript form in the Flask test
client, so nothing proves that `portal serve`'s own access and error logs stay clean; and no test
looks through the PostgreSQL tables after the JavaScript path's endpoint. Here the real
`portal serve` (gunicorn) takes a canary typed into every field and into an attachment's name
and content over HTTP, and the sealed endpoint takes envelopes holding the canary on SQLite and
PostgreSQL. Each test first proves the canary did arrive (opened with the desk key), so a
submission that silently went nowhere cannot pass.
"""

import base64
import html
import http.cookiejar
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import crypto
from portal import create_app
from portal.models import SubmissionKind
from portal.services.submissions.payload import encode_payload
from portal.services.submissions.provenance import signatures_block
from tests.canary_scan import files_holding, instance_files, tables_holding
from tests.conftest import DemoInstance, create_demo_instance, sqlite_files
from tests.integration.forms_client import (
    HIDDEN,
    codename_in,
    desk_private_key,
    open_payload,
    open_session_url,
    stored_submission,
)
from tests.integration.test_forms_sealed import (
    DATA_ATTRIBUTE,
    SEALED_URL,
    post_sealed,
    seal_in_browser,
    signed_again,
)
from tests.integration.test_serve import free_port, serve_environment, wait_until_up

BOUNDARY = "parley-canary-boundary-9c2e"


def _holders(instance: DemoInstance, needle: bytes) -> list[Path]:
    """The files holding ``needle`` on the instance's disk (see ``tests.canary_scan``)."""
    database_files = sqlite_files(instance.settings.database_url)
    if database_files:  # the test's app holds a connection open, so the log is there to read
        assert any(path.name.endswith("-wal") for path in database_files), database_files
    return files_holding(instance_files(instance.settings), needle)


def _multipart(fields: dict[str, str], file_name: str, content: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '
        f'filename="{file_name}"\r\nContent-Type: text/plain\r\n\r\n'.encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def test_portal_serve_takes_a_plain_canary_and_keeps_it_nowhere(tmp_path: Path) -> None:
    """The no-JavaScript form over real HTTP to gunicorn: logs, folder and SQLite stay clean."""
    canary = f"CANARY-{uuid.uuid4().hex[:12]}-serve"
    instance = create_demo_instance(tmp_path)
    app = create_app(instance.settings)
    form_path = open_session_url(app, "individual-case")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port), "--workers", "1"],
            env=serve_environment(Path(instance.settings.instance_dir)),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_up(port, server)
            with opener.open(base + form_path, timeout=30) as page:
                hidden = dict(HIDDEN.findall(page.read().decode()))
            fields = {
                **{name: html.unescape(value) for name, value in hidden.items()},
                "situation": f"situation {canary}",
                "place": f"place {canary}",
                "dates": f"dates {canary}",
                "relation_to_person": f"relation {canary}",
                "earlier_referrals": f"referrals {canary}",
                "persons.0.name": f"name {canary}",
                "persons.0.consent.level": "internal_only",
                "persons.0.consent.given_by": "person",
                "persons.0.consent.risks_explained": "yes",
            }
            content = f"attachment {canary}\n".encode() * 1000
            request = urllib.request.Request(  # noqa: S310 - our own http:// address
                base + form_path,
                data=_multipart(fields, f"{canary}.txt", content),
                headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
                method="POST",
            )
            with opener.open(request, timeout=60) as answer:
                assert answer.status == 200
                codename = codename_in(answer.read().decode())
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)

    submission = stored_submission(app, hidden["public_id"])
    payload = open_payload(submission, desk_private_key(app, instance, "valdoria"))
    assert payload["situation"] == f"situation {canary}"
    key_seed = crypto.derive_codename_secrets(codename).key_seed
    own_key = crypto.derive_submission_keys(key_seed, submission.public_id)
    assert open_payload(submission, own_key.private_key())
    logs = log_path.read_text(encoding="utf-8")
    # The access log names the route, not the path with its slug and session number.
    form_rule = "/dialogues/<slug>/sessions/<int:session_id>/individual-case"
    assert f"POST {form_rule} HTTP/1.1" in logs, "the access log saw the post"
    assert canary not in logs
    assert _holders(instance, canary.encode()) == []
    assert tables_holding(app, canary) == []


def test_sealed_canary_is_in_no_table_and_no_file(writable_demo_instance: DemoInstance) -> None:
    """The JavaScript path's endpoint on SQLite and PostgreSQL: every row of every table."""
    canary = f"CANARY-{uuid.uuid4().hex[:12]}-sealed"
    app = create_app(writable_demo_instance.settings)
    with app.test_client() as client:
        sent = seal_in_browser(
            client, open_session_url(app, "individual-case"), SubmissionKind.INDIVIDUAL_CASE
        )
        attributes = DATA_ATTRIBUTE.findall(sent.form.html)
        data = {name: html.unescape(value) for name, value in attributes}
        payload = {
            **sent.payload,
            "situation": f"situation {canary}",
            "relation_to_person": f"relation {canary}",
            "persons": [{**sent.payload["persons"][0], "name": f"name {canary}"}],
            "signatures": signatures_block(
                base64.b64decode(sent.body["signing_key"]),
                bytes.fromhex(data["desk-signing-key"]),
                bytes.fromhex(data["recovery-signing-key"]) or None,
            ),
        }
        own_key = base64.b64decode(sent.body["submission_key"])
        envelope = crypto.seal_envelope(
            encode_payload(payload), [bytes.fromhex(data["desk-key"]), own_key], data["context"]
        )
        signed_again(sent, envelope)
        status, answer = post_sealed(client, sent)
    assert status == 200, (SEALED_URL, answer)

    submission = stored_submission(app, sent.form.hidden["public_id"])
    opened = open_payload(submission, desk_private_key(app, writable_demo_instance, "valdoria"))
    assert opened["persons"][0]["name"] == f"name {canary}"
    assert tables_holding(app, canary) == []
    assert _holders(writable_demo_instance, canary.encode()) == []
