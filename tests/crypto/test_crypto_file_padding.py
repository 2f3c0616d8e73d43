"""Attachment padding (docs/FORMATS.md, "Envelope plaintexts", parley-attachment-keys-v2) against
the shared vectors, its definition and its promises: bounded overhead, exact read-back, and a
wrong padding refused before the last true byte is released."""

import hashlib

import pytest

from crypto import DecryptionError, StreamDecryptor, StreamEncryptor
from crypto.file_padding import (
    PaddingChecker,
    is_padded_file_size,
    padded_file_size,
    padding_pieces,
    unpadded,
)
from tests.vectors.vector_files import load_vectors, pattern

VECTORS = load_vectors("attachment-padding-v1.json")


def padme_by_definition(size: int) -> int:
    """The rule as FORMATS.md states it, written without the code under test's bit tricks."""
    length = max(size, 65536)
    exponent = 0
    while 2 ** (exponent + 1) <= length:
        exponent += 1
    bits_of_exponent = len(bin(exponent)) - 2
    step = 2 ** (exponent - bits_of_exponent)
    return (length + step - 1) // step * step


def encrypted(plaintext: bytes, key: bytes, nonce_prefix: bytes) -> bytes:
    encryptor = StreamEncryptor(key, nonce_prefix=nonce_prefix)
    return encryptor.header + encryptor.update(plaintext) + encryptor.finalize()


def decrypted_pieces(ciphertext: bytes, key: bytes) -> list[bytes]:
    decryptor = StreamDecryptor(key)
    return [decryptor.update(ciphertext), decryptor.finalize()]


@pytest.mark.parametrize(("size", "padded"), VECTORS["padded_sizes"])
def test_padded_sizes_match_the_vectors_and_the_definition(size: int, padded: int) -> None:
    assert padded_file_size(size) == padded == padme_by_definition(size)
    assert is_padded_file_size(padded)


def test_overhead_is_under_a_thirty_second_above_the_floor_and_sizes_are_few() -> None:
    worst = [2**exponent + 1 for exponent in range(16, 50)]
    for size in [*range(65536, 2**34, 1_000_003), *worst]:
        padded = padded_file_size(size)
        assert size <= padded < size + size / 32
    octave = {padded_file_size(size) for size in range(2**20, 2**21, 97)} - {2**21}
    assert len(octave) == 32


def test_every_padded_size_is_its_own_bucket_and_others_are_not() -> None:
    assert not is_padded_file_size(65537)
    assert not is_padded_file_size(70000)
    assert not is_padded_file_size(-1)
    assert list(padding_pieces(65536)) == []
    assert b"".join(padding_pieces(70000)) == bytes(1680)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["description"])
def test_padded_files_encrypt_to_the_vectors_and_read_back_exactly(case: dict) -> None:
    key, prefix = bytes.fromhex(case["key"]), bytes.fromhex(case["nonce_prefix"])
    content = pattern(case["size"])
    padded = content + b"".join(padding_pieces(case["size"]))
    assert len(padded) == case["padded_size"]
    ciphertext = encrypted(padded, key, prefix)
    assert hashlib.sha256(ciphertext).hexdigest() == case["ciphertext_sha256"]
    assert b"".join(unpadded(decrypted_pieces(ciphertext, key), case["size"])) == content


@pytest.mark.parametrize("case", VECTORS["tamper"], ids=lambda case: case["description"])
def test_wrong_padding_is_refused_before_the_last_true_byte(case: dict) -> None:
    padded = bytearray(pattern(case["size"]) + bytes(case["padded_size"] - case["size"]))
    if case["nonzero_at"] is not None:
        padded[case["nonzero_at"]] = 1
    pieces = [bytes(padded[:65536]), bytes(padded[65536:])]
    released = []
    with pytest.raises(DecryptionError):
        for piece in unpadded(pieces, case["recorded_size"]):
            released.append(piece)
    assert sum(map(len, released)) < min(case["padded_size"], case["recorded_size"])


def test_an_unpadded_v1_file_must_hold_exactly_its_size() -> None:
    assert b"".join(unpadded([b"abc"], 3, padded=False)) == b"abc"
    with pytest.raises(DecryptionError):
        list(unpadded([b"abc", b"\x00"], 3, padded=False))
    with pytest.raises(DecryptionError):
        list(unpadded([b"ab"], 3, padded=False))


def test_the_checker_releases_true_bytes_one_piece_late() -> None:
    checker = PaddingChecker(5)
    assert checker.update(b"ab") == b""
    assert checker.update(b"cd") == b"ab"
    assert checker.update(b"e\x00\x00") == b"cd"
    assert checker.finalize() == b"e"
