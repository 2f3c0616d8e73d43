"""The short form of a personal key's fingerprint: what two colleagues read to each other.

Before a desk key is sealed to someone's personal key, the granter must know that the key is
really theirs: whoever can write the database could otherwise put their own public key on the
account and receive the desk key. So the owner reads the short form from their account page over
another channel (in person, by telephone), the granter types it, and the grant goes ahead only
when it is the short form of the key it is about to be sealed to.

The short form (docs/FORMATS.md, "Key ids and fingerprints") is the 160-bit fingerprint taken as
a big-endian number modulo 10^30, written as 30 decimal digits in six groups of five: digits
are easier to read aloud and to type than hexadecimal, and 30 of them carry 99.6 bits, so finding
another X25519 key with the same short form takes about 2^99 key generations.
"""

import crypto

SHORT_FINGERPRINT_DIGITS = 30
SHORT_FINGERPRINT_GROUP = 5
# What the typing field accepts: the digits with spaces or dashes between any of them.
SHORT_FINGERPRINT_TYPED_MAX_LENGTH = 2 * SHORT_FINGERPRINT_DIGITS


def short_fingerprint(public_key: bytes) -> str:
    """The 30-digit short form of ``public_key``'s fingerprint, in groups of five."""
    value = int(crypto.fingerprint(public_key).replace(" ", ""), 16)
    digits = f"{value % 10**SHORT_FINGERPRINT_DIGITS:0{SHORT_FINGERPRINT_DIGITS}d}"
    return " ".join(
        digits[start : start + SHORT_FINGERPRINT_GROUP]
        for start in range(0, SHORT_FINGERPRINT_DIGITS, SHORT_FINGERPRINT_GROUP)
    )


def matches_short_fingerprint(public_key: bytes, typed: str) -> bool:
    """Whether ``typed`` is the short form of ``public_key``, however it was spaced.

    Spaces and dashes are ignored; any other character, or a digit too many or too few, is a
    mismatch.
    """
    digits = "".join(character for character in typed if character not in " -\t")
    return digits == short_fingerprint(public_key).replace(" ", "")
