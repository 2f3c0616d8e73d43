"""key confirmations and reset approvals

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 20:40:00.000000

Desk memberships remember the personal key whose fingerprint a granter confirmed (sealed under
the instance's at-rest key); an administrator's reset waits for a second administrator
(``staff_reset_requests``) and leaves its owner a notice (``staff_reset_notices``). Memberships
from before this revision carry no confirmation: their holders keep reading, and a rotation
grants them the new key only once a member has confirmed their fingerprint.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _staff_key(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["staff_users.id"], name=op.f(f"fk_{table}_{column}_staff_users")
    )


def upgrade() -> None:
    op.create_table(
        "staff_reset_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        _staff_key("staff_reset_requests", "staff_user_id"),
        _staff_key("staff_reset_requests", "requested_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_reset_requests")),
        sa.UniqueConstraint("staff_user_id", name=op.f("uq_staff_reset_requests_staff_user_id")),
    )
    op.create_table(
        "staff_reset_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("reset_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        _staff_key("staff_reset_notices", "staff_user_id"),
        _staff_key("staff_reset_notices", "requested_by_id"),
        _staff_key("staff_reset_notices", "approved_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_reset_notices")),
        sa.UniqueConstraint("staff_user_id", name=op.f("uq_staff_reset_notices_staff_user_id")),
    )
    with op.batch_alter_table("desk_memberships", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_confirmation", sa.LargeBinary(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("key_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("desk_memberships", schema=None) as batch_op:
        batch_op.drop_column("key_confirmed_at")
        batch_op.drop_column("key_confirmation")
    op.drop_table("staff_reset_notices")
    op.drop_table("staff_reset_requests")
