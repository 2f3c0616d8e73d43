"""The vector generator writes every file once and refuses to overwrite without --force."""

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
