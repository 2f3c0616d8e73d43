"""Settings: safe defaults, and one clear line (exit status 2) for anything malformed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from portal.settings import load_settings


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
