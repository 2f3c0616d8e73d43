"""`portal init`: the instance it makes, the demo accounts it hands out, and what it refuses."""

import hashlib
import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import crypto
from portal.db import sqlite_side_files
from portal.instance import InstanceFolder
from portal.models import (
    AuditEvent,
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    RecoveryKey,
    StaffUser,
)
from portal.services.audit.trail import AuditAction, verify_audit_chain
from portal.services.desks.keys import open_desk_key_grant
from portal.services.staff.accounts import staff_totp_secret
from tests.conftest import (
    DemoInstance,
    create_demo_instance,
    portal_environment,
    recovery_key_from,
    run_portal,
)

ROLES = {"administrator", "triage_officer", "co_chair", "observer"}
ACCOUNT_FIELDS = {"role", "email", "password", "totp_secret", "dialogues"}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _check_account(session: Session, account: dict, at_rest_key: bytes) -> None:
    """The password, TOTP secret and personal key of one demo account all work."""
    assert set(account) == ACCOUNT_FIELDS
    assert account["email"].endswith("@demo.parley.invalid")
    user = session.scalars(select(StaffUser).where(StaffUser.email == account["email"])).one()
    assert user.role == account["role"]
    assert user.active and not user.must_change_passphrase

    assert crypto.verify_password(user.login_hash, account["password"])
    assert not crypto.verify_password(user.login_hash, account["password"] + "x")

    stored_secret = staff_totp_secret(user, at_rest_key)
    handed_out_secret = crypto.totp_secret_from_base32(account["totp_secret"])
    assert handed_out_secret == stored_secret
    now = time.time()
    assert crypto.verify_totp(stored_secret, crypto.totp_code(handed_out_secret, now), now)

    personal_key = crypto.unwrap_private_key(user.personal_private_key_wrapped, account["password"])
    assert crypto.public_key_bytes(personal_key) == user.personal_public_key

    memberships = session.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == user.id)
    ).all()
    assert sorted(m.dialogue.slug for m in memberships) == sorted(account["dialogues"])
    grants = session.scalars(
        select(DeskKeyGrant).where(DeskKeyGrant.recipient_staff_user_id == user.id)
    ).all()
    assert sorted(g.desk_key.dialogue.slug for g in grants) == sorted(account["dialogues"])
    for grant in grants:
        desk_private_key = open_desk_key_grant(grant, personal_key)
        assert crypto.public_key_bytes(desk_private_key) == grant.desk_key.public_key


def _check_recovery_key_opens_every_desk(session: Session, recovery_key_text: str) -> None:
    recovery_private_key = crypto.import_recovery_key(recovery_key_text)
    stored = session.scalars(select(RecoveryKey)).one()
    assert stored.public_key == crypto.public_key_bytes(recovery_private_key)
    desk_keys = session.scalars(select(DeskKey)).all()
    assert len(desk_keys) >= 4
    for desk_key in desk_keys:
        (grant,) = [g for g in desk_key.grants if g.recovery_key_id == stored.id]
        opened = open_desk_key_grant(grant, recovery_private_key)
        assert crypto.public_key_bytes(opened) == desk_key.public_key


def test_demo_credentials_let_every_account_in_and_members_open_their_desks(
    database_url: str, tmp_path: Path
) -> None:
    demo = create_demo_instance(tmp_path, database_url)
    accounts = json.loads(demo.credentials_file.read_text(encoding="utf-8"))
    at_rest_key = InstanceFolder(demo.settings.instance_dir).load_secrets().at_rest_key

    assert {account["role"] for account in accounts} == ROLES
    assert {a["role"] for a in accounts if not a["dialogues"]} == {"administrator", "observer"}
    for account in accounts:
        assert account["password"] not in demo.init_output
        assert account["totp_secret"] not in demo.init_output
    assert _mode(demo.credentials_file) == 0o600
    assert _mode(demo.settings.instance_dir) == 0o700
    assert _mode(demo.settings.instance_dir / "secrets.json") == 0o600

    engine = create_engine(demo.settings.database_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            for account in accounts:
                _check_account(session, account, at_rest_key)
            _check_recovery_key_opens_every_desk(session, demo.recovery_key)
            assert verify_audit_chain(session).intact
            grant_events = session.scalar(
                select(func.count()).where(AuditEvent.action == AuditAction.DESK_KEY_GRANTED)
            )
            grants = session.scalar(select(func.count()).select_from(DeskKeyGrant))
            assert grant_events == grants
    finally:
        engine.dispose()


def _snapshot(folder: Path, database_url: str) -> dict[str, object]:
    """Content hash and modification time of every file, plus the database's recovery keys."""
    files = {
        str(path): (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            keys = sorted(session.scalars(select(RecoveryKey.public_key)).all())
            staff = session.scalar(select(func.count()).select_from(StaffUser))
    finally:
        engine.dispose()
    return {"files": files, "recovery_keys": keys, "staff": staff}


def _one_line_error(result: object) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_init_refuses_to_clobber_without_force_and_force_starts_afresh(
    database_url: str, tmp_path: Path
) -> None:
    demo: DemoInstance = create_demo_instance(tmp_path, database_url)
    before = _snapshot(tmp_path, demo.settings.database_url)

    again = run_portal(demo.environment, "init")
    assert again.exit_code != 0
    assert "already exists" in _one_line_error(again)
    assert _snapshot(tmp_path, demo.settings.database_url) == before

    other_instance = portal_environment(tmp_path / "elsewhere", database_url)
    into_used_database = run_portal(other_instance, "init")
    assert into_used_database.exit_code != 0
    assert "already holds" in _one_line_error(into_used_database)
    assert not (tmp_path / "elsewhere").exists()
    assert _snapshot(tmp_path, demo.settings.database_url) == before

    forced = run_portal(
        demo.environment,
        "init",
        "--force",
        "--demo",
        "--credentials-out",
        str(demo.credentials_file),
    )
    assert forced.exit_code == 0, forced.output
    after = _snapshot(tmp_path, demo.settings.database_url)
    new_key = crypto.import_recovery_key(recovery_key_from(forced.stdout))
    assert after["recovery_keys"] == [crypto.public_key_bytes(new_key)]
    assert after["recovery_keys"] != before["recovery_keys"]
    assert after["staff"] == before["staff"]
    for name in ("credentials.json", "instance/secrets.json"):
        assert after["files"][str(tmp_path / name)] != before["files"][str(tmp_path / name)]


def test_force_creates_a_missing_instance_folder_privately(tmp_path: Path) -> None:
    instance_dir = tmp_path / "missing" / "instance"
    credentials_file = instance_dir / "demo-credentials.json"

    result = run_portal(
        portal_environment(instance_dir),
        "init",
        "--demo",
        "--force",
        "--credentials-out",
        str(credentials_file),
    )

    assert result.exit_code == 0, result.output
    database_file = instance_dir / "parley.sqlite3"
    for path, mode in (
        (instance_dir, 0o700),
        (instance_dir / "secrets.json", 0o600),
        (instance_dir / "storage", 0o700),
        (database_file, 0o600),
        (credentials_file, 0o600),
    ):
        assert _mode(path) == mode, path
    assert sqlite_side_files(database_file) == []


def test_a_write_ahead_log_without_its_database_is_refused_and_force_removes_it(
    tmp_path: Path,
) -> None:
    """SQLite would replay a stale log into the new database file of the same name."""
    instance_dir = tmp_path / "instance"
    instance_dir.mkdir(mode=0o700)
    stale_log = instance_dir / "parley.sqlite3-wal"
    stale_log.write_bytes(b"pages of an earlier database")
    environment = portal_environment(instance_dir)

    refused = run_portal(environment, "init")

    assert refused.exit_code != 0
    assert str(stale_log) in _one_line_error(refused)
    assert sorted(path.name for path in instance_dir.iterdir()) == [stale_log.name]

    forced = run_portal(environment, "init", "--force")

    assert forced.exit_code == 0, forced.output
    assert not stale_log.exists()
    assert (instance_dir / "parley.sqlite3").is_file()


def test_init_refuses_an_existing_credentials_file(tmp_path: Path) -> None:
    credentials_file = tmp_path / "credentials.json"
    credentials_file.write_text("keep me\n", encoding="utf-8")
    environment = portal_environment(tmp_path / "instance")

    result = run_portal(environment, "init", "--demo", "--credentials-out", str(credentials_file))

    assert result.exit_code != 0
    assert str(credentials_file) in _one_line_error(result)
    assert credentials_file.read_text(encoding="utf-8") == "keep me\n"
    assert not (tmp_path / "instance").exists()


def test_credentials_may_go_into_the_instance_folder_that_init_creates(tmp_path: Path) -> None:
    instance_dir = tmp_path / "instance"
    credentials_file = instance_dir / "demo-credentials.json"

    result = run_portal(
        portal_environment(instance_dir),
        "init",
        "--demo",
        "--credentials-out",
        str(credentials_file),
    )

    assert result.exit_code == 0, result.output
    assert {account["role"] for account in json.loads(credentials_file.read_text())} == ROLES
    assert _mode(credentials_file) == 0o600


def test_credentials_folder_must_exist_elsewhere(tmp_path: Path) -> None:
    credentials_file = tmp_path / "missing" / "credentials.json"

    result = run_portal(
        portal_environment(tmp_path / "instance"),
        "init",
        "--demo",
        "--credentials-out",
        str(credentials_file),
    )

    assert result.exit_code != 0
    assert "does not exist" in _one_line_error(result)
    assert not (tmp_path / "instance").exists()


def test_credentials_out_needs_demo(tmp_path: Path) -> None:
    environment = portal_environment(tmp_path / "instance")

    result = run_portal(environment, "init", "--credentials-out", str(tmp_path / "c.json"))

    assert result.exit_code == 2
    assert "--demo" in result.stderr
    assert not (tmp_path / "instance").exists()
    assert not (tmp_path / "c.json").exists()


@pytest.mark.parametrize("arguments", [["--help"], ["init", "--help"], ["serve", "--help"]])
def test_python_dash_m_portal_is_the_portal_command(arguments: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "portal", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: portal" in result.stdout


def test_demo_accounts_are_printed_when_no_credentials_file_is_asked_for(tmp_path: Path) -> None:
    result = run_portal(portal_environment(tmp_path / "instance"), "init", "--demo")

    assert result.exit_code == 0, result.output
    for role in ROLES:
        assert f"  {role}: " in result.stdout
    assert result.stdout.count("password:") == len(ROLES)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["instance"]
