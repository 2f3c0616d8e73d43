"""Attachments on their way in from a browser: one row per resumable upload of STREAM ciphertext.

The browser encrypts a file and sends the ciphertext in chunks before the submission it belongs
to exists, so an upload hangs from the submission's public id (issued with the form), not from a
``submissions`` row; the submission claims it when it is sent, or it expires and is purged. See
``portal.services.submissions.uploads`` for the rules.

Only what resuming and budgeting need is kept: no creation time (the expiry is enough, and a
finer clock would help match an upload to a network log), and the upload token only as a digest.
"""

import datetime as dt

from sqlalchemy import BigInteger, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, UTCDateTime


class Upload(Base):
    """One file's ciphertext as it arrives, in ``.partial-<storage_name>`` in the storage folder.

    ``public_id`` names the upload to its browser and becomes the attachment's public id, so the
    browser can seal the attachment-keys record (whose context names it) before sending.
    """

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(64), unique=True)
    submission_public_id: Mapped[str] = mapped_column(String(64), index=True)
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    ciphertext_size: Mapped[int] = mapped_column(BigInteger())
    received_size: Mapped[int] = mapped_column(BigInteger())
    complete: Mapped[bool]
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
