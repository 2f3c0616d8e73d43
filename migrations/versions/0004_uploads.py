"""Resumable uploads of browser-encrypted attachments.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10

Written out by hand, like the revisions before it. The table keeps no creation time and only a
digest of each upload token (see ``portal.models.upload``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(64), nullable=False),
        sa.Column("submission_public_id", sa.String(64), nullable=False),
        sa.Column("token_digest", sa.LargeBinary(32), nullable=False),
        sa.Column("storage_name", sa.String(64), nullable=False),
        sa.Column("ciphertext_size", sa.BigInteger(), nullable=False),
        sa.Column("received_size", sa.BigInteger(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_uploads")),
        sa.UniqueConstraint("public_id", name=op.f("uq_uploads_public_id")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_uploads_storage_name")),
    )
    op.create_index(op.f("ix_uploads_expires_at"), "uploads", ["expires_at"])
    op.create_index(op.f("ix_uploads_submission_public_id"), "uploads", ["submission_public_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_uploads_submission_public_id"), table_name="uploads")
    op.drop_index(op.f("ix_uploads_expires_at"), table_name="uploads")
    op.drop_table("uploads")
