"""Which personal key a granter confirmed for each desk membership.

A grant seals the desk key to the personal public key stored on the account, and that column is
only a row: whoever can write the database could swap in their own key. A grant made in front of
the granter is protected by the fingerprint they type (``portal.services.staff.fingerprints``);
the grants made later without anyone typing (a rotation, the switch back to online review) must
go only to keys someone confirmed that way. So each confirmation is recorded on the membership,
sealed (box v1) under the instance's at-rest key for that dialogue and account
(``contexts.desk_key_confirmation_purpose``). The at-rest key lives in the instance folder, not in
the database, so a database writer can neither forge a confirmation nor move one to another
membership; a seal that does not open counts as a changed key.

The limit: someone who holds the instance secrets *and* can write the database could forge one.
Such a person already controls the server the desk members type into; SECURITY.md says so.
"""

import datetime as dt
import enum

import crypto
from portal.models import DeskMembership, StaffUser
from portal.services.contexts import desk_key_confirmation_purpose


class KeyConfirmation(enum.StrEnum):
    """How a member's present personal key stands towards the one last confirmed for them."""

    CONFIRMED = "confirmed"  # the present key is the one confirmed
    UNCONFIRMED = "unconfirmed"  # nobody has confirmed a key for this membership yet
    CHANGED = "changed"  # the present key is another one (a reset, or a swapped row)


def record_confirmation(
    membership: DeskMembership, user: StaffUser, *, at_rest_key: bytes, now: dt.datetime
) -> None:
    """Remember ``user``'s present personal key as confirmed for ``membership``."""
    membership.key_confirmation = crypto.seal_box(
        at_rest_key, bytes(user.personal_public_key), _purpose(membership, user)
    )
    membership.key_confirmed_at = now


def confirmation_of(
    membership: DeskMembership, user: StaffUser, *, at_rest_key: bytes
) -> KeyConfirmation:
    """Whether ``user``'s present key is the one confirmed for ``membership``."""
    if membership.key_confirmation is None:
        return KeyConfirmation.UNCONFIRMED
    try:
        confirmed = crypto.open_box(
            at_rest_key, membership.key_confirmation, _purpose(membership, user)
        )
    except crypto.DecryptionError:
        return KeyConfirmation.CHANGED
    if confirmed != bytes(user.personal_public_key):
        return KeyConfirmation.CHANGED
    return KeyConfirmation.CONFIRMED


def _purpose(membership: DeskMembership, user: StaffUser) -> str:
    return desk_key_confirmation_purpose(membership.dialogue_id, user.id)
