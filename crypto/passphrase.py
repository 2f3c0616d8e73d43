"""Passphrase-wrapped private key v1: how a staff member's personal key is stored.

The server keeps a staff member's X25519 private key only in this form, so a copy of the database
reveals nothing without the passphrase. The login password hash (``crypto.passwords``) is separate
and uses its own salt, so it cannot be used to unwrap this key.

Layout, default costs and the limits a reader enforces: docs/FORMATS.md, "Passphrase-wrapped
private key v1". The Argon2id costs travel in the wrap, so they can be raised later by
re-wrapping; unwrapping refuses absurd costs before any work is done, so a forged wrap cannot
exhaust the server.
"""

import secrets
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError, DecryptionError
from crypto.keys import PrivateKey, load_private_key, private_key_bytes
from crypto.passwords import normalise_passphrase

MAGIC = b"PRLK"
VERSION = 1
SALT_SIZE = 16
NONCE_SIZE = 12
HEADER_SIZE = 4 + 1 + 4 + 4 + 1 + SALT_SIZE + NONCE_SIZE
WRAPPED_SIZE = HEADER_SIZE + 32 + 16

MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 16


@dataclass(frozen=True)
class Argon2Params:
    """Argon2id cost parameters; the defaults are RFC 9106's second recommended profile."""

    memory_kib: int = 65536
    iterations: int = 3
    lanes: int = 4

    def is_reasonable(self) -> bool:
        """Whether these parameters are within the limits accepted on unwrap."""
        return (
            1 <= self.lanes <= MAX_LANES
            and 8 * self.lanes <= self.memory_kib <= MAX_MEMORY_KIB
            and 1 <= self.iterations <= MAX_ITERATIONS
        )


def _key_encryption_key(passphrase: str, salt: bytes, params: Argon2Params) -> bytes:
    return hash_secret_raw(
        secret=normalise_passphrase(passphrase),
        salt=salt,
        time_cost=params.iterations,
        memory_cost=params.memory_kib,
        parallelism=params.lanes,
        hash_len=32,
        type=Type.ID,
        version=19,
    )


def wrap_private_key(
    private_key: PrivateKey, passphrase: str, params: Argon2Params = Argon2Params()
) -> bytes:
    """Encrypt a private key under a passphrase (takes about as long as one unwrap)."""
    if not params.is_reasonable():
        raise CryptoError(f"Argon2 parameters out of range: {params}")
    salt = secrets.token_bytes(SALT_SIZE)
    nonce = secrets.token_bytes(NONCE_SIZE)
    header = (
        MAGIC
        + bytes([VERSION])
        + params.memory_kib.to_bytes(4, "big")
        + params.iterations.to_bytes(4, "big")
        + params.lanes.to_bytes(1, "big")
        + salt
        + nonce
    )
    kek = _key_encryption_key(passphrase, salt, params)
    return header + AESGCM(kek).encrypt(nonce, private_key_bytes(private_key), header)


def unwrap_private_key(blob: bytes, passphrase: str) -> PrivateKey:
    """Decrypt a wrapped private key; ``DecryptionError`` for a wrong passphrase or bad blob."""
    blob = bytes(blob)
    if len(blob) != WRAPPED_SIZE or blob[0:4] != MAGIC or blob[4] != VERSION:
        raise DecryptionError("not a version 1 wrapped key")
    params = Argon2Params(
        memory_kib=int.from_bytes(blob[5:9], "big"),
        iterations=int.from_bytes(blob[9:13], "big"),
        lanes=blob[13],
    )
    if not params.is_reasonable():
        raise DecryptionError("wrapped key has out-of-range Argon2 parameters")
    salt, nonce = blob[14:30], blob[30:HEADER_SIZE]
    kek = _key_encryption_key(passphrase, salt, params)
    try:
        raw = AESGCM(kek).decrypt(nonce, blob[HEADER_SIZE:], blob[:HEADER_SIZE])
    except InvalidTag as error:
        raise DecryptionError("wrong passphrase or damaged wrapped key") from error
    return load_private_key(raw)
