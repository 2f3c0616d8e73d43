"""Known devices: a sealed cookie that lets staff who signed in on a device before past a flood.

OWASP's "device cookie": after a successful sign-in the browser is handed a token naming the
account's address -- as the keyed hash that also names its sign-in buckets, never the address
itself -- and a coarse expiry date, sealed in a box under the instance at-rest key (purpose
``staff-known-device``, docs/FORMATS.md "Box purposes"). It says nothing about the device: no
address, agent or fingerprint, and nothing of it is stored on the server. A sign-in that presents
a token for the address it types is counted in that address's own known-device bucket, not in
the ones strangers share (``portal.services.staff.sign_in``): someone who floods the sign-in with
unknown or wrong e-mails fills the strangers' buckets, not this one.

A token is no credential: the passphrase and the code are still checked. Someone who copies one
from a staff member's browser gains that address's own bucket (ten wrong passphrases, then one
every six minutes) and nothing else.
"""

import datetime as dt

import crypto
from portal.services.contexts import STAFF_KNOWN_DEVICE_PURPOSE, STAFF_SIGN_IN_BUCKET_LABEL

# How long a token lets its device past a flood without a new sign-in.
KNOWN_DEVICE_DAYS = 90
_ADDRESS_HASH_HEX = 20


def address_hash(pepper: bytes, email: str) -> str:
    """The keyed hash of a typed e-mail address, whether or not it has an account: 20 hex digits
    (docs/FORMATS.md, "Staff sign-in buckets")."""
    digest = crypto.lookup_hash(pepper, STAFF_SIGN_IN_BUCKET_LABEL + email.strip().lower().encode())
    return digest.hex()[:_ADDRESS_HASH_HEX]


def issue_device_token(at_rest_key: bytes, address: str, today: dt.date) -> str:
    """A token for the address hash ``address``, good for :data:`KNOWN_DEVICE_DAYS` days."""
    expires = today + dt.timedelta(days=KNOWN_DEVICE_DAYS)
    plaintext = f"{address}|{expires.isoformat()}".encode("ascii")
    return crypto.seal_box_token(at_rest_key, plaintext, STAFF_KNOWN_DEVICE_PURPOSE)


def device_token_names(at_rest_key: bytes, token: str, address: str, today: dt.date) -> bool:
    """Whether ``token`` is one of ours, unexpired, for the address hash ``address``."""
    try:
        opened = crypto.open_box_token(at_rest_key, token, STAFF_KNOWN_DEVICE_PURPOSE)
        named, expires = opened.decode("ascii").split("|")
        return named == address and today <= dt.date.fromisoformat(expires)
    except (ValueError, crypto.DecryptionError):
        return False
