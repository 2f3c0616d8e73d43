"""The one row that counts the bytes in the storage folder, so that a quota can be kept exactly.

Summing file sizes on every upload would race: two uploads could each see room for themselves
and together pass the quota. Every reservation instead moves this row's counters with a single
conditional ``UPDATE`` that succeeds only while the result stays within the quota, which both
SQLite and PostgreSQL apply one at a time. ``portal.services.storage_quota`` holds the rules.
"""

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base

LEDGER_ROW_ID = 1


class StorageLedger(Base):
    """Bytes of ciphertext held or reserved in the storage folder (a single row, id 1).

    ``used_bytes`` counts everything: stored attachments, uploads in progress (at their declared
    size) and files being received. ``unclaimed_bytes`` is the part of it not yet attached to a
    stored submission.
    """

    __tablename__ = "storage_ledger"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    used_bytes: Mapped[int] = mapped_column(BigInteger())
    unclaimed_bytes: Mapped[int] = mapped_column(BigInteger())
