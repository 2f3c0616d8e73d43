"""Envelope v1: known answers, round trips, and one test per rejection rule.

A flipped bit is caught by AES-GCM before the later checks run, so each later check (padding,
length, header fields) is exercised with an envelope that authenticates but breaks that one rule;
these tests fail if the check is removed.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.envelope import (
    MAX_PLAINTEXT,
    EnvelopeInfo,
    bucket_size,
    context_digest,
    envelope_size,
    inspect_envelope,
    open_envelope,
    seal_envelope,
)
from crypto.errors import CryptoError, DecryptionError
from crypto.keys import generate_private_key, key_id, load_private_key, public_key_bytes
from tests.vectors.envelope_forgery import forge_envelope, padded_payload
from tests.vectors.vector_files import load_vectors

VECTORS = load_vectors("envelope-v1.json")
CONTEXT = "dialogue 7 / submission"
OWN_KEY = generate_private_key()
OTHER_KEY = generate_private_key()
SAMPLE = seal_envelope(b"a short submission", [OWN_KEY.public_key()], CONTEXT)
LARGEST_BUCKET = bucket_size(4 + MAX_PLAINTEXT)


def _refused(envelope: bytes, key=OWN_KEY, context: str = CONTEXT) -> None:
    with pytest.raises(DecryptionError):
        open_envelope(envelope, key, context)


def _forged(padded: bytes, recipients=None, context: str = CONTEXT, **header) -> bytes:
    recipients = [OWN_KEY.public_key()] if recipients is None else recipients
    return forge_envelope(recipients, context, padded, **header)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["description"])
def test_vector_opens_with_every_listed_key(case):
    envelope = bytes.fromhex(case["envelope"])
    keys = [load_private_key(bytes.fromhex(k)) for k in case["recipient_private_keys"]]
    for key in keys:
        assert open_envelope(envelope, key, case["context"]).hex() == case["plaintext"]
    info = inspect_envelope(envelope)
    assert info.version == 1
    assert info.context_digest == context_digest(case["context"])
    assert info.key_ids == tuple(key_id(k.public_key()) for k in keys)
    padded_size = bucket_size(4 + len(case["plaintext"]) // 2)
    assert info.payload_length == padded_size + 16
    assert len(envelope) == 51 + 96 * len(keys) + padded_size + 16


@pytest.mark.parametrize("case", VECTORS["tamper"], ids=lambda case: case["description"])
def test_vector_tamper_case_is_refused(case):
    key = load_private_key(bytes.fromhex(case["private_key"]))
    _refused(bytes.fromhex(case["envelope"]), key, case["context"])


@pytest.mark.parametrize(
    ("size", "bucket"),
    [(4, 1024), (1024, 1024), (1025, 2048), (65536, 65536), (65537, 131072), (131073, 196608)],
)
def test_bucket_sizes(size, bucket):
    assert bucket_size(size) == bucket


@settings(max_examples=40, deadline=None)
@given(plaintext=st.binary(max_size=5000), context=st.text(max_size=40))
def test_round_trip(plaintext, context):
    envelope = seal_envelope(plaintext, [OWN_KEY.public_key()], context)
    assert open_envelope(envelope, OWN_KEY, context) == plaintext
    assert len(envelope) == 51 + 96 + bucket_size(4 + len(plaintext)) + 16


def test_every_recipient_opens_and_raw_public_keys_are_accepted():
    keys = [generate_private_key() for _ in range(16)]
    envelope = seal_envelope(b"to the desk", [public_key_bytes(k) for k in keys], CONTEXT)
    assert all(open_envelope(envelope, k, CONTEXT) == b"to the desk" for k in keys)


def test_largest_plaintext_is_accepted_and_one_more_byte_refused():
    envelope = seal_envelope(bytes(MAX_PLAINTEXT), [OWN_KEY.public_key()], CONTEXT)
    assert inspect_envelope(envelope).payload_length == LARGEST_BUCKET + 16
    assert open_envelope(envelope, OWN_KEY, CONTEXT) == bytes(MAX_PLAINTEXT)
    with pytest.raises(CryptoError):
        seal_envelope(bytes(MAX_PLAINTEXT + 1), [OWN_KEY.public_key()], CONTEXT)


@pytest.mark.parametrize("count", [0, 17])
def test_seal_refuses_a_wrong_number_of_recipients(count):
    with pytest.raises(CryptoError):
        seal_envelope(b"x", [generate_private_key().public_key() for _ in range(count)], CONTEXT)


def test_seal_refuses_a_recipient_listed_twice():
    public = OWN_KEY.public_key()
    with pytest.raises(CryptoError):
        seal_envelope(b"x", [public, public_key_bytes(public)], CONTEXT)


def test_non_recipient_key_is_refused():
    _refused(SAMPLE, key=OTHER_KEY)


def test_wrong_context_is_refused():
    _refused(SAMPLE, context="dialogue 8 / submission")


def test_context_in_the_header_is_checked_even_when_the_wraps_would_open():
    envelope = _forged(padded_payload(b"x", 1024), context="elsewhere", wrap_context=CONTEXT)
    _refused(envelope)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_flipped_byte_is_refused(data):
    position = data.draw(st.integers(0, len(SAMPLE) - 1))
    mask = data.draw(st.integers(1, 255))
    _refused(SAMPLE[:position] + bytes([SAMPLE[position] ^ mask]) + SAMPLE[position + 1 :])


def test_truncation_at_every_length_is_refused():
    for length in range(len(SAMPLE)):
        _refused(SAMPLE[:length])
        with pytest.raises(DecryptionError):
            inspect_envelope(SAMPLE[:length])


@settings(max_examples=50, deadline=None)
@given(suffix=st.binary(min_size=1, max_size=2048))
def test_extension_is_refused(suffix):
    _refused(SAMPLE + suffix)


@pytest.mark.parametrize(
    "header",
    [{"version": 2}, {"version": 0}, {"flags": 1}, {"flags": 0x80}, {"magic": b"PRLX"}],
    ids=str,
)
def test_unknown_header_fields_are_refused_even_when_authenticated(header):
    envelope = _forged(padded_payload(b"x", 1024), **header)
    _refused(envelope)
    with pytest.raises(DecryptionError):
        inspect_envelope(envelope)


def test_zero_recipients_is_refused():
    envelope = _forged(padded_payload(b"x", 1024), recipients=[])
    with pytest.raises(DecryptionError):
        inspect_envelope(envelope)
    _refused(envelope)


def test_seventeen_recipients_is_refused_even_when_one_slot_is_ours():
    others = [generate_private_key().public_key() for _ in range(16)]
    envelope = _forged(padded_payload(b"x", 1024), recipients=[OWN_KEY.public_key(), *others])
    _refused(envelope)


def test_duplicate_key_ids_are_refused():
    envelope = _forged(padded_payload(b"x", 1024), recipients=[OWN_KEY.public_key()] * 2)
    with pytest.raises(DecryptionError):
        inspect_envelope(envelope)
    _refused(envelope)


@pytest.mark.parametrize("position", [5, 1023])
def test_non_zero_padding_is_refused(position):
    padded = bytearray(padded_payload(b"x", 1024))
    padded[position] = 1
    _refused(_forged(bytes(padded)))


@pytest.mark.parametrize("declared", [1021, 2**32 - 1])
def test_length_beyond_the_padded_data_is_refused(declared):
    _refused(_forged(padded_payload(b"x", 1024, declared_length=declared)))


def test_length_above_the_maximum_is_refused_even_if_it_fits():
    padded = padded_payload(b"", LARGEST_BUCKET, declared_length=MAX_PLAINTEXT + 1)
    _refused(_forged(padded))


@pytest.mark.parametrize(
    "padded_size", [0, 512, 1023, 1025, 1500, 98304, LARGEST_BUCKET + 65536], ids=str
)
def test_payload_sizes_that_are_not_buckets_are_refused(padded_size):
    envelope = _forged(padded_payload(b"", padded_size) if padded_size >= 4 else bytes(padded_size))
    with pytest.raises(DecryptionError):
        inspect_envelope(envelope)
    _refused(envelope)


def test_inspect_reports_context_recipients_and_size():
    second = generate_private_key().public_key()
    envelope = seal_envelope(bytes(3000), [OWN_KEY.public_key(), second], CONTEXT)
    assert inspect_envelope(envelope) == EnvelopeInfo(
        version=1,
        context_digest=context_digest(CONTEXT),
        key_ids=(key_id(OWN_KEY.public_key()), key_id(second)),
        payload_length=4096 + 16,
    )


@pytest.mark.parametrize("plaintext_size", [0, 1020, 1021, 65532, 65533, 200_000])
@pytest.mark.parametrize("recipient_count", [1, 2, 5])
def test_envelope_size_predicts_the_sealed_length(
    plaintext_size: int, recipient_count: int
) -> None:
    recipients = [generate_private_key().public_key() for _ in range(recipient_count)]

    sealed = seal_envelope(bytes(plaintext_size), recipients, "size check")

    assert len(sealed) == envelope_size(plaintext_size, recipient_count)
