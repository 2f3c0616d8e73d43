"""Progress notices: the desk tells the contributors behind an action how it moved on.

When an action of the roadmap linked to cases or seminar recommendations changes state, the desk
may choose to send a progress notice (a ``PROGRESS`` notice, ``submissions.notices``) into the
thread of each linked submission it picks. Nothing is sent unless the desk picks it, in the same
request that records the change: the desk knows whether a step is worth telling a defender
about, the portal does not.

**To whom.** Only submissions linked to the action (:func:`concerned`), that the sender may
message and read (``notices.send_notice`` checks both again), and that their author has not
withdrawn (someone who withdrew asked to hear no more of it). A pick outside these refuses the
whole request, change of state included, once the caller rolls back: nothing is half-stored.

**What.** The action's title and its new state (escaped, the state named by the page in the
sender's language), then the progress note rendered by ``staff_markdown.render``: staff words
about the theme, never a name, and the same words the roadmap shows.
"""

import datetime as dt
from collections.abc import Iterable

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import (
    FollowUpAction,
    FollowUpActionChange,
    FollowUpActionLink,
    MessagePurpose,
    StaffUser,
    Submission,
    SubmissionState,
)
from portal.services.desks import need_to_know
from portal.services.rounds.roadmap import RoadmapForbiddenError, RoadmapRefusedError
from portal.services.rounds.staff_markdown import render
from portal.services.staff.reading import StaffReader
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.messages import may_write
from portal.services.submissions.notice_format import notice_payload
from portal.services.submissions.notices import send_notice
from portal.translatable import translatable


def concerned(session: Session, action: FollowUpAction) -> list[Submission]:
    """The submissions linked to ``action`` as a case or through a recommendation, each once."""
    return list(
        session.scalars(
            select(Submission)
            .where(
                Submission.id.in_(
                    select(FollowUpActionLink.submission_id).where(
                        FollowUpActionLink.action_id == action.id
                    )
                )
            )
            .order_by(Submission.id)
        )
    )


def notifiable(
    session: Session, user: StaffUser, action: FollowUpAction, *, now: dt.datetime
) -> list[Submission]:
    """The concerned submissions ``user`` may send a progress notice to (module docstring)."""
    return [
        submission
        for submission in concerned(session, action)
        if submission.state is not SubmissionState.WITHDRAWN
        and may_write(session, user, submission, now=now)
    ]


def progress_html(action: FollowUpAction, change: FollowUpActionChange, state_name: str) -> Markup:
    """The notice's words: the action, its new state (``state_name``, named in the sender's
    language by the page), and the progress note if any."""
    heading = Markup("<p><strong>{}</strong></p><p>{}</p>").format(action.title, state_name)
    return heading + (render(change.note) if change.note else Markup(""))


def send_progress_notices(
    session: Session,
    signed_in: SignedInStaff,
    action: FollowUpAction,
    change: FollowUpActionChange,
    public_ids: Iterable[str],
    *,
    state_name: str,
    now: dt.datetime,
) -> int:
    """Send the progress notice of ``change`` to the picked submissions (by public id), in the
    caller's transaction; how many were sent. ``RoadmapRefusedError`` for a pick that is not
    :func:`notifiable` by the sender, ``RoadmapForbiddenError`` for a sender who may not
    message this dialogue; nothing is sent then."""
    if change.action_id != action.id:
        raise RoadmapRefusedError(translatable("the change is not one of this action's"))
    picked = set(public_ids)
    if not picked:
        return 0
    if not need_to_know.may_message(session, signed_in.user, action.dialogue):
        raise RoadmapForbiddenError(
            translatable("only the desk's triage officers and co-chairs send notices")
        )
    allowed = {
        submission.public_id: submission
        for submission in notifiable(session, signed_in.user, action, now=now)
    }
    if not picked <= allowed.keys():
        raise RoadmapRefusedError(
            translatable(
                "a progress notice goes only to contributors linked to the action "
                "whose submissions you may read"
            )
        )
    payload = notice_payload(
        MessagePurpose.PROGRESS, None, action.id, progress_html(action, change, state_name)
    )
    reader = StaffReader(session, signed_in)
    for public_id in sorted(picked):
        send_notice(session, reader, signed_in.user, allowed[public_id], payload, now=now)
    return len(picked)
