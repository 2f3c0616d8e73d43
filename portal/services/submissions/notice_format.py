"""The notice plaintext, ``parley-desk-notice-v1`` (docs/FORMATS.md, "Notice v1"): what the
desk writes (:func:`notice_payload`) and what every reader accepts (:func:`read_notice`).

Kept apart from ``notices`` (which seals and sends, and so builds on ``messages``) so that the
thread readers in ``messages`` can tell a notice from a free message once an envelope is open,
without an import cycle. The browser's ``static/js/notices.mjs`` applies the same rules.
"""

import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from portal.models import MessagePurpose
from portal.services.rounds.staff_markdown import clean

NOTICE_FORMAT = "parley-desk-notice-v1"
MAX_NOTICE_HTML = 200_000
"""The longest rendered notice: a general debrief and the feedback on a long seminar list."""
NOTICE_PURPOSES = frozenset({MessagePurpose.DEBRIEF, MessagePurpose.PROGRESS})


@dataclass(frozen=True)
class Notice:
    """An opened notice: what it is about and its cleaned HTML, safe to put into a page."""

    purpose: MessagePurpose
    session_id: int | None
    action_id: int | None
    html: Markup


def notice_payload(
    purpose: MessagePurpose, session_id: int | None, action_id: int | None, html: Markup
) -> dict[str, Any]:
    """The plaintext of a notice (module docstring); ``html`` comes from ``staff_markdown``."""
    if purpose not in NOTICE_PURPOSES:
        raise ValueError(f"{purpose} is not a notice")
    if len(html) > MAX_NOTICE_HTML:
        raise ValueError("the notice is too long")
    return {
        "format": NOTICE_FORMAT,
        "purpose": str(purpose),
        "session": session_id,
        "action": action_id,
        "html": str(clean(html)),
    }


def read_notice(plaintext: bytes) -> Notice | None:
    """The opened notice, or ``None`` when ``plaintext`` is not a valid notice v1."""
    try:
        data = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != NOTICE_FORMAT:
        return None
    purpose, html = data.get("purpose"), data.get("html")
    session_id, action_id = data.get("session"), data.get("action")
    if (
        purpose not in {str(item) for item in NOTICE_PURPOSES}
        or not isinstance(html, str)
        or len(html) > MAX_NOTICE_HTML
        or not _optional_id(session_id)
        or not _optional_id(action_id)
    ):
        return None
    return Notice(MessagePurpose(purpose), session_id, action_id, clean(html))


def _optional_id(value: object) -> bool:
    return value is None or (type(value) is int and 0 < value < 2**31)
