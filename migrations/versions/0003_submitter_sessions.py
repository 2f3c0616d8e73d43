"""Inbox sessions of submitters who sign in without JavaScript.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09

Written out by hand, like the revisions before it. The table names no submitter on purpose (the
submitter's id travels inside the sealed box; see ``portal.models.submitter_session``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submitter_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submitter_sessions")),
        sa.UniqueConstraint("reference", name=op.f("uq_submitter_sessions_reference")),
    )


def downgrade() -> None:
    op.drop_table("submitter_sessions")
