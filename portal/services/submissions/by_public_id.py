"""Finding a submission or an attachment by the public id that pages and links carry.

A public id that is not even well formed finds nothing, without a query, so that a guessed or
mangled address costs the database nothing and answers exactly like an unknown one.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import Attachment, Submission
from portal.services.contexts import is_public_id


def submission_by_public_id(
    session: Session, public_id: str, *, for_update: bool = False
) -> Submission | None:
    """The submission with this public id, if any.

    ``for_update`` locks its row for the rest of the transaction (PostgreSQL; SQLite writes one
    transaction at a time anyway), so that two decisions on one submission cannot both pass the
    check of its state.
    """
    if not is_public_id(public_id):
        return None
    query = select(Submission).where(Submission.public_id == public_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def attachment_by_public_id(session: Session, public_id: str) -> Attachment | None:
    """The attachment with this public id (its own, not its submission's), if any."""
    if not is_public_id(public_id):
        return None
    return session.scalars(select(Attachment).where(Attachment.public_id == public_id)).first()
