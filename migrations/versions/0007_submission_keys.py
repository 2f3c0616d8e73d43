"""per-submission keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 21:20:00.000000

Each submission names the public key its envelopes are sealed to on the submitter's side
(``submissions.submitter_public_key``): for new submissions, a key of their own derived from the
codename and the submission's public id. The rows already stored were sealed to their
submitter's one key, so they take that key, and read exactly as before.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("submitter_public_key", sa.LargeBinary(length=32), nullable=True)
        )
    submitters = sa.table("submitters", sa.column("id"), sa.column("public_key"))
    submissions = sa.table(
        "submissions", sa.column("submitter_id"), sa.column("submitter_public_key")
    )
    op.execute(
        submissions.update().values(
            submitter_public_key=sa.select(submitters.c.public_key)
            .where(submitters.c.id == submissions.c.submitter_id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.alter_column(
            "submitter_public_key", existing_type=sa.LargeBinary(length=32), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("submitter_public_key")
