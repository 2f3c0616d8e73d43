"""STREAM v1: known answers, round trips, bounded memory and every way to damage a file."""

import hashlib
import io
import tracemalloc

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, DecryptionError
from crypto.stream import (
    CHUNK_SIZE,
    ENCRYPTED_CHUNK_SIZE,
    HEADER_SIZE,
    MAX_CHUNKS,
    TAG_SIZE,
    StreamDecryptor,
    StreamEncryptor,
    decrypt_file,
    decrypted_chunks,
    encrypt_file,
    encrypted_size,
    is_stream_header,
    new_file_key,
    plaintext_size_for,
)
from tests.vectors.vector_files import load_vectors, pattern

VECTORS = load_vectors("stream-v1.json")
KEY = new_file_key()


def encrypt(plaintext: bytes, key: bytes = KEY, nonce_prefix: bytes | None = None) -> bytes:
    encryptor = StreamEncryptor(key, nonce_prefix=nonce_prefix)
    return encryptor.header + encryptor.update(plaintext) + encryptor.finalize()


def decrypt(ciphertext: bytes, key: bytes = KEY) -> bytes:
    decryptor = StreamDecryptor(key)
    return decryptor.update(ciphertext) + decryptor.finalize()


def chunks_of(ciphertext: bytes) -> tuple[bytes, list[bytes]]:
    body = ciphertext[HEADER_SIZE:]
    step = ENCRYPTED_CHUNK_SIZE
    return ciphertext[:HEADER_SIZE], [body[i : i + step] for i in range(0, len(body), step)]


def forge(header: bytes, plaintext_chunks: list[bytes], key: bytes = KEY) -> bytes:
    """A file whose chunks authenticate under ``header``, whatever the header says."""
    aead = AESGCM(key)
    chunks = []
    for index, plaintext in enumerate(plaintext_chunks):
        last = b"\x01" if index == len(plaintext_chunks) - 1 else b"\x00"
        nonce = header[9:16] + index.to_bytes(4, "big") + last
        chunks.append(aead.encrypt(nonce, plaintext, header))
    return header + b"".join(chunks)


class ShortReads(io.RawIOBase):
    """``data`` through ``readinto``, at most ``PIECE`` bytes a call, as from a pipe or socket."""

    PIECE = 7000

    def __init__(self, data: bytes) -> None:
        self.data = memoryview(data)
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        count = min(len(buffer), self.PIECE, len(self.data) - self.position)
        buffer[:count] = self.data[self.position : self.position + count]
        self.position += count
        return count


class ReadOnly(io.RawIOBase):
    """``data`` through ``read`` alone (its inherited ``readinto`` raises)."""

    def __init__(self, data: bytes) -> None:
        self.source = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self.source.read(size)


# What the file functions read from: in memory (chunks are views of it), or read into buffers.
SOURCES = [io.BytesIO, ShortReads, ReadOnly]


def refused(ciphertext: bytes, key: bytes = KEY) -> None:
    with pytest.raises(DecryptionError):
        decrypt(ciphertext, key)
    for source in SOURCES:
        with pytest.raises(DecryptionError):
            decrypt_file(source(ciphertext), io.BytesIO(), key)
        with pytest.raises(DecryptionError):
            b"".join(decrypted_chunks(source(ciphertext), key))


THREE_CHUNKS = encrypt(pattern(2 * CHUNK_SIZE + 1000))


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["description"])
def test_vector_encrypts_byte_for_byte_and_decrypts(case):
    if "plaintext" in case:
        plaintext = bytes.fromhex(case["plaintext"])
    else:
        plaintext = pattern(case["plaintext_pattern"]["length"])
    key = bytes.fromhex(case["key"])
    ciphertext = encrypt(plaintext, key, bytes.fromhex(case["nonce_prefix"]))
    assert hashlib.sha256(ciphertext).hexdigest() == case["ciphertext_sha256"]
    if "ciphertext" in case:
        assert ciphertext.hex() == case["ciphertext"]
    assert len(ciphertext) == encrypted_size(len(plaintext))
    assert decrypt(ciphertext, key) == plaintext
    for source in SOURCES:
        decrypted = io.BytesIO()
        assert decrypt_file(source(ciphertext), decrypted, key) == len(plaintext)
        assert decrypted.getvalue() == plaintext


@settings(max_examples=30, deadline=None)
@given(
    size=st.integers(0, 3 * CHUNK_SIZE + 17),
    piece=st.integers(1, 2 * CHUNK_SIZE),
    feed=st.integers(1, 2 * ENCRYPTED_CHUNK_SIZE),
)
def test_round_trip_whatever_the_piece_sizes(size, piece, feed):
    plaintext = pattern(size)
    encryptor = StreamEncryptor(KEY)
    parts = [encryptor.header]
    parts += [encryptor.update(plaintext[i : i + piece]) for i in range(0, size, piece)]
    ciphertext = b"".join(parts) + encryptor.finalize()
    assert len(ciphertext) == encrypted_size(size)
    decryptor = StreamDecryptor(KEY)
    opened = [decryptor.update(ciphertext[i : i + feed]) for i in range(0, len(ciphertext), feed)]
    assert b"".join(opened) + decryptor.finalize() == plaintext


@pytest.mark.parametrize(
    ("size", "chunks"), [(0, 1), (1, 1), (CHUNK_SIZE, 1), (CHUNK_SIZE + 1, 2), (3 * CHUNK_SIZE, 3)]
)
def test_encrypted_size_counts_one_chunk_per_started_block(size, chunks):
    assert encrypted_size(size) == HEADER_SIZE + size + 16 * chunks == len(encrypt(bytes(size)))


def test_file_helpers_report_bytes_written():
    plaintext = pattern(CHUNK_SIZE * 2 + 5)
    encrypted, decrypted = io.BytesIO(), io.BytesIO()
    assert encrypt_file(io.BytesIO(plaintext), encrypted, KEY) == len(encrypted.getvalue())
    assert len(encrypted.getvalue()) == encrypted_size(len(plaintext))
    encrypted.seek(0)
    assert decrypt_file(encrypted, decrypted, KEY) == len(plaintext)
    assert decrypted.getvalue() == plaintext


@pytest.mark.parametrize("source", SOURCES, ids=lambda source: source.__name__)
@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE + 17],
)
def test_file_helpers_agree_with_the_incremental_classes(source, size):
    plaintext = pattern(size)
    encrypted = io.BytesIO()
    assert encrypt_file(source(plaintext), encrypted, KEY) == encrypted_size(size)
    assert decrypt(encrypted.getvalue()) == plaintext
    decrypted = io.BytesIO()
    assert decrypt_file(source(encrypt(plaintext)), decrypted, KEY) == size
    assert decrypted.getvalue() == plaintext


def test_file_helpers_read_an_in_memory_file_from_its_position_to_its_end():
    plaintext = pattern(CHUNK_SIZE + 5)
    source = io.BytesIO(b"read before" + plaintext)
    source.read(11)
    encrypted = io.BytesIO(b"not ours")
    encrypted.seek(0, io.SEEK_END)
    encrypt_file(source, encrypted, KEY)
    assert source.read() == b""
    assert decrypt(encrypted.getvalue()[8:]) == plaintext
    encrypted.seek(8)
    decrypted = io.BytesIO()
    assert decrypt_file(encrypted, decrypted, KEY) == len(plaintext)
    assert decrypted.getvalue() == plaintext
    assert encrypted.read() == b""


class RepeatingReader(io.RawIOBase):
    """``size`` bytes of a repeating block, produced on demand (nothing held in memory)."""

    BLOCK = bytes(range(256)) * 1024

    def __init__(self, size: int) -> None:
        self.remaining = size
        self.position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        start = self.position % len(self.BLOCK)
        count = min(size, self.remaining, len(self.BLOCK) - start)
        self.remaining -= count
        self.position += count
        return self.BLOCK[start : start + count]


class EncryptingReader(io.RawIOBase):
    """The ciphertext of a plaintext reader, produced on demand."""

    def __init__(self, source: io.RawIOBase) -> None:
        self.source = source
        self.encryptor = StreamEncryptor(KEY)
        self.pending = self.encryptor.header
        self.finished = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while len(self.pending) < size and not self.finished:
            data = self.source.read(CHUNK_SIZE)
            self.pending += self.encryptor.update(data) if data else self.encryptor.finalize()
            self.finished = not data
        piece, self.pending = self.pending[:size], self.pending[size:]
        return piece


class HashingSink(io.RawIOBase):
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def test_64_mib_encrypts_and_decrypts_in_bounded_memory():
    size = 64 * 1024 * 1024
    expected, reader = hashlib.sha256(), RepeatingReader(size)
    while data := reader.read(CHUNK_SIZE):
        expected.update(data)
    tracemalloc.start()
    try:
        encrypted = HashingSink()
        assert encrypt_file(RepeatingReader(size), encrypted, KEY) == encrypted_size(size)
        decrypted = HashingSink()
        assert decrypt_file(EncryptingReader(RepeatingReader(size)), decrypted, KEY) == size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decrypted.digest.hexdigest() == expected.hexdigest()
    assert peak < 4 * 1024 * 1024


def test_an_in_memory_file_is_not_copied_whole():
    size = 32 * 1024 * 1024
    plaintext = bytes(size)
    encrypted = io.BytesIO()
    encrypt_file(io.BytesIO(plaintext), encrypted, KEY)
    ciphertext = encrypted.getvalue()
    tracemalloc.start()
    try:
        assert encrypt_file(io.BytesIO(plaintext), HashingSink(), KEY) == len(ciphertext)
        assert decrypt_file(io.BytesIO(ciphertext), HashingSink(), KEY) == size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


def test_truncation_at_every_chunk_boundary_is_refused():
    header, chunks = chunks_of(THREE_CHUNKS)
    for kept in range(len(chunks)):
        refused(header + b"".join(chunks[:kept]))


@pytest.mark.parametrize("cut", [1, 15, 16, 17, 500, ENCRYPTED_CHUNK_SIZE - 1])
def test_truncation_inside_a_chunk_is_refused(cut):
    refused(THREE_CHUNKS[: HEADER_SIZE + ENCRYPTED_CHUNK_SIZE + cut])
    refused(THREE_CHUNKS[:-cut])


@pytest.mark.parametrize("length", range(HEADER_SIZE + 16))
def test_too_short_to_hold_a_header_and_a_chunk_is_refused(length):
    refused(THREE_CHUNKS[:length])


def test_reordered_chunks_are_refused():
    header, chunks = chunks_of(THREE_CHUNKS)
    refused(header + chunks[1] + chunks[0] + chunks[2])


def test_duplicated_chunk_is_refused():
    header, chunks = chunks_of(THREE_CHUNKS)
    refused(header + chunks[0] + chunks[0] + chunks[1] + chunks[2])


def test_appended_valid_chunk_is_refused():
    nonce_prefix = THREE_CHUNKS[9:HEADER_SIZE]
    longer = encrypt(pattern(3 * CHUNK_SIZE + 10), nonce_prefix=nonce_prefix)
    assert longer[: 2 * ENCRYPTED_CHUNK_SIZE] == THREE_CHUNKS[: 2 * ENCRYPTED_CHUNK_SIZE]
    _, extra_chunks = chunks_of(longer)
    refused(THREE_CHUNKS + extra_chunks[3])
    refused(THREE_CHUNKS + b"\x00")


def test_wrong_key_is_refused():
    refused(THREE_CHUNKS, key=new_file_key())


@settings(max_examples=60, deadline=None)
@given(position=st.integers(0, len(THREE_CHUNKS) - 1))
def test_any_flipped_byte_is_refused(position):
    refused(
        THREE_CHUNKS[:position] + bytes([THREE_CHUNKS[position] ^ 1]) + THREE_CHUNKS[position + 1 :]
    )


@pytest.mark.parametrize(
    "header",
    [
        b"PRLX\x01" + CHUNK_SIZE.to_bytes(4, "big") + bytes(7),
        b"PRLS\x02" + CHUNK_SIZE.to_bytes(4, "big") + bytes(7),
        b"PRLS\x01" + (4096).to_bytes(4, "big") + bytes(7),
    ],
    ids=["magic", "version 2", "chunk size 4096"],
)
def test_bad_headers_are_refused_even_when_the_chunks_authenticate(header):
    refused(forge(header, [b"hello"]))


def test_a_file_of_whole_chunks_may_also_end_with_an_empty_chunk():
    header = StreamEncryptor(KEY).header
    assert decrypt(forge(header, [pattern(CHUNK_SIZE), b""])) == pattern(CHUNK_SIZE)
    refused(forge(header, [pattern(CHUNK_SIZE - 1), b"x"]))


def test_counter_overflow_is_refused():
    encryptor = StreamEncryptor(KEY)
    encryptor._next_index = MAX_CHUNKS - 1
    assert len(encryptor.update(bytes(CHUNK_SIZE + 1))) == ENCRYPTED_CHUNK_SIZE
    with pytest.raises(CryptoError):
        encryptor.finalize()
    decryptor = StreamDecryptor(KEY)
    decryptor.update(THREE_CHUNKS[:HEADER_SIZE])
    decryptor._next_index = MAX_CHUNKS
    with pytest.raises(DecryptionError):
        decryptor.update(THREE_CHUNKS[HEADER_SIZE:])


def test_nothing_is_accepted_after_the_final_chunk():
    two_chunks = encrypt(pattern(2 * CHUNK_SIZE))
    longer = encrypt(pattern(4 * CHUNK_SIZE), nonce_prefix=two_chunks[9:HEADER_SIZE])
    _, longer_chunks = chunks_of(longer)
    decryptor = StreamDecryptor(KEY)
    assert decryptor.update(two_chunks) + decryptor.finalize() == pattern(2 * CHUNK_SIZE)
    with pytest.raises(DecryptionError):
        decryptor.update(longer_chunks[2] + longer_chunks[3])
    with pytest.raises(DecryptionError):
        decryptor.finalize()


def test_finalised_objects_cannot_be_reused():
    encryptor = StreamEncryptor(KEY)
    encryptor.finalize()
    with pytest.raises(CryptoError):
        encryptor.update(b"more")
    with pytest.raises(CryptoError):
        encryptor.finalize()
    decryptor = StreamDecryptor(KEY)
    decryptor.update(encrypt(b"done"))
    assert decryptor.finalize() == b"done"
    with pytest.raises(DecryptionError):
        decryptor.finalize()


@pytest.mark.parametrize(
    ("key", "nonce_prefix"), [(bytes(31), None), (bytes(33), None), (bytes(32), bytes(6))]
)
def test_encryptor_refuses_bad_key_or_nonce_prefix(key, nonce_prefix):
    with pytest.raises(CryptoError):
        StreamEncryptor(key, nonce_prefix=nonce_prefix)


def test_decryptor_refuses_a_key_of_the_wrong_length():
    with pytest.raises(DecryptionError):
        StreamDecryptor(bytes(16))


@given(st.integers(min_value=0, max_value=MAX_CHUNKS * CHUNK_SIZE))
def test_plaintext_size_for_inverts_encrypted_size(size):
    assert plaintext_size_for(encrypted_size(size)) == size


@pytest.mark.parametrize("chunks", [1, 2, 5])
def test_plaintext_size_for_accepts_whole_chunks_then_an_empty_final_chunk(chunks):
    header = StreamEncryptor(KEY).header
    forged = forge(header, [pattern(CHUNK_SIZE)] * chunks + [b""])
    assert plaintext_size_for(len(forged)) == chunks * CHUNK_SIZE


@pytest.mark.parametrize(
    "size",
    [
        0,
        HEADER_SIZE,
        HEADER_SIZE + TAG_SIZE - 1,
        HEADER_SIZE + ENCRYPTED_CHUNK_SIZE + 1,
        HEADER_SIZE + 3 * ENCRYPTED_CHUNK_SIZE + TAG_SIZE - 1,
        HEADER_SIZE + (MAX_CHUNKS + 1) * ENCRYPTED_CHUNK_SIZE,
    ],
)
def test_plaintext_size_for_refuses_sizes_no_file_can_have(size):
    assert plaintext_size_for(size) is None


def test_stream_header_check_accepts_a_real_header_and_nothing_else():
    header = StreamEncryptor(KEY).header
    assert is_stream_header(header)
    assert is_stream_header(header + b"chunk bytes follow")
    assert not is_stream_header(header[:-1])
    assert not is_stream_header(b"PRLS\x02" + header[5:])
    assert not is_stream_header(b"PRLX" + header[4:])
    assert not is_stream_header(header[:5] + (4096).to_bytes(4, "big") + header[9:])
