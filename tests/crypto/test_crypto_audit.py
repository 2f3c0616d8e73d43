"""The audit trail's link hash."""

import hashlib

import pytest

from crypto.audit import AUDIT_GENESIS_HASH, audit_digest
from crypto.errors import CryptoError


def test_digest_is_the_labelled_hash_of_the_previous_hash_and_the_event():
    first = audit_digest(AUDIT_GENESIS_HASH, b'{"sequence":1}')
    assert bytes(32) == AUDIT_GENESIS_HASH
    assert first == hashlib.sha256(b"parley audit v1\x00" + bytes(32) + b'{"sequence":1}').digest()
    second = audit_digest(first, b'{"sequence":2}')
    assert second != audit_digest(AUDIT_GENESIS_HASH, b'{"sequence":2}')


@pytest.mark.parametrize("length", [0, 31, 33])
def test_previous_hash_of_the_wrong_length_is_refused(length):
    with pytest.raises(CryptoError):
        audit_digest(bytes(length), b"{}")
