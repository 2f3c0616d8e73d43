"""STREAM v1: attachments of any size, encrypted and decrypted in bounded memory.

The header, the chunking and the nonces are specified in docs/FORMATS.md, "STREAM v1". Because
the chunk number and the "final chunk" flag are part of each nonce, dropping, reordering,
duplicating or appending chunks, or cutting the file short, makes decryption fail with
``DecryptionError``; the file key travels inside the submission's attachment-keys envelope.
Sizes follow from the layout: :func:`encrypted_size` and its inverse :func:`plaintext_size_for`.

Decryption hands out the plaintext of each chunk as soon as that chunk has authenticated, so
memory stays bounded, but only the final check proves the file is complete: whoever consumes the
output must discard everything it received if :meth:`StreamDecryptor.finalize` (or
:func:`decrypt_file`) raises.
"""

import itertools
import secrets
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.errors import CryptoError, DecryptionError

MAGIC = b"PRLS"
VERSION = 1
CHUNK_SIZE = 65536
KEY_SIZE = 32
NONCE_PREFIX_SIZE = 7
HEADER_SIZE = 4 + 1 + 4 + NONCE_PREFIX_SIZE
TAG_SIZE = 16
ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE
MAX_CHUNKS = 2**32


def new_file_key() -> bytes:
    """A fresh random key for one file."""
    return secrets.token_bytes(KEY_SIZE)


def encrypted_size(plaintext_size: int) -> int:
    """Size of the STREAM ciphertext (header included) for a plaintext of this size."""
    chunks = max(1, -(-plaintext_size // CHUNK_SIZE))
    return HEADER_SIZE + plaintext_size + chunks * TAG_SIZE


def plaintext_size_for(encrypted_size: int) -> int | None:
    """The plaintext size of a STREAM file of ``encrypted_size`` bytes; ``None`` if none can be.

    A server that receives ciphertext it cannot decrypt can still refuse a declared size that no
    file could have: shorter than a header and one tag, ending in a partial tag, or more than
    2^32 chunks. For sizes :func:`encrypted_size` produces, this is its inverse; it also accepts
    whole chunks followed by an empty final chunk, which decryption accepts too.
    """
    body = encrypted_size - HEADER_SIZE
    if body < TAG_SIZE:
        return None
    full_chunks, rest = divmod(body, ENCRYPTED_CHUNK_SIZE)
    if full_chunks + (rest > 0) > MAX_CHUNKS or 0 < rest < TAG_SIZE:
        return None
    return full_chunks * CHUNK_SIZE + max(rest - TAG_SIZE, 0)


def is_stream_header(header: bytes) -> bool:
    """Whether ``header`` starts like a STREAM v1 file: magic, version and chunk size.

    This says nothing about authenticity: only the file key can prove that, by decrypting.
    """
    return (
        len(header) >= HEADER_SIZE
        and header[0:4] == MAGIC
        and header[4] == VERSION
        and int.from_bytes(header[5:9], "big") == CHUNK_SIZE
    )


def _chunk_nonce(nonce_prefix: bytes, index: int, last: bool) -> bytes:
    return nonce_prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class StreamEncryptor:
    """Encrypts one file incrementally.

    Write :attr:`header` first, then everything :meth:`update` returns, then what
    :meth:`finalize` returns; together that is the whole encrypted file. A full chunk is held back
    until more data arrives, because only then is it known not to be the last.
    """

    def __init__(self, key: bytes, *, nonce_prefix: bytes | None = None) -> None:
        if len(key) != KEY_SIZE:
            raise CryptoError(f"a file key is {KEY_SIZE} bytes")
        if nonce_prefix is None:
            nonce_prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
        if len(nonce_prefix) != NONCE_PREFIX_SIZE:
            raise CryptoError(f"a nonce prefix is {NONCE_PREFIX_SIZE} bytes")
        self._aead = AESGCM(bytes(key))
        self._nonce_prefix = bytes(nonce_prefix)
        self.header = MAGIC + bytes([VERSION]) + CHUNK_SIZE.to_bytes(4, "big") + self._nonce_prefix
        self._buffer = bytearray()
        self._next_index = 0
        self._finished = False

    def _seal_chunk(self, plaintext: bytes | bytearray, last: bool) -> bytes:
        if self._next_index >= MAX_CHUNKS:
            raise CryptoError("a file may have at most 2^32 chunks")
        nonce = _chunk_nonce(self._nonce_prefix, self._next_index, last)
        self._next_index += 1
        return self._aead.encrypt(nonce, plaintext, self.header)

    def update(self, data: bytes) -> bytes:
        """Take more plaintext; return the encrypted chunks that are now complete."""
        if self._finished:
            raise CryptoError("this file has already been finalised")
        self._buffer += data
        sealed = []
        offset = 0
        while len(self._buffer) - offset > CHUNK_SIZE:
            chunk = self._buffer[offset : offset + CHUNK_SIZE]
            sealed.append(self._seal_chunk(chunk, last=False))
            offset += CHUNK_SIZE
        del self._buffer[:offset]
        return b"".join(sealed)

    def finalize(self) -> bytes:
        """Encrypt what is left as the final chunk and return it."""
        if self._finished:
            raise CryptoError("this file has already been finalised")
        self._finished = True
        final_chunk = self._seal_chunk(bytes(self._buffer), last=True)
        self._buffer.clear()
        return final_chunk


class StreamDecryptor:
    """Decrypts one file incrementally; feed it the whole encrypted file, header first.

    :meth:`update` returns plaintext only of chunks that authenticated. The file is proven complete
    and untruncated only when :meth:`finalize` returns; if it (or any update) raises
    ``DecryptionError``, discard all plaintext received so far and this decryptor. Once finalised,
    it accepts nothing more.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise DecryptionError(f"a file key is {KEY_SIZE} bytes")
        self._aead = AESGCM(bytes(key))
        self._header = b""
        self._buffer = bytearray()
        self._next_index = 0
        self._finished = False

    def _read_header(self) -> None:
        header = bytes(self._buffer[:HEADER_SIZE])
        if not is_stream_header(header):
            raise DecryptionError("not a version 1 encrypted file")
        del self._buffer[:HEADER_SIZE]
        self._header = header

    def _open_chunk(self, chunk: bytes | bytearray, last: bool) -> bytes:
        if self._next_index >= MAX_CHUNKS:
            raise DecryptionError("encrypted file has too many chunks")
        nonce = _chunk_nonce(self._header[9:HEADER_SIZE], self._next_index, last)
        self._next_index += 1
        try:
            return self._aead.decrypt(nonce, chunk, self._header)
        except InvalidTag as error:
            raise DecryptionError("encrypted file chunk did not authenticate") from error

    def update(self, data: bytes) -> bytes:
        """Take more ciphertext; return plaintext of the chunks that authenticated."""
        if self._finished:
            raise DecryptionError("this file has already been finalised")
        self._buffer += data
        return self._open_complete_chunks()

    def _open_complete_chunks(self) -> bytes:
        if not self._header:
            if len(self._buffer) < HEADER_SIZE:
                return b""
            self._read_header()
        opened = []
        offset = 0
        while len(self._buffer) - offset > ENCRYPTED_CHUNK_SIZE:
            chunk = self._buffer[offset : offset + ENCRYPTED_CHUNK_SIZE]
            opened.append(self._open_chunk(chunk, last=False))
            offset += ENCRYPTED_CHUNK_SIZE
        del self._buffer[:offset]
        return b"".join(opened)

    def finalize(self) -> bytes:
        """Open the final chunk; raises ``DecryptionError`` if the file is incomplete."""
        self._finished = True
        if not self._header:
            raise DecryptionError("encrypted file is truncated")
        final_chunk = bytes(self._buffer)
        self._buffer.clear()
        return self._open_chunk(final_chunk, last=True)


def _transformed(
    src: BinaryIO, read_size: int, update: Callable[[bytes], bytes], finalize: Callable[[], bytes]
) -> Iterator[bytes]:
    while data := src.read(read_size):
        yield update(data)
    yield finalize()


def _write_all(dst: BinaryIO, pieces: Iterable[bytes]) -> int:
    written = 0
    for piece in pieces:
        dst.write(piece)
        written += len(piece)
    return written


def encrypt_file(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Encrypt everything readable from ``src`` into ``dst``; return the bytes written."""
    encryptor = StreamEncryptor(key)
    chunks = _transformed(src, CHUNK_SIZE, encryptor.update, encryptor.finalize)
    return _write_all(dst, itertools.chain([encryptor.header], chunks))


def decrypt_file(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Decrypt ``src`` into ``dst``; return the plaintext bytes written.

    If this raises ``DecryptionError``, ``dst`` may hold the start of a file that was cut short or
    tampered with: delete it.
    """
    decryptor = StreamDecryptor(key)
    return _write_all(
        dst, _transformed(src, ENCRYPTED_CHUNK_SIZE, decryptor.update, decryptor.finalize)
    )
