"""Single-shot HPKE (RFC 9180) for the one suite Parley uses.

Suite, framing and the rule that context is bound only through ``info`` (the Python API offers
no associated data): docs/FORMATS.md, "HPKE". Each seal sets up a fresh context and encrypts
once, so no sender context, and no nonce, is ever reused. The browser module implements the same
construction with WebCrypto, and the RFC's own test vectors for this suite are checked against
both.
"""

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite

from crypto.errors import CryptoError, DecryptionError
from crypto.keys import PrivateKey, PublicKey

_SUITE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)


def hpke_seal(public_key: PublicKey, plaintext: bytes, info: bytes) -> bytes:
    """Encrypt ``plaintext`` to ``public_key``: ``enc || ciphertext || tag``.

    Raises ``CryptoError`` for a public key that cannot be used (a low-order point, for which no
    shared secret exists).
    """
    try:
        return _SUITE.encrypt(plaintext, public_key, info)
    except ValueError as error:
        raise CryptoError("this public key cannot be encrypted to") from error


def hpke_open(private_key: PrivateKey, sealed: bytes, info: bytes) -> bytes:
    """Decrypt the output of :func:`hpke_seal`; ``DecryptionError`` on any failure."""
    try:
        return _SUITE.decrypt(sealed, private_key, info)
    except (InvalidTag, ValueError) as error:
        raise DecryptionError("sealed data did not open") from error
