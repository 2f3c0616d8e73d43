"""Notices: what the desk sends to every contributor concerned, in the thread of each submission.

A notice is a desk message (``DeskMessage`` with a ``purpose`` other than ``MESSAGE``): sealed to
the desk key and the submission's own key, signed by the desk signing key under the same signed
context as any desk message (``messages.message_kind``), so every check a reader already makes on
a desk message -- provenance, position, direction, recipients -- holds for a notice unchanged.
Two purposes exist: a session's debrief (general debrief and feedback on this submission, sent by
``portal.services.rounds.debrief``) and progress on a follow-up action of the roadmap.

Unlike a free message, a notice does not ask for the submitter's "the EU Delegation may contact
me" choice: the debrief is the standard the guidelines set for every contributor, it stays in the
inbox behind the codename, and nothing about it leaves the portal. Who may send one is who may
message the dialogue and read the submission (``messages.require_may_write``), as for a
message.

Its plaintext (docs/FORMATS.md, "Notice v1") is UTF-8 JSON::

    {"format": "parley-desk-notice-v1", "purpose": "debrief" | "progress",
     "session": <session id or null>, "action": <follow-up action id or null>,
     "html": "<staff text rendered by staff_markdown, cleaned>"}

The HTML is rendered and cleaned on the server when the notice is written, so that both paths
show the same words; every reader cleans it again before showing it (``notice_format.read_notice``,
the allow-list walk of ``static/js/notices.mjs`` in the browser) and never trusts stored HTML. The
purpose, session and action inside the envelope are signed; the plaintext columns beside it only
let the desk and the inbox find notices without opening them, and a reader believes the
envelope.
"""

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from portal.models import DeskMessage, MessagePurpose, StaffUser, Submission
from portal.services.audit.trail import AuditAction, record_event
from portal.services.staff.reading import StaffReader
from portal.services.submissions.messages import require_may_write, store_desk_item


def send_notice(
    session: Session,
    reader: StaffReader,
    author: StaffUser,
    submission: Submission,
    payload: dict[str, Any],
    *,
    now: dt.datetime,
) -> DeskMessage:
    """Seal and sign a notice (``notice_payload``) into ``submission``'s thread.

    ``MessageNotAllowedError`` when ``author`` may not write to this submission's author; nothing
    is stored then. The audit event names ids and the purpose only.
    """
    require_may_write(session, author, submission, now=now)
    message = store_desk_item(
        session,
        reader,
        author,
        submission,
        payload,
        today=now.date(),
        purpose=MessagePurpose(payload["purpose"]),
        session_id=payload["session"],
        follow_up_action_id=payload["action"],
    )
    record_event(
        session,
        action=AuditAction.NOTICE_SENT,
        object_type="desk_message",
        object_id=message.id,
        actor=author,
        dialogue=submission.dialogue,
        details={"submission_id": submission.id, "purpose": payload["purpose"]},
    )
    return message


def notice_session_dates(submission: Submission) -> dict[int, dt.date]:
    """The dates of the sessions of ``submission``'s dialogue, by id: what a notice's heading
    names. The session id inside a notice is signed; its date comes from the dialogue's public
    schedule, and a session of another dialogue has none here."""
    return {
        dialogue_session.id: dialogue_session.date
        for dialogue_session in submission.dialogue.sessions
    }
