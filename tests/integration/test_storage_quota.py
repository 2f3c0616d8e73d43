"""Storage cannot be exhausted: server-issued submission ids and an atomic storage quota.

A disk-filling client gets fresh issued ids without end, yet is refused once the quota is
reached, and the storage folder never holds more than the quota, even when uploads race for the
last bytes; ids the server did not issue, expired ones and used ones are refused; a refused
request changes no row count and leaves no file. The no-JavaScript form path keeps the same
quota and brings the form back with what was typed.
"""

import dataclasses
import datetime as dt
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crypto
from portal import create_app
from portal.db import app_database
from portal.models import DeletedSubmission, SubmissionKind, Upload, utc_now
from portal.services.contexts import new_public_id
from portal.services.storage_quota import LedgerFigures, ledger_figures, reconcile_ledger
from portal.services.submissions.submission_ids import SubmissionIds
from portal.services.submissions.uploads import purge_expired_uploads
from portal.settings import Settings
from portal.storage import EncryptedStorage
from portal.web.instance import web_instance
from tests.conftest import (
    BACKENDS,
    DemoInstance,
    csrf_token_for,
    database_for,
    issued_submission_id,
    portal_environment,
    run_portal,
    settings_from,
)
from tests.integration.forms_client import (
    HIDDEN,
    case_fields,
    open_form,
    open_session_url,
    post_form,
    row_counts,
    storage_listing,
)

PADDED_FILE = 65_536  # the smallest size bucket (crypto.file_padding)
FILE_CIPHERTEXT = crypto.encrypted_size(PADDED_FILE)
FILES_IN_QUOTA = 10
# Room for ten files and half of an eleventh: the eleventh must be refused.
QUOTA = FILES_IN_QUOTA * FILE_CIPHERTEXT + FILE_CIPHERTEXT // 2
RACERS = 8
THREAD_TIMEOUT_SECONDS = 60


@pytest.fixture(params=BACKENDS)
def quota_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    """A fresh, empty instance for each test whose quota holds exactly ``FILES_IN_QUOTA`` files."""
    with database_for(request.param, tmp_path) as url:
        environment = portal_environment(tmp_path / "instance", url)
        result = run_portal(environment, "init")
        assert result.exit_code == 0, result.output
        yield dataclasses.replace(
            settings_from(environment),
            storage_quota_bytes=QUOTA,
            unclaimed_quota_bytes=QUOTA,
            max_upload_bytes=PADDED_FILE,
        )


@pytest.fixture
def quota_app(quota_settings: Settings) -> Flask:
    return create_app(quota_settings)


@pytest.fixture(scope="module")
def ciphertext() -> bytes:
    """One padded file, encrypted as the form's script encrypts it."""
    encryptor = crypto.StreamEncryptor(crypto.new_file_key())
    return encryptor.header + encryptor.update(bytes(PADDED_FILE)) + encryptor.finalize()


def _client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token_for(client)
    return client


def _storage_dir(app: Flask) -> Path:
    return web_instance(app).storage.root


def _folder_bytes(app: Flask) -> int:
    return sum(path.stat().st_size for path in _storage_dir(app).iterdir())


def _folder(app: Flask) -> dict[str, int]:
    return {path.name: path.stat().st_size for path in _storage_dir(app).iterdir()}


def _upload_rows(app: Flask) -> int:
    with Session(app_database(app).engine) as session:
        return session.scalar(select(func.count()).select_from(Upload)) or 0


def _ledger(app: Flask) -> LedgerFigures:
    with Session(app_database(app).engine) as session:
        return ledger_figures(session)


def _create(client: FlaskClient, submission: str, size: int = FILE_CIPHERTEXT) -> Any:
    return client.post("/uploads", json={"submission": submission, "size": size})


def _send_whole(client: FlaskClient, created: dict[str, Any], ciphertext: bytes) -> None:
    headers = {"X-Upload-Token": created["token"]}
    put = client.put(f"/uploads/{created['upload']}?offset=0", data=ciphertext, headers=headers)
    assert put.status_code == 200, put.get_json()
    done = client.post(f"/uploads/{created['upload']}/complete", headers=headers)
    assert done.status_code == 200, done.get_json()


def _assert_refused(response: Any, status: int, message: str) -> None:
    assert response.status_code == status
    assert response.is_json
    assert message in response.get_json()["error"]


# --- the upload API ----------------------------------------------------------------------------


def test_a_disk_filling_client_is_refused_once_the_quota_is_reached(
    quota_app: Flask, ciphertext: bytes
) -> None:
    client = _client(quota_app)
    accepted = 0
    for _ in range(FILES_IN_QUOTA):
        created = _create(client, issued_submission_id(quota_app))
        assert created.status_code == 201, created.get_json()
        _send_whole(client, created.get_json(), ciphertext)
        accepted += 1
        assert _folder_bytes(quota_app) <= QUOTA

    for _ in range(20):  # a fresh issued id each time changes nothing
        rows, files = _upload_rows(quota_app), _folder(quota_app)
        refused = _create(client, issued_submission_id(quota_app))
        _assert_refused(refused, 507, "cannot take more files")
        assert (_upload_rows(quota_app), _folder(quota_app)) == (rows, files)

    assert accepted == FILES_IN_QUOTA
    assert _folder_bytes(quota_app) == FILES_IN_QUOTA * FILE_CIPHERTEXT <= QUOTA
    assert _ledger(quota_app) == LedgerFigures(_folder_bytes(quota_app), _folder_bytes(quota_app))


def test_uploads_racing_for_the_last_bytes_never_pass_the_quota(
    quota_app: Flask, ciphertext: bytes
) -> None:
    client = _client(quota_app)
    for _ in range(FILES_IN_QUOTA - 2):
        created = _create(client, issued_submission_id(quota_app))
        _send_whole(client, created.get_json(), ciphertext)
    racers = [_client(quota_app) for _ in range(RACERS)]
    ids = [issued_submission_id(quota_app) for _ in range(RACERS)]
    start = threading.Barrier(RACERS)
    answers: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def race(racer: FlaskClient, submission: str) -> None:
        start.wait(timeout=THREAD_TIMEOUT_SECONDS)
        response = _create(racer, submission)
        with lock:
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=race, args=pair) for pair in zip(racers, ids, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT_SECONDS)
    assert not any(thread.is_alive() for thread in threads)

    statuses = sorted(status for status, _ in answers)
    assert statuses == [201, 201] + [507] * (RACERS - 2)
    for status, answer in answers:
        if status == 201:
            _send_whole(client, answer, ciphertext)
    assert _upload_rows(quota_app) == FILES_IN_QUOTA
    assert _folder_bytes(quota_app) == FILES_IN_QUOTA * FILE_CIPHERTEXT <= QUOTA


def test_an_abandoned_upload_gives_its_room_back(quota_app: Flask, ciphertext: bytes) -> None:
    client = _client(quota_app)
    created = [_create(client, issued_submission_id(quota_app)) for _ in range(FILES_IN_QUOTA)]
    assert [answer.status_code for answer in created] == [201] * FILES_IN_QUOTA
    assert _create(client, issued_submission_id(quota_app)).status_code == 507

    first = created[0].get_json()
    gone = client.delete(f"/uploads/{first['upload']}", headers={"X-Upload-Token": first["token"]})

    assert gone.status_code == 204
    assert _create(client, issued_submission_id(quota_app)).status_code == 201
    assert _ledger(quota_app).used_bytes == FILES_IN_QUOTA * FILE_CIPHERTEXT


def test_unclaimed_uploads_have_a_cap_of_their_own(quota_settings: Settings) -> None:
    settings = dataclasses.replace(
        quota_settings, storage_quota_bytes=100 * QUOTA, unclaimed_quota_bytes=3 * FILE_CIPHERTEXT
    )
    app = create_app(settings)
    client = _client(app)

    statuses = [_create(client, issued_submission_id(app)).status_code for _ in range(4)]

    assert statuses == [201, 201, 201, 507]
    assert _ledger(app) == LedgerFigures(3 * FILE_CIPHERTEXT, 3 * FILE_CIPHERTEXT)


def test_ids_the_server_did_not_issue_or_that_expired_are_refused(quota_app: Flask) -> None:
    client = _client(quota_app)
    issuer = web_instance(quota_app).submission_ids
    now = utc_now()
    elsewhere = SubmissionIds.of_instance(crypto.new_symmetric_key(), issuer.lifetime_hours)
    refused_ids = {
        "random": new_public_id(),
        "made up": "x" * 22,
        "not an id": "../../etc/passwd",
        "another instance's": elsewhere.issue(now),
        "expired": issuer.issue(now - dt.timedelta(hours=issuer.lifetime_hours + 2)),
    }
    rows, files, ledger = _upload_rows(quota_app), _folder(quota_app), _ledger(quota_app)

    for name, submission in refused_ids.items():
        response = _create(client, submission)
        assert response.status_code == 410, name
        assert "this form has expired" in response.get_json()["error"]

    assert _create(client, issuer.issue(now - dt.timedelta(hours=1))).status_code == 201
    assert (_upload_rows(quota_app), _ledger(quota_app).used_bytes) == (
        rows + 1,
        ledger.used_bytes + FILE_CIPHERTEXT,
    )
    assert len(_folder(quota_app)) == len(files) + 1


def test_an_id_a_submission_took_is_refused(quota_app: Flask) -> None:
    client = _client(quota_app)
    taken = issued_submission_id(quota_app)
    with Session(app_database(quota_app).engine) as session:
        session.add(
            DeletedSubmission(
                public_id=taken,
                owner_tag=bytes(32),
                kind=SubmissionKind.REPRISAL_REPORT,
                deleted_on=utc_now().date(),
            )
        )
        session.commit()

    response = _create(client, taken)

    assert response.status_code == 400
    assert "already been sent" in response.get_json()["error"]
    assert (_upload_rows(quota_app), _folder(quota_app)) == (0, {})


# --- the ledger against the facts --------------------------------------------------------------


def test_purging_and_reconciling_bring_the_ledger_back_to_the_facts(
    quota_app: Flask, ciphertext: bytes
) -> None:
    client = _client(quota_app)
    for _ in range(3):
        created = _create(client, issued_submission_id(quota_app))
        _send_whole(client, created.get_json(), ciphertext)
    storage = EncryptedStorage(_storage_dir(quota_app))
    (_storage_dir(quota_app) / "stray").write_bytes(bytes(1000))
    (_storage_dir(quota_app) / ".partial-left-by-a-crash").write_bytes(bytes(300))

    with Session(app_database(quota_app).engine) as session:
        assert reconcile_ledger(session, storage) == LedgerFigures(
            3 * FILE_CIPHERTEXT + 1300, 3 * FILE_CIPHERTEXT + 300
        )
        purged = purge_expired_uploads(session, storage, utc_now() + dt.timedelta(days=2))
        assert purged == 3
        assert ledger_figures(session) == LedgerFigures(1300, 300)
        assert reconcile_ledger(session, storage) == LedgerFigures(1300, 300)
    assert _folder_bytes(quota_app) == 1300


# --- the form without JavaScript ---------------------------------------------------------------


def _app_with_room(instance: DemoInstance, room: int) -> Flask:
    """The demo portal with ``room`` bytes left under its quota as it stands."""
    app = create_app(instance.settings)
    with Session(app_database(app).engine) as session:
        used = reconcile_ledger(session, EncryptedStorage(_storage_dir(app))).used_bytes
    settings = dataclasses.replace(
        instance.settings,
        storage_quota_bytes=used + room,
        unclaimed_quota_bytes=used + room,
        max_upload_bytes=min(instance.settings.max_upload_bytes, used + room),
    )
    return create_app(settings)


def test_each_form_page_carries_a_fresh_issued_id(app: Flask, client: FlaskClient) -> None:
    url = open_session_url(app, "individual-case")
    first, second = open_form(client, url), open_form(client, url)
    issuer = web_instance(app).submission_ids

    assert first.hidden["public_id"] != second.hidden["public_id"]
    assert issuer.is_live(first.hidden["public_id"], utc_now())
    assert issuer.is_live(second.hidden["public_id"], utc_now())


@pytest.mark.parametrize("posted_id", ["self-chosen", "expired"])
def test_a_form_sent_under_an_unusable_id_comes_back_with_a_fresh_one_and_the_text(
    app: Flask, client: FlaskClient, writable_demo_instance: DemoInstance, posted_id: str
) -> None:
    issuer = web_instance(app).submission_ids
    form = open_form(client, open_session_url(app, "individual-case"))
    form.hidden["public_id"] = (
        new_public_id()
        if posted_id == "self-chosen"
        else issuer.issue(utc_now() - dt.timedelta(hours=issuer.lifetime_hours + 2))
    )
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)

    status, html = post_form(client, form, case_fields("kept-123"))

    assert status == 400
    assert "for your safety it expired" in html
    assert 'value="name kept-123"' in html
    fresh = dict(HIDDEN.findall(html))["public_id"]
    assert fresh != form.hidden["public_id"]
    assert issuer.is_live(fresh, utc_now())
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before


def test_a_form_whose_files_find_no_room_comes_back_and_leaves_nothing(
    writable_demo_instance: DemoInstance,
) -> None:
    app = _app_with_room(writable_demo_instance, 200_000)
    client = app.test_client()
    form = open_form(client, open_session_url(app, "individual-case"))
    before, files_before = row_counts(app), storage_listing(writable_demo_instance)
    ledger_before = _ledger(app)

    status, html = post_form(
        client,
        form,
        {
            **case_fields("full"),
            "attachments": [(io.BytesIO(b"f" * 300_000), "evidence.pdf")],
        },
    )

    assert status == 507
    assert "The portal cannot take more files right now" in html
    assert 'value="name full"' in html
    assert row_counts(app) == before
    assert storage_listing(writable_demo_instance) == files_before
    assert _ledger(app) == ledger_before


def test_a_full_storage_still_takes_forms_without_files_and_counts_files_that_fit(
    writable_demo_instance: DemoInstance,
) -> None:
    full = _app_with_room(writable_demo_instance, 0)
    client = full.test_client()
    status, html = post_form(
        client, open_form(client, open_session_url(full, "individual-case")), case_fields("text")
    )
    assert status == 200, html

    roomy = _app_with_room(writable_demo_instance, 10 * 1024 * 1024)
    client = roomy.test_client()
    files_before = _folder(roomy)
    status, html = post_form(
        client,
        open_form(client, open_session_url(roomy, "individual-case")),
        {**case_fields("file"), "attachments": [(io.BytesIO(b"g" * 100_000), "fits.pdf")]},
    )
    assert status == 200, html
    [added] = set(_folder(roomy)) - set(files_before)
    with Session(app_database(roomy).engine) as session:
        counted = ledger_figures(session)
        assert reconcile_ledger(session, EncryptedStorage(_storage_dir(roomy))) == counted
    assert _folder(roomy)[added] > 100_000
