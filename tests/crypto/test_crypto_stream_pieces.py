"""STREAM fed in pieces the way the portal feeds it: pieces that straddle chunks, buffers the
caller reuses, ``StreamEncryptor.update_to`` and ``decrypted_chunks``."""

import io
import itertools
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, DecryptionError
from crypto.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    HEADER_SIZE,
    MAX_CHUNKS,
    StreamDecryptor,
    StreamEncryptor,
    decrypt_file,
    decrypted_chunks,
    encrypt_file,
    encrypted_size,
)
from tests.crypto.test_crypto_stream import (
    KEY,
    SOURCES,
    THREE_CHUNKS,
    HashingSink,
    RepeatingReader,
    encrypt,
)
from tests.vectors.vector_files import pattern

NONCE_PREFIX = bytes(range(7))
# As the no-JavaScript forms hand an upload over (portal.forms_web.multipart): the first piece is
# what the read holding the part's headers left, the others near 256 KiB but seldom exactly.
UPLOAD_PIECES = [65210, 262073, 262215, 262144, 262100, 262180]


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    """``data`` in pieces of ``sizes``, cycled, then the rest."""
    pieces, start = [], 0
    for size in itertools.cycle(sizes):
        if start >= len(data):
            return pieces
        pieces.append(data[start : start + size])
        start += size
    raise AssertionError("unreachable")


def reused(pieces: list[bytes]) -> Iterator[memoryview]:
    """Each piece in turn in the same ``bytearray``, scribbled over once the consumer is done
    with it: anything that keeps a reference instead of a copy reads the scribbles."""
    buffer = bytearray(max(map(len, pieces), default=0))
    for piece in pieces:
        buffer[: len(piece)] = piece
        yield memoryview(buffer)[: len(piece)]
        buffer[:] = b"\xff" * len(buffer)


def encrypted_with_update_to(pieces) -> tuple[bytes, int]:
    encryptor = StreamEncryptor(KEY, nonce_prefix=NONCE_PREFIX)
    written: list[bytes] = [encryptor.header]
    reported = sum(
        encryptor.update_to(piece, lambda out: written.append(bytes(out))) for piece in pieces
    )
    written.append(encryptor.finalize())
    assert reported == sum(map(len, written[1:-1]))
    return b"".join(written), reported


def encrypted_with_update(pieces) -> bytes:
    encryptor = StreamEncryptor(KEY, nonce_prefix=NONCE_PREFIX)
    return encryptor.header + b"".join(map(encryptor.update, pieces)) + encryptor.finalize()


def decrypted_with_update(pieces) -> bytes:
    decryptor = StreamDecryptor(KEY)
    return b"".join(map(decryptor.update, pieces)) + decryptor.finalize()


@pytest.mark.parametrize(
    "sizes",
    [
        UPLOAD_PIECES,
        [CHUNK_SIZE],
        [CHUNK_SIZE + 1],
        [CHUNK_SIZE - 1],
        [1],
        [7000, 0, 130_000],
        [3 * CHUNK_SIZE + 5],
    ],
)
@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 2 * CHUNK_SIZE, 4 * CHUNK_SIZE + 1234])
def test_pieces_encrypt_to_the_same_file_as_one_update(sizes, size):
    plaintext = pattern(size)
    expected = encrypt(plaintext, nonce_prefix=NONCE_PREFIX)
    assert len(expected) == encrypted_size(size)
    pieces = cut(plaintext, sizes)
    assert encrypted_with_update(pieces) == expected
    assert encrypted_with_update(reused(pieces)) == expected
    assert encrypted_with_update_to(pieces)[0] == expected
    assert encrypted_with_update_to(reused(pieces))[0] == expected
    assert encrypted_with_update_to(map(memoryview, pieces))[0] == expected


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(0, 3 * CHUNK_SIZE + 17),
    sizes=st.lists(st.integers(0, 2 * CHUNK_SIZE + 20), min_size=1, max_size=6).filter(any),
    kinds=st.lists(st.sampled_from(["bytes", "reused", "view"]), min_size=1, max_size=6),
)
def test_pieces_of_any_kind_and_size_agree_with_the_file_functions(size, sizes, kinds):
    """Immutable pieces are held where they are, others copied; mixing them changes nothing."""
    plaintext = pattern(size)
    expected = encrypt(plaintext, nonce_prefix=NONCE_PREFIX)
    buffer = bytearray(max(sizes))
    encryptor = StreamEncryptor(KEY, nonce_prefix=NONCE_PREFIX)
    written = [encryptor.header]
    for piece, kind in zip(cut(plaintext, sizes), itertools.cycle(kinds), strict=False):
        if kind == "reused":
            buffer[: len(piece)] = piece
            data: bytes | memoryview = memoryview(buffer)[: len(piece)]
        else:
            data = piece if kind == "bytes" else memoryview(piece)
        encryptor.update_to(data, lambda out: written.append(bytes(out)))
        buffer[:] = b"\xff" * len(buffer)
    ciphertext = b"".join(written) + encryptor.finalize()
    assert ciphertext == expected
    decrypted = io.BytesIO()
    decrypt_file(io.BytesIO(ciphertext), decrypted, KEY)
    assert decrypted.getvalue() == plaintext
    for feed in (sizes, [HEADER_SIZE, ENCRYPTED_CHUNK_SIZE]):
        pieces = cut(ciphertext, feed)
        assert decrypted_with_update(pieces) == plaintext
        assert decrypted_with_update(reused(pieces)) == plaintext


def test_update_to_hands_out_one_chunk_at_a_time_from_one_buffer():
    encryptor = StreamEncryptor(KEY)
    seen: list[tuple[int, int]] = []
    count = encryptor.update_to(
        pattern(3 * CHUNK_SIZE + 1), lambda out: seen.append((id(out.obj), len(out)))
    )
    assert count == 3 * ENCRYPTED_CHUNK_SIZE
    assert [length for _, length in seen] == [ENCRYPTED_CHUNK_SIZE] * 3
    assert len({buffer for buffer, _ in seen}) == 1
    assert encryptor.update_to(b"", seen.append) == 0
    assert len(seen) == 3


def test_update_to_refuses_after_finalize_and_past_the_last_chunk_number():
    encryptor = StreamEncryptor(KEY)
    encryptor.finalize()
    with pytest.raises(CryptoError):
        encryptor.update_to(b"more", print)
    encryptor = StreamEncryptor(KEY)
    encryptor._next_index = MAX_CHUNKS - 1
    assert encryptor.update_to(bytes(CHUNK_SIZE + 1), lambda out: None) == ENCRYPTED_CHUNK_SIZE
    with pytest.raises(CryptoError):
        encryptor.update_to(bytes(CHUNK_SIZE), lambda out: None)


def test_a_write_that_raises_ends_the_encryptor_and_no_chunk_number_is_used_twice():
    encryptor = StreamEncryptor(KEY)

    def full(out: memoryview) -> None:
        raise OSError("no room")

    with pytest.raises(OSError):
        encryptor.update_to(bytes(2 * CHUNK_SIZE), full)
    assert encryptor._next_index == 1  # the chunk it was writing keeps its number
    with pytest.raises(CryptoError):
        encryptor.update_to(bytes(CHUNK_SIZE), lambda out: None)
    with pytest.raises(CryptoError):
        encryptor.finalize()


def test_64_mib_of_upload_pieces_encrypt_in_bounded_memory():
    size = 64 * 1024 * 1024
    reader, sink = RepeatingReader(size), HashingSink()
    tracemalloc.start()
    try:
        encryptor = StreamEncryptor(KEY)
        sink.write(encryptor.header)
        for piece_size in itertools.cycle(UPLOAD_PIECES):
            if not (piece := reader.read(piece_size)):
                break
            encryptor.update_to(piece, sink.write)
        sink.write(encryptor.finalize())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size == encrypted_size(size)
    assert peak < 1024 * 1024


def test_what_is_held_back_keeps_no_large_piece_alive():
    encryptor = StreamEncryptor(KEY)
    tracemalloc.start()
    try:
        piece = pattern(8 * CHUNK_SIZE + 1)
        assert encryptor.update_to(piece, lambda out: None) == 8 * ENCRYPTED_CHUNK_SIZE
        del piece
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert held < 2 * CHUNK_SIZE


@pytest.mark.parametrize("source", SOURCES, ids=lambda source: source.__name__)
@pytest.mark.parametrize("size", [0, 1, CHUNK_SIZE, 2 * CHUNK_SIZE + 1000])
def test_decrypted_chunks_yields_each_chunk_as_it_authenticates(source, size):
    plaintext = pattern(size)
    encrypted = io.BytesIO()
    encrypt_file(io.BytesIO(plaintext), encrypted, KEY)
    pieces = list(decrypted_chunks(source(encrypted.getvalue()), KEY))
    assert b"".join(pieces) == plaintext
    assert all(len(piece) == CHUNK_SIZE for piece in pieces[:-1])
    assert len(pieces) == -(-size // CHUNK_SIZE)


@pytest.mark.parametrize(
    "cut_at", [0, HEADER_SIZE - 1, HEADER_SIZE, HEADER_SIZE + ENCRYPTED_CHUNK_SIZE, -1]
)
def test_decrypted_chunks_refuses_a_cut_file_only_after_what_authenticated(cut_at):
    pieces = decrypted_chunks(io.BytesIO(THREE_CHUNKS[:cut_at]), KEY)
    received = []
    with pytest.raises(DecryptionError):
        for piece in pieces:
            received.append(piece)
    assert len(received) <= 2
    assert b"".join(received) == pattern(2 * CHUNK_SIZE + 1000)[: len(received) * CHUNK_SIZE]


def test_decrypted_chunks_refuses_a_tampered_chunk_before_yielding_it():
    tampered = bytearray(THREE_CHUNKS)
    tampered[HEADER_SIZE + ENCRYPTED_CHUNK_SIZE + 5] ^= 1
    received = []
    with pytest.raises(DecryptionError):
        for piece in decrypted_chunks(io.BytesIO(bytes(tampered)), KEY):
            received.append(piece)
    assert received == [pattern(CHUNK_SIZE)]
