"""Items a staff member signs with their personal key, vouched for by a desk key.

Notes and the compartment copies of a case's names are sealed by the server during one staff
member's request, so anyone who can write rows could seal such an item too, and put a colleague's
name on it. The author therefore signs the envelope with their personal signing key
(``crypto.staff_signing_seed``) and adds that key certified by a desk key their own grant opens
(``crypto.certify_staff_key``; docs/FORMATS.md, "Staff key certificate v1"). A reader who holds
the same desk key derives its signing key from the private half, so it trusts no stored key: a
key the desk never certified for that account verifies nothing.
"""

from dataclasses import dataclass

import crypto


@dataclass(frozen=True)
class StaffSignature:
    """What a staff-signed item carries beside its envelope."""

    signature: bytes
    signing_key: bytes
    certificate: bytes


def sign_as_staff(
    personal_key: crypto.PrivateKey,
    desk_private_key: crypto.PrivateKey,
    *,
    slug: str,
    account: int,
    context: str,
    envelope: bytes,
) -> StaffSignature:
    """Sign ``envelope`` under ``context`` as the staff account ``account``, whose
    ``personal_key`` opened ``desk_private_key`` (a desk key of the dialogue ``slug``)."""
    seed = crypto.staff_signing_seed(personal_key)
    signing_key = crypto.signing_public_key(seed)
    return StaffSignature(
        crypto.sign_item(seed, context, envelope),
        signing_key,
        crypto.certify_staff_key(
            crypto.desk_signing_seed(desk_private_key), slug, account, signing_key
        ),
    )


def staff_signature_holds(
    signed: StaffSignature,
    desk_private_key: crypto.PrivateKey,
    *,
    slug: str,
    account: int,
    context: str,
    envelope: bytes,
) -> bool:
    """Whether ``signed`` is the account's signature of ``envelope`` under ``context``, its key
    certified by the desk key whose private half the reader holds."""
    desk_signing_key = crypto.desk_signing_public_key(desk_private_key)
    try:
        crypto.verify_staff_key_certificate(
            desk_signing_key, slug, account, signed.signing_key, signed.certificate
        )
        crypto.verify_item(signed.signing_key, context, envelope, signed.signature)
    except crypto.DecryptionError:
        return False
    return True
