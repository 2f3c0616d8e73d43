"""``portal export``, ``portal decrypt`` and ``portal dialogue review-mode``, end to end.

The module's instance (``plain_instance`` with the ``inbox_app`` dialogue ``valdoria``) is shared
by its tests, which run in order: export and decrypt online, then offline review and back.
``portal decrypt`` runs with settings that point nowhere usable, to show it needs none.
"""

import json
import stat
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from portal.cli.main import main
from portal.db import Database
from portal.models import AuditEvent, DeskKeyGrant, Dialogue, ReviewMode, SubmissionKind
from tests.conftest import PlainInstance, portal_environment

CANARY = "CANARY-51c0aa-bundle-cli"
AGENDA_FORM = {
    "topics": ["freedom_of_expression"],
    "situation": f"situation {CANARY}",
    "recommendations": "release them",
}


def _portal(environment: dict[str, str | None], *arguments: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(main, list(arguments), env=environment, input=stdin)


def _offline_environment(tmp_path: Path) -> dict[str, str | None]:
    """Settings an offline machine would not have: no instance, no database."""
    return portal_environment(tmp_path / "no-instance", "postgresql+psycopg://nobody@256.0.0.1/x")


def _events(instance: PlainInstance, action: str) -> list[AuditEvent]:
    database = Database(instance.settings.database_url)
    try:
        with database.session() as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    finally:
        database.dispose()


def _dialogue_state(instance: PlainInstance) -> tuple[ReviewMode, int]:
    database = Database(instance.settings.database_url)
    try:
        with database.session() as session:
            dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
            staff_grants = len(
                session.scalars(
                    select(DeskKeyGrant).where(DeskKeyGrant.recipient_staff_user_id.is_not(None))
                ).all()
            )
            return dialogue.review_mode, staff_grants
    finally:
        database.dispose()


def test_export_then_decrypt_offline_with_the_recovery_key(
    plain_instance: PlainInstance, inbox_app: Flask, send_under_new_codename, tmp_path: Path
) -> None:
    sent = send_under_new_codename(
        plain_instance.settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM
    )
    bundle = tmp_path / "valdoria.zip"

    result = _portal(plain_instance.environment, "export", "valdoria", "--out", str(bundle))

    assert result.exit_code == 0, result.output
    assert "1 submissions" in result.output
    assert stat.S_IMODE(bundle.stat().st_mode) == 0o600
    assert CANARY.encode() not in bundle.read_bytes()
    assert len(_events(plain_instance, "bundle.exported")) == 1
    again = _portal(plain_instance.environment, "export", "valdoria", "--out", str(bundle))
    assert again.exit_code == 1 and "already exists" in again.stderr
    unknown = _portal(plain_instance.environment, "export", "nowhere", "--out", str(tmp_path / "x"))
    assert unknown.exit_code == 1 and "no dialogue named" in unknown.stderr
    assert not (tmp_path / "x").exists()
    assert len(_events(plain_instance, "bundle.exported")) == 1

    out = tmp_path / "opened"
    result = _portal(
        _offline_environment(tmp_path),
        "decrypt",
        str(bundle),
        "--out",
        str(out),
        stdin=plain_instance.recovery_key + "\n",
    )

    assert result.exit_code == 0, result.output
    opened = json.loads((out / sent.public_id / "submission.json").read_text())
    assert opened["payload"]["situation"] == f"situation {CANARY}"
    assert not (tmp_path / "no-instance").exists()

    refused = _portal(
        _offline_environment(tmp_path),
        "decrypt",
        str(bundle),
        "--out",
        str(tmp_path / "wrong"),
        stdin="parley-recovery-v1:nonsense\n",
    )
    assert refused.exit_code == 1 and "recovery key" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert not (tmp_path / "wrong").exists()


def test_offline_review_with_the_desk_key_file_and_back_online(
    plain_instance: PlainInstance, inbox_app: Flask, send_under_new_codename, tmp_path: Path
) -> None:
    key_file = tmp_path / "desk-key.txt"
    key_file.write_text("taken")
    refused = _portal(
        plain_instance.environment,
        "dialogue",
        "review-mode",
        "valdoria",
        "offline",
        "--desk-key-out",
        str(key_file),
    )
    assert refused.exit_code == 1 and "already exists" in refused.stderr
    assert _dialogue_state(plain_instance)[0] is ReviewMode.ONLINE
    key_file.unlink()
    missing = _portal(plain_instance.environment, "dialogue", "review-mode", "valdoria", "offline")
    assert missing.exit_code == 2

    result = _portal(
        plain_instance.environment,
        "dialogue",
        "review-mode",
        "valdoria",
        "offline",
        "--desk-key-out",
        str(key_file),
    )

    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().startswith("parley-desk-key-v1:")
    assert _dialogue_state(plain_instance) == (ReviewMode.OFFLINE, 0)
    assert len(_events(plain_instance, "dialogue.review_mode_changed")) == 1
    assert len(_events(plain_instance, "desk_key.rotated")) == 1
    twice = _portal(
        plain_instance.environment,
        "dialogue",
        "review-mode",
        "valdoria",
        "offline",
        "--desk-key-out",
        str(tmp_path / "second.txt"),
    )
    assert twice.exit_code == 1 and "already in offline review" in twice.stderr
    assert not (tmp_path / "second.txt").exists()

    sent = send_under_new_codename(
        plain_instance.settings, SubmissionKind.AGENDA_INPUT, AGENDA_FORM
    )
    bundle = tmp_path / "offline.zip"
    assert (
        _portal(plain_instance.environment, "export", "valdoria", "--out", str(bundle)).exit_code
        == 0
    )
    out = tmp_path / "opened"
    result = _portal(
        _offline_environment(tmp_path),
        "decrypt",
        str(bundle),
        "--out",
        str(out),
        stdin=key_file.read_text(),
    )
    assert result.exit_code == 0, result.output
    assert "skipped" in result.stderr
    opened = json.loads((out / sent.public_id / "submission.json").read_text())
    assert opened["payload"]["situation"] == f"situation {CANARY}"

    wrong = _portal(
        plain_instance.environment,
        "dialogue",
        "review-mode",
        "valdoria",
        "online",
        stdin="parley-recovery-v1:AAAA:00000000\n",
    )
    assert wrong.exit_code == 1
    assert _dialogue_state(plain_instance)[0] is ReviewMode.OFFLINE

    back = _portal(
        plain_instance.environment,
        "dialogue",
        "review-mode",
        "valdoria",
        "online",
        stdin=plain_instance.recovery_key + "\n",
    )
    assert back.exit_code == 0, back.output
    assert _dialogue_state(plain_instance) == (ReviewMode.ONLINE, 0)  # no desk members here
    assert len(_events(plain_instance, "dialogue.review_mode_changed")) == 2
