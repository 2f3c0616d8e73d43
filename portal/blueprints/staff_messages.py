"""The desk's side of the message thread with a submission's author (under ``/staff``).

One route, the send form's post; the thread itself is shown inside the staff submission page by
the partial ``templates/staff/messages/_thread.html``, through the template function
:func:`desk_message_thread` (registered here for the whole application), which opens each message
with the desk keys of the reader that opened the page's submission.

Every rule is in ``portal.services.submissions.messages``: a triage officer or co-chair on the desk
who may read the submission writes, and only to a submitter who agreed to be contacted through the
portal. A staff member who may not write gets 403 before anything is opened; a message refused
for the contact choice or its length comes back with the reason and what was typed.
"""

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from portal.blueprints.staff_access import signed_in_staff, staff_required
from portal.blueprints.staff_forms import MessageForm
from portal.models import Submission, utc_now
from portal.services.desks.need_to_know import may_message
from portal.services.staff.reading import (
    OpenedForStaff,
    ReadRefusedError,
    open_submission_for_staff,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.by_public_id import submission_by_public_id
from portal.services.submissions.intake import SubmissionRefusedError
from portal.services.submissions.messages import (
    ContactNotAgreedError,
    MessageNotAllowedError,
    ThreadEntry,
    send_desk_message,
    thread_for_desk,
    unverified_messages,
)
from portal.services.submissions.notices import notice_session_dates
from portal.services.submissions.payload import PayloadError
from portal.services.submissions.provenance import record_unverified
from portal.web.lookups import found_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("staff_messages", __name__, url_prefix="/staff")


@dataclass(frozen=True)
class DeskThread:
    """What the thread partial shows: the messages, and whether (or why not) to offer the form."""

    entries: list[ThreadEntry]
    may_send: bool
    note: str | None
    session_dates: dict[int, dt.date]  # for the headings of notices (notice_session_dates)


def contact_refused_message() -> str:
    return _(
        "The submitter did not agree to be contacted through the portal, so the desk cannot "
        "write to them. If they write to the desk, their messages appear here."
    )


def role_refused_message() -> str:
    return _("Only triage officers and co-chairs on this desk write to submitters.")


@blueprint.app_template_global()
def desk_message_thread(submission: Submission, opened: OpenedForStaff) -> DeskThread:
    """The thread of the submission the page opened, for the signed-in staff member."""
    signed_in = signed_in_staff()
    database = reading()
    entries = thread_for_desk(database, submission, opened.reader, opened.anchors)
    if unverified_messages(entries):
        with unit_of_work() as recording:
            record_unverified(
                recording, submission, unverified_messages(entries), by_submitter=False
            )
    dates = notice_session_dates(submission)
    if signed_in is None or not may_message(database, signed_in.user, submission.dialogue):
        return DeskThread(entries, False, role_refused_message(), dates)
    if opened.payload.get("contact_through_portal") is not True:
        return DeskThread(entries, False, contact_refused_message(), dates)
    return DeskThread(entries, True, None, dates)


@blueprint.post("/submissions/<public_id>/messages")
@staff_required()
def send(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    """Seal the typed message to the submission's author and go back to the submission."""
    database = reading()
    submission = found_or_404(submission_by_public_id(database, public_id))
    if not may_message(database, signed_in.user, submission.dialogue):
        abort(403)
    now = utc_now()
    text = MessageForm().text.data or ""
    refusal: Exception | None = None
    try:
        with unit_of_work() as database:
            opened = open_submission_for_staff(database, signed_in, submission, now=now)
            try:
                send_desk_message(database, signed_in, opened, {"text": text}, now=now)
            except (ContactNotAgreedError, PayloadError, SubmissionRefusedError) as error:
                # Nothing is stored but the record that the submission was opened to check it,
                # committed with the block.
                refusal = error
    except (ReadRefusedError, MessageNotAllowedError):
        abort(403)
    if refusal is not None:
        return _refused(submission, refusal, text), 400
    return redirect(url_for("staff.submission", public_id=public_id, _anchor="messages"))


def _refused(submission: Submission, refusal: Exception, text: str) -> str:
    if isinstance(refusal, ContactNotAgreedError):
        reason, typed = contact_refused_message(), None
    elif isinstance(refusal, PayloadError):
        reason, typed = _("Write the message, in at most 20,000 characters."), text
    else:
        reason, typed = _("This dialogue cannot receive messages at the moment."), text
    return render_template(
        "staff/messages/refused.html", submission=submission, reason=reason, typed_text=typed
    )
