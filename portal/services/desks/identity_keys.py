"""Identity keys: the per-dialogue keys that open the names of the persons a submission is about.

Each desk key made from now on has an identity key made with it (:func:`create_identity_key`,
rotated with it). Its private half is sealed only to the recovery key and to the desk's triage
officers, never to the other members: it is what lets a triage officer read the names as sent
and re-seal them to the members they name on a case (``portal.services.staff.identities``).
A grant (``contexts.identity_key_grant_context``) is bound to its dialogue and identity key.

Only a holder can grant: whoever holds the identity key (a triage officer in their own session,
or the operator with the recovery key) seals it to a triage officer who holds the desk key, in
the same step that grants them the desk key (``membership.grant_member``, rotation, the return to
online review). A dialogue in offline review keeps no identity key open to anyone but the
recovery key, like its desk key.
"""

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    CompartmentGrant,
    DeskKey,
    Dialogue,
    IdentityKey,
    IdentityKeyGrant,
    RecoveryKey,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionIdentity,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import identity_key_grant_context

IDENTITY_ROLES = frozenset({StaffRole.TRIAGE_OFFICER})
"""The roles an identity key is granted to: those who name members on a case."""


def create_identity_key(
    session: Session, desk_key: DeskKey, recovery_key: RecoveryKey, *, actor: StaffUser | None
) -> tuple[IdentityKey, crypto.PrivateKey]:
    """Make the identity key of ``desk_key``, granted at once to the recovery key; the private
    half is returned so that the caller can grant it to the triage officers it grants the desk
    key to."""
    private_key = crypto.generate_private_key()
    public_key = crypto.public_key_bytes(private_key)
    identity_key = IdentityKey(
        desk_key=desk_key, public_key=public_key, key_id=crypto.key_id(public_key)
    )
    session.add(identity_key)
    session.flush()
    _add_grant(
        session,
        IdentityKeyGrant(identity_key=identity_key, recovery_key=recovery_key),
        private_key,
        recovery_key.public_key,
        actor,
        {"recovery_key_id": recovery_key.id},
    )
    return identity_key, private_key


def identity_key_of(session: Session, desk_key: DeskKey) -> IdentityKey | None:
    """The identity key made with ``desk_key``; none for desk keys made before identity keys."""
    return session.scalars(
        select(IdentityKey).where(IdentityKey.desk_key_id == desk_key.id)
    ).first()


def grant_identity_key(
    session: Session,
    identity_key: IdentityKey,
    private_key: crypto.PrivateKey,
    member: StaffUser,
    *,
    granted_by: StaffUser | None,
) -> IdentityKeyGrant | None:
    """Seal the identity key to ``member`` if they are a triage officer who holds none that opens
    with their present key; a grant sealed to a key they no longer have is replaced."""
    if member.role not in IDENTITY_ROLES or not member.active:
        return None
    if crypto.public_key_bytes(private_key) != identity_key.public_key:
        raise ValueError("the key supplied is not this identity key")
    existing = staff_grant(session, identity_key, member)
    if existing is not None:
        if crypto.inspect_envelope(existing.envelope).key_ids == (
            crypto.key_id(member.personal_public_key),
        ):
            return None
        session.delete(existing)
        session.flush()
    return _add_grant(
        session,
        IdentityKeyGrant(identity_key=identity_key, recipient_staff_user=member),
        private_key,
        member.personal_public_key,
        granted_by,
        {"staff_user_id": member.id},
    )


def staff_grant(
    session: Session, identity_key: IdentityKey, member: StaffUser
) -> IdentityKeyGrant | None:
    return session.scalars(
        select(IdentityKeyGrant).where(
            IdentityKeyGrant.identity_key_id == identity_key.id,
            IdentityKeyGrant.recipient_staff_user_id == member.id,
        )
    ).first()


def recovery_grant(
    session: Session, identity_key: IdentityKey, recovery_public_key: bytes
) -> IdentityKeyGrant | None:
    return session.scalars(
        select(IdentityKeyGrant)
        .join(RecoveryKey, RecoveryKey.id == IdentityKeyGrant.recovery_key_id)
        .where(
            IdentityKeyGrant.identity_key_id == identity_key.id,
            RecoveryKey.public_key == recovery_public_key,
        )
    ).first()


def open_identity_key_grant(
    grant: IdentityKeyGrant, recipient_private_key: crypto.PrivateKey
) -> crypto.PrivateKey:
    """The identity private key inside ``grant``; ``crypto.DecryptionError`` if it does not open
    with ``recipient_private_key`` or holds another key than the one it claims."""
    identity_key = grant.identity_key
    context = identity_key_grant_context(identity_key.desk_key.dialogue.slug, identity_key.key_id)
    private_key = crypto.load_private_key(
        crypto.open_envelope(grant.envelope, recipient_private_key, context)
    )
    if crypto.public_key_bytes(private_key) != identity_key.public_key:
        raise crypto.DecryptionError("the grant holds a different key")
    return private_key


def delete_name_grants(
    session: Session, dialogue: Dialogue, member: StaffUser | None = None
) -> None:
    """Delete the staff grants of the dialogue's identity keys and of its cases' compartments:
    ``member``'s when they leave the desk, everyone's when the dialogue goes to offline review.
    The recovery key's grants stay."""
    identity_keys = select(IdentityKey.id).join(DeskKey).where(DeskKey.dialogue_id == dialogue.id)
    compartments = (
        select(SubmissionIdentity.id)
        .join(Submission, Submission.id == SubmissionIdentity.submission_id)
        .where(Submission.dialogue_id == dialogue.id)
    )
    identity_grants = delete(IdentityKeyGrant).where(
        IdentityKeyGrant.identity_key_id.in_(identity_keys),
        IdentityKeyGrant.recipient_staff_user_id.is_not(None),
    )
    compartment_grants = delete(CompartmentGrant).where(
        CompartmentGrant.submission_identity_id.in_(compartments)
    )
    if member is not None:
        identity_grants = identity_grants.where(
            IdentityKeyGrant.recipient_staff_user_id == member.id
        )
        compartment_grants = compartment_grants.where(CompartmentGrant.staff_user_id == member.id)
    for statement in (identity_grants, compartment_grants):
        session.execute(statement.execution_options(synchronize_session=False))


def _add_grant(
    session: Session,
    grant: IdentityKeyGrant,
    private_key: crypto.PrivateKey,
    recipient_public_key: bytes,
    actor: StaffUser | None,
    recipient: dict[str, int],
) -> IdentityKeyGrant:
    """Seal ``private_key`` into ``grant`` for its one recipient, store it and audit it."""
    identity_key = grant.identity_key
    context = identity_key_grant_context(identity_key.desk_key.dialogue.slug, identity_key.key_id)
    grant.envelope = crypto.seal_envelope(
        crypto.private_key_bytes(private_key), [recipient_public_key], context
    )
    session.add(grant)
    session.flush()
    record_event(
        session,
        action=AuditAction.IDENTITY_KEY_GRANTED,
        object_type="identity_key_grant",
        object_id=grant.id,
        actor=actor,
        dialogue=grant.identity_key.desk_key.dialogue,
        details={"key_id": grant.identity_key.key_id.hex(), **recipient},
    )
    return grant
