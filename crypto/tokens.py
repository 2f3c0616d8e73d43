"""Random tokens for instance secrets (session identifiers, one-time links, CSRF keys).

A token that grants access and is kept by the server is stored only as its digest
(:func:`token_digest`), so a copy of the database does not hand out working tokens; the tokens
are random and long, so an unsalted SHA-256 is enough (docs/FORMATS.md, "Identifiers and
tokens").
"""

import hashlib
import hmac
import secrets


def random_token(nbytes: int) -> str:
    """``nbytes`` random bytes as URL-safe base64 text without padding."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> bytes:
    """The 32-byte SHA-256 digest under which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).digest()


def token_matches(token: str, digest: bytes) -> bool:
    """Whether ``token`` is the one stored as ``digest``, compared in constant time."""
    return hmac.compare_digest(token_digest(token), digest)
