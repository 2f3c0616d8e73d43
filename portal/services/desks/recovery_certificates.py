"""The recovery key as the second certifier of desk keys.

A submitter trusts the desk signing key named inside their submission and each later desk key
certified from it (``messages.certified_desk_signing_keys``). A rotation certifies the new key
with the one before; but some desk keys are made by no holder of the one before: a dialogue's
first desk key, the key made when a dialogue goes to offline review, a key made after every
holder lost access. Those are certified with the recovery signing key
(``crypto.recovery_signing_seed``), which the operator holds offline, either when the key is made
(the operator gives the recovery key to ``portal dialogue create --certify`` or
``portal review offline --certify``) or afterwards with ``portal dialogue certify``.

A submitter accepts a certificate by the recovery key only when their submission names that
recovery signing key (``parley-signatures-v2``), so a recovery key swapped into the instance
later cannot vouch for a forged desk key to them.

What the operator certifies afterwards is what the database holds: the desk key is opened
through the recovery key's grant and the certificate covers the public halves derived from it,
never the stored signing key column, so a swapped column is refused rather than certified.
"""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import DeskKey, Dialogue, RecoveryKey, StaffUser
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks.membership import RecoveryKeys


class RecoveryCertificationError(ValueError):
    """A certification with the recovery key that must not be made; the message says why."""


@dataclass(frozen=True)
class Certification:
    """What :func:`certify_uncertified_desk_keys` did: the generations it certified, and
    those it could not (no recovery grant opens them, or their stored halves differ)."""

    certified: tuple[int, ...]
    refused: tuple[int, ...]


def recovery_signing_public_key(recovery_private_key: crypto.PrivateKey) -> bytes:
    """The public half of the recovery key's signing key: what submissions name."""
    return crypto.signing_public_key(crypto.recovery_signing_seed(recovery_private_key))


def instance_recovery_signing_seed(
    session: Session, recovery_private_key: crypto.PrivateKey
) -> bytes:
    """The recovery signing seed of ``recovery_private_key``, once it is known to be this
    instance's recovery key; ``RecoveryCertificationError`` otherwise."""
    public_key = crypto.public_key_bytes(recovery_private_key)
    known = session.scalars(select(RecoveryKey.id).where(RecoveryKey.public_key == public_key))
    if known.first() is None:
        raise RecoveryCertificationError("this is not the recovery key of this instance")
    return crypto.recovery_signing_seed(recovery_private_key)


def certify_uncertified_desk_keys(
    session: Session,
    dialogue: Dialogue,
    recovery_private_key: crypto.PrivateKey,
    *,
    actor: StaffUser | None = None,
) -> Certification:
    """Certify every desk key of ``dialogue`` that has no certificate, oldest generation first,
    with the recovery signing key; each certificate is audited (``desk_key.certified``)."""
    seed = instance_recovery_signing_seed(session, recovery_private_key)
    uncertified = session.scalars(
        select(DeskKey)
        .where(DeskKey.dialogue_id == dialogue.id, DeskKey.certificate.is_(None))
        .order_by(DeskKey.generation)
    )
    certified, refused = [], []
    for desk_key in uncertified:
        signing_key = _opened_signing_key(session, desk_key, recovery_private_key)
        if signing_key is None:
            refused.append(desk_key.generation)
            continue
        desk_key.signing_public_key = signing_key
        certify_with_recovery_key(session, desk_key, seed, actor=actor)
        certified.append(desk_key.generation)
    return Certification(tuple(certified), tuple(refused))


def certify_with_recovery_key(
    session: Session, desk_key: DeskKey, recovery_seed: bytes, *, actor: StaffUser | None
) -> None:
    """Sign ``desk_key``'s certificate with ``recovery_seed`` and put it on record."""
    if desk_key.signing_public_key is None:
        raise RecoveryCertificationError("a desk key without its signing key is not certified")
    desk_key.certificate = crypto.certify_desk_key(
        recovery_seed,
        desk_key.dialogue.slug,
        desk_key.generation,
        bytes(desk_key.public_key),
        bytes(desk_key.signing_public_key),
    ).signature
    session.flush()
    record_event(
        session,
        action=AuditAction.DESK_KEY_CERTIFIED,
        object_type="desk_key",
        object_id=desk_key.id,
        actor=actor,
        dialogue=desk_key.dialogue,
        details={
            "key_id": desk_key.key_id.hex(),
            "generation": desk_key.generation,
            "certified_by": "recovery_key",
        },
    )


def _opened_signing_key(
    session: Session, desk_key: DeskKey, recovery_private_key: crypto.PrivateKey
) -> bytes | None:
    """The signing key derived from the desk key as its recovery grant holds it, or ``None``
    when no grant opens or the stored signing key is not that of the key inside."""
    private_key = RecoveryKeys(recovery_private_key).open(session, desk_key)
    if private_key is None:
        return None
    signing_key = crypto.desk_signing_public_key(private_key)
    stored = desk_key.signing_public_key
    if stored is not None and bytes(stored) != signing_key:
        return None
    return signing_key
