"""Passphrase-wrapped private keys: round trips, parameters from the blob, and refusals."""

import secrets
import unicodedata

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import crypto.passphrase
from crypto.errors import CryptoError, DecryptionError
from crypto.keys import generate_private_key, private_key_bytes
from crypto.passphrase import (
    MAX_ITERATIONS,
    MAX_LANES,
    MAX_MEMORY_KIB,
    WRAPPED_SIZE,
    Argon2Params,
    unwrap_private_key,
    wrap_private_key,
)

FAST = Argon2Params(memory_kib=8192, iterations=1, lanes=1)
KEY = generate_private_key()
PASSPHRASE = "correct horse battery staple — ünïcödé"
WRAPPED = wrap_private_key(KEY, PASSPHRASE, FAST)


def forge_wrapped(
    memory_kib: int, iterations: int, lanes: int, magic: bytes = b"PRLK", version: int = 1
) -> bytes:
    """A blob that decrypts correctly under the parameters it states, whatever they are."""
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = (
        magic
        + bytes([version])
        + memory_kib.to_bytes(4, "big")
        + iterations.to_bytes(4, "big")
        + bytes([lanes])
        + salt
        + nonce
    )
    kek = hash_secret_raw(PASSPHRASE.encode(), salt, iterations, memory_kib, lanes, 32, Type.ID)
    return header + AESGCM(kek).encrypt(nonce, private_key_bytes(KEY), header)


def test_round_trip_with_fast_parameters():
    assert len(WRAPPED) == WRAPPED_SIZE == 90
    assert private_key_bytes(unwrap_private_key(WRAPPED, PASSPHRASE)) == private_key_bytes(KEY)


def test_round_trip_with_default_parameters():
    wrapped = wrap_private_key(KEY, PASSPHRASE)
    assert wrapped[5:14] == (65536).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes([4])
    assert private_key_bytes(unwrap_private_key(wrapped, PASSPHRASE)) == private_key_bytes(KEY)


def test_parameters_are_read_from_the_blob():
    assert (
        WRAPPED[:14] == b"PRLK\x01" + (8192).to_bytes(4, "big") + (1).to_bytes(4, "big") + b"\x01"
    )
    other = Argon2Params(memory_kib=16384, iterations=2, lanes=2)
    for wrapped in (WRAPPED, wrap_private_key(KEY, PASSPHRASE, other)):
        assert private_key_bytes(unwrap_private_key(wrapped, PASSPHRASE)) == private_key_bytes(KEY)


def test_the_documented_construction_is_what_is_stored():
    forged = forge_wrapped(8192, 1, 1)
    assert private_key_bytes(unwrap_private_key(forged, PASSPHRASE)) == private_key_bytes(KEY)


@pytest.mark.parametrize("passphrase", ["", "wrong", PASSPHRASE.upper(), PASSPHRASE + " "])
def test_wrong_passphrase_is_refused(passphrase):
    with pytest.raises(DecryptionError):
        unwrap_private_key(WRAPPED, passphrase)


def test_any_flipped_byte_is_refused():
    for position in range(len(WRAPPED)):
        tampered = WRAPPED[:position] + bytes([WRAPPED[position] ^ 1]) + WRAPPED[position + 1 :]
        with pytest.raises(DecryptionError):
            unwrap_private_key(tampered, PASSPHRASE)


@pytest.mark.parametrize("length", [0, 14, 89, 91])
def test_wrong_length_is_refused(length):
    blob = (WRAPPED + bytes(1))[:length]
    with pytest.raises(DecryptionError):
        unwrap_private_key(blob, PASSPHRASE)


@pytest.mark.parametrize("header", [{"magic": b"PRLX"}, {"version": 2}, {"version": 0}], ids=str)
def test_unknown_magic_or_version_is_refused_even_when_authenticated(header):
    with pytest.raises(DecryptionError):
        unwrap_private_key(forge_wrapped(8192, 1, 1, **header), PASSPHRASE)


@pytest.mark.parametrize(
    ("memory_kib", "iterations", "lanes"),
    [
        (MAX_MEMORY_KIB + 1, 1, 1),
        (2**32 - 1, 1, 1),
        (8192, MAX_ITERATIONS + 1, 1),
        (8192, 0, 1),
        (8192, 1, 0),
        (8192, 1, MAX_LANES + 1),
        (8 * 4 - 1, 1, 4),
    ],
    ids=str,
)
def test_absurd_parameters_are_refused_before_any_argon2_work(
    monkeypatch, memory_kib, iterations, lanes
):
    header = (
        WRAPPED[:5] + memory_kib.to_bytes(4, "big") + iterations.to_bytes(4, "big") + bytes([lanes])
    )
    blob = header + WRAPPED[14:]

    def must_not_run(*args, **kwargs):
        raise AssertionError("Argon2 ran on parameters that should have been refused")

    monkeypatch.setattr(crypto.passphrase, "hash_secret_raw", must_not_run)
    with pytest.raises(DecryptionError):
        unwrap_private_key(blob, PASSPHRASE)
    with pytest.raises(CryptoError):
        wrap_private_key(KEY, PASSPHRASE, Argon2Params(memory_kib, iterations, lanes))


def test_cheap_but_out_of_range_parameters_are_refused_even_when_authenticated():
    with pytest.raises(DecryptionError):
        unwrap_private_key(forge_wrapped(8, MAX_ITERATIONS + 1, 1), PASSPHRASE)


@pytest.mark.parametrize(
    "params",
    [
        Argon2Params(MAX_MEMORY_KIB, 1, 1),
        Argon2Params(8192, MAX_ITERATIONS, 1),
        Argon2Params(8 * MAX_LANES, 1, MAX_LANES),
        Argon2Params(8, 1, 1),
        Argon2Params(),
    ],
    ids=str,
)
def test_limits_themselves_are_accepted(params):
    assert params.is_reasonable()


def test_composed_and_decomposed_accents_are_the_same_passphrase():
    composed = "mot de passe très sûr"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    wrapped = wrap_private_key(KEY, composed, FAST)
    unwrapped = unwrap_private_key(wrapped, decomposed)
    assert private_key_bytes(unwrapped) == private_key_bytes(KEY)
