"""What a sealed submission is checked against before anything of it is stored, in one read.

Where it goes (the dialogue, the session it names and the dialogue's current desk key), whether
its form's id is already taken and the level of the submitters' failure gauge are each the rule
of their own service, which offers it as columns (``dialogue_sessions.destination_read``,
``submission_ids.public_id_taken``, ``submitters.SIGN_IN_GAUGE``) and decides on what they read
(``intake.submission_address``, ``submitters.browser_registration`` and
``submitters.sign_in_from_browser``). Read together they cost a request one statement instead of
three: each statement costs the server's process more than building its answer.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlalchemy.orm import Session

from portal.services.dialogues.dialogue_sessions import (
    DeskKeyRow,
    DialogueRow,
    SessionRow,
    destination_read,
    read_destination,
)
from portal.services.submissions.submission_ids import public_id_taken
from portal.services.submissions.submitters import SIGN_IN_GAUGE


@dataclass(frozen=True)
class SealedDestination:
    """What :func:`read_sealed_destination` found."""

    dialogue: DialogueRow
    dialogue_session: SessionRow | None
    desk_key: DeskKeyRow | None  # None: the dialogue has no desk key yet
    public_id_taken: bool
    sign_in_gauge: float


# Built once: every sealed submission runs it.
_READ = destination_read(public_id_taken(bindparam("public_id")), *SIGN_IN_GAUGE.columns)


def read_sealed_destination(
    session: Session, slug: str, session_id: int | None, public_id: str, now: dt.datetime
) -> SealedDestination:
    """The destination of a submission to the dialogue named ``slug`` and the session numbered
    ``session_id`` (none for ``None``) under the form id ``public_id``, at ``now``; the errors of
    ``dialogue_sessions.read_destination``."""
    found = read_destination(session, _READ, slug, session_id, public_id=public_id)
    taken, level, updated_at = found.also
    return SealedDestination(
        dialogue=found.dialogue,
        dialogue_session=found.dialogue_session,
        desk_key=found.desk_key,
        public_id_taken=bool(taken),
        sign_in_gauge=SIGN_IN_GAUGE.level(level, updated_at, now),
    )
