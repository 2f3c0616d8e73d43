"""The no-JavaScript forms' multipart decoder: files handed on in large pieces, every limit kept.

``portal.forms_web.multipart`` reads a body 64 KiB at a time and gathers 256 KiB of a file's
content before handing it to the file's sink. These tests drive it directly with bodies built
here, read back through streams that record what was asked of them, and check what each sink
and each field received, where the body's reads split it, and what it refuses.
"""

import io
import random
import tracemalloc

import pytest
from werkzeug.exceptions import RequestEntityTooLarge

from portal.forms_web.multipart import (
    GATHERED_FILE_BYTES,
    READ_BYTES,
    DecodedForm,
    decode_multipart,
)
from portal.forms_web.uploads import MAX_FORM_MEMORY_BYTES

BOUNDARY = b"parley-multipart-test-7c1e"
DELIMITER = b"\r\n--" + BOUNDARY


class _Recorder:
    """A file sink that keeps every piece it is given."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.pieces: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.pieces.append(data)
        return len(data)

    def content(self) -> bytes:
        return b"".join(self.pieces)


class _Body(io.RawIOBase):
    """A request body that records each read's size and answers at most ``longest`` bytes a read
    (a slow client's reads come back short)."""

    def __init__(self, data: bytes, longest: int | None = None, *, seed: int = 0) -> None:
        self._data = memoryview(data)
        self._position = 0
        self._longest = longest
        self._random = random.Random(seed)  # noqa: S311 - replayable read sizes
        self.asked: list[int] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.asked.append(size)
        count = size if self._longest is None else self._random.randint(1, self._longest)
        piece = bytes(self._data[self._position : self._position + min(count, size)])
        self._position += len(piece)
        return piece

    @property
    def read_bytes(self) -> int:
        return self._position


def _text(name: str, value: bytes) -> bytes:
    return b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (
        BOUNDARY,
        name.encode(),
        value,
    )


def _file(name: str, file_name: str, content: bytes) -> bytes:
    return (
        b'--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n%s\r\n"
        % (BOUNDARY, name.encode(), file_name.encode(), content)
    )


def _closing() -> bytes:
    return b"--%s--\r\n" % BOUNDARY


def _decode(body: bytes | _Body) -> DecodedForm[_Recorder]:
    stream = body if isinstance(body, _Body) else _Body(body)
    return decode_multipart(stream, BOUNDARY, _Recorder, max_held_bytes=MAX_FORM_MEMORY_BYTES)


def _content(size: int, seed: int = 1) -> bytes:
    """Random bytes, so that line breaks (which may begin a boundary) fall anywhere."""
    return random.Random(seed).randbytes(size)  # noqa: S311 - test data, not a key


def test_a_file_reaches_its_sink_in_gathered_pieces_read_64_kib_at_a_time() -> None:
    content = _content(5 * GATHERED_FILE_BYTES + 12_345)
    body = _Body(_text("before", b"one") + _file("attachments", "a.bin", content) + _closing())

    decoded = _decode(body)

    [sink] = [part.sink for part in decoded.files.getlist("attachments")]
    assert sink.content() == content
    assert set(body.asked) == {READ_BYTES}
    first, *middle, last = (len(piece) for piece in sink.pieces)
    assert first < READ_BYTES and last <= GATHERED_FILE_BYTES
    assert len(middle) == 4
    # Only what might begin the boundary is held back from a piece.
    assert all(
        GATHERED_FILE_BYTES - len(DELIMITER) <= size < GATHERED_FILE_BYTES + READ_BYTES
        for size in middle
    )
    assert decoded.fields.to_dict() == {"before": "one"}


def test_parts_keep_their_names_file_names_and_types() -> None:
    body = (
        _file("attachments", "first.txt", b"first")
        + _text("statement", "caf\u00e9".encode())
        + _file("attachments", "second.txt", b"second")
        + _file("other", "", b"")
        + _closing()
    )

    decoded = _decode(body)

    first, second = decoded.files.getlist("attachments")
    assert (first.filename, first.content_type, first.sink.content()) == (
        "first.txt",
        "application/octet-stream",
        b"first",
    )
    assert (second.filename, second.sink.content()) == ("second.txt", b"second")
    [other] = decoded.files.getlist("other")
    assert other.filename == "" and other.sink.file_name == ""
    assert decoded.fields["statement"] == "caf\u00e9"


def test_a_text_field_is_read_in_the_charset_its_part_names() -> None:
    part = (
        b'--%s\r\nContent-Disposition: form-data; name="latin"\r\n'
        b"Content-Type: text/plain; charset=ISO-8859-1\r\n\r\ncaf\xe9\r\n" % BOUNDARY
    )
    unnamed = _text("utf8", b"caf\xe9")

    decoded = _decode(part + unnamed + _closing())

    assert decoded.fields["latin"] == "caf\u00e9"
    assert decoded.fields["utf8"] == "caf\ufffd"


def test_a_text_field_split_across_reads_arrives_whole() -> None:
    long_text = b"word " * (3 * READ_BYTES // 5)
    after_file = b"after " * (2 * GATHERED_FILE_BYTES // 30)
    body = (
        _text("long", long_text)
        + _file("attachments", "a.bin", _content(GATHERED_FILE_BYTES))
        + _text("after_file", after_file)
        + _closing()
    )

    decoded = _decode(_Body(body, longest=5_000, seed=3))

    assert decoded.fields["long"] == long_text.decode()
    assert decoded.fields["after_file"] == after_file.decode()


@pytest.mark.parametrize("split_at", [READ_BYTES, GATHERED_FILE_BYTES, 3 * GATHERED_FILE_BYTES])
@pytest.mark.parametrize("into_delimiter", [0, 1, 2, 3, 5, len(DELIMITER) - 1, len(DELIMITER)])
def test_a_boundary_split_across_reads_ends_the_file_where_it_should(
    split_at: int, into_delimiter: int
) -> None:
    head = b'--%s\r\nContent-Disposition: form-data; name="attachments"; filename="a"\r\n\r\n' % (
        BOUNDARY
    )
    # What looks like the start of a boundary, but is not one, just before the split.
    near_the_end = DELIMITER[:-1] + b"X\r\n-\r\n--" + _content(12, seed=2)
    size = split_at - into_delimiter - len(head)
    content = _content(size - len(near_the_end)) + near_the_end
    body = head + content + b"\r\n" + _text("after", b"kept") + _closing()
    assert body[split_at - into_delimiter : split_at] == DELIMITER[:into_delimiter]

    decoded = _decode(body)

    [part] = decoded.files.getlist("attachments")
    assert part.sink.content() == content
    assert decoded.fields.to_dict() == {"after": "kept"}


def test_short_reads_give_the_same_parts() -> None:
    body = (
        _text("a", b"x" * 70_000)
        + _file("attachments", "one", _content(3 * GATHERED_FILE_BYTES + 7))
        + _file("attachments", "two", _content(100_000, seed=4))
        + _text("b", b"y")
        + _closing()
    )

    whole = _decode(body)
    trickled = _decode(_Body(body, longest=9_000, seed=5))

    assert trickled.fields == whole.fields
    assert [part.sink.content() for part in trickled.files.getlist("attachments")] == [
        part.sink.content() for part in whole.files.getlist("attachments")
    ]


@pytest.mark.parametrize(
    "cut",
    [
        b"--%s\r\nContent-Disp" % BOUNDARY,
        _text("a", b"b")[:-10],
        _file("attachments", "a", _content(2 * GATHERED_FILE_BYTES))[:-100],
        _file("attachments", "a", b"whole") + _text("a", b"b"),
        b"no framing at all" * 100,
        b"",
    ],
    ids=["headers", "text", "file", "no closing boundary", "junk", "empty"],
)
def test_a_body_that_ends_early_is_malformed(cut: bytes) -> None:
    with pytest.raises(ValueError, match="Invalid form-data"):
        _decode(cut)


def test_a_body_without_a_boundary_is_malformed() -> None:
    with pytest.raises(ValueError):
        decode_multipart(_Body(_closing()), b"", _Recorder, max_held_bytes=MAX_FORM_MEMORY_BYTES)


def test_a_part_without_a_disposition_is_malformed() -> None:
    body = b"--%s\r\nContent-Type: text/plain\r\n\r\nx\r\n" % BOUNDARY + _closing()
    with pytest.raises(ValueError):
        _decode(body)


def test_a_file_may_be_larger_than_what_is_held_of_anything_else() -> None:
    content = _content(2 * MAX_FORM_MEMORY_BYTES + 1)
    decoded = _decode(_file("attachments", "big", content) + _closing())
    assert decoded.files["attachments"].sink.content() == content


@pytest.mark.parametrize("after_a_file", [False, True], ids=["alone", "after a file"])
def test_a_text_field_over_the_memory_limit_is_too_large(after_a_file: bool) -> None:
    start = _file("attachments", "a", _content(READ_BYTES)) if after_a_file else b""
    body = start + _text("long", b"x" * (MAX_FORM_MEMORY_BYTES + 1)) + _closing()
    with pytest.raises(RequestEntityTooLarge):
        _decode(body)
    exactly = _decode(start + _text("long", b"x" * MAX_FORM_MEMORY_BYTES) + _closing())
    assert len(exactly.fields["long"]) == MAX_FORM_MEMORY_BYTES


def _long_header(size: int) -> bytes:
    return b"X-Padding: " + b"p" * size + b"\r\n"


@pytest.mark.parametrize(
    "body",
    [
        b"preamble " * (MAX_FORM_MEMORY_BYTES // 8) + _text("a", b"b") + _closing(),
        b'--%s\r\nContent-Disposition: form-data; name="a"\r\n%s\r\nb\r\n%s'
        % (BOUNDARY, _long_header(MAX_FORM_MEMORY_BYTES), _closing()),
        _file("attachments", "a", _content(GATHERED_FILE_BYTES // 4))
        + b'--%s\r\nContent-Disposition: form-data; name="a"\r\n%s\r\nb\r\n%s'
        % (BOUNDARY, _long_header(MAX_FORM_MEMORY_BYTES), _closing()),
        _file("attachments", "a", _content(GATHERED_FILE_BYTES // 4))
        + _closing()
        + b"epilogue " * (MAX_FORM_MEMORY_BYTES // 8),
    ],
    ids=["preamble", "headers", "headers after a file", "epilogue after a file"],
)
def test_what_is_held_besides_a_file_is_bounded(body: bytes) -> None:
    with pytest.raises(RequestEntityTooLarge):
        _decode(body)


def test_headers_that_never_end_are_refused_once_over_the_limit() -> None:
    file_part = _file("attachments", "a", _content(3 * GATHERED_FILE_BYTES // 2))
    endless = file_part + (
        b'--%s\r\nContent-Disposition: form-data; name="a"\r\n' % BOUNDARY
        + _long_header(8 * MAX_FORM_MEMORY_BYTES)
    )
    body = _Body(endless)

    with pytest.raises(RequestEntityTooLarge):
        _decode(body)

    # Refused once what is held passes the limit, with at most a gathering and a read more.
    limit = len(file_part) + MAX_FORM_MEMORY_BYTES + GATHERED_FILE_BYTES + READ_BYTES
    assert body.read_bytes <= limit


class _Counter:
    """A file sink that keeps only the number of bytes it is given."""

    def __init__(self, file_name: str) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def test_what_the_decoder_holds_stays_bounded_whatever_the_file_size() -> None:
    size = 24 * GATHERED_FILE_BYTES
    body = _Body(_file("attachments", "a", _content(size)) + _closing())

    tracemalloc.start()
    try:
        decoded = decode_multipart(body, BOUNDARY, _Counter, max_held_bytes=MAX_FORM_MEMORY_BYTES)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert decoded.files["attachments"].sink.size == size
    # The gathered content, the piece copied out of it, and one read.
    assert peak < 4 * GATHERED_FILE_BYTES, peak


def test_each_part_s_pieces_go_only_to_its_own_sink() -> None:
    one, two = _content(GATHERED_FILE_BYTES + 3, seed=6), _content(GATHERED_FILE_BYTES, seed=7)
    body = _file("attachments", "one", one) + _file("attachments", "two", two) + _closing()

    first, second = _decode(body).files.getlist("attachments")

    assert (first.sink.content(), second.sink.content()) == (one, two)
