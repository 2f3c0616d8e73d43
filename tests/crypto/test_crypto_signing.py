"""Signing keys and signed items: RFC 8032's answers, the shared vectors, and every refusal."""

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crypto.errors import CryptoError, DecryptionError
from crypto.keys import fingerprint, key_id
from crypto.signing import (
    sign,
    sign_item,
    signing_fingerprint,
    signing_key_id,
    signing_public_key,
    verify,
    verify_item,
)
from tests.vectors.make_vectors import ED25519_SOURCE, rfc8032_vector
from tests.vectors.vector_files import load_vectors

RFC8032 = load_vectors("rfc8032-ed25519.json")
VECTORS = load_vectors("provenance-v1.json")


def test_checked_in_copy_is_the_rfc_entries_of_the_published_vectors():
    assert rfc8032_vector() == RFC8032
    assert RFC8032["source"] == ED25519_SOURCE
    assert [len(case["message"]) // 2 for case in RFC8032["cases"]] == [0, 1, 2, 1023]
    # RFC 8032 section 7.1, TEST 1: the first bytes of its secret key and signature.
    assert RFC8032["cases"][0]["seed"].startswith("9d61b19deffd5a60")
    assert RFC8032["cases"][0]["signature"].startswith("e5564300c360ac72")


@pytest.mark.parametrize("case", RFC8032["cases"], ids=lambda case: case["message"][:8] or "empty")
def test_rfc8032_vectors_through_the_package(case):
    seed = bytes.fromhex(case["seed"])
    public = bytes.fromhex(case["public_key"])
    assert signing_public_key(seed) == public
    # The package signs only labelled messages; this is the Ed25519 underneath them.
    assert sign(seed, bytes.fromhex(case["message"])).hex() == case["signature"]
    verify(public, bytes.fromhex(case["message"]), bytes.fromhex(case["signature"]))


@pytest.mark.parametrize("case", VECTORS["signing_keys"], ids=lambda case: case["key_id"])
def test_signing_key_vectors_match_the_definitions(case):
    public = bytes.fromhex(case["public_key"])
    assert signing_public_key(bytes.fromhex(case["seed"])) == public
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(case["seed"]))
    assert private.public_key().public_bytes_raw() == public
    expected_id = hashlib.sha256(b"parley signing key id v1\x00" + public).hexdigest()[:32]
    assert signing_key_id(public).hex() == case["key_id"] == expected_id
    digits = hashlib.sha256(b"parley signing fingerprint v1\x00" + public).hexdigest()[:40]
    assert signing_fingerprint(public) == case["fingerprint"]
    assert case["fingerprint"].replace(" ", "") == digits.upper()
    assert len(case["fingerprint"].split(" ")) == 10


def test_signing_key_ids_differ_from_x25519_key_ids_of_the_same_bytes():
    public = bytes.fromhex(VECTORS["signing_keys"][0]["public_key"])
    assert signing_key_id(public) != key_id(public)
    assert signing_fingerprint(public) != fingerprint(public)


def item_message(context: str, envelope: bytes) -> bytes:
    """docs/FORMATS.md, "Signed item v1"."""
    encoded = context.encode()
    return (
        b"parley signed item v1\x00"
        + len(encoded).to_bytes(4, "big")
        + encoded
        + hashlib.sha256(envelope).digest()
    )


@pytest.mark.parametrize("case", VECTORS["signed_items"], ids=lambda case: case["description"])
def test_signed_item_vectors(case):
    seed, envelope = bytes.fromhex(case["seed"]), bytes.fromhex(case["envelope"])
    public, signature = bytes.fromhex(case["public_key"]), bytes.fromhex(case["signature"])
    assert sign_item(seed, case["context"], envelope) == signature
    verify_item(public, case["context"], envelope, signature)
    # The definition, checked with a plain Ed25519 verifier.
    Ed25519PublicKey.from_public_bytes(public).verify(
        signature, item_message(case["context"], envelope)
    )


def test_vectors_cover_a_non_ascii_context_and_an_empty_envelope():
    items = VECTORS["signed_items"]
    assert any(len(case["context"].encode()) > len(case["context"]) for case in items)
    assert any(case["envelope"] == "" for case in items)


@pytest.mark.parametrize("case", VECTORS["rejected_items"], ids=lambda case: case["description"])
def test_rejected_item_vectors(case):
    with pytest.raises(DecryptionError):
        verify_item(
            bytes.fromhex(case["public_key"]),
            case["context"],
            bytes.fromhex(case["envelope"]),
            bytes.fromhex(case["signature"]),
        )


def test_rejected_vectors_cover_the_required_refusals():
    descriptions = {case["description"] for case in VECTORS["rejected_items"]}
    assert {
        "altered context",
        "altered envelope",
        "wrong key",
        "truncated signature",
        "S replaced by S + L",
    } <= descriptions


def test_context_length_prefix_keeps_context_and_digest_apart():
    """Moving a byte between the context and what follows it changes the signed message."""
    seed = bytes(range(32))
    signature = sign_item(seed, "ab", b"envelope")
    with pytest.raises(DecryptionError):
        verify_item(signing_public_key(seed), "a", b"envelope", signature)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_seeds_of_the_wrong_length_are_a_caller_error(length):
    with pytest.raises(CryptoError) as raised:
        sign_item(bytes(length), "context", b"")
    assert not isinstance(raised.value, DecryptionError)
    with pytest.raises(CryptoError):
        signing_public_key(bytes(length))


@pytest.mark.parametrize("length", [0, 31, 33])
def test_key_ids_of_keys_of_the_wrong_length_are_refused(length):
    with pytest.raises(CryptoError):
        signing_key_id(bytes(length))
    with pytest.raises(CryptoError):
        signing_fingerprint(bytes(length))
