"""retention per dialogue, follow-up day, housekeeping leases

Revision ID: 0015
Revises: 0017
Create Date: 2026-12-06 08:30:00

Dialogues gain a retention period (empty: nothing is deleted by age), the least notice their
desk gets of a deletion, and the day those were last set. Sessions gain the day they reached
follow-up, from which retention counts; a session already in follow-up counts from the day this
revision is applied, since no earlier day was kept. Tombstones say whether the retention period
deleted their submission (those already stored were deleted by their submitters). A new table
holds the leases that keep the periodic clean-up to one run at a time.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "housekeeping_leases",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("held_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_run_after", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_housekeeping_leases")),
    )
    with op.batch_alter_table("dialogues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("retention_notice_days", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.add_column(sa.Column("retention_set_on", sa.Date(), nullable=True))
    with op.batch_alter_table("dialogue_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("follow_up_on", sa.Date(), nullable=True))
    with op.batch_alter_table("deleted_submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("past_retention", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("deleted_submissions", schema=None) as batch_op:
        batch_op.alter_column("past_retention", server_default=None)
    sessions = sa.table(
        "dialogue_sessions", sa.column("state", sa.String()), sa.column("follow_up_on", sa.Date())
    )
    op.execute(
        sessions.update()
        .where(sessions.c.state == "follow_up")
        .values(follow_up_on=dt.datetime.now(dt.UTC).date())
    )


def downgrade() -> None:
    with op.batch_alter_table("deleted_submissions", schema=None) as batch_op:
        batch_op.drop_column("past_retention")
    with op.batch_alter_table("dialogue_sessions", schema=None) as batch_op:
        batch_op.drop_column("follow_up_on")
    with op.batch_alter_table("dialogues", schema=None) as batch_op:
        batch_op.drop_column("retention_set_on")
        batch_op.drop_column("retention_notice_days")
        batch_op.drop_column("retention_days")
    op.drop_table("housekeeping_leases")
