"""The instance folder's secrets guard start-up; `portal migrate` keeps the schema current."""

import json
from pathlib import Path

import pytest

from portal import schema
from tests.conftest import portal_environment, run_portal


@pytest.fixture
def instance_dir(tmp_path: Path) -> Path:
    """A freshly initialised instance without demo data (no Argon2 work)."""
    folder = tmp_path / "instance"
    result = run_portal(portal_environment(folder), "init")
    assert result.exit_code == 0, result.output
    return folder


def _serve_refusal(instance_dir: Path) -> str:
    result = run_portal(portal_environment(instance_dir), "serve")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_secrets_readable_by_others_stop_start_up(instance_dir: Path) -> None:
    (instance_dir / "secrets.json").chmod(0o644)

    assert "chmod 600" in _serve_refusal(instance_dir)


def test_malformed_secrets_stop_start_up(instance_dir: Path) -> None:
    secrets_file = instance_dir / "secrets.json"
    document = json.loads(secrets_file.read_text(encoding="utf-8"))
    secrets_file.write_text(json.dumps({**document, "at_rest_key": "c2hvcnQ="}), encoding="utf-8")

    assert "malformed" in _serve_refusal(instance_dir)


def test_migrate_brings_the_schema_to_head_and_is_repeatable(instance_dir: Path) -> None:
    environment = portal_environment(instance_dir)
    for _ in range(2):
        result = run_portal(environment, "migrate")
        assert result.exit_code == 0, result.output
        assert schema.head_revision() in result.stdout


def test_migrate_refuses_an_uninitialised_instance(tmp_path: Path) -> None:
    result = run_portal(portal_environment(tmp_path / "instance"), "migrate")

    assert result.exit_code == 1
    assert "portal init" in result.stderr
    assert not (tmp_path / "instance").exists()
