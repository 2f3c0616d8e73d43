"""owner tags

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 22:30:00.000000

Submissions and tombstones stop naming their submitter: each new one carries an owner tag that
only its submitter's codename can compute (``submissions.owner_tag``,
``deleted_submissions.owner_tag``; docs/FORMATS.md, "Per-submission keys and owner tags"). The
rows already stored keep ``submitter_id``, now optional, until their submitter next signs in and
the server, which then holds the tag key, tags them and empties it
(``portal.services.submissions.owner_tags.tag_untagged``); a migration cannot do it, since no
tag key is in the database.

The downgrade drops the tags and leaves ``submitter_id`` optional: a row tagged since names no
submitter any more, and the link this revision removed cannot be made up again. Such a row stays
readable by the desk, but no longer appears in its submitter's inbox.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLES = ("submissions", "deleted_submissions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("owner_tag", sa.LargeBinary(length=32), nullable=True))
            batch_op.create_unique_constraint(op.f(f"uq_{table}_owner_tag"), ["owner_tag"])
            batch_op.alter_column("submitter_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_owner_tag"), type_="unique")
            batch_op.drop_column("owner_tag")
