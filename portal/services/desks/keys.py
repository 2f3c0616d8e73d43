"""Desk keys and the grants that let a desk member, or the recovery key, open them.

A grant is an envelope (``crypto.seal_envelope``) holding the desk key's raw 32-byte private half,
sealed to one recipient under a context (``contexts.desk_key_grant_context``; docs/FORMATS.md,
"Envelope contexts") that names the dialogue and the desk key, so that a grant copied to another
dialogue's or another key's row does not open. Granting needs
the unwrapped desk key: only someone who can already open it (or the set-up that made it) can
let somebody else in, and the cryptography, not only this code, enforces need-to-know.
"""

from typing import Any

from sqlalchemy import ScalarSelect, bindparam, func, select
from sqlalchemy.orm import Session, aliased

import crypto
from portal.models import (
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    RecoveryKey,
    StaffRole,
    StaffUser,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import desk_key_grant_context
from portal.translatable import translatable

ROLES_WITHOUT_CONTENT_ACCESS = frozenset({StaffRole.OBSERVER})


class GrantRefusedError(ValueError):
    """A desk key grant that must not be made; the message says why."""


def create_desk_key(
    session: Session,
    dialogue: Dialogue,
    recovery_key: RecoveryKey,
    *,
    actor: StaffUser | None = None,
    certified_by: bytes | None = None,
) -> tuple[DeskKey, crypto.PrivateKey]:
    """Make a new desk key for ``dialogue``, granted at once to the recovery key.

    The private half is returned so that the caller can grant it to the first desk members
    before it is forgotten; the public half of its signing key is kept beside the key, for new
    submissions to name as the desk's (``crypto.desk_signing_seed``). ``certified_by`` is the
    signing seed of the desk key it follows, which a member rotating the key holds: the new key
    is then certified by it (``crypto.certify_desk_key``), so that a submitter who trusts the
    older key can check messages signed by the new one.
    """
    private_key = crypto.generate_private_key()
    public_key = crypto.public_key_bytes(private_key)
    signing_key = crypto.desk_signing_public_key(private_key)
    latest = session.scalar(
        select(func.max(DeskKey.generation)).where(DeskKey.dialogue_id == dialogue.id)
    )
    generation = 1 + (latest or 0)
    certificate = (
        None
        if certified_by is None
        else crypto.certify_desk_key(
            certified_by, dialogue.slug, generation, public_key, signing_key
        ).signature
    )
    desk_key = DeskKey(
        dialogue=dialogue,
        public_key=public_key,
        key_id=crypto.key_id(public_key),
        signing_public_key=signing_key,
        generation=generation,
        certificate=certificate,
    )
    session.add(desk_key)
    session.flush()
    record_event(
        session,
        action=AuditAction.DESK_KEY_CREATED,
        object_type="desk_key",
        object_id=desk_key.id,
        actor=actor,
        dialogue=dialogue,
        details={"key_id": desk_key.key_id.hex()},
    )
    grant = DeskKeyGrant(
        desk_key=desk_key,
        recovery_key=recovery_key,
        envelope=_seal_desk_key(desk_key, private_key, recovery_key.public_key),
    )
    session.add(grant)
    session.flush()
    _record_grant(session, grant, actor, recipient={"recovery_key_id": recovery_key.id})
    return desk_key, private_key


def grant_desk_access(
    session: Session,
    *,
    desk_key: DeskKey,
    desk_private_key: crypto.PrivateKey,
    member: StaffUser,
    granted_by: StaffUser | None,
) -> DeskKeyGrant:
    """Make ``member`` a desk member of the key's dialogue and seal the desk key to them.

    ``granted_by`` is ``None`` only for the instance set-up itself.
    """
    if crypto.public_key_bytes(desk_private_key) != desk_key.public_key:
        raise GrantRefusedError(translatable("the key supplied is not this desk key"))
    if not member.active:
        raise GrantRefusedError(translatable("a deactivated account cannot join a desk"))
    if member.role in ROLES_WITHOUT_CONTENT_ACCESS:
        raise GrantRefusedError(f"the {member.role} role never reads submissions")
    dialogue = desk_key.dialogue
    existing_grant = session.scalars(
        select(DeskKeyGrant).where(
            DeskKeyGrant.desk_key_id == desk_key.id,
            DeskKeyGrant.recipient_staff_user_id == member.id,
        )
    ).first()
    if existing_grant is not None:
        raise GrantRefusedError(translatable("this staff member already holds this desk key"))
    membership = session.scalars(
        select(DeskMembership).where(
            DeskMembership.dialogue_id == dialogue.id, DeskMembership.staff_user_id == member.id
        )
    ).first()
    if membership is None:
        session.add(
            DeskMembership(dialogue=dialogue, staff_user=member, granted_by_id=_id(granted_by))
        )
    grant = DeskKeyGrant(
        desk_key=desk_key,
        recipient_staff_user=member,
        envelope=_seal_desk_key(desk_key, desk_private_key, member.personal_public_key),
    )
    session.add(grant)
    session.flush()
    _record_grant(session, grant, granted_by, recipient={"staff_user_id": member.id})
    return grant


def current_key_id(dialogue_id: Any) -> ScalarSelect[int]:
    """The id of the current desk key (:func:`current_desk_key`) of the dialogue whose id is
    ``dialogue_id`` (a bound parameter, or a column of an enclosing query), as a subquery: the
    rule itself, for reads that fetch the key along with something else (under an alias of its
    own, so that it is never correlated with a ``desk_keys`` of the enclosing query)."""
    candidate = aliased(DeskKey, name="candidate_desk_keys")
    return (
        select(candidate.id)
        .where(candidate.dialogue_id == dialogue_id, candidate.retired_at.is_(None))
        .order_by(candidate.created_at.desc(), candidate.id.desc())
        .limit(1)
        .correlate_except(candidate)
        .scalar_subquery()
    )


# Built once: every submission and every form page reads the current desk key.
_CURRENT = select(DeskKey).where(DeskKey.id == current_key_id(bindparam("dialogue_id")))


def current_desk_key(session: Session, dialogue: Dialogue) -> DeskKey | None:
    """The desk key new submissions to ``dialogue`` are encrypted to: the newest not retired.

    This is the key whose fingerprint is published for submitters to compare.
    """
    return session.scalars(_CURRENT, {"dialogue_id": dialogue.id}).first()


def open_desk_key_grant(
    grant: DeskKeyGrant, recipient_private_key: crypto.PrivateKey
) -> crypto.PrivateKey:
    """The desk private key inside ``grant``; ``crypto.DecryptionError`` if it does not open
    with ``recipient_private_key`` or holds a key other than the desk key it claims."""
    desk_key = grant.desk_key
    context = desk_key_grant_context(desk_key.dialogue.slug, desk_key.key_id)
    raw = crypto.open_envelope(grant.envelope, recipient_private_key, context)
    private_key = crypto.load_private_key(raw)
    if crypto.public_key_bytes(private_key) != desk_key.public_key:
        raise crypto.DecryptionError("the grant holds a different key")
    return private_key


def _seal_desk_key(desk_key: DeskKey, private_key: crypto.PrivateKey, recipient: bytes) -> bytes:
    context = desk_key_grant_context(desk_key.dialogue.slug, desk_key.key_id)
    return crypto.seal_envelope(crypto.private_key_bytes(private_key), [recipient], context)


def _record_grant(
    session: Session, grant: DeskKeyGrant, actor: StaffUser | None, recipient: dict[str, int]
) -> None:
    record_event(
        session,
        action=AuditAction.DESK_KEY_GRANTED,
        object_type="desk_key_grant",
        object_id=grant.id,
        actor=actor,
        dialogue=grant.desk_key.dialogue,
        details={"key_id": grant.desk_key.key_id.hex(), **recipient},
    )


def _id(user: StaffUser | None) -> int | None:
    return None if user is None else user.id
