"""storage ledger

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 08:10:00

One row counting the ciphertext bytes the storage folder holds or has promised to uploads, so
that a storage quota is kept with a single conditional update (``portal.models.storage_ledger``).
It starts from what the database knows: every upload at its declared size, every attachment at
its stored size. Files the database does not know about are counted by the next reconciliation
(``portal.services.storage_quota.reconcile_ledger``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    ledger = op.create_table(
        "storage_ledger",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("used_bytes", sa.BigInteger(), nullable=False),
        sa.Column("unclaimed_bytes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storage_ledger")),
    )
    connection = op.get_bind()
    unclaimed = connection.scalar(sa.text("SELECT COALESCE(SUM(ciphertext_size), 0) FROM uploads"))
    stored = connection.scalar(sa.text("SELECT COALESCE(SUM(ciphertext_size), 0) FROM attachments"))
    op.bulk_insert(
        ledger,
        [{"id": 1, "used_bytes": int(stored) + int(unclaimed), "unclaimed_bytes": int(unclaimed)}],
    )


def downgrade() -> None:
    op.drop_table("storage_ledger")
