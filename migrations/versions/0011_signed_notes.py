"""signed notes and identities

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 23:50:00.000000

A desk's private notes are signed from now on by their author's personal signing key, which the
author certifies with the desk key the note is sealed to (docs/FORMATS.md, "Staff key
certificate v1" and "Signed items in use"): a note gets its place among the submission's notes,
its signature, and the author's signing key with its certificate. Notes already stored have none
of these: they stay readable under their v1 context and are shown as sent before signatures when
their submission was sent before signatures too, and as unverified otherwise. The identities
envelope a submission sends apart is signed from now on by the submission's signing key, like the
submission; one stored before has no signature and is read by the same rule. The copy of the
names a triage officer re-seals to a case's compartment is signed from now on by that officer,
like a note, and bound to the identities envelope it copies.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submission_identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(length=64)))
        batch_op.add_column(sa.Column("compartment_signed_by_id", sa.Integer()))
        batch_op.add_column(sa.Column("compartment_signature", sa.LargeBinary(length=64)))
        batch_op.add_column(sa.Column("compartment_signing_key", sa.LargeBinary(length=32)))
        batch_op.add_column(sa.Column("compartment_certificate", sa.LargeBinary(length=64)))
        batch_op.create_foreign_key(
            op.f("fk_submission_identities_compartment_signed_by_id_staff_users"),
            "staff_users",
            ["compartment_signed_by_id"],
            ["id"],
        )
    with op.batch_alter_table("triage_notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("position", sa.Integer()))
        batch_op.add_column(sa.Column("signature", sa.LargeBinary(length=64)))
        batch_op.add_column(sa.Column("author_signing_public_key", sa.LargeBinary(length=32)))
        batch_op.add_column(sa.Column("author_certificate", sa.LargeBinary(length=64)))
        batch_op.create_unique_constraint(
            op.f("uq_triage_notes_submission_id_position"), ["submission_id", "position"]
        )


def downgrade() -> None:
    with op.batch_alter_table("triage_notes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_triage_notes_submission_id_position"), type_="unique")
        batch_op.drop_column("author_certificate")
        batch_op.drop_column("author_signing_public_key")
        batch_op.drop_column("signature")
        batch_op.drop_column("position")
    with op.batch_alter_table("submission_identities", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("fk_submission_identities_compartment_signed_by_id_staff_users"),
            type_="foreignkey",
        )
        batch_op.drop_column("compartment_certificate")
        batch_op.drop_column("compartment_signing_key")
        batch_op.drop_column("compartment_signature")
        batch_op.drop_column("compartment_signed_by_id")
        batch_op.drop_column("signature")
