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

import io
import secrets
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
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

# What the chunk functions read from without copying (``collections.abc.Buffer`` from 3.12).
Buffer = bytes | bytearray | memoryview

# The nonce's last five bytes: the chunk number and the "final chunk" flag. Each chunk's nonce is
# packed into one buffer that holds the prefix, rather than built as a new object per chunk.
_CHUNK_COUNTER = struct.Struct(">IB")


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


class _Chunker(ABC):
    """What encrypting and decrypting share: the chunk nonces, and cutting input into chunks.

    Whole chunks are processed straight from the caller's data into the returned buffer
    (``AESGCM.encrypt_into`` / ``decrypt_into``); only the tail that cannot be processed yet is
    copied, into one buffer of a chunk's size made once. The last chunk, possibly full, is always
    held back: only more data, or the end, tells whether it is the final one.
    """

    def __init__(self, seal_or_open: Callable[..., object], in_size: int, out_size: int) -> None:
        self._seal_or_open = seal_or_open  # AESGCM.encrypt_into or decrypt_into
        self._in_size = in_size
        self._out_size = out_size
        self._held = bytearray(in_size)
        self._held_size = 0
        self._aad = b""  # the header once known: each chunk's associated data
        self._nonce = bytearray(NONCE_PREFIX_SIZE + _CHUNK_COUNTER.size)  # prefix, then counter
        self._next_index = 0

    @abstractmethod
    def _too_many_chunks(self) -> CryptoError:
        """The error for a chunk past the 2^32nd, which no nonce can number."""

    def _process(self, chunk: Buffer, out: memoryview, last: bool) -> None:
        """Seal or open one chunk of input into ``out``; ``last`` marks the final chunk."""
        if self._next_index >= MAX_CHUNKS:
            raise self._too_many_chunks()
        _CHUNK_COUNTER.pack_into(self._nonce, NONCE_PREFIX_SIZE, self._next_index, last)
        self._next_index += 1
        self._seal_or_open(self._nonce, chunk, self._aad, out)

    def _feed(self, view: memoryview) -> bytearray:
        """Process the whole chunks that ``view`` completes; return their output."""
        in_size, out_size = self._in_size, self._out_size
        total = self._held_size + len(view)
        count = (total - 1) // in_size if total else 0
        output = bytearray(count * out_size)
        out = memoryview(output)
        taken = 0
        for index in range(count):
            target = out[index * out_size : (index + 1) * out_size]
            if self._held_size:
                taken = in_size - self._held_size
                self._held[self._held_size :] = view[:taken]
                self._held_size = 0
                self._process(self._held, target, last=False)
            else:
                self._process(view[taken : taken + in_size], target, last=False)
                taken += in_size
        rest = len(view) - taken
        self._held[self._held_size : self._held_size + rest] = view[taken:]
        self._held_size += rest
        return output

    def _final(self) -> bytearray:
        """Process what is held as the final chunk and return its output."""
        output = bytearray(self._held_size + self._out_size - self._in_size)
        self._process(memoryview(self._held)[: self._held_size], memoryview(output), last=True)
        self._held_size = 0
        return output

    def _process_file(self, src: BinaryIO, dst: BinaryIO) -> int:
        """Seal or open the rest of ``src`` chunk by chunk into ``dst``; return the bytes written.

        Each chunk is held until the next one arrives, which tells that it is not the last; one
        output buffer is made once and reused for every chunk. This loop runs once per 64 KiB,
        and what Python does per chunk is a measurable share of the time AES-GCM takes for one
        (bench/crypto_costs.py), so it does ``_process``'s work for the chunks before the last
        itself, with the methods looked up once.
        """
        in_size, out_size = self._in_size, self._out_size
        out = memoryview(bytearray(out_size))
        seal_or_open, nonce, aad, write = self._seal_or_open, self._nonce, self._aad, dst.write
        pack_counter = _CHUNK_COUNTER.pack_into
        first_index = index = self._next_index
        chunks = _chunks_of(src, in_size)
        chunk = next(chunks)
        for following in chunks:
            if index >= MAX_CHUNKS:
                raise self._too_many_chunks()
            pack_counter(nonce, NONCE_PREFIX_SIZE, index, False)
            seal_or_open(nonce, chunk, aad, out)
            write(out)
            index += 1
            chunk = following
        self._next_index = index
        final_size = len(chunk) + out_size - in_size
        if final_size < 0:
            raise DecryptionError("encrypted file is truncated")
        self._process(chunk, out[:final_size], last=True)
        write(out[:final_size])
        return (index - first_index) * out_size + final_size


class StreamEncryptor(_Chunker):
    """Encrypts one file incrementally.

    Write :attr:`header` first, then everything :meth:`update` returns, then what
    :meth:`finalize` returns; together that is the whole encrypted file. A full chunk is held back
    until more data arrives, because only then is it known not to be the last. No chunk is
    copied on its way through but a held-back tail (``_Chunker``), so throughput is that of
    AES-GCM itself rather than of buffer copies.
    """

    def __init__(self, key: bytes, *, nonce_prefix: bytes | None = None) -> None:
        if len(key) != KEY_SIZE:
            raise CryptoError(f"a file key is {KEY_SIZE} bytes")
        if nonce_prefix is None:
            nonce_prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
        if len(nonce_prefix) != NONCE_PREFIX_SIZE:
            raise CryptoError(f"a nonce prefix is {NONCE_PREFIX_SIZE} bytes")
        super().__init__(AESGCM(bytes(key)).encrypt_into, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE)
        self._nonce[:NONCE_PREFIX_SIZE] = nonce_prefix
        self.header = MAGIC + bytes([VERSION]) + CHUNK_SIZE.to_bytes(4, "big") + bytes(nonce_prefix)
        self._aad = self.header
        self._finished = False

    def _too_many_chunks(self) -> CryptoError:
        return CryptoError("a file may have at most 2^32 chunks")

    def update(self, data: Buffer) -> bytearray:
        """Take more plaintext; return the encrypted chunks that are now complete."""
        if self._finished:
            raise CryptoError("this file has already been finalised")
        return self._feed(memoryview(data))

    def finalize(self) -> bytearray:
        """Encrypt what is left as the final chunk and return it."""
        if self._finished:
            raise CryptoError("this file has already been finalised")
        self._finished = True
        return self._final()


class StreamDecryptor(_Chunker):
    """Decrypts one file incrementally; feed it the whole encrypted file, header first.

    :meth:`update` returns plaintext only of chunks that authenticated. The file is proven complete
    and untruncated only when :meth:`finalize` returns; if it (or any update) raises
    ``DecryptionError``, discard all plaintext received so far and this decryptor. Once finalised,
    it accepts nothing more.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise DecryptionError(f"a file key is {KEY_SIZE} bytes")
        super().__init__(AESGCM(bytes(key)).decrypt_into, ENCRYPTED_CHUNK_SIZE, CHUNK_SIZE)
        self._header = bytearray()
        self._finished = False

    def _too_many_chunks(self) -> CryptoError:
        return DecryptionError("encrypted file has too many chunks")

    def _process(self, chunk: Buffer, out: memoryview, last: bool) -> None:
        try:
            super()._process(chunk, out, last)
        except InvalidTag as error:
            raise DecryptionError("encrypted file chunk did not authenticate") from error

    def _process_file(self, src: BinaryIO, dst: BinaryIO) -> int:
        try:
            return super()._process_file(src, dst)
        except InvalidTag as error:
            raise DecryptionError("encrypted file chunk did not authenticate") from error

    def _take_header(self, view: memoryview) -> memoryview:
        """Complete the header from the start of ``view``; return what follows it."""
        missing = HEADER_SIZE - len(self._header)
        if missing:
            self._header += view[:missing]
            view = view[missing:]
            if len(self._header) == HEADER_SIZE:
                self._aad = bytes(self._header)
                if not is_stream_header(self._aad):
                    raise DecryptionError("not a version 1 encrypted file")
                self._nonce[:NONCE_PREFIX_SIZE] = self._aad[9:HEADER_SIZE]
        return view

    def update(self, data: Buffer) -> bytearray:
        """Take more ciphertext; return plaintext of the chunks that authenticated."""
        if self._finished:
            raise DecryptionError("this file has already been finalised")
        return self._feed(self._take_header(memoryview(data)))

    def finalize(self) -> bytearray:
        """Open the final chunk; raises ``DecryptionError`` if the file is incomplete."""
        self._finished = True
        if not self._aad or self._held_size < TAG_SIZE:
            raise DecryptionError("encrypted file is truncated")
        return self._final()


def _chunks_of(src: BinaryIO, size: int) -> Iterator[Buffer]:
    """The rest of ``src`` in chunks of ``size`` bytes and a shorter last one if the size calls
    for it; an empty rest is one empty chunk.

    A chunk handed out stays intact until the one after the next is asked for. An ``io.BytesIO``
    already holds the whole file in memory, so its chunks are views of that memory, as
    ``StreamEncryptor.update`` takes whole chunks from the caller's data; any other source is
    read into buffers.
    """
    if type(src) is io.BytesIO:
        return _views_in_memory(src, size)
    return _chunks_read(src, size)


def _views_in_memory(src: io.BytesIO, size: int) -> Iterator[memoryview]:
    """Views of what is left to read in ``src``, which is then read to its end.

    ``getvalue`` hands out the bytes object the ``BytesIO`` holds itself rather than a copy
    (CPython copies only while a ``getbuffer`` view is open). ``getbuffer`` would not do: for a
    ``BytesIO`` made from a bytes object, which it shares until written to, it first copies the
    whole file.
    """
    position = src.tell()
    rest = memoryview(src.getvalue())[position:]
    src.seek(0, io.SEEK_END)
    return (rest[start : start + size] for start in range(0, max(len(rest), 1), size))


def _chunks_read(src: BinaryIO, size: int) -> Iterator[Buffer]:
    """Chunks read from ``src`` into two buffers made once, in turn.

    One ``readinto`` per chunk, the common case, is the only call; ``_fill`` completes a chunk
    that a short read left partial.
    """
    readinto = _readinto_of(src)
    buffer, spare = bytearray(size), bytearray(size)
    count = _fill(readinto, buffer)
    while count == size:
        yield buffer
        buffer, spare = spare, buffer
        count = readinto(buffer)
        if count != size:
            count = _fill(readinto, buffer, count or 0)
            if not count:
                return
    yield memoryview(buffer)[:count]


ReadInto = Callable[[memoryview | bytearray], int | None]


def _readinto_of(src: BinaryIO) -> ReadInto:
    """``src.readinto``, which reads straight into a buffer; for a source without one, the same
    done with ``read`` and a copy.

    ``io.RawIOBase`` gives every subclass a ``readinto`` that raises ``NotImplementedError``
    unless the subclass defines its own, so a subclass that defines only ``read`` counts as
    having none.
    """
    readinto = getattr(src, "readinto", None)
    if readinto is not None and getattr(type(src), "readinto", None) is not io.RawIOBase.readinto:
        return readinto

    def copy_read(buffer: memoryview | bytearray) -> int:
        data = src.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    return copy_read


def _fill(readinto: ReadInto, buffer: bytearray, filled: int = 0) -> int:
    """Read until ``buffer`` is full or the file ends; return the bytes it holds.

    ``filled`` says how many bytes at its start were already read into it.
    """
    view = memoryview(buffer)
    while filled < len(buffer):
        count = readinto(view[filled:])
        if not count:
            break
        filled += count
    return filled


def encrypt_file(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Encrypt everything readable from ``src`` into ``dst``; return the bytes written."""
    encryptor = StreamEncryptor(key)
    dst.write(encryptor.header)
    return HEADER_SIZE + encryptor._process_file(src, dst)


def decrypt_file(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Decrypt ``src`` into ``dst``; return the plaintext bytes written.

    If this raises ``DecryptionError``, ``dst`` may hold the start of a file that was cut short or
    tampered with: delete it.
    """
    decryptor = StreamDecryptor(key)
    header = bytearray(HEADER_SIZE)
    decryptor._take_header(memoryview(header)[: _fill(_readinto_of(src), header)])
    if not decryptor._aad:
        raise DecryptionError("encrypted file is truncated")
    return decryptor._process_file(src, dst)
