"""Padding of attachments to size buckets, so that a stored file shows little of its size.

An attachment's plaintext is followed by zero bytes up to :func:`padded_file_size` before it is
encrypted (STREAM v1 is unchanged: it encrypts the padded bytes), and its true size travels only
inside the sealed attachment-keys record (``parley-attachment-keys-v2``; docs/FORMATS.md,
"Attachment padding"). The server, the upload API and a copy of the storage folder see only the
padded size.

Why this rule and not the envelopes' (powers of two, then multiples of 64 KiB): files are large,
and doubling a video sent over a poor connection from a dangerous place costs real time, while
64 KiB steps would still tell a 3 MB document's size to within 2 %. The rule here is Padmé
(Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication with PURBs",
PETS 2019) over a floor of 64 KiB, one STREAM chunk: every file up to 64 KiB looks the same, and
above it a size keeps only its exponent and its top bits, so at most 32 padded sizes exist
between two powers of two (about 9 bits for any file the portal accepts, against about 28 for an
exact size), and padding adds less than 1/32 (3.125 %) of the size above the floor.

:class:`PaddingChecker` takes the decrypted bytes of a padded file and gives out exactly the true
bytes, refusing a file whose padding is not all zero or that is shorter than its recorded size.
It holds back the last piece of true bytes until every check has passed, so a consumer that
streams what it is given (a download) never receives the whole file from one that fails.
"""

from collections.abc import Iterable, Iterator

from crypto.errors import CryptoError, DecryptionError

MIN_PADDED_FILE_SIZE = 65536


def padded_file_size(size: int) -> int:
    """The size a file of ``size`` bytes is padded to: Padmé over a 64 KiB floor."""
    if size < 0:
        raise CryptoError("a file size cannot be negative")
    size = max(size, MIN_PADDED_FILE_SIZE)
    exponent = size.bit_length() - 1
    step = 1 << (exponent - exponent.bit_length())
    return -(-size // step) * step


def is_padded_file_size(size: int) -> bool:
    """Whether ``size`` is one that :func:`padded_file_size` produces."""
    return size >= 0 and padded_file_size(size) == size


def padding_pieces(size: int, piece_size: int = MIN_PADDED_FILE_SIZE) -> Iterator[bytes]:
    """The zero bytes that follow a file of ``size`` bytes, in pieces of at most ``piece_size``."""
    remaining = padded_file_size(size) - size
    while remaining:
        piece = min(remaining, piece_size)
        yield bytes(piece)
        remaining -= piece


class PaddingChecker:
    """Cuts the padding off a decrypted file of ``size`` true bytes, checking it on the way.

    Feed every decrypted piece in order to :meth:`update`, which returns true bytes that may be
    released; then :meth:`finalize`, which checks that all ``size`` bytes arrived and returns the
    piece held back. With ``padded=False`` (a ``parley-attachment-keys-v1`` file, never padded)
    any byte beyond ``size`` is refused. ``DecryptionError`` means: discard everything received.
    """

    def __init__(self, size: int, *, padded: bool = True) -> None:
        if size < 0:
            raise DecryptionError("a recorded file size cannot be negative")
        self._remaining = size
        self._padded = padded
        self._held = b""

    def update(self, data: bytes) -> bytes:
        """Take decrypted bytes; return the true bytes that may be released now."""
        true_part, padding = data[: self._remaining], data[self._remaining :]
        self._remaining -= len(true_part)
        if padding and (not self._padded or padding.count(0) != len(padding)):
            raise DecryptionError("the file's padding is not zero bytes")
        if not true_part:
            return b""
        released, self._held = self._held, bytes(true_part)
        return released

    def finalize(self) -> bytes:
        """Check that the file held all its recorded bytes; return the last true bytes."""
        if self._remaining:
            raise DecryptionError("the file is shorter than its recorded size")
        held, self._held = self._held, b""
        return held


def unpadded(pieces: Iterable[bytes], size: int, *, padded: bool = True) -> Iterator[bytes]:
    """The true bytes of a decrypted file given as ``pieces`` (see :class:`PaddingChecker`)."""
    checker = PaddingChecker(size, padded=padded)
    for piece in pieces:
        if released := checker.update(piece):
            yield released
    if last := checker.finalize():
        yield last
