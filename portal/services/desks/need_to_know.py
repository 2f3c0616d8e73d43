"""Need-to-know: who may read which submission, decided here and nowhere else.

The rules, in order:

1. Only the content roles (triage officer, co-chair, and an administrator who has been made a
   desk member like anyone else) ever read content; an observer never does, and an
   administrator's role alone opens nothing.
2. A staff member reads a dialogue's submissions only while a member of its desk *and* holding a
   grant of the desk key the submission is sealed to. The second half is the cryptography: without
   the grant the desk key does not open, whatever this code says.
3. A high-risk submission with named members is readable only by those named members, unless
   someone takes emergency access: a written justification, audited, shown to the desk, and
   valid for :data:`EMERGENCY_ACCESS_LIFETIME`.

Triage decisions are the work of triage officers; co-chairs read and write to submitters, and
own the agenda of a session (triage officers only propose items to it); both brief the
co-chairs' delegation for a session. :func:`may_triage`, :func:`may_message`,
:func:`may_shape_agenda` and :func:`may_brief` say so in one place; the same triage officers and
co-chairs keep the follow-up roadmap (:func:`may_edit_roadmap`).

Reports and statistics are aggregates, never content (:func:`may_read_reports`): observers --
the Member States and COHOM -- read them for every dialogue, a desk member for the dialogues of
their desks. An administrator's role alone opens none; one made a desk member reads that
dialogue's like any member, as they could already count its queue.
"""

import datetime as dt
import enum

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    EmergencyAccess,
    NamedMember,
    RiskLevel,
    StaffRole,
    StaffUser,
    Submission,
)
from portal.services.desks.keys import current_desk_key, open_desk_key_grant
from portal.services.staff.web_sessions import SignedInStaff

CONTENT_ROLES = frozenset({StaffRole.TRIAGE_OFFICER, StaffRole.CO_CHAIR, StaffRole.ADMINISTRATOR})
TRIAGE_ROLES = frozenset({StaffRole.TRIAGE_OFFICER})
MESSAGE_ROLES = frozenset({StaffRole.TRIAGE_OFFICER, StaffRole.CO_CHAIR})
AGENDA_ROLES = frozenset({StaffRole.CO_CHAIR})
HANDOVER_DECISION_ROLES = frozenset({StaffRole.CO_CHAIR})
BRIEFING_ROLES = frozenset({StaffRole.TRIAGE_OFFICER, StaffRole.CO_CHAIR})
ROADMAP_ROLES = BRIEFING_ROLES
"""Who keeps a dialogue's follow-up roadmap: those who brief the delegation also follow up what
it agreed, so the two stay one set."""
EMERGENCY_ACCESS_LIFETIME = dt.timedelta(hours=24)


class Access(enum.StrEnum):
    """How a staff member stands towards one submission."""

    READ = "read"  # may open it
    RESTRICTED = "restricted"  # on the desk, but the submission is restricted to named members
    NONE = "none"  # not on the desk, or a role that never reads content


class NotOnDeskError(PermissionError):
    """The staff member is not on this dialogue's desk (or their role reads no content)."""


class DeskKeyUnavailableError(PermissionError):
    """The staff member is on the desk but holds no grant of the desk key needed."""


def is_desk_member(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` sits on ``dialogue``'s desk in a role that reads content."""
    if not user.active or user.role not in CONTENT_ROLES:
        return False
    return (
        session.scalars(
            select(DeskMembership.id).where(
                DeskMembership.dialogue_id == dialogue.id,
                DeskMembership.staff_user_id == user.id,
            )
        ).first()
        is not None
    )


def desk_dialogues(session: Session, user: StaffUser) -> list[Dialogue]:
    """The dialogues on whose desk ``user`` sits, by slug; none for roles that read no content."""
    if not user.active or user.role not in CONTENT_ROLES:
        return []
    return list(
        session.scalars(
            select(Dialogue)
            .join(DeskMembership, DeskMembership.dialogue_id == Dialogue.id)
            .where(DeskMembership.staff_user_id == user.id)
            .order_by(Dialogue.slug)
        )
    )


def submission_access(
    session: Session, user: StaffUser, submission: Submission, *, now: dt.datetime
) -> Access:
    """How ``user`` stands towards ``submission`` (rules 1 to 3 of the module docstring)."""
    if not is_desk_member(session, user, submission.dialogue):
        return Access.NONE
    if not is_restricted(session, submission):
        return Access.READ
    if is_named_member(session, user, submission) or has_emergency_access(
        session, user, submission, now=now
    ):
        return Access.READ
    return Access.RESTRICTED


def is_restricted(session: Session, submission: Submission) -> bool:
    """Whether ``submission`` is high-risk with members named on it."""
    if submission.risk_level is not RiskLevel.HIGH:
        return False
    return (
        session.scalars(
            select(NamedMember.id).where(NamedMember.submission_id == submission.id)
        ).first()
        is not None
    )


def is_named_member(session: Session, user: StaffUser, submission: Submission) -> bool:
    return (
        session.scalars(
            select(NamedMember.id).where(
                NamedMember.submission_id == submission.id, NamedMember.staff_user_id == user.id
            )
        ).first()
        is not None
    )


def has_emergency_access(
    session: Session, user: StaffUser, submission: Submission, *, now: dt.datetime
) -> bool:
    return (
        session.scalars(
            select(EmergencyAccess.id).where(
                EmergencyAccess.submission_id == submission.id,
                EmergencyAccess.staff_user_id == user.id,
                EmergencyAccess.expires_at > now,
            )
        ).first()
        is not None
    )


def may_triage(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may take triage decisions on ``dialogue``'s submissions."""
    return user.role in TRIAGE_ROLES and is_desk_member(session, user, dialogue)


def may_message(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may write to the authors of ``dialogue``'s submissions."""
    return user.role in MESSAGE_ROLES and is_desk_member(session, user, dialogue)


def may_debrief(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may write, send and withhold the debrief of ``dialogue``'s sessions.

    A debrief is a notice to each contributor, and a notice is a desk message: whoever may write
    to the authors of the dialogue's submissions may debrief them, and nobody else (an
    administrator made a member and an observer never)."""
    return may_message(session, user, dialogue)


def may_brief(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may read and write the briefing packs of ``dialogue``'s sessions: the
    desk's triage officers and co-chairs, not an administrator made a member."""
    return user.role in BRIEFING_ROLES and is_desk_member(session, user, dialogue)


def may_shape_agenda(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may shape the agendas of ``dialogue``'s sessions (a co-chair's work)."""
    return user.role in AGENDA_ROLES and is_desk_member(session, user, dialogue)


def may_decide_handover(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may approve, reject, freeze and unfreeze the handover lists of
    ``dialogue``'s sessions (a co-chair's second pair of eyes)."""
    return user.role in HANDOVER_DECISION_ROLES and is_desk_member(session, user, dialogue)


def may_read_reports(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` reads the statistics and session reports of ``dialogue`` (aggregate
    figures through suppression, agenda titles and themes, the roadmap's state; never content)."""
    if not user.active:
        return False
    return user.role is StaffRole.OBSERVER or is_desk_member(session, user, dialogue)


def report_dialogues(session: Session, user: StaffUser) -> list[Dialogue]:
    """The dialogues whose reports ``user`` reads (:func:`may_read_reports`), by slug."""
    if user.active and user.role is StaffRole.OBSERVER:
        return list(session.scalars(select(Dialogue).order_by(Dialogue.slug)))
    return desk_dialogues(session, user)


def may_edit_roadmap(session: Session, user: StaffUser, dialogue: Dialogue) -> bool:
    """Whether ``user`` may keep ``dialogue``'s follow-up roadmap (results, actions, their state
    and links): the desk's triage officers and co-chairs. Any desk member reads it
    (:func:`is_desk_member`); an observer reads only its state, in the session report."""
    return user.role in ROADMAP_ROLES and is_desk_member(session, user, dialogue)


def open_desk_key(
    session: Session, signed_in: SignedInStaff, desk_key: DeskKey
) -> crypto.PrivateKey:
    """The private half of ``desk_key``, opened with the signed-in member's own grant.

    ``NotOnDeskError`` for someone off the desk, ``DeskKeyUnavailableError`` for a member who
    holds no grant of this key (just added and not yet granted, or reset since). The key lives as
    long as the caller keeps it; callers keep it for one request.
    """
    if not is_desk_member(session, signed_in.user, desk_key.dialogue):
        raise NotOnDeskError()
    grant = session.scalars(
        select(DeskKeyGrant).where(
            DeskKeyGrant.desk_key_id == desk_key.id,
            DeskKeyGrant.recipient_staff_user_id == signed_in.user.id,
        )
    ).first()
    if grant is None:
        raise DeskKeyUnavailableError()
    try:
        return open_desk_key_grant(grant, signed_in.personal_key())
    except crypto.DecryptionError:
        raise DeskKeyUnavailableError() from None


def open_current_desk_key(
    session: Session, signed_in: SignedInStaff, dialogue: Dialogue
) -> tuple[DeskKey, crypto.PrivateKey]:
    """The dialogue's current desk key and its private half, for a member writing what that key
    must certify (a note, a desk text): ``DeskKeyUnavailableError`` when the dialogue has no
    current key or the member holds no grant of it, ``NotOnDeskError`` off the desk."""
    desk_key = current_desk_key(session, dialogue)
    if desk_key is None:
        raise DeskKeyUnavailableError()
    return desk_key, open_desk_key(session, signed_in, desk_key)
