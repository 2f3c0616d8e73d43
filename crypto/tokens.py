"""Random tokens for instance secrets (session identifiers, one-time links, CSRF keys)."""

import secrets


def random_token(nbytes: int) -> str:
    """``nbytes`` random bytes as URL-safe base64 text without padding."""
    return secrets.token_urlsafe(nbytes)
