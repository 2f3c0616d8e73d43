"""Decoding a multipart form body so that each file's content reaches its sink in large pieces.

Every piece a file's sink receives is encrypted at once, in STREAM's 64 KiB chunks
(``attachments.EncryptingUpload``), and AES-GCM seals one contiguous buffer: a chunk that spans
two pieces is first copied together. Werkzeug's form parser decodes after each 64 KiB read of the
body, so its pieces fall just short of 64 KiB and nearly every chunk spans two of them. Reading
the body in larger reads is not an option: ``portal.slow_bodies`` gives each read its own
deadline, which a slow client (over Tor, say) would miss for a large one.

So :func:`decode_multipart` still reads :data:`READ_BYTES` at a time and hands each read to
Werkzeug's decoder (``werkzeug.sansio.multipart``), whose buffer grows in place; while a file's
content is arriving it asks the decoder for events only once :data:`GATHERED_FILE_BYTES` are
pending (or the body has ended). A file then arrives in pieces of about 256 KiB, and only about
one chunk in four spans two of them. Anything else (the parts' headers, text fields, what comes
before the first part and after the last) is decoded after every read, as Werkzeug does.

Larger pieces would spare a few more copies but cost far more: the decoder copies each piece out
of its buffer two or three times, and with pieces past about 512 KiB glibc's allocator hands
that memory back to the system after each piece and faults it in afresh for the next (some 700
page faults per MiB with 1 MiB pieces), which costs several times the CPU the spared copies
would. 256 KiB stays clear of that with room to spare.

While a file arrives the decoder holds at most :data:`GATHERED_FILE_BYTES` and one read, so
memory stays bounded whatever the file's size. Of everything else, no more than
``max_held_bytes`` may be held: a text field, a part's headers, or bytes the decoder cannot yet
place (before the first part, after the last, a part's headers still arriving). Past that the
body is refused as too large (413), as Werkzeug refuses it. A body whose framing is broken, or
that ends before its closing boundary, raises ``ValueError``.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Generic, Protocol, TypeVar

from werkzeug.datastructures import Headers, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

# What one read of the body asks for: small enough for a slow client to meet each read's deadline.
READ_BYTES = 64 * 1024
# How much of a file's content is gathered in the decoder before it is handed on.
GATHERED_FILE_BYTES = 256 * 1024
# The charsets a text part may name; any other is read as UTF-8 (as Werkzeug reads it).
_FIELD_CHARSETS = frozenset({"ascii", "us-ascii", "utf-8", "iso-8859-1"})


class FileSink(Protocol):
    """Where one file part's content goes, piece by piece."""

    def write(self, data: bytes, /) -> object: ...


SinkT = TypeVar("SinkT", bound=FileSink)


@dataclass(frozen=True)
class FilePart(Generic[SinkT]):
    """A file part whose content has all been written to ``sink``."""

    filename: str
    content_type: str | None
    sink: SinkT


@dataclass(frozen=True)
class DecodedForm(Generic[SinkT]):
    """The text fields and the file parts of a body, each under its field name."""

    fields: MultiDict[str, str]
    files: MultiDict[str, FilePart[SinkT]]


def decode_multipart(
    stream: IO[bytes],
    boundary: bytes,
    open_file: Callable[[str], SinkT],
    *,
    max_held_bytes: int,
) -> DecodedForm[SinkT]:
    """Read ``stream`` to its end, writing each file part's content to the sink that
    ``open_file`` returns for the part's file name (see the module docstring)."""
    if not boundary:
        raise ValueError("a multipart body needs a boundary")
    decoding = _Decoding(MultipartDecoder(boundary), open_file, max_held_bytes)
    while data := stream.read(READ_BYTES):
        decoding.receive(data)
    decoding.end()
    return DecodedForm(MultiDict(decoding.fields), MultiDict(decoding.files))


def _field_charset(headers: Headers) -> str:
    charset = parse_options_header(headers.get("content-type"))[1].get("charset", "").lower()
    return charset if charset in _FIELD_CHARSETS else "utf-8"


class _Decoding(Generic[SinkT]):
    """The events of one body, taken from the decoder and sorted into fields and files."""

    def __init__(
        self,
        decoder: MultipartDecoder,
        open_file: Callable[[str], SinkT],
        max_held_bytes: int,
    ) -> None:
        self._decoder = decoder
        self._open_file = open_file
        self._max_held = max_held_bytes
        self.fields: list[tuple[str, str]] = []
        self.files: list[tuple[str, FilePart[SinkT]]] = []
        self._part: Field | File | None = None
        self._sink: SinkT | None = None
        self._text: list[bytes] = []
        self._text_size = 0

    def receive(self, data: bytes) -> None:
        decoder = self._decoder
        decoder.receive_data(data)
        if self._sink is None or len(decoder.buffer) >= GATHERED_FILE_BYTES:
            self._take_events()

    def end(self) -> None:
        self._decoder.receive_data(None)
        self._take_events()

    def _take_events(self) -> None:
        decoder = self._decoder
        while True:
            held = len(decoder.buffer)
            event = decoder.next_event()
            if isinstance(event, Data):
                if self._sink is not None:
                    self._sink.write(event.data)
                else:
                    self._add_text(event.data)
                if not event.more_data:
                    self._close_part()
                continue
            if isinstance(event, NeedData):
                break
            # Headers, or what comes before the first part or after the last.
            if held - len(decoder.buffer) > self._max_held:
                raise RequestEntityTooLarge()
            if isinstance(event, Epilogue):
                break
            if isinstance(event, Field | File):
                self._open_part(event)
        if len(decoder.buffer) > self._max_held:
            raise RequestEntityTooLarge()

    def _open_part(self, part: Field | File) -> None:
        self._part = part
        if isinstance(part, File):
            self._sink = self._open_file(part.filename)
        else:
            self._text, self._text_size = [], 0

    def _add_text(self, data: bytes) -> None:
        self._text_size += len(data)
        if self._text_size > self._max_held:
            raise RequestEntityTooLarge()
        self._text.append(data)

    def _close_part(self) -> None:
        part = self._part
        if isinstance(part, File):
            assert self._sink is not None
            content_type = part.headers.get("content-type")
            self.files.append((part.name, FilePart(part.filename, content_type, self._sink)))
            self._sink = None
        elif isinstance(part, Field):
            text = b"".join(self._text).decode(_field_charset(part.headers), "replace")
            self.fields.append((part.name, text))
            self._text = []
        self._part = None
