"""Box v1: round trip, purpose binding and tampering."""

import secrets

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError, DecryptionError
from crypto.symmetric import new_symmetric_key, open_box, seal_box

KEY = new_symmetric_key()
PURPOSE = "staff-session"
BOX = seal_box(KEY, b"a personal private key", PURPOSE)


def forge_box(magic: bytes, version: int, plaintext: bytes) -> bytes:
    """A box that authenticates whatever its header says."""
    header = magic + bytes([version]) + secrets.token_bytes(12)
    aad = b"parley box v1\x00" + PURPOSE.encode() + b"\x00" + header
    return header + AESGCM(KEY).encrypt(header[5:], plaintext, aad)


def test_round_trip_and_layout():
    assert len(KEY) == 32
    assert BOX[:5] == b"PRLB\x01"
    assert len(BOX) == 17 + len(b"a personal private key") + 16
    assert open_box(KEY, BOX, PURPOSE) == b"a personal private key"
    assert open_box(KEY, seal_box(KEY, b"", PURPOSE), PURPOSE) == b""


def test_documented_construction_opens():
    assert open_box(KEY, forge_box(b"PRLB", 1, b"secret"), PURPOSE) == b"secret"


@pytest.mark.parametrize("purpose", ["staff-session ", "recovery", "", "staff-session\x00"])
def test_wrong_purpose_is_refused(purpose):
    with pytest.raises(DecryptionError):
        open_box(KEY, BOX, purpose)


@pytest.mark.parametrize(
    "key",
    [new_symmetric_key(), bytes(31), bytes(33), b""],
    ids=["another-key", "31-bytes", "33-bytes", "empty"],
)
def test_wrong_key_of_any_length_is_refused(key):
    with pytest.raises(DecryptionError):
        open_box(key, BOX, PURPOSE)


def test_any_flipped_byte_or_truncation_is_refused():
    for position in range(len(BOX)):
        tampered = BOX[:position] + bytes([BOX[position] ^ 1]) + BOX[position + 1 :]
        with pytest.raises(DecryptionError):
            open_box(KEY, tampered, PURPOSE)
        with pytest.raises(DecryptionError):
            open_box(KEY, BOX[:position], PURPOSE)


@pytest.mark.parametrize(("magic", "version"), [(b"PRLX", 1), (b"PRLB", 2)])
def test_unknown_magic_or_version_is_refused_even_when_authenticated(magic, version):
    with pytest.raises(DecryptionError):
        open_box(KEY, forge_box(magic, version, b"secret"), PURPOSE)


def test_seal_refuses_a_key_of_the_wrong_length():
    with pytest.raises(CryptoError):
        seal_box(bytes(16), b"x", PURPOSE)
