"""Bundles for offline review: export holds only ciphertext; offline decryption is all or nothing.

Service-level tests on both databases (``consultation_world``): a submission with further
information, a note, a desk message and an attachment is exported, searched for its canary
(inside the deflated manifest too), and decrypted with the recovery key and with the desk key;
tampered bundles and wrong keys are refused without leaving an output folder.
"""

import ast
import base64
import io
import json
import secrets
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from crypto.keys import export_desk_key
from portal import create_app
from portal.db import app_database
from portal.models import (
    AuditEvent,
    DeskMessage,
    MessageAuthor,
    NamedMember,
    RiskLevel,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    TriageNote,
)
from portal.services.bundles.export import write_bundle
from portal.services.bundles.manifest import MANIFEST_NAME, BundleError
from portal.services.bundles.offline import decrypt_bundle, read_offline_key, safe_file_name
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    new_public_id,
    recipient_keys,
    signed_attachment_keys_context,
    signed_desk_message_context,
)
from portal.services.desks.keys import open_desk_key_grant
from portal.services.desks.review_mode import switch_to_offline
from portal.services.staff.notes import seal_signed_note
from portal.services.submissions.attachments import EncryptingUpload, UploadBudget, attach_file
from portal.services.submissions.inbox import add_plain_further_information
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.submitters import register_new_codename
from portal.storage import EncryptedStorage
from tests.conftest import ConsultationWorld, DemoInstance, csrf_token_for
from tests.intake_support import TEST_SUBMISSION_IDS, staging_room
from tests.staff_sessions_support import demo_credentials, sign_in_client

CANARY = "CANARY-b7e21d-offline-bundle"


def _case_form(marker: str) -> dict:
    return {
        "topics": ["human_rights_defenders"],
        "persons": [
            {
                "name": f"name {marker}",
                "consent": {
                    "level": "internal_only",
                    "given_by": "person",
                    "risks_explained": True,
                },
            }
        ],
        "situation": f"situation {marker}",
        "relation_to_person": "colleague",
    }


def _author(world: ConsultationWorld) -> StaffUser:
    user = StaffUser(
        email=f"{secrets.token_hex(4)}@example.invalid",
        display_name="Desk Author",
        role=StaffRole.TRIAGE_OFFICER,
        login_hash="x",
        personal_public_key=crypto.public_key_bytes(crypto.generate_private_key()),
        personal_private_key_wrapped=b"x",
        totp_secret_sealed=None,
        must_change_passphrase=False,
        active=True,
    )
    world.session.add(user)
    world.session.flush()
    return user


# The codename keys of the submissions ``_send`` made, for tests that add to them later.
_SECRETS: dict[str, crypto.CodenameSecrets] = {}


def _send(world: ConsultationWorld, marker: str, content: bytes) -> Submission:
    """A case with further information, an attachment, a note and a desk message."""
    new = register_new_codename(world.session, world.pepper, language="en", today=world.now.date())
    submission = accept_plain_submission(
        world.session,
        address=submission_address(
            world.session,
            dialogue=world.dialogue,
            dialogue_session=world.dialogue_session,
            kind=SubmissionKind.INDIVIDUAL_CASE,
            public_id=TEST_SUBMISSION_IDS.issue(world.now),
            ids=TEST_SUBMISSION_IDS,
            now=world.now,
        ),
        submitter_key=new.secrets,
        form=_case_form(marker),
        today=world.now.date(),
    )
    add_plain_further_information(
        world.session, submission, new.secrets, {"text": f"more {marker}"}, today=world.now.date()
    )
    upload = EncryptingUpload(
        world.session,
        EncryptedStorage(world.storage_dir),
        UploadBudget(),
        staging_room(world.session, EncryptedStorage(world.storage_dir)),
    )
    for offset in range(0, len(content), 10_000):
        upload.write(content[offset : offset + 10_000])
    attach_file(
        world.session,
        submission,
        upload.finish(),
        new.secrets,
        file_name=f"../{marker}/scan\x00.pdf",
        content_type="application/pdf",
    )
    author = _author(world)
    note = TriageNote(
        submission_id=submission.id,
        author_id=author.id,
        desk_key_id=submission.desk_key_id,
        envelope=b"",
        position=1,
    )
    world.session.add(note)
    world.session.flush()
    seal_signed_note(
        note,
        submission,
        f"note {marker}",
        desk_private_key=_desk_private_key(world, submission),
        personal_key=crypto.generate_private_key(),
    )
    message_id = new_public_id()
    context = signed_desk_message_context(
        SubmissionAddress.of(submission), message_id, 1, Direction.TO_SUBMITTER
    )
    envelope = crypto.seal_envelope(
        json.dumps({"text": f"message {marker}"}).encode(),
        recipient_keys(submission.desk_key, submission.submitter_public_key),
        context,
    )
    submission.messages.append(
        DeskMessage(
            public_id=message_id,
            written_by=MessageAuthor.DESK,
            author_id=author.id,
            desk_key_id=submission.desk_key_id,
            sent_on=world.now.date(),
            envelope=envelope,
            position=1,
            signature=crypto.sign_item(
                crypto.desk_signing_seed(_desk_private_key(world, submission)), context, envelope
            ),
        )
    )
    world.session.commit()
    _SECRETS[submission.public_id] = new.secrets
    return submission


def _export(world: ConsultationWorld, **options) -> bytes:
    out = io.BytesIO()
    write_bundle(
        world.session,
        EncryptedStorage(world.storage_dir),
        world.dialogue,
        out,
        today=world.now.date(),
        **options,
    )
    world.session.commit()
    return out.getvalue()


def _write(tmp_path: Path, data: bytes, name: str = "bundle.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _desk_private_key(world: ConsultationWorld, submission: Submission) -> crypto.PrivateKey:
    """The private half of the desk key ``submission`` is sealed to, through its recovery grant."""
    [grant] = [g for g in submission.desk_key.grants if g.recovery_key_id is not None]
    return open_desk_key_grant(grant, world.recovery_private_key)


def _recovery(world: ConsultationWorld):
    return read_offline_key(crypto.export_recovery_key(world.recovery_private_key))


def _entries(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _check_output(
    folder: Path, submission: Submission, content: bytes, *, names: str = "open"
) -> None:
    """``names`` says whether the persons' names open here (the recovery key) or stay sealed
    (a desk key file, which does not open the identity key)."""
    assert folder.stat().st_mode & 0o777 == 0o700
    index = json.loads((folder / "index.json").read_text())
    assert [item["public_id"] for item in index["submissions"]] == [submission.public_id]
    one = folder / submission.public_id
    opened = json.loads((one / "submission.json").read_text())
    assert opened["kind"] == "individual_case" and opened["state"] == "received"
    assert opened["names"] == names
    person = opened["payload"]["persons"][0]
    assert person.get("name") == (f"name {CANARY}" if names == "open" else None)
    further = json.loads((one / "further_information.json").read_text())
    assert further[0]["payload"]["text"] == f"more {CANARY}"
    assert json.loads((one / "consent_changes.json").read_text()) == []
    notes = json.loads((one / "notes.json").read_text())
    assert notes[0]["payload"]["text"] == f"note {CANARY}" and notes[0]["author"] == "Desk Author"
    assert notes[0]["provenance"] == "signed"
    messages = json.loads((one / "messages.json").read_text())
    assert messages[0]["payload"]["text"] == f"message {CANARY}"
    [attachment] = list((one / "attachments").iterdir())
    assert attachment.name == "01-scan_.pdf"
    assert attachment.read_bytes() == content
    skipped = json.loads((folder / "skipped.json").read_text())
    assert skipped == (
        []
        if names == "open"
        else [
            {
                "item": f"the names of submission {submission.public_id}",
                "identity_key_id": submission.identity.identity_key.key_id.hex(),
            }
        ]
    )


def test_a_bundle_holds_no_plaintext_and_opens_with_the_recovery_key(
    consultation_world: ConsultationWorld, tmp_path: Path
) -> None:
    world = consultation_world
    content = (f"file {CANARY}\n" * 20_000).encode()
    submission = _send(world, CANARY, content)

    data = _export(world)

    entries = _entries(data)
    assert CANARY.encode() not in data
    assert all(CANARY.encode() not in value for value in entries.values())
    manifest = json.loads(entries[MANIFEST_NAME])
    assert manifest["format"] == "parley-bundle-v3" and manifest["dialogue"] == "valdoria"
    assert manifest["recovery_key_id"] == world.recovery_key.key_id.hex()
    [entry] = manifest["submissions"]
    assert entry["public_id"] == submission.public_id
    assert entry["desk_key_id"] == world.desk_key.key_id.hex()
    assert f"attachments/{submission.attachments[0].storage_name}" in entries
    event = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "bundle.exported")
    ).one()
    assert event.details == {
        "session": None,
        "submissions": 1,
        "attachments": 1,
        "desk_keys": 1,
        "via": "cli",
    }

    out = tmp_path / "opened"
    summary = decrypt_bundle(_write(tmp_path, data), out, _recovery(world))

    assert (summary.submissions, summary.attachments, summary.skipped) == (1, 1, 0)
    _check_output(out, submission, content)


def test_a_bundle_opens_with_the_desk_key_into_an_empty_folder(
    consultation_world: ConsultationWorld, tmp_path: Path
) -> None:
    world = consultation_world
    content = secrets.token_bytes(150_000)
    submission = _send(world, CANARY, content)
    out = tmp_path / "empty"
    out.mkdir()

    key = read_offline_key(export_desk_key(world.desk_private_key))
    decrypt_bundle(_write(tmp_path, _export(world)), out, key)

    _check_output(out, submission, content, names="sealed")


def test_a_session_filter_leaves_out_other_sessions(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    _send(world, CANARY, b"x")
    other = world.dialogue_session.id + 1000

    with pytest.raises(BundleError, match="not a session"):
        _export(world, session_id=other)
    manifest = json.loads(
        _entries(_export(world, session_id=world.dialogue_session.id))[MANIFEST_NAME]
    )

    assert manifest["session"] == world.dialogue_session.id
    assert len(manifest["submissions"]) == 1


def _refused(path: Path, out: Path, key, match: str) -> None:
    with pytest.raises(BundleError, match=match):
        decrypt_bundle(path, out, key)
    assert not out.exists()
    assert [item.name for item in out.parent.iterdir() if item.name.startswith(".")] == []


def test_a_tampered_envelope_or_file_is_refused_leaving_nothing(
    consultation_world: ConsultationWorld, tmp_path: Path
) -> None:
    world = consultation_world
    submission = _send(world, CANARY, secrets.token_bytes(100_000))
    entries = _entries(_export(world))
    manifest = json.loads(entries[MANIFEST_NAME])

    further = manifest["submissions"][0]["further_information"][0]
    envelope = bytearray(base64.b64decode(further["envelope"]))
    envelope[-1] ^= 1
    further["envelope"] = base64.b64encode(bytes(envelope)).decode()
    tampered = {**entries, MANIFEST_NAME: json.dumps(manifest).encode()}
    _refused(
        _write(tmp_path, _rezip(tampered), "a.zip"),
        tmp_path / "out-a",
        _recovery(world),
        "further information 0 .* could not be verified",
    )

    name = f"attachments/{submission.attachments[0].storage_name}"
    cut = {**entries, name: entries[name][:-100]}
    _refused(
        _write(tmp_path, _rezip(cut), "b.zip"),
        tmp_path / "out-b",
        _recovery(world),
        "does not decrypt",
    )

    swapped = json.loads(entries[MANIFEST_NAME])
    swapped["submissions"][0]["kind"] = "agenda_input"
    _refused(
        _write(tmp_path, _rezip({**entries, MANIFEST_NAME: json.dumps(swapped).encode()}), "c.zip"),
        tmp_path / "out-c",
        _recovery(world),
        "does not open",
    )

    _refused(_write(tmp_path, b"not a zip", "d.zip"), tmp_path / "out-d", _recovery(world), "not a")

    reattributed = json.loads(entries[MANIFEST_NAME])
    reattributed["submissions"][0]["notes"][0]["author_id"] += 1
    _refused(
        _write(
            tmp_path, _rezip({**entries, MANIFEST_NAME: json.dumps(reattributed).encode()}), "e.zip"
        ),
        tmp_path / "out-e",
        _recovery(world),
        "note 0 .* could not be verified",
    )


def test_a_wrong_key_is_refused(consultation_world: ConsultationWorld, tmp_path: Path) -> None:
    world = consultation_world
    _send(world, CANARY, b"content")
    path = _write(tmp_path, _export(world))

    other_recovery = read_offline_key(crypto.export_recovery_key(crypto.generate_private_key()))
    _refused(path, tmp_path / "out-a", other_recovery, "not the one")
    other_desk = read_offline_key(export_desk_key(crypto.generate_private_key()))
    _refused(path, tmp_path / "out-b", other_desk, "not one of the bundle's desk keys")
    with pytest.raises(BundleError, match="recovery key"):
        read_offline_key("parley-something-else")
    text = export_desk_key(crypto.generate_private_key())
    mistyped = text[:-1] + ("1" if text[-1] == "0" else "0")
    with pytest.raises(BundleError, match="checksum"):
        read_offline_key(mistyped)


def test_the_offline_desk_key_skips_what_older_keys_sealed(
    consultation_world: ConsultationWorld, tmp_path: Path
) -> None:
    world = consultation_world
    old = _send(world, "old", b"old file")
    switch = switch_to_offline(world.session, world.dialogue)
    world.session.commit()
    new = _send(world, CANARY, b"new file")
    path = _write(tmp_path, _export(world))

    out = tmp_path / "desk"
    summary = decrypt_bundle(path, out, read_offline_key(export_desk_key(switch.new_private_key)))

    assert (summary.submissions, summary.attachments) == (2, 1)
    skipped = json.loads((out / "skipped.json").read_text())
    assert {item.get("desk_key_id") for item in skipped} == {world.desk_key.key_id.hex(), None}
    # The names of the new submission too: a desk key file does not open the identity key.
    assert {item.get("identity_key_id") for item in skipped} - {None} == {
        new.identity.identity_key.key_id.hex()
    }
    assert json.loads((out / old.public_id / "submission.json").read_text())["payload"] is None
    assert (out / new.public_id / "attachments" / "01-scan_.pdf").read_bytes() == b"new file"

    everything = tmp_path / "recovery"
    summary = decrypt_bundle(path, everything, _recovery(world))
    assert (summary.submissions, summary.attachments, summary.skipped) == (2, 2, 0)


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\x\\photo.jpg", "photo.jpg"),
        (".hidden", "hidden"),
        ("a\x00b\nc.txt", "a_b_c.txt"),
        ("", "attachment"),
        ("..", "attachment"),
        ("Доклад.docx", "Доклад.docx"),
        ("x" * 300 + ".pdf", "x" * 96 + ".pdf"),
    ],
)
def test_attachment_names_are_made_safe(name: str, safe: str) -> None:
    assert safe_file_name(name) == safe


# --- the staff page ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def export_app(writable_demo_instance: DemoInstance) -> Flask:
    return create_app(writable_demo_instance.settings)


def _signed_in(app: Flask, instance: DemoInstance, role: str) -> FlaskClient:
    account = demo_credentials(instance.credentials_file)[role]
    client = app.test_client()
    sign_in_client(app, client, account.email, account.password)
    return client


def test_a_desk_member_downloads_the_bundle_of_their_dialogue(
    export_app: Flask, writable_demo_instance: DemoInstance
) -> None:
    client = _signed_in(export_app, writable_demo_instance, "triage_officer")
    page = client.get("/staff/dialogues/valdoria/export")
    assert page.status_code == 200
    assert "portal decrypt" in page.text

    response = client.post(
        "/staff/dialogues/valdoria/export", data={"csrf_token": csrf_token_for(client)}
    )

    assert response.status_code == 200, response.text
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    manifest = json.loads(_entries(response.get_data())[MANIFEST_NAME])
    assert manifest["dialogue"] == "valdoria" and manifest["format"] == "parley-bundle-v3"
    with export_app.app_context(), app_database(export_app).session() as session:
        event = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == "bundle.exported")
            .order_by(AuditEvent.sequence.desc())
        ).first()
        assert event is not None and event.details["via"] == "web"
        assert event.actor_staff_user_id is not None
    refused = client.post(
        "/staff/dialogues/valdoria/export",
        data={"csrf_token": csrf_token_for(client), "session": "999999"},
    )
    assert refused.status_code == 400


@pytest.mark.parametrize(
    ("role", "slug", "status"),
    [
        ("administrator", "valdoria", 403),
        ("observer", "valdoria", 403),
        ("triage_officer", "northvale", 403),
        ("co_chair", "coral-straits", 403),
        ("triage_officer", "no-such-dialogue", 404),
    ],
)
def test_anyone_off_the_desk_is_refused(
    export_app: Flask, writable_demo_instance: DemoInstance, role: str, slug: str, status: int
) -> None:
    client = _signed_in(export_app, writable_demo_instance, role)
    assert client.get(f"/staff/dialogues/{slug}/export").status_code == status
    posted = client.post(
        f"/staff/dialogues/{slug}/export", data={"csrf_token": csrf_token_for(client)}
    )
    assert posted.status_code == status


def test_signed_out_goes_to_sign_in(export_app: Flask) -> None:
    response = export_app.test_client().get("/staff/dialogues/valdoria/export")
    assert response.status_code == 302


REPRISAL_FORM = {
    "what_happened": f"what {CANARY}",
    "when": "last week",
    "link_to_engagement": "spoke at the civil society seminar",
    "urgency": "standard",
    "persons": [],
}


def test_a_web_bundle_leaves_out_what_the_member_may_not_read(
    export_app: Flask, writable_demo_instance: DemoInstance, send_under_new_codename
) -> None:
    sent = send_under_new_codename(
        writable_demo_instance.settings, SubmissionKind.REPRISAL_REPORT, REPRISAL_FORM
    )
    co_chair = demo_credentials(writable_demo_instance.credentials_file)["co_chair"]
    with export_app.app_context(), app_database(export_app).session() as session:
        submission = session.scalars(
            select(Submission).where(Submission.public_id == sent.public_id)
        ).one()
        named = session.scalars(select(StaffUser).where(StaffUser.email == co_chair.email)).one()
        submission.risk_level = RiskLevel.HIGH
        session.add(NamedMember(submission_id=submission.id, staff_user_id=named.id))
        session.commit()

    def exported_ids(role: str) -> set[str]:
        client = _signed_in(export_app, writable_demo_instance, role)
        response = client.post(
            "/staff/dialogues/valdoria/export", data={"csrf_token": csrf_token_for(client)}
        )
        assert response.status_code == 200
        manifest = json.loads(_entries(response.get_data())[MANIFEST_NAME])
        return {entry["public_id"] for entry in manifest["submissions"]}

    assert sent.public_id in exported_ids("co_chair")
    assert sent.public_id not in exported_ids("triage_officer")


def test_export_and_decryption_of_a_large_file_stay_in_bounded_memory(
    consultation_world: ConsultationWorld, tmp_path: Path
) -> None:
    world = consultation_world
    piece = secrets.token_bytes(64 * 1024)
    submission = _send(world, CANARY, b"")
    upload = EncryptingUpload(
        world.session,
        EncryptedStorage(world.storage_dir),
        UploadBudget(),
        staging_room(world.session, EncryptedStorage(world.storage_dir)),
    )
    for _ in range(160):  # 10 MiB
        upload.write(piece)
    attach_file(
        world.session,
        submission,
        upload.finish(),
        _SECRETS[submission.public_id],
        file_name="big.bin",
        content_type="x/y",
    )
    world.session.commit()
    bundle = tmp_path / "big.zip"

    tracemalloc.start()
    try:
        with bundle.open("wb") as out:
            write_bundle(
                world.session,
                EncryptedStorage(world.storage_dir),
                world.dialogue,
                out,
                today=world.now.date(),
            )
        world.session.commit()
        _, export_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        decrypt_bundle(bundle, tmp_path / "big", _recovery(world))
        _, decrypt_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert export_peak < 4 * 1024 * 1024 and decrypt_peak < 4 * 1024 * 1024
    big = tmp_path / "big" / submission.public_id / "attachments" / "02-big.bin"
    assert big.stat().st_size == 160 * len(piece)
    with big.open("rb") as handle:
        assert handle.read(len(piece)) == piece


@pytest.mark.parametrize("module", ["manifest", "offline"])
def test_the_format_and_the_offline_side_need_no_database_flask_or_instance(module: str) -> None:
    """``portal decrypt`` runs on an offline machine with only Parley installed: neither its
    module nor the format module it reads through may reach for what only a server has."""
    source = Path(__file__).resolve().parents[2] / "portal/services/bundles" / f"{module}.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported.add(node.module)
    server_only = (
        "sqlalchemy",
        "flask",
        "portal.db",
        "portal.instance",
        "portal.settings",
        "portal.storage",
        "portal.services.audit.trail",
        "portal.services.bundles.export",
    )
    assert not {name for name in imported if name.startswith(server_only)}


def _with_attachment(
    world: ConsultationWorld, entries: dict[str, bytes], submission: Submission, **file: object
) -> dict[str, bytes]:
    """The bundle's entries with its one attachment replaced: ``plaintext`` encrypted under a new
    key, described by a keys record of ``format`` that says ``size``."""
    key = crypto.new_file_key()
    encryptor = crypto.StreamEncryptor(key)
    plaintext = bytes(file["plaintext"])
    ciphertext = encryptor.header + encryptor.update(plaintext) + encryptor.finalize()
    manifest = json.loads(entries[MANIFEST_NAME])
    item = manifest["submissions"][0]["attachments"][0]
    record = {
        "format": file["format"],
        "key": base64.b64encode(key).decode(),
        "name": "scan\x00.pdf",
        "type": "application/pdf",
        "size": file["size"],
    }
    context = signed_attachment_keys_context(SubmissionAddress.of(submission), item["public_id"])
    keys_envelope = crypto.seal_envelope(
        json.dumps(record).encode(),
        recipient_keys(submission.desk_key, submission.submitter_public_key),
        context,
    )
    codename_key = _SECRETS[submission.public_id]
    seed = crypto.derive_submission_keys(codename_key.key_seed, submission.public_id).signing_seed
    item["keys_envelope"] = base64.b64encode(keys_envelope).decode()
    item["signature"] = base64.b64encode(crypto.sign_item(seed, context, keys_envelope)).decode()
    return {**entries, MANIFEST_NAME: json.dumps(manifest).encode(), item["file"]: ciphertext}


def test_an_unpadded_v1_attachment_still_opens_at_its_exact_size(
    consultation_world: ConsultationWorld, tmp_path: Path
) -> None:
    world = consultation_world
    submission = _send(world, CANARY, b"padded")
    entries = _entries(_export(world))
    content = secrets.token_bytes(70_000)
    legacy = {"format": "parley-attachment-keys-v1", "plaintext": content, "size": 70_000}
    v1 = _with_attachment(world, entries, submission, **legacy)
    out = tmp_path / "out"

    decrypt_bundle(_write(tmp_path, _rezip(v1)), out, _recovery(world))

    _check_output(out, submission, content)


@pytest.mark.parametrize(
    ("keys_format", "plaintext", "size"),
    [
        ("parley-attachment-keys-v2", b"true bytes" + bytes(65_525) + b"\x01", 10),
        ("parley-attachment-keys-v2", b"true bytes" + bytes(65_526), 65_537),
        ("parley-attachment-keys-v1", b"true bytes" + bytes(65_526), 10),
        ("parley-attachment-keys-v3", b"true bytes" + bytes(65_526), 10),
    ],
    ids=["non-zero padding", "size beyond the file", "v1 with padding", "unknown format"],
)
def test_an_attachment_with_wrong_padding_or_size_is_refused(
    consultation_world: ConsultationWorld,
    tmp_path: Path,
    keys_format: str,
    plaintext: bytes,
    size: int,
) -> None:
    world = consultation_world
    submission = _send(world, CANARY, b"padded")
    entries = _entries(_export(world))
    bad = _with_attachment(
        world, entries, submission, format=keys_format, plaintext=plaintext, size=size
    )

    _refused(
        _write(tmp_path, _rezip(bad)),
        tmp_path / "out",
        _recovery(world),
        "recorded size with zero padding|malformed keys record",
    )


def test_a_v1_bundle_still_opens_and_an_unknown_format_is_refused(
    consultation_world: ConsultationWorld, tmp_path: Path
) -> None:
    """A bundle of the release before the identity compartment has neither identity keys nor
    identities envelopes: it opens, its names read from the submission envelope."""
    world = consultation_world
    _send(world, CANARY, b"x")
    entries = _entries(_export(world))
    manifest = json.loads(entries[MANIFEST_NAME])
    for key in manifest["desk_keys"]:
        del key["identity_key"]
    for entry in manifest["submissions"]:
        del entry["identities"]

    for version, opens in (
        ("parley-bundle-v1", True),
        ("parley-bundle-v2", True),
        ("parley-bundle-v4", False),
    ):
        manifest["format"] = version
        path = _write(tmp_path, _rezip({**entries, MANIFEST_NAME: json.dumps(manifest).encode()}))
        out = tmp_path / version
        if not opens:
            _refused(
                path, out, _recovery(world), "not a parley-bundle-v3 or parley-briefing-v1 bundle"
            )
            continue
        decrypt_bundle(path, out, _recovery(world))
        [folder] = [item for item in out.iterdir() if item.is_dir()]
        assert json.loads((folder / "submission.json").read_text())["names"] == "in_submission"
