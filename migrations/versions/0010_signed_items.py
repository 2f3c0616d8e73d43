"""signed items

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 22:30:00.000000

Every item a submitter or the desk seals from now on carries its author's signature and its
place in the submission's history (docs/FORMATS.md, "Signed items in use"); a desk key keeps the
public half of its signing key beside it, its generation (existing keys numbered in the order
they were made) and, from the next rotation on, its certificate. The rows already stored have
neither signature nor position: they stay
readable under their v1 contexts and are shown as sent before signatures. A desk key made before
this migration gets its signing key when one of its holders next opens it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
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
        batch_op.add_column(sa.Column("generation", sa.Integer()))
        batch_op.add_column(sa.Column("certificate", sa.LargeBinary(length=64)))
    # A dialogue's desk keys are numbered in the order they were made (their ids).
    keys = sa.table("desk_keys", sa.column("id"), sa.column("dialogue_id"), sa.column("generation"))
    earlier = keys.alias("earlier")
    op.execute(
        keys.update().values(
            generation=sa.select(sa.func.count())
            .select_from(earlier)
            .where(earlier.c.dialogue_id == keys.c.dialogue_id, earlier.c.id <= keys.c.id)
            .scalar_subquery()
        )
    )
    with op.batch_alter_table("desk_keys", schema=None) as batch_op:
        batch_op.alter_column("generation", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            op.f("uq_desk_keys_dialogue_id_generation"), ["dialogue_id", "generation"]
        )
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
        batch_op.drop_constraint(op.f("uq_desk_keys_dialogue_id_generation"), type_="unique")
        batch_op.drop_column("certificate")
        batch_op.drop_column("generation")
        batch_op.drop_column("signing_public_key")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("signature")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("signature")
        batch_op.drop_column("signing_public_key")
