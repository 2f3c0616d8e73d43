"""signed items

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05 22:30:00.000000

Every item a submitter or the desk seals from now on carries its author's signature and its
place in the submission's history (docs/FORMATS.md, "Signed items in use"); a desk key keeps the
public half of its signing key beside it. The rows already stored have neither: they stay
readable under their v1 contexts and are shown as sent before signatures. A desk key made before
this migration gets its signing key when one of its holders next opens it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

_POSITIONED = ("further_information", "consent_changes")


def upgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_public_key", sa.LargeBinary(length=32)))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(length=64)))
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(length=64)))
    with op.batch_alter_table("desk_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signing_public_key", sa.LargeBinary(length=32)))
    for table in _POSITIONED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("position", sa.Integer()))
            batch_op.add_column(sa.Column("signature", sa.LargeBinary(length=64)))
            batch_op.create_unique_constraint(
                op.f(f"uq_{table}_submission_id_position"), ["submission_id", "position"]
            )
    with op.batch_alter_table("desk_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer()))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(length=64)))
        batch_op.create_unique_constraint(
            op.f("uq_desk_messages_submission_id_written_by_position"),
            ["submission_id", "written_by", "position"],
        )


def downgrade() -> None:
    with op.batch_alter_table("desk_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("uq_desk_messages_submission_id_written_by_position"), type_="unique"
        )
        batch_op.drop_column("signature")
        batch_op.drop_column("position")
    for table in reversed(_POSITIONED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_submission_id_position"), type_="unique")
            batch_op.drop_column("signature")
            batch_op.drop_column("position")
    with op.batch_alter_table("desk_keys", schema=None) as batch_op:
        batch_op.drop_column("signing_public_key")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("signature")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("signature")
        batch_op.drop_column("signing_public_key")
