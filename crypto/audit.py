"""The link hash of the audit trail's chain.

Every audit event stores the hash of the event before it and its own hash, as specified in
docs/FORMATS.md, "Audit chain". The previous hash is always 32 bytes, so the concatenation is
unambiguous whatever the canonical encoding of the event is. Removing, reordering or editing any
stored event changes a hash that a later event, or the last hash noted outside the database,
depends on, so a verifier walking the chain from the start finds the first broken link.

The canonical encoding of an event is the portal's business (it knows the fields); this module
only fixes the digest so that the one primitive stays in the crypto package.
"""

import hashlib

from crypto.errors import CryptoError

AUDIT_HASH_SIZE = 32
AUDIT_GENESIS_HASH = bytes(AUDIT_HASH_SIZE)

_AUDIT_LABEL = b"parley audit v1\x00"


def audit_digest(prev: bytes, canonical: bytes) -> bytes:
    """Hash of one audit event given the previous event's hash and this event's encoding."""
    if len(prev) != AUDIT_HASH_SIZE:
        raise CryptoError(f"the previous audit hash is {AUDIT_HASH_SIZE} bytes, not {len(prev)}")
    return hashlib.sha256(_AUDIT_LABEL + prev + canonical).digest()
