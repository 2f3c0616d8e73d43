"""The instance recovery key: made once at set-up, its private half handed to the operator."""

from sqlalchemy.orm import Session

import crypto
from portal.models import RecoveryKey
from portal.services.audit.trail import AuditAction, record_event


def create_recovery_key(session: Session) -> tuple[RecoveryKey, crypto.PrivateKey]:
    """Make the recovery key pair and store only its public half.

    The private half is returned for the caller to show the operator once; it is never stored.
    """
    private_key = crypto.generate_private_key()
    public_key = crypto.public_key_bytes(private_key)
    recovery_key = RecoveryKey(public_key=public_key, key_id=crypto.key_id(public_key))
    session.add(recovery_key)
    session.flush()
    record_event(
        session,
        action=AuditAction.RECOVERY_KEY_CREATED,
        object_type="recovery_key",
        object_id=recovery_key.id,
        details={"fingerprint": crypto.fingerprint(public_key)},
    )
    return recovery_key, private_key
