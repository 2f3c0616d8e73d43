"""What is new in a submitter's inbox: the desk's messages and notices their inbox has not shown.

"New" is one flag per desk item (``DeskMessage.seen_by_submitter``), never a time: it says only
that the submitter has, or has not yet, been shown the item, and nothing of when they signed in
or read it, so a copy of the database cannot be matched against network logs by it. What the
submitter writes is stored as seen.

A submission page shows new items first, each marked, and then marks as seen what it showed:
without JavaScript the server does so as it renders the page (it opened every item itself); with
JavaScript the page posts the public ids it could open and show (``submitter_sealed.mark_seen``),
so that a tab that failed to open the thread marks nothing.
"""

from collections.abc import Callable, Collection, Sequence
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.models import DeskMessage, MessageAuthor, Submission

_Item = TypeVar("_Item")


def new_first(
    items: Sequence[_Item], new: Callable[[_Item], Any] = attrgetter("new")
) -> list[_Item]:
    """``items`` as the inbox lists them: what holds something new first, each group in the
    order given (a thread in thread order, the inbox's submissions newest first)."""
    return [item for item in items if new(item)] + [item for item in items if not new(item)]


def mark_seen(session: Session, submission: Submission, public_ids: Collection[str]) -> int:
    """Mark the desk's items of ``submission`` named by ``public_ids`` as seen by the submitter;
    ids of other submissions' messages, or of the submitter's own, change nothing. How many
    changed."""
    if not public_ids:
        return 0
    result = session.execute(
        update(DeskMessage)
        .where(
            DeskMessage.submission_id == submission.id,
            DeskMessage.written_by == MessageAuthor.DESK,
            DeskMessage.public_id.in_(list(public_ids)),
            DeskMessage.seen_by_submitter.is_(False),
        )
        .values(seen_by_submitter=True)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount
