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
from collections.abc import Callable, Iterator, Sequence
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

    Whole chunks are processed straight from the caller's data. The last chunk, possibly full,
    is always held back: only more data, or the end, tells whether it is the final one. What is
    held back stays where it is when the caller's data is a ``bytes`` object, which cannot
    change, of at most two chunks (which this keeps alive until the next call, so memory stays
    bounded); a larger one, and data in a buffer the caller may reuse (a ``bytearray``, a view
    of one), are copied into one buffer of a chunk's size made once.
    A chunk that begins in one call's data and ends in the next is put together in that buffer:
    AES-GCM seals one contiguous piece at a time, so that copy is the price of input that does
    not arrive in whole chunks.

    Each chunk's output goes either into a new ``bytes`` object that AES-GCM makes itself (never
    zeroed first) or into one reused buffer handed to a ``write`` function; both cost less than
    filling a buffer made for the purpose.
    """

    def __init__(self, aead: AESGCM, encrypt: bool, in_size: int, out_size: int) -> None:
        # Into a given buffer, or into a new bytes object.
        self._seal_or_open = aead.encrypt_into if encrypt else aead.decrypt_into
        self._seal_or_open_new = aead.encrypt if encrypt else aead.decrypt
        self._in_size = in_size
        self._out_size = out_size
        self._buffer = memoryview(bytearray(in_size))
        self._out = memoryview(bytearray(out_size))
        # The input not processed yet, at most one chunk: a view of ``_buffer`` or of the
        # caller's ``bytes``.
        self._nothing_held = self._held = self._buffer[:0]
        self._aad = b""  # the header once known: each chunk's associated data
        self._nonce = bytearray(NONCE_PREFIX_SIZE + _CHUNK_COUNTER.size)  # prefix, then counter
        self._next_index = 0

    @abstractmethod
    def _too_many_chunks(self) -> CryptoError:
        """The error for a chunk past the 2^32nd, which no nonce can number."""

    def _next_nonce(self, last: bool) -> bytearray:
        """The nonce of the next chunk; ``last`` marks the final chunk."""
        if self._next_index >= MAX_CHUNKS:
            raise self._too_many_chunks()
        _CHUNK_COUNTER.pack_into(self._nonce, NONCE_PREFIX_SIZE, self._next_index, last)
        self._next_index += 1
        return self._nonce

    def _new_outputs(self, view: memoryview) -> bytes:
        """The output of the whole chunks that ``view`` completes, in one new object."""
        chunks, rest = self._split(view)
        seal_or_open, nonce, aad = self._seal_or_open_new, self._nonce, self._aad
        index = self._reserve(len(chunks))
        outputs = []
        for chunk in chunks:
            _CHUNK_COUNTER.pack_into(nonce, NONCE_PREFIX_SIZE, index, False)
            outputs.append(seal_or_open(nonce, chunk, aad))
            index += 1
        self._hold(rest)
        return outputs[0] if len(outputs) == 1 else b"".join(outputs)

    def _reserve(self, count: int) -> int:
        """Number the next ``count`` chunks, none of them the final one; return the first number.

        The numbers are taken before any chunk is sealed, so that no nonce is used twice even
        if sealing or writing fails part-way and the object is used again.
        """
        first = self._next_index
        if first + count > MAX_CHUNKS:
            raise self._too_many_chunks()
        self._next_index = first + count
        return first

    def _split(self, view: memoryview) -> tuple[Sequence[memoryview], memoryview]:
        """The whole chunks that ``view`` completes, none of them the last one, and what is left
        of ``view`` after them, which the caller holds back (:meth:`_hold`) once it is done with
        the chunks: the first may have been put together in the buffer that holding copies into.

        This and its callers run once per chunk of input that arrives in pieces, and what Python
        does per chunk is a measurable share of the time AES-GCM takes for one, so they and this
        do their work in few steps, with the common case (a piece completes one chunk) first.
        """
        held, in_size = self._held, self._in_size
        count = (len(held) + len(view) - 1) // in_size
        if count <= 0:
            return (), view
        if held:
            taken = in_size - len(held)
            if taken:
                buffer = self._buffer
                buffer[len(held) :] = view[:taken]
                if held.obj is not buffer.obj:
                    buffer[: len(held)] = held
                held = buffer
            self._held = self._nothing_held
        else:
            taken = in_size
            held = view[:in_size]
        if count == 1:
            return (held,), view[taken:]
        chunks = [held]
        for start in range(taken, taken + (count - 1) * in_size, in_size):
            chunks.append(view[start : start + in_size])
        return chunks, view[taken + (count - 1) * in_size :]

    def _hold(self, view: memoryview) -> None:
        """Add ``view``, which completes no chunk, to what is held back."""
        held = self._held
        if not held and type(view.obj) is bytes and len(view.obj) <= 2 * self._in_size:
            self._held = view
            return
        buffer = self._buffer
        if held.obj is not buffer.obj:
            buffer[: len(held)] = held
        total = len(held) + len(view)
        buffer[len(held) : total] = view
        self._held = buffer[:total]

    def _final(self) -> bytes:
        """Process what is held as the final chunk and return its output."""
        held, self._held = self._held, self._nothing_held
        return self._seal_or_open_new(self._next_nonce(True), held, self._aad)

    def _process_file(self, src: BinaryIO, dst: BinaryIO) -> int:
        """Seal or open the rest of ``src`` chunk by chunk into ``dst``; return the bytes written.

        Each chunk is held until the next one arrives, which tells that it is not the last; the
        output buffer is reused for every chunk. This loop runs once per 64 KiB, and what Python
        does per chunk is a measurable share of the time AES-GCM takes for one
        (bench/crypto_costs.py), so it does ``_next_nonce``'s work for the chunks before the
        last itself, with the methods looked up once.
        """
        in_size, out_size = self._in_size, self._out_size
        out = self._out
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
        seal_or_open(self._next_nonce(True), chunk, aad, out[:final_size])
        write(out[:final_size])
        return (index - first_index) * out_size + final_size


class StreamEncryptor(_Chunker):
    """Encrypts one file incrementally.

    Write :attr:`header` first, then everything :meth:`update` returns (or :meth:`update_to`
    writes), then what :meth:`finalize` returns; together that is the whole encrypted file. A
    full chunk is held back until more data arrives, because only then is it known not to be the
    last. Nothing is copied on its way through but what ``_Chunker`` says, so throughput stays
    close to that of AES-GCM itself (bench/crypto_costs.py).
    """

    def __init__(self, key: bytes, *, nonce_prefix: bytes | None = None) -> None:
        if len(key) != KEY_SIZE:
            raise CryptoError(f"a file key is {KEY_SIZE} bytes")
        if nonce_prefix is None:
            nonce_prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
        if len(nonce_prefix) != NONCE_PREFIX_SIZE:
            raise CryptoError(f"a nonce prefix is {NONCE_PREFIX_SIZE} bytes")
        super().__init__(AESGCM(bytes(key)), True, CHUNK_SIZE, ENCRYPTED_CHUNK_SIZE)
        self._nonce[:NONCE_PREFIX_SIZE] = nonce_prefix
        self.header = MAGIC + bytes([VERSION]) + CHUNK_SIZE.to_bytes(4, "big") + bytes(nonce_prefix)
        self._aad = self.header
        self._finished = False

    def _too_many_chunks(self) -> CryptoError:
        return CryptoError("a file may have at most 2^32 chunks")

    def update(self, data: Buffer) -> bytes:
        """Take more plaintext; return the encrypted chunks that are now complete.

        The chunks come back joined into one object; for data of many chunks, :meth:`update_to`
        hands them out one by one instead.
        """
        if self._finished:
            raise CryptoError("this file has already been finalised")
        return self._new_outputs(memoryview(data))

    def update_to(self, data: Buffer, write: Callable[[memoryview], object]) -> int:
        """Take more plaintext; hand each encrypted chunk now complete to ``write``, and return
        the bytes handed out.

        ``write`` gets a view of a buffer that the next chunk overwrites, so it must be done
        with it when it returns, as a file's ``write`` is. If ``write`` raises, the file is
        incomplete: discard it; this encryptor then refuses more.
        """
        if self._finished:
            raise CryptoError("this file has already been finalised")
        chunks, rest = self._split(memoryview(data))
        seal, nonce, aad, out = self._seal_or_open, self._nonce, self._aad, self._out
        index = self._reserve(len(chunks))
        try:
            for chunk in chunks:
                _CHUNK_COUNTER.pack_into(nonce, NONCE_PREFIX_SIZE, index, False)
                seal(nonce, chunk, aad, out)
                write(out)
                index += 1
        except BaseException:
            self._finished = True  # what was held back is lost: nothing more can follow
            raise
        self._hold(rest)
        return len(chunks) * ENCRYPTED_CHUNK_SIZE

    def finalize(self) -> bytes:
        """Encrypt what is left as the final chunk and return it."""
        if self._finished:
            raise CryptoError("this file has already been finalised")
        self._finished = True
        return self._final()


class StreamDecryptor(_Chunker):
    """Decrypts one file incrementally; feed it the whole encrypted file, header first.

    :meth:`update` returns plaintext only of chunks that authenticated. The file is proven
    complete and untruncated only when :meth:`finalize` returns; if it (or any update) raises
    ``DecryptionError``, discard all plaintext received so far and this decryptor. Once
    finalised, it accepts nothing more. Fed the header alone and then whole encrypted chunks
    (``ENCRYPTED_CHUNK_SIZE`` bytes) in ``bytes`` objects, as :func:`decrypted_chunks` reads a
    file, it copies nothing.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise DecryptionError(f"a file key is {KEY_SIZE} bytes")
        super().__init__(AESGCM(bytes(key)), False, ENCRYPTED_CHUNK_SIZE, CHUNK_SIZE)
        self._header = bytearray()
        self._finished = False

    def _too_many_chunks(self) -> CryptoError:
        return DecryptionError("encrypted file has too many chunks")

    def _process_file(self, src: BinaryIO, dst: BinaryIO) -> int:
        try:
            return super()._process_file(src, dst)
        except InvalidTag as error:
            raise _not_authentic() from error

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

    def update(self, data: Buffer) -> bytes:
        """Take more ciphertext; return plaintext of the chunks that authenticated."""
        if self._finished:
            raise DecryptionError("this file has already been finalised")
        view = memoryview(data)
        try:
            return self._new_outputs(view if self._aad else self._take_header(view))
        except InvalidTag as error:
            raise _not_authentic() from error

    def finalize(self) -> bytes:
        """Open the final chunk; raises ``DecryptionError`` if the file is incomplete."""
        self._finished = True
        if not self._aad or len(self._held) < TAG_SIZE:
            raise DecryptionError("encrypted file is truncated")
        try:
            return self._final()
        except InvalidTag as error:
            raise _not_authentic() from error


def _not_authentic() -> DecryptionError:
    return DecryptionError("encrypted file chunk did not authenticate")


def decrypted_chunks(src: BinaryIO, key: bytes) -> Iterator[bytes]:
    """The plaintext of the STREAM file read from ``src``, chunk by chunk as each authenticates.

    Raises ``DecryptionError`` as :class:`StreamDecryptor` does; only the end of the iteration
    proves the file complete, so whoever consumes it must discard everything received if it
    raises. The file is read in the pieces with which the decryptor copies nothing (the header,
    then whole encrypted chunks); a source that returns less than asked still decrypts, with
    some copying.
    """
    decryptor = StreamDecryptor(key)
    decryptor.update(src.read(HEADER_SIZE))
    while data := src.read(ENCRYPTED_CHUNK_SIZE):
        if plaintext := decryptor.update(data):
            yield plaintext
    if plaintext := decryptor.finalize():
        yield plaintext


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
