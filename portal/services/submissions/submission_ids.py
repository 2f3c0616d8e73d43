"""Submission ids the server issues with each form: the only ids uploads and intake accept.

A form page carries the public id its submission will have (the envelope's context binds it, and
the browser derives the submission's keys from it), and uploads made before sending hang from it.
Were that id the browser's choice, one client could invent ids without end and open a fresh
upload budget under each. So the server issues the id with the page (:meth:`SubmissionIds.issue`)
and accepts, for uploads and for the submission itself, only an id it issued that has not
expired and that no submission, stored or deleted, has taken (:func:`require_usable_id`).

Nothing is recorded about a visitor who opens a form: no row, no time. The id proves itself
(``crypto.issued_ids``): a MAC, under a key derived from the instance's at-rest key for this
purpose alone, over random bytes and the number of the hour it was issued in, which the id does
not show. It is accepted during that hour and the ``lifetime_hours`` after it. Single use holds
because the id becomes the submission's public id, unique among stored and deleted submissions;
the uploads made under it may be claimed only by that submission.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, bindparam, exists, or_, select
from sqlalchemy.orm import Session

import crypto
from portal.models import DeletedSubmission, Submission
from portal.translatable import translatable

_PERIOD_SECONDS = 3600


def public_id_taken(public_id: Any) -> ColumnElement[bool]:
    """Whether a stored or deleted submission has the public id ``public_id`` (a bound
    parameter), as a column: the rule itself, for a read that fetches it along with something
    else (``submissions.destination``)."""
    submissions, deleted = Submission.__table__.c, DeletedSubmission.__table__.c
    return or_(
        exists().where(submissions.public_id == public_id),
        exists().where(deleted.public_id == public_id),
    )


# Built once: every upload, and every submission sent without JavaScript, reads it.
_TAKEN = select(public_id_taken(bindparam("public_id")))


class SubmissionIdError(ValueError):
    """An id a submission or an upload cannot use; the message can be shown as is."""


class SubmissionIdExpiredError(SubmissionIdError):
    """Not an id this server issued, or one issued too long ago: the form must be fetched again."""

    def __init__(self) -> None:
        super().__init__(
            translatable(
                "this form has expired; nothing was stored: open the form again to get a fresh one"
            )
        )


class SubmissionIdUsedError(SubmissionIdError):
    """A submission was already sent with this id (and may since have been deleted)."""

    def __init__(self) -> None:
        super().__init__(
            translatable("this form has already been sent; open the form again to send another")
        )


@dataclass(frozen=True)
class SubmissionIds:
    """Issues and recognises this instance's submission ids."""

    key: bytes = field(repr=False)
    lifetime_hours: int

    @classmethod
    def of_instance(cls, at_rest_key: bytes, lifetime_hours: int) -> "SubmissionIds":
        """The issuer of an instance, its key derived from the instance's at-rest key."""
        return cls(crypto.issued_id_key(at_rest_key), lifetime_hours)

    def issue(self, now: dt.datetime) -> str:
        """A fresh id for a form shown at ``now``."""
        return crypto.issue_id(self.key, _period(now))

    def is_live(self, public_id: str, now: dt.datetime) -> bool:
        """Whether ``public_id`` was issued here and has not expired at ``now``."""
        current = _period(now)
        return any(
            crypto.id_issued_in(self.key, public_id, period)
            for period in range(current, max(current - self.lifetime_hours, 0) - 1, -1)
        )


def require_usable_id(
    session: Session,
    ids: SubmissionIds,
    public_id: str,
    now: dt.datetime,
    *,
    taken: bool | None = None,
) -> None:
    """Refuse an id this server did not issue, one that expired and one a submission took.

    ``taken`` is :func:`public_id_taken` when the caller read it in this transaction along with
    its other reads; it is read here otherwise.
    """
    if not ids.is_live(public_id, now):
        raise SubmissionIdExpiredError()
    if taken is None:
        taken = bool(session.connection().scalar(_TAKEN, {"public_id": public_id}))
    if taken:
        raise SubmissionIdUsedError()


def _period(now: dt.datetime) -> int:
    return int(now.timestamp()) // _PERIOD_SECONDS
