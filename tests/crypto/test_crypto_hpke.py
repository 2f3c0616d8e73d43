"""HPKE: the RFC 9180 known answers for our suite, and our single-shot wrapper."""

import json

import pytest
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography_vectors import open_vector_file

from crypto.errors import CryptoError, DecryptionError
from crypto.hpke import hpke_open, hpke_seal
from crypto.keys import generate_private_key, load_private_key, load_public_key, public_key_bytes
from tests.vectors.make_vectors import HPKE_SOURCE, rfc9180_vector
from tests.vectors.vector_files import load_vectors

VECTOR = load_vectors("rfc9180-x25519-sha256-aes256gcm.json")


def test_checked_in_copy_is_the_suite_entry_of_the_published_vectors():
    with open_vector_file("HPKE/test-vectors.json", "r") as source:
        published = json.load(source)
    (entry,) = [
        e
        for e in published
        if (e["mode"], e["kem_id"], e["kdf_id"], e["aead_id"]) == (0, 0x20, 0x01, 0x02)
    ]
    assert {"source": HPKE_SOURCE, **entry} == VECTOR
    assert rfc9180_vector() == VECTOR
    assert len(VECTOR["encryptions"]) == 257


def test_public_keys_follow_from_the_private_keys():
    for private, public in (("skRm", "pkRm"), ("skEm", "pkEm")):
        key = load_private_key(bytes.fromhex(VECTOR[private]))
        assert public_key_bytes(key).hex() == VECTOR[public]
    assert VECTOR["enc"] == VECTOR["pkEm"]


def test_first_encryption_of_the_vector_decrypts():
    # The RFC's encryptions carry associated data ("Count-0" for sequence 0), which the public
    # Suite API does not accept (Parley never uses HPKE associated data). The binding's
    # _decrypt_with_aad is the same code path with that one extra argument, so the test uses it to
    # prove that the Suite we run computes the RFC's key schedule. Sequence 0 is the only one a
    # single-shot API can reach.
    first = VECTOR["encryptions"][0]
    suite = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
    plaintext = rust_openssl.hpke._decrypt_with_aad(
        suite,
        bytes.fromhex(VECTOR["enc"] + first["ct"]),
        load_private_key(bytes.fromhex(VECTOR["skRm"])),
        info=bytes.fromhex(VECTOR["info"]),
        aad=bytes.fromhex(first["aad"]),
    )
    assert first["nonce"] == VECTOR["base_nonce"]
    assert plaintext.hex() == first["pt"]


def test_wrapper_round_trip_and_size():
    key = generate_private_key()
    sealed = hpke_seal(key.public_key(), b"a" * 32, b"info")
    assert len(sealed) == 32 + 32 + 16
    assert hpke_open(key, sealed, b"info") == b"a" * 32


@pytest.mark.parametrize(
    "change",
    [
        lambda key, sealed: (key, sealed, b"other info"),
        lambda key, sealed: (generate_private_key(), sealed, b"info"),
        lambda key, sealed: (key, sealed[:-1], b"info"),
        lambda key, sealed: (key, sealed[:47], b"info"),
        lambda key, sealed: (key, bytes([sealed[0] ^ 1]) + sealed[1:], b"info"),
        lambda key, sealed: (key, sealed[:40] + bytes([sealed[40] ^ 1]) + sealed[41:], b"info"),
    ],
    ids=["wrong info", "wrong key", "truncated", "too short", "flipped enc", "flipped ciphertext"],
)
def test_wrapper_refuses(change):
    key = generate_private_key()
    sealed = hpke_seal(key.public_key(), b"secret", b"info")
    with pytest.raises(DecryptionError):
        hpke_open(*change(key, sealed))


def test_wrapper_refuses_a_low_order_public_key():
    with pytest.raises(CryptoError):
        hpke_seal(load_public_key(bytes(32)), b"secret", b"info")
