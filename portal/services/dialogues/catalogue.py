"""Dialogues and their sessions, as the administration and the demo set-up create them."""

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DeskKey,
    Dialogue,
    DialogueKind,
    DialogueSession,
    DialogueStatus,
    IdentityKey,
    PartnerKind,
    RecoveryKey,
    ReviewMode,
    SessionPlace,
    SessionState,
    StaffUser,
    utc_now,
)
from portal.models.dialogue import MAX_PARTNER_LENGTH
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks.identity_keys import create_identity_key
from portal.services.desks.keys import create_desk_key
from portal.services.desks.recovery_certificates import certify_with_recovery_key

SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_SLUG_LENGTH = 64


class DialogueDetailsError(ValueError):
    """Details for a dialogue or session that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class NewDialogue:
    """A created dialogue with its first desk key, whose private half the caller grants onward."""

    dialogue: Dialogue
    desk_key: DeskKey
    desk_private_key: crypto.PrivateKey
    identity_key: IdentityKey
    identity_private_key: crypto.PrivateKey


def all_dialogues(session: Session) -> list[Dialogue]:
    """Every dialogue, by slug, as the administration pages and their choices list them."""
    return list(session.scalars(select(Dialogue).order_by(Dialogue.slug)))


def create_dialogue(
    session: Session,
    *,
    slug: str,
    partner: str,
    partner_kind: PartnerKind,
    kind: DialogueKind,
    recovery_key: RecoveryKey,
    status: DialogueStatus = DialogueStatus.ACTIVE,
    review_mode: ReviewMode = ReviewMode.ONLINE,
    actor: StaffUser | None = None,
    recovery_signing_seed: bytes | None = None,
) -> NewDialogue:
    """Create a dialogue and its desk key (granted to the recovery key), the key certified with
    ``recovery_signing_seed`` when the operator gave the recovery key
    (``portal.services.desks.recovery_certificates``)."""
    if len(slug) > MAX_SLUG_LENGTH or not SLUG_PATTERN.fullmatch(slug):
        raise DialogueDetailsError(
            "a dialogue's short name uses lower-case letters, digits and single hyphens"
        )
    if not partner.strip():
        raise DialogueDetailsError("a dialogue needs a partner name")
    if len(partner.strip()) > MAX_PARTNER_LENGTH:
        raise DialogueDetailsError(f"a partner name has at most {MAX_PARTNER_LENGTH} characters")
    if session.scalars(select(Dialogue.id).where(Dialogue.slug == slug)).first() is not None:
        raise DialogueDetailsError(f"a dialogue named {slug!r} already exists")
    dialogue = Dialogue(
        slug=slug,
        partner=partner.strip(),
        partner_kind=partner_kind,
        kind=kind,
        status=status,
        review_mode=review_mode,
    )
    session.add(dialogue)
    session.flush()
    record_event(
        session,
        action=AuditAction.DIALOGUE_CREATED,
        object_type="dialogue",
        object_id=dialogue.id,
        actor=actor,
        dialogue=dialogue,
        details={"slug": slug, "kind": str(kind), "status": str(status)},
    )
    desk_key, desk_private_key = create_desk_key(session, dialogue, recovery_key, actor=actor)
    if recovery_signing_seed is not None:
        certify_with_recovery_key(session, desk_key, recovery_signing_seed, actor=actor)
    identity_key, identity_private_key = create_identity_key(
        session, desk_key, recovery_key, actor=actor
    )
    return NewDialogue(dialogue, desk_key, desk_private_key, identity_key, identity_private_key)


def schedule_session(
    session: Session,
    dialogue: Dialogue,
    *,
    date: dt.date,
    place: SessionPlace,
    state: SessionState,
    consultation_opens_at: dt.datetime | None,
    consultation_closes_at: dt.datetime | None,
    actor: StaffUser | None = None,
) -> DialogueSession:
    """Add a session to ``dialogue``; a consultation window has both ends, opening first."""
    if (consultation_opens_at is None) != (consultation_closes_at is None):
        raise DialogueDetailsError("a consultation window needs both its opening and its close")
    if (
        consultation_opens_at is not None
        and consultation_closes_at is not None
        and consultation_opens_at >= consultation_closes_at
    ):
        raise DialogueDetailsError("a consultation must open before it closes")
    dialogue_session = DialogueSession(
        dialogue=dialogue,
        date=date,
        place=place,
        state=state,
        consultation_opens_at=consultation_opens_at,
        consultation_closes_at=consultation_closes_at,
        # A session brought in already in follow-up counts its retention from the day it is.
        follow_up_on=utc_now().date() if state is SessionState.FOLLOW_UP else None,
    )
    session.add(dialogue_session)
    session.flush()
    record_event(
        session,
        action=AuditAction.SESSION_SCHEDULED,
        object_type="dialogue_session",
        object_id=dialogue_session.id,
        actor=actor,
        dialogue=dialogue,
        details={"date": date.isoformat(), "place": str(place), "state": str(state)},
    )
    return dialogue_session
