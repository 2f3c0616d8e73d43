"""The "this object, or 404 / 403" answers that pages of several audiences share.

The rule behind each lookup lives in a service (which dialogue a slug names, who sits on a
desk); this module only turns "none" into 404 and "not yours" into 403, in one place, so that
every page answers an unknown or forbidden object the same way.
"""

from typing import TypeVar

from flask import abort
from sqlalchemy.orm import Session

from portal.models import Dialogue, DialogueSession, Submission
from portal.services.desks.need_to_know import is_desk_member
from portal.services.dialogues.dialogue_sessions import UnknownDialogueError, dialogue_by_slug
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.by_public_id import submission_by_public_id

_Found = TypeVar("_Found")


def found_or_404(found: _Found | None) -> _Found:
    """``found`` itself, or a 404 answer when a lookup found nothing."""
    if found is None:
        abort(404)
    return found


def dialogue_or_404(database: Session, slug: str) -> Dialogue:
    """The dialogue named ``slug``, or 404."""
    try:
        return dialogue_by_slug(database, slug)
    except UnknownDialogueError:
        abort(404)


def desk_dialogue_or_403(database: Session, signed_in: SignedInStaff, slug: str) -> Dialogue:
    """The dialogue named ``slug`` if the signed-in person sits on its desk; 404 or 403 if not."""
    dialogue = dialogue_or_404(database, slug)
    if not is_desk_member(database, signed_in.user, dialogue):
        abort(403)
    return dialogue


def session_of_dialogue_or_404(
    database: Session, dialogue: Dialogue, session_id: int
) -> DialogueSession:
    """Session ``session_id`` of ``dialogue``, or 404 (also for a session of another dialogue,
    so that an address never reaches one desk's session through another desk's slug)."""
    found = database.get(DialogueSession, session_id)
    if found is None or found.dialogue_id != dialogue.id:
        abort(404)
    return found


def desk_submission_or_404(
    database: Session, signed_in: SignedInStaff, public_id: str, *, for_update: bool = False
) -> Submission:
    """The submission ``public_id`` if the signed-in person sits on its dialogue's desk; 404 if
    not, as for an unknown reference: a dialogue is public, but whether a submission exists is
    the desk's to know, so someone off the desk cannot tell a real reference from a made-up one.
    ``for_update`` locks its row for a decision (see ``submission_by_public_id``)."""
    found = found_or_404(submission_by_public_id(database, public_id, for_update=for_update))
    if not is_desk_member(database, signed_in.user, found.dialogue):
        abort(404)
    return found
