"""The notice plaintext (``parley-desk-notice-v1``): what is written and what a reader accepts.

A notice reaches the submitter's page as HTML, so the reader must clean it whatever the stored
envelope says, and must refuse anything that is not exactly a notice rather than guess.
"""

import json
import re
from pathlib import Path

import pytest
from markupsafe import Markup

from portal.models import MessagePurpose
from portal.services.rounds.staff_markdown import ALLOWED_TAGS
from portal.services.submissions.notice_format import (
    MAX_NOTICE_HTML,
    NOTICE_FORMAT,
    NOTICE_PURPOSES,
    notice_payload,
    read_notice,
)

NOTICES_MODULE = Path(__file__).resolve().parents[2] / "portal" / "static" / "js" / "notices.mjs"


def _plaintext(**fields: object) -> bytes:
    data = {"format": NOTICE_FORMAT, "purpose": "debrief", "session": 3, "action": None}
    data.update({"html": "<p>Discussed.</p>"}, **fields)
    return json.dumps(data).encode()


def test_a_written_notice_reads_back() -> None:
    payload = notice_payload(MessagePurpose.PROGRESS, None, 7, Markup("<p>Done.</p>"))
    notice = read_notice(json.dumps(payload).encode())
    assert notice is not None
    assert (notice.purpose, notice.session_id, notice.action_id) == (
        MessagePurpose.PROGRESS,
        None,
        7,
    )
    assert notice.html == Markup("<p>Done.</p>")


def test_a_free_message_is_not_a_notice() -> None:
    with pytest.raises(ValueError, match="not a notice"):
        notice_payload(MessagePurpose.MESSAGE, None, None, Markup(""))


def test_the_reader_cleans_what_the_envelope_holds() -> None:
    html = (
        '<p onclick="x()">Hi<script>alert(1)</script><a href="https://example.org">there</a></p>'
        "<img src=x><style>p{}</style><h4>Next</h4>"
    )
    notice = read_notice(_plaintext(html=html))
    assert notice is not None
    assert "<script" not in notice.html and "onclick" not in notice.html
    assert "<a" not in notice.html and "<img" not in notice.html and "<style" not in notice.html
    assert "<h4>Next</h4>" in notice.html


@pytest.mark.parametrize(
    "plaintext",
    [
        b"\xff\xfe",
        b"not json",
        b"[]",
        json.dumps({"format": "parley-desk-message-v1", "text": "hello"}).encode(),
        _plaintext(purpose="message"),
        _plaintext(purpose="unknown"),
        _plaintext(html=7),
        _plaintext(html="x" * (MAX_NOTICE_HTML + 1)),
        _plaintext(session="3"),
        _plaintext(session=0),
        _plaintext(session=2**31),
        _plaintext(session=True),
        _plaintext(action=1.5),
    ],
)
def test_anything_else_is_refused(plaintext: bytes) -> None:
    assert read_notice(plaintext) is None


def test_the_browser_reads_notices_by_the_same_rules() -> None:
    """``static/js/notices.mjs`` states the format, purposes, length and allow-list again (the
    tab must not take them from the server it checks): they must be these."""
    module = NOTICES_MODULE.read_text(encoding="utf-8")

    def constant(name: str) -> str:
        match = re.search(rf"export const {name} = (.+);", module)
        assert match is not None, name
        return match.group(1)

    assert json.loads(constant("NOTICE_FORMAT").replace("'", '"')) == NOTICE_FORMAT
    assert set(json.loads(constant("NOTICE_PURPOSES").replace("'", '"'))) == {
        str(purpose) for purpose in NOTICE_PURPOSES
    }
    assert int(constant("MAX_NOTICE_HTML")) == MAX_NOTICE_HTML
    assert set(json.loads(constant("ALLOWED_TAGS").replace("'", '"'))) == ALLOWED_TAGS
