"""Login password hashes: Argon2id in the PHC string format (argon2-cffi).

Parameters are RFC 9106's second recommended ("low memory") profile: 64 MiB, 3 iterations,
4 lanes, 16-byte salt, 32-byte hash. The PHC string records its own parameters, e.g.
``$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>``, so hashes made with older, weaker settings keep
verifying; :func:`password_needs_rehash` tells the login code to replace them after a successful
login.

Passwords are put into Unicode normalisation form NFC before hashing, as RFC 8265 asks of
passwords, so that the same passphrase typed on two keyboards that compose accents differently
still matches. :func:`normalise_passphrase` is shared with the personal-key wrap.
"""

import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

from crypto.errors import CryptoError

_HASHER = PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


def normalise_passphrase(passphrase: str) -> bytes:
    """The bytes a passphrase stands for: NFC, then UTF-8."""
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def hash_password(password: str) -> str:
    """A new salted Argon2id hash of ``password`` as a PHC string."""
    return _HASHER.hash(normalise_passphrase(password))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; ``False`` also for a stored hash that cannot be read."""
    try:
        return _HASHER.verify(password_hash, normalise_passphrase(password))
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's and should be replaced."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except InvalidHashError as error:
        raise CryptoError("the stored password hash is not an Argon2 hash") from error
