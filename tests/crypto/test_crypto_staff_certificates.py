"""Staff key certificates (docs/FORMATS.md, "Staff key certificate v1") against their
known-answer vectors, the message they sign spelt out from the format, and what must be refused."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.errors import CryptoError, DecryptionError
from crypto.staff_certificates import certify_staff_key, verify_staff_key_certificate
from tests.vectors.vector_files import load_vectors

VECTORS = load_vectors("staff-key-certificate-v1.json")
DESK_KEY = bytes.fromhex(VECTORS["desk_signing_key"])


def _checked(case: dict) -> None:
    verify_staff_key_certificate(
        DESK_KEY,
        case.get("slug", VECTORS["slug"]),
        case["account"],
        bytes.fromhex(case["staff_signing_key"]),
        bytes.fromhex(case["certificate"]),
    )


@pytest.mark.parametrize("case", VECTORS["certificates"], ids=lambda case: str(case["account"]))
def test_each_certificate_verifies_and_signs_the_message_the_format_spells_out(case):
    _checked(case)
    slug = VECTORS["slug"].encode()
    message = (
        b"parley staff key certificate v1\x00"
        + len(slug).to_bytes(4, "big")
        + slug
        + case["account"].to_bytes(8, "big")
        + bytes.fromhex(case["staff_signing_key"])
    )
    Ed25519PublicKey.from_public_bytes(DESK_KEY).verify(bytes.fromhex(case["certificate"]), message)


@pytest.mark.parametrize("case", VECTORS["rejected"], ids=lambda case: case["description"])
def test_a_changed_certificate_is_refused(case):
    with pytest.raises(DecryptionError):
        _checked(case)


@pytest.mark.parametrize(("account", "key"), [(0, bytes(32)), (2**63, bytes(32)), (1, bytes(31))])
def test_fields_out_of_range_are_refused_on_both_sides(account, key):
    with pytest.raises(CryptoError):
        certify_staff_key(bytes(32), "partnerland", account, key)
    with pytest.raises(DecryptionError):
        verify_staff_key_certificate(DESK_KEY, "partnerland", account, key, bytes(64))
