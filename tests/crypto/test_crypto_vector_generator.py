"""The vector generator writes every file once: it refuses to overwrite without --force, and
--missing adds only the files that are absent."""

import json
import sys

import pytest

from tests.vectors import make_vectors
from tests.vectors.vector_files import load_vectors

NAMES = [
    "rfc9180-x25519-sha256-aes256gcm.json",
    "envelope-v1.json",
    "stream-v1.json",
    "attachment-padding-v1.json",
    "codename-v1.json",
    "rfc6238.json",
    "rfc8032-ed25519.json",
    "provenance-v1.json",
    "signed-items-v1.json",
    "staff-key-certificate-v1.json",
    "proof-of-work-v1.json",
]


def run(monkeypatch, folder, *arguments):
    monkeypatch.setattr(make_vectors, "VECTOR_DIR", folder)
    monkeypatch.setattr(sys, "argv", ["make_vectors", *arguments])
    make_vectors.main()


def test_writes_all_files_then_refuses_to_overwrite(monkeypatch, tmp_path):
    run(monkeypatch, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
    # Envelopes carry fresh HPKE randomness; every other file is reproduced exactly.
    for name in [name for name in NAMES if name != "envelope-v1.json"]:
        assert json.loads((tmp_path / name).read_text("utf-8")) == load_vectors(name)
    (tmp_path / "stream-v1.json").write_text("kept", "utf-8")
    with pytest.raises(SystemExit):
        run(monkeypatch, tmp_path)
    assert (tmp_path / "stream-v1.json").read_text("utf-8") == "kept"
    run(monkeypatch, tmp_path, "--force")
    assert json.loads((tmp_path / "stream-v1.json").read_text("utf-8")) == load_vectors(
        "stream-v1.json"
    )


def test_missing_writes_only_absent_files(monkeypatch, tmp_path):
    (tmp_path / "stream-v1.json").write_text("kept", "utf-8")
    run(monkeypatch, tmp_path, "--missing")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(NAMES)
    assert (tmp_path / "stream-v1.json").read_text("utf-8") == "kept"
    assert json.loads((tmp_path / "provenance-v1.json").read_text("utf-8")) == load_vectors(
        "provenance-v1.json"
    )
    (tmp_path / "provenance-v1.json").unlink()
    run(monkeypatch, tmp_path, "--missing")
    assert (tmp_path / "stream-v1.json").read_text("utf-8") == "kept"
    assert (tmp_path / "provenance-v1.json").exists()


def test_force_and_missing_exclude_each_other(monkeypatch, tmp_path):
    with pytest.raises(SystemExit):
        run(monkeypatch, tmp_path, "--force", "--missing")
    assert list(tmp_path.iterdir()) == []
