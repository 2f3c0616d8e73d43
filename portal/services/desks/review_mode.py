"""Switching a dialogue between online and offline review.

**Online** (the default): desk members open the desk key on the server, with their own grant, for
the length of one request.

**Offline**: no desk-key private half of the dialogue is reachable on the server from any staff
session. Staff export encrypted bundles (``portal.services.bundles``) and decrypt them on an
offline machine with ``portal decrypt`` and the desk key or the recovery key.

:func:`switch_to_offline`, in the caller's transaction:

1. rotates: a new desk key is made (``desk_keys.create_desk_key`` grants it to the recovery key
   only) and every other unretired desk key of the dialogue is retired, so new submissions are
   sealed to a key no staff member has ever held; the new key is certified with the recovery
   signing key when the operator gave the recovery key
   (``portal.services.desks.recovery_certificates``);
2. deletes every staff ``DeskKeyGrant`` of every desk key of the dialogue (the recovery key's
   grants stay, so nothing becomes unreadable for good); desk memberships stay, so members can
   still see the queue's metadata and export bundles;
   and, likewise, every staff grant of its identity keys and every compartment grant of its
   cases (``portal.services.staff.identities``): offline, names open only with the recovery key,
   and the members named on a case are named again once the dialogue is back online;
3. sets ``Dialogue.review_mode`` to offline and records ``desk_key.rotated`` and
   ``dialogue.review_mode_changed``.

It returns the new desk private key for the caller to hand to the operator once (the command
line writes its text form, ``crypto.keys.export_desk_key``, to a file). That key opens what is
sealed to it from now on; submissions sealed to older keys are opened offline with the recovery
key. Whoever holds the file can read the dialogue's new submissions: it belongs on the offline
machine or in the safe, never on the server.

:func:`switch_to_online` needs the recovery key (the only holder left of the desk keys on the
server): it opens every desk key of the dialogue through its recovery grant and grants each to
every current desk member whose account is active, whose role reads content and whose present
personal key is the one a granter confirmed for them (``portal.services.desks.confirmations``;
observers, deactivated accounts and keys changed or never confirmed are skipped, the last named in
the outcome to be granted with a confirmation), grants the identity keys to the triage officers
among them the same way, then sets the mode back to online. The offline
desk key file stays valid for what was sealed to its key; keep or destroy it like the recovery
key, or rotate the desk key once back online.

Both refuse with :class:`ReviewModeError` (one line) before changing anything when the dialogue
is already in the requested mode or the recovery key is not this instance's.
"""

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    RecoveryKey,
    ReviewMode,
    StaffUser,
    utc_now,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks.confirmations import KeyConfirmation, confirmation_of
from portal.services.desks.identity_keys import (
    create_identity_key,
    delete_name_grants,
    grant_identity_key,
    identity_key_of,
    open_identity_key_grant,
    recovery_grant,
)
from portal.services.desks.keys import (
    ROLES_WITHOUT_CONTENT_ACCESS,
    create_desk_key,
    grant_desk_access,
    open_desk_key_grant,
)
from portal.services.desks.recovery_certificates import certify_with_recovery_key
from portal.translatable import translatable


class ReviewModeError(ValueError):
    """A review mode change that cannot be made; the message says why."""


@dataclass(frozen=True)
class OfflineSwitch:
    """What :func:`switch_to_offline` did, and the new desk key to hand to the operator once."""

    new_key: DeskKey
    new_private_key: crypto.PrivateKey
    retired_key_ids: tuple[str, ...]
    staff_grants_deleted: int


@dataclass(frozen=True)
class OnlineSwitch:
    """What :func:`switch_to_online` did."""

    desk_keys: int
    members: tuple[int, ...]
    grants_made: int
    not_confirmed: tuple[StaffUser, ...]


def switch_to_offline(
    session: Session,
    dialogue: Dialogue,
    *,
    actor: StaffUser | None = None,
    recovery_signing_seed: bytes | None = None,
) -> OfflineSwitch:
    """Put ``dialogue`` in offline review (module docstring); the caller commits. The new desk
    key is certified with ``recovery_signing_seed`` when the operator gave the recovery key
    (``portal.services.desks.recovery_certificates``), else it waits for
    ``portal dialogue certify``."""
    if dialogue.review_mode is ReviewMode.OFFLINE:
        raise ReviewModeError(f"{dialogue.slug} is already in offline review")
    recovery_key = session.scalars(select(RecoveryKey).order_by(RecoveryKey.id)).first()
    if recovery_key is None:
        raise ReviewModeError(
            translatable("this instance has no recovery key; run `portal init` first")
        )
    now = utc_now()
    to_retire = list(
        session.scalars(
            select(DeskKey).where(DeskKey.dialogue_id == dialogue.id, DeskKey.retired_at.is_(None))
        )
    )
    new_key, new_private = create_desk_key(session, dialogue, recovery_key, actor=actor)
    if recovery_signing_seed is not None:
        certify_with_recovery_key(session, new_key, recovery_signing_seed, actor=actor)
    create_identity_key(session, new_key, recovery_key, actor=actor)
    for key in to_retire:
        key.retired_at = now
    session.flush()
    deleted = session.execute(
        delete(DeskKeyGrant)
        .where(
            DeskKeyGrant.desk_key_id.in_(
                select(DeskKey.id).where(DeskKey.dialogue_id == dialogue.id)
            ),
            DeskKeyGrant.recipient_staff_user_id.is_not(None),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    delete_name_grants(session, dialogue)
    session.expire_all()
    dialogue.review_mode = ReviewMode.OFFLINE
    session.flush()
    retired = tuple(key.key_id.hex() for key in to_retire)
    record_event(
        session,
        action=AuditAction.DESK_KEY_ROTATED,
        object_type="desk_key",
        object_id=new_key.id,
        actor=actor,
        dialogue=dialogue,
        details={
            "old_key_id": retired[0] if len(retired) == 1 else None,
            "retired_key_ids": list(retired),
            "new_key_id": new_key.key_id.hex(),
            "granted_to": [],
            "reason": "offline_review",
        },
    )
    record_event(
        session,
        action=AuditAction.DIALOGUE_REVIEW_MODE_CHANGED,
        object_type="dialogue",
        object_id=dialogue.id,
        actor=actor,
        dialogue=dialogue,
        details={
            "from": str(ReviewMode.ONLINE),
            "to": str(ReviewMode.OFFLINE),
            "new_key_id": new_key.key_id.hex(),
            "staff_grants_deleted": deleted,
        },
    )
    return OfflineSwitch(new_key, new_private, retired, deleted)


def switch_to_online(
    session: Session,
    dialogue: Dialogue,
    recovery_private_key: crypto.PrivateKey,
    *,
    at_rest_key: bytes,
    actor: StaffUser | None = None,
) -> OnlineSwitch:
    """Put ``dialogue`` back in online review, re-granting its desk keys to its members."""
    if dialogue.review_mode is ReviewMode.ONLINE:
        raise ReviewModeError(f"{dialogue.slug} is already in online review")
    public_key = crypto.public_key_bytes(recovery_private_key)
    recovery_key = session.scalars(
        select(RecoveryKey).where(RecoveryKey.public_key == public_key)
    ).first()
    if recovery_key is None:
        raise ReviewModeError(translatable("this is not the recovery key of this instance"))
    opened: list[tuple[DeskKey, crypto.PrivateKey]] = []
    for desk_key in session.scalars(
        select(DeskKey).where(DeskKey.dialogue_id == dialogue.id).order_by(DeskKey.id)
    ):
        grant = session.scalars(
            select(DeskKeyGrant).where(
                DeskKeyGrant.desk_key_id == desk_key.id,
                DeskKeyGrant.recovery_key_id == recovery_key.id,
            )
        ).first()
        if grant is None:
            raise ReviewModeError(f"desk key {desk_key.key_id.hex()} has no recovery grant")
        try:
            opened.append((desk_key, open_desk_key_grant(grant, recovery_private_key)))
        except crypto.DecryptionError:
            raise ReviewModeError(
                f"the recovery grant of desk key {desk_key.key_id.hex()} does not open"
            ) from None
    readers = [
        (user, confirmation_of(membership, user, at_rest_key=at_rest_key))
        for membership, user in session.execute(
            select(DeskMembership, StaffUser)
            .join(StaffUser, StaffUser.id == DeskMembership.staff_user_id)
            .where(DeskMembership.dialogue_id == dialogue.id)
            .order_by(StaffUser.id)
        )
        if user.active and user.role not in ROLES_WITHOUT_CONTENT_ACCESS
    ]
    members = [user for user, state in readers if state is KeyConfirmation.CONFIRMED]
    not_confirmed = tuple(user for user, state in readers if state is not KeyConfirmation.CONFIRMED)
    # Switch first: a grant service that refuses to seal to staff in offline review then agrees.
    dialogue.review_mode = ReviewMode.ONLINE
    session.flush()
    made = 0
    for desk_key, private_key in opened:
        holders = set(
            session.scalars(
                select(DeskKeyGrant.recipient_staff_user_id).where(
                    DeskKeyGrant.desk_key_id == desk_key.id,
                    DeskKeyGrant.recipient_staff_user_id.is_not(None),
                )
            )
        )
        for user in members:
            if user.id in holders:
                continue
            grant_desk_access(
                session,
                desk_key=desk_key,
                desk_private_key=private_key,
                member=user,
                granted_by=actor,
            )
            made += 1
        identity_key = identity_key_of(session, desk_key)
        grant = None if identity_key is None else recovery_grant(session, identity_key, public_key)
        if grant is not None:
            identity_private = open_identity_key_grant(grant, recovery_private_key)
            for user in members:
                grant_identity_key(
                    session, grant.identity_key, identity_private, user, granted_by=actor
                )
    record_event(
        session,
        action=AuditAction.DIALOGUE_REVIEW_MODE_CHANGED,
        object_type="dialogue",
        object_id=dialogue.id,
        actor=actor,
        dialogue=dialogue,
        details={
            "from": str(ReviewMode.OFFLINE),
            "to": str(ReviewMode.ONLINE),
            "granted_to": [user.id for user in members],
            "not_confirmed": [user.id for user in not_confirmed],
            "grants_made": made,
        },
    )
    return OnlineSwitch(len(opened), tuple(user.id for user in members), made, not_confirmed)
