"""Reading the signed values every request carries, with a serializer built once.

Two signed values come with nearly every request: the session cookie (Flask) and, on a post, the
CSRF token (Flask-WTF). Both libraries build a new itsdangerous ``URLSafeTimedSerializer`` for
each value they read, which sets up its signer and serializes an empty value as a trial, and the
serializer builds a new signer again inside each ``loads``. Neither keeps any state between
uses, so the ones built once for the same keys read exactly as new ones would.
:class:`SignedReader` holds both, for one set of keys, and reads as ``loads`` does.
"""

from dataclasses import dataclass
from typing import Any

from itsdangerous import TimestampSigner, URLSafeTimedSerializer


@dataclass(frozen=True)
class SignedReader:
    """A serializer and the signer its ``loads`` would build, made once for ``keys``."""

    keys: Any
    serializer: URLSafeTimedSerializer
    signer: TimestampSigner

    @classmethod
    def of(cls, keys: Any, serializer: URLSafeTimedSerializer) -> "SignedReader":
        """The reader of ``serializer`` (one without fallback signers, as Flask and Flask-WTF
        make theirs), made for ``keys``: what it was built for, to tell when to build anew."""
        return cls(keys, serializer, serializer.make_signer())

    def loads(self, signed: str | bytes, max_age: int | None) -> Any:
        """What ``serializer.loads(signed, max_age=max_age)`` returns, or the exception it
        raises: ``SignatureExpired`` for a signature too old or from the future, another
        ``BadSignature`` for one that is not the keys', ``BadPayload`` for a value that does not
        load. The serializer has one signer (holding all its keys) and no fallback, so this is
        the one attempt ``loads`` makes."""
        value, _ = self.signer.unsign(signed, max_age=max_age, return_timestamp=True)
        return self.serializer.load_payload(value)
