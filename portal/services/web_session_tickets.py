"""The cookie half of a server-side session, shared by submitters' inboxes and staff sessions.

Both kinds of session split what opens a private key in two: a random reference and key kept only
in the person's signed session cookie (:class:`SessionTicket`), and a row in the database holding
the key sealed under it. Either half alone opens nothing.
"""

import base64
import binascii
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_
from sqlalchemy.orm import InstrumentedAttribute

import crypto

REFERENCE_BYTES = 32
"""A session row's reference: random, so that one row's name says nothing of another's."""


@dataclass(frozen=True)
class SessionLifetime:
    """How long a session lasts: since its last request, and at most since it began.

    The one statement of when a session has ended, for both kinds: :meth:`has_ended` for a row in
    hand, :meth:`ended` for the same rule as a query condition. The defaults are the inbox's.
    """

    idle: dt.timedelta = dt.timedelta(minutes=30)
    absolute: dt.timedelta = dt.timedelta(hours=2)

    def opening_times(self, now: dt.datetime) -> dict[str, dt.datetime]:
        """The time columns of a session row opened at ``now``."""
        return {"created_at": now, "last_used_at": now, "expires_at": now + self.absolute}

    def has_ended(
        self, *, expires_at: dt.datetime, last_used_at: dt.datetime, now: dt.datetime
    ) -> bool:
        """Whether a session with these times has ended at ``now``."""
        return now >= expires_at or last_used_at <= now - self.idle

    def ended(
        self,
        expires_at: InstrumentedAttribute[dt.datetime],
        last_used_at: InstrumentedAttribute[dt.datetime],
        now: dt.datetime,
    ) -> ColumnElement[bool]:
        """:meth:`has_ended` as a condition on a session table's two time columns."""
        return or_(expires_at <= now, last_used_at <= now - self.idle)


@dataclass(frozen=True)
class SessionTicket:
    """The cookie half of a session. ``repr`` hides the key so it cannot reach a log."""

    reference: str
    key: bytes = field(repr=False)

    @classmethod
    def new(cls) -> "SessionTicket":
        """A fresh ticket: a random reference for the row and a random key for its box."""
        return cls(reference=crypto.random_token(REFERENCE_BYTES), key=crypto.new_symmetric_key())

    def to_cookie(self) -> dict[str, str]:
        """The JSON-safe form kept in the signed session cookie."""
        return {"reference": self.reference, "key": base64.urlsafe_b64encode(self.key).decode()}

    @classmethod
    def from_cookie(cls, value: object) -> "SessionTicket | None":
        """The ticket in a cookie value, or ``None`` when it is missing or malformed."""
        if not isinstance(value, Mapping):
            return None
        reference, key = value.get("reference"), value.get("key")
        if not isinstance(reference, str) or not isinstance(key, str):
            return None
        try:
            decoded = base64.b64decode(key.encode("ascii"), altchars=b"-_", validate=True)
        except (binascii.Error, UnicodeEncodeError):
            return None
        return cls(reference=reference, key=decoded)
