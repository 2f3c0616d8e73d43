"""Time-based one-time passwords (RFC 6238), the staff second factor.

Parley's profile is what every authenticator app expects: a 20-byte random secret, HMAC-SHA-1,
6 digits, 30-second steps, time counted from the Unix epoch. The secret is shown to the staff
member once, as base32 (RFC 4648, upper case, no padding) and inside an ``otpauth://`` URI for a
QR code.

:func:`verify_totp` accepts the current step and ``window`` steps either side, to allow for clock
drift, and returns the step that matched. The caller must store the last accepted step per user
and refuse any step at or below it: a code is valid for up to 90 seconds and must not be usable
twice.
"""

import base64
import binascii
import hmac
import re
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from crypto.errors import CryptoError

SECRET_SIZE = 20
DIGITS = 6
TYPED_CODE_MAX_LENGTH = DIGITS + 2
"""How long a typed code may be: the digits, and the space or two an authenticator app shows."""
TIME_STEP = 30
ISSUER = "Parley"

_ALGORITHMS = {"SHA1": hashes.SHA1, "SHA256": hashes.SHA256, "SHA512": hashes.SHA512}


def new_totp_secret() -> bytes:
    """A new random 20-byte TOTP secret."""
    return secrets.token_bytes(SECRET_SIZE)


def totp_secret_base32(secret: bytes) -> str:
    """The secret as people type it into an authenticator app."""
    return base64.b32encode(secret).decode("ascii").rstrip("=")


def totp_secret_from_base32(text: str) -> bytes:
    """Read a base32 secret, ignoring case, spaces and missing padding; ``CryptoError`` if bad."""
    compact = re.sub(r"\s+", "", text).upper().rstrip("=")
    try:
        return base64.b32decode(compact + "=" * (-len(compact) % 8))
    except binascii.Error as error:
        raise CryptoError("not a base32 TOTP secret") from error


def _profile(secret: bytes, digits: int = DIGITS, algorithm: str = "SHA1") -> TOTP:
    return TOTP(secret, digits, _ALGORITHMS[algorithm](), TIME_STEP)


def totp_provisioning_uri(secret: bytes, account_name: str, issuer: str = ISSUER) -> str:
    """The ``otpauth://totp/...`` URI to show as a QR code when the second factor is set up."""
    return _profile(secret).get_provisioning_uri(account_name, issuer)


def rfc6238_code(secret: bytes, at: float, *, digits: int, algorithm: str) -> str:
    """The RFC 6238 code at Unix time ``at`` for any digit count and SHA1/SHA256/SHA512.

    Parley uses 6 digits and SHA1 (:func:`totp_code`); the general form exists so the RFC's own
    8-digit test table can be checked against the implementation we run.
    """
    return _profile(secret, digits, algorithm).generate(int(at)).decode("ascii")


def totp_code(secret: bytes, at: float) -> str:
    """The 6-digit code an authenticator app shows at Unix time ``at``."""
    return rfc6238_code(secret, at, digits=DIGITS, algorithm="SHA1")


def verify_totp(secret: bytes, code: str, at: float, *, window: int = 1) -> int | None:
    """The time step (``int(at) // 30`` plus or minus up to ``window``) whose code is ``code``.

    Spaces in ``code`` are ignored. Returns ``None`` if no step in the window matches. Every step
    in the window is compared, in constant time, whichever matches; if several would match (a
    one-in-a-million coincidence) the latest is returned.
    """
    if len(code) > TYPED_CODE_MAX_LENGTH:
        return None
    typed = code.replace(" ", "")
    if len(typed) != DIGITS or not typed.isascii() or not typed.isdigit():
        return None
    current = int(at) // TIME_STEP
    matched = None
    for step in range(max(0, current - window), current + window + 1):
        expected = totp_code(secret, step * TIME_STEP)
        if hmac.compare_digest(expected.encode("ascii"), typed.encode("ascii")):
            matched = step
    return matched
