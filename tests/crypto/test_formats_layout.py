"""The envelope and STREAM vectors read byte by byte against docs/FORMATS.md.

The vector tests prove that the implementations agree with the vectors; these prove that the
vectors are what the specification's tables say. Each envelope of ``envelope-v1.json`` is taken
apart at the documented offsets and opened with plain HPKE and AES-GCM, and each file of
``stream-v1.json`` is rebuilt from the documented header and nonces, without the ``crypto``
package: if a table in FORMATS.md and the bytes ever disagree, this fails.
"""

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from tests.vectors.vector_files import load_vectors, pattern

ENVELOPES = load_vectors("envelope-v1.json")["cases"]
STREAMS = load_vectors("stream-v1.json")["cases"]
HPKE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


def bucket(size: int) -> int:
    """FORMATS.md, "Envelope v1", padding."""
    if size <= 65536:
        power = 1024
        while power < size:
            power *= 2
        return power
    return -(-size // 65536) * 65536


def _public(private_hex: str) -> bytes:
    return (
        X25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
        .public_key()
        .public_bytes_raw()
    )


@pytest.mark.parametrize("case", ENVELOPES, ids=lambda case: case["description"])
def test_envelope_vector_has_the_documented_layout(case: dict[str, Any]) -> None:
    envelope = bytes.fromhex(case["envelope"])
    plaintext = bytes.fromhex(case["plaintext"])
    keys = case["recipient_private_keys"]
    n = len(keys)
    digest = hashlib.sha256(b"parley context v1\x00" + case["context"].encode()).digest()

    assert envelope[0:4] == b"PRLE" and envelope[4] == 0x01 and envelope[5] == 0x00
    assert envelope[6:38] == digest
    assert envelope[38] == n
    padded_size = bucket(4 + len(plaintext))
    assert len(envelope) == 51 + 96 * n + padded_size + 16

    nonce = envelope[39 + 96 * n : 51 + 96 * n]
    for index, private_hex in enumerate(keys):
        slot = envelope[39 + 96 * index : 39 + 96 * (index + 1)]
        key_id = hashlib.sha256(b"parley key id v1\x00" + _public(private_hex)).digest()[:16]
        assert slot[:16] == key_id
        info = b"parley envelope v1\x00" + digest + key_id
        private_key = X25519PrivateKey.from_private_bytes(bytes.fromhex(private_hex))
        data_key = HPKE.decrypt(slot[16:], private_key, info)
        padded = AESGCM(data_key).decrypt(nonce, envelope[51 + 96 * n :], envelope[: 51 + 96 * n])
        assert len(padded) == padded_size
        assert int.from_bytes(padded[:4], "big") == len(plaintext)
        assert padded[4 : 4 + len(plaintext)] == plaintext
        assert padded[4 + len(plaintext) :] == bytes(padded_size - 4 - len(plaintext))


def _stream_from_the_specification(key: bytes, nonce_prefix: bytes, plaintext: bytes) -> bytes:
    """FORMATS.md, "STREAM v1": header, then max(1, ceil(n / 65536)) chunks."""
    header = b"PRLS" + b"\x01" + (65536).to_bytes(4, "big") + nonce_prefix
    chunks = max(1, -(-len(plaintext) // 65536))
    out = [header]
    for index in range(chunks):
        last = index == chunks - 1
        nonce = nonce_prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")
        piece = plaintext[index * 65536 : (index + 1) * 65536]
        out.append(AESGCM(key).encrypt(nonce, piece, header))
    return b"".join(out)


@pytest.mark.parametrize("case", STREAMS, ids=lambda case: case["description"])
def test_stream_vector_is_the_documented_construction(case: dict[str, Any]) -> None:
    if "plaintext" in case:
        plaintext = bytes.fromhex(case["plaintext"])
    else:
        plaintext = pattern(case["plaintext_pattern"]["length"])
    rebuilt = _stream_from_the_specification(
        bytes.fromhex(case["key"]), bytes.fromhex(case["nonce_prefix"]), plaintext
    )
    chunks = max(1, -(-len(plaintext) // 65536))
    assert len(rebuilt) == 16 + len(plaintext) + 16 * chunks
    assert hashlib.sha256(rebuilt).hexdigest() == case["ciphertext_sha256"]
    if "ciphertext" in case:
        assert rebuilt.hex() == case["ciphertext"]
