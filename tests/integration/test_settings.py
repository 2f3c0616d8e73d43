"""Settings: safe defaults, and one clear line (exit status 2) for anything malformed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.settings import SettingsError, SmtpSecurity, load_settings


def _portal(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m portal`` with only the given PORTAL_* variables set."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("PORTAL_")}
    return subprocess.run(
        [sys.executable, "-m", "portal", *arguments],
        env={**inherited, **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_defaults_are_an_instance_folder_here_with_sqlite_and_secure_cookies(
    tmp_path: Path,
) -> None:
    settings = load_settings({}, cwd=tmp_path)

    assert settings.instance_dir == tmp_path / "instance"
    assert settings.database_url == f"sqlite:///{tmp_path / 'instance' / 'parley.sqlite3'}"
    assert settings.cookie_secure is True


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql+psycopg://parley@db.internal:5432/parley", "postgresql+psycopg"),
        ("postgresql://parley@db.internal/parley", "postgresql+psycopg"),
        ("sqlite:////srv/parley/parley.sqlite3", "sqlite"),
    ],
)
def test_database_urls_accepted(tmp_path: Path, given: str, expected: str) -> None:
    settings = load_settings({"PORTAL_DATABASE_URL": given}, cwd=tmp_path)

    assert settings.database_url.split("://")[0] == expected
    assert settings.database_url.split("://")[1] == given.split("://")[1]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("PORTAL_DATABASE_URL", "not a database url", "PORTAL_DATABASE_URL"),
        ("PORTAL_DATABASE_URL", "mysql://root:hunter2@db/parley", "unsupported driver"),
        ("PORTAL_DATABASE_URL", "sqlite://", "SQLite file"),
        ("PORTAL_DATABASE_URL", "  ", "empty"),
        ("PORTAL_COOKIE_SECURE", "maybe", "PORTAL_COOKIE_SECURE"),
        ("PORTAL_ARGON2_SLOTS", "none", "PORTAL_ARGON2_SLOTS must be a whole number"),
        ("PORTAL_ARGON2_SLOTS", "0", "PORTAL_ARGON2_SLOTS must be a whole number"),
        ("PORTAL_ARGON2_WAIT_SECONDS", "-1", "PORTAL_ARGON2_WAIT_SECONDS must be a number"),
        ("PORTAL_ARGON2_WAIT_SECONDS", "nan", "PORTAL_ARGON2_WAIT_SECONDS must be a number"),
        ("PORTAL_STORAGE_QUOTA_BYTES", "10G", "PORTAL_STORAGE_QUOTA_BYTES must be a positive"),
        ("PORTAL_STORAGE_QUOTA_BYTES", "0", "PORTAL_STORAGE_QUOTA_BYTES must be a positive"),
        ("PORTAL_STORAGE_QUOTA_BYTES", "1000", "PORTAL_UNCLAIMED_UPLOAD_BYTES"),
        ("PORTAL_UNCLAIMED_UPLOAD_BYTES", "-5", "PORTAL_UNCLAIMED_UPLOAD_BYTES must be a"),
        ("PORTAL_UNCLAIMED_UPLOAD_BYTES", "99999999999", "must not exceed PORTAL_STORAGE_QUOTA"),
        ("PORTAL_FORM_LIFETIME_HOURS", "0", "PORTAL_FORM_LIFETIME_HOURS must be a whole number"),
        ("PORTAL_FORM_LIFETIME_HOURS", "169", "from 1 to 168"),
        (
            "PORTAL_WORKERS",
            "65",
            "PORTAL_WORKERS must be a whole number from 1 to 64",
        ),
        ("PORTAL_THREADS", "0", "PORTAL_THREADS must be a whole number"),
        ("PORTAL_THREADS", "١٢", "PORTAL_THREADS must be a whole number"),
        ("PORTAL_BODY_TIMEOUT_SECONDS", "1.5", "PORTAL_BODY_TIMEOUT_SECONDS must be a whole"),
    ],
)
def test_malformed_setting_stops_with_one_line(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = _portal({"PORTAL_INSTANCE_DIR": str(tmp_path / "instance"), variable: value}, "serve")

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "hunter2" not in result.stderr


def test_instance_folder_that_cannot_be_created_stops_with_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder\n", encoding="utf-8")

    result = _portal({"PORTAL_INSTANCE_DIR": str(blocker / "instance")}, "init")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "PORTAL_INSTANCE_DIR" in lines[0] and "not a folder" in lines[0]


@pytest.mark.skipif(os.geteuid() == 0, reason="permission bits do not bind root")
def test_unwritable_instance_folder_stops_with_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)

    result = _portal({"PORTAL_INSTANCE_DIR": str(locked / "instance")}, "init")

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "not writable" in lines[0]
    assert not (locked / "instance").exists()


def test_argon2_settings_have_defaults_and_take_valid_values(tmp_path: Path) -> None:
    defaults = load_settings({}, cwd=tmp_path)
    chosen = load_settings(
        {"PORTAL_ARGON2_SLOTS": "4", "PORTAL_ARGON2_WAIT_SECONDS": "1.5"}, cwd=tmp_path
    )

    assert (defaults.argon2_slots, defaults.argon2_wait_seconds) == (2, 0.5)
    assert (chosen.argon2_slots, chosen.argon2_wait_seconds) == (4, 1.5)


def test_storage_quota_and_form_lifetime_have_defaults_and_take_valid_values(
    tmp_path: Path,
) -> None:
    defaults = load_settings({}, cwd=tmp_path)
    chosen = load_settings(
        {
            "PORTAL_STORAGE_QUOTA_BYTES": "5000000",
            "PORTAL_UNCLAIMED_UPLOAD_BYTES": "3000000",
            "PORTAL_MAX_UPLOAD_BYTES": "2000000",
            "PORTAL_FORM_LIFETIME_HOURS": "72",
        },
        cwd=tmp_path,
    )
    small_quota = load_settings(
        {"PORTAL_STORAGE_QUOTA_BYTES": "600000000", "PORTAL_MAX_UPLOAD_BYTES": "1000"},
        cwd=tmp_path,
    )

    assert (
        defaults.storage_quota_bytes,
        defaults.unclaimed_quota_bytes,
        defaults.form_lifetime_hours,
    ) == (10 * 2**30, 2 * 2**30, 24)
    assert (
        chosen.storage_quota_bytes,
        chosen.unclaimed_quota_bytes,
        chosen.max_upload_bytes,
        chosen.form_lifetime_hours,
    ) == (5_000_000, 3_000_000, 2_000_000, 72)
    # Unset, the part for unclaimed uploads is never more than the quota.
    assert small_quota.unclaimed_quota_bytes == 600_000_000


def test_serving_settings_have_defaults_and_take_valid_values(tmp_path: Path) -> None:
    defaults = load_settings({}, cwd=tmp_path)
    chosen = load_settings(
        {"PORTAL_WORKERS": "4", "PORTAL_THREADS": "256", "PORTAL_BODY_TIMEOUT_SECONDS": "60"},
        cwd=tmp_path,
    )

    assert (defaults.workers, defaults.threads, defaults.body_timeout_seconds) == (2, 32, 20)
    assert (chosen.workers, chosen.threads, chosen.body_timeout_seconds) == (4, 256, 60)


SMTP = {"PORTAL_SMTP_HOST": "mail.example.org", "PORTAL_SMTP_FROM": "parley@example.org"}


def test_no_mail_server_by_default_and_encrypted_defaults_once_one_is_named(
    tmp_path: Path,
) -> None:
    named = load_settings(SMTP, cwd=tmp_path).smtp
    implicit = load_settings({**SMTP, "PORTAL_SMTP_SECURITY": "TLS"}, cwd=tmp_path).smtp
    local = load_settings(
        {
            **SMTP,
            "PORTAL_SMTP_HOST": "127.0.0.1",
            "PORTAL_SMTP_SECURITY": "none",
            "PORTAL_SMTP_USER": "parley",
            "PORTAL_SMTP_PASSWORD": "hunter2 hunter2",
        },
        cwd=tmp_path,
    ).smtp

    assert load_settings({}, cwd=tmp_path).smtp is None
    assert named is not None and implicit is not None and local is not None
    assert (named.security, named.port, named.user) == (SmtpSecurity.STARTTLS, 587, None)
    assert (implicit.security, implicit.port) == (SmtpSecurity.TLS, 465)
    assert (local.port, local.user, local.password) == (25, "parley", "hunter2 hunter2")
    assert "hunter2" not in repr(local)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"PORTAL_SMTP_HOST": None}, "PORTAL_SMTP_FROM is set but PORTAL_SMTP_HOST is not"),
        ({"PORTAL_SMTP_FROM": None}, "PORTAL_SMTP_FROM must be"),
        ({"PORTAL_SMTP_FROM": "Parley <parley@example.org>"}, "PORTAL_SMTP_FROM must be"),
        ({"PORTAL_SMTP_SECURITY": "ssl"}, "PORTAL_SMTP_SECURITY must be starttls, tls or none"),
        ({"PORTAL_SMTP_SECURITY": "none"}, "only for a mail server on this machine"),
        ({"PORTAL_SMTP_PORT": "70000"}, "PORTAL_SMTP_PORT must be a TCP port"),
        ({"PORTAL_SMTP_USER": "parley"}, "set together or not at all"),
        ({"PORTAL_SMTP_PASSWORD": "hunter2"}, "set together or not at all"),
        ({"PORTAL_SMTP_USER": "parley", "PORTAL_SMTP_PASSWORD": ""}, "set but empty"),
    ],
)
def test_a_malformed_mail_server_setting_is_named(
    tmp_path: Path, changes: dict[str, str | None], message: str
) -> None:
    environment = {**SMTP, **changes}
    given = {name: value for name, value in environment.items() if value is not None}

    with pytest.raises(SettingsError) as refused:
        load_settings(given, cwd=tmp_path)

    assert message in str(refused.value)
    assert "hunter2" not in str(refused.value)
