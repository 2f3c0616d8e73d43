"""Key handling, key ids, fingerprints and the recovery key text form."""

import hashlib
import re
import secrets

import pytest

from crypto.errors import CryptoError, RecoveryKeyError
from crypto.keys import (
    RECOVERY_KEY_PREFIX,
    export_recovery_key,
    fingerprint,
    generate_private_key,
    import_recovery_key,
    key_id,
    load_private_key,
    load_public_key,
    private_key_bytes,
    public_key_bytes,
)
from crypto.tokens import random_token, token_digest, token_matches


def test_raw_bytes_round_trip():
    key = generate_private_key()
    assert private_key_bytes(load_private_key(private_key_bytes(key))) == private_key_bytes(key)
    public = public_key_bytes(key)
    assert len(public) == 32
    assert public_key_bytes(load_public_key(public)) == public == public_key_bytes(key.public_key())


@pytest.mark.parametrize("loader", [load_public_key, load_private_key])
@pytest.mark.parametrize("length", [0, 31, 33, 64])
def test_wrong_lengths_are_refused(loader, length):
    with pytest.raises(CryptoError):
        loader(bytes(length))


def test_key_id_is_the_labelled_hash_and_accepts_objects_or_bytes():
    public = generate_private_key().public_key()
    raw = public_key_bytes(public)
    expected = hashlib.sha256(b"parley key id v1\x00" + raw).digest()[:16]
    assert key_id(public) == key_id(raw) == expected
    with pytest.raises(CryptoError):
        key_id(raw[:31])


def test_every_32_bytes_load_as_a_public_key_that_keeps_those_bytes():
    """What key ids and fingerprints of raw bytes rely on: they check the length alone."""
    edges = [bytes(32), b"\xff" * 32, (2**255 - 19).to_bytes(32, "little"), bytes([9]) + bytes(31)]
    for raw in edges + [secrets.token_bytes(32) for _ in range(200)]:
        assert public_key_bytes(load_public_key(raw)) == raw
        assert key_id(raw) == key_id(load_public_key(raw))
        assert fingerprint(raw) == fingerprint(load_public_key(raw))


def test_fingerprint_format_and_value():
    raw = public_key_bytes(generate_private_key())
    shown = fingerprint(raw)
    assert re.fullmatch(r"([0-9A-F]{4} ){9}[0-9A-F]{4}", shown)
    digest = hashlib.sha256(b"parley fingerprint v1\x00" + raw).hexdigest()[:40].upper()
    assert shown.replace(" ", "") == digest
    assert fingerprint(load_public_key(raw)) == shown


def test_recovery_key_round_trip_with_surrounding_whitespace():
    key = generate_private_key()
    text = export_recovery_key(key)
    raw = private_key_bytes(key)
    assert text.startswith(RECOVERY_KEY_PREFIX)
    assert text.endswith(":" + hashlib.sha256(raw).hexdigest()[:8])
    assert private_key_bytes(import_recovery_key(f"  {text}\n")) == raw


def _with_char(text: str, index: int, char: str) -> str:
    return text[:index] + char + text[index + 1 :]


def test_recovery_key_errors_say_what_is_wrong():
    text = export_recovery_key(generate_private_key())
    body_start = len(RECOVERY_KEY_PREFIX)
    other_char = "B" if text[body_start] == "A" else "A"
    with pytest.raises(RecoveryKeyError, match="starts with"):
        import_recovery_key(text.replace("v1", "v2"))
    with pytest.raises(RecoveryKeyError, match="43 base64url"):
        import_recovery_key(text[:-1])
    with pytest.raises(RecoveryKeyError, match="checksum"):
        import_recovery_key(_with_char(text, body_start, other_char))
    # The 43rd character carries 4 key bits and 2 zero bits; "B" (value 1) sets a zero bit, so it
    # decodes to the same key but is not what export_recovery_key could have printed.
    with pytest.raises(RecoveryKeyError, match="canonical"):
        import_recovery_key(_with_char(text, body_start + 42, "B"))


def test_recovery_key_error_is_both_a_crypto_error_and_a_value_error():
    assert issubclass(RecoveryKeyError, CryptoError)
    assert issubclass(RecoveryKeyError, ValueError)


def test_random_token_is_urlsafe_and_unique():
    tokens = {random_token(32) for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)


def test_a_token_matches_only_its_own_digest():
    token, other = random_token(32), random_token(32)
    digest = token_digest(token)
    assert len(digest) == 32
    assert token_matches(token, digest)
    assert not token_matches(other, digest)
    assert not token_matches(token[:-1], digest)
