"""identity compartment

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 22:30:00.000000

New tables only: the identity keys made with each desk key from now on and their grants, each
submission's identities envelope with its compartment, and the grants of compartment keys to
the members named on a case. Submissions stored before keep their names inside the submission
envelope and read exactly as before; nothing stored is rewritten. Desk keys made before have no
identity key: new submissions to their dialogue keep the names in the submission envelope until
the desk key is rotated (docs/FORMATS.md, "Identity compartment").
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "identity_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_key_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("key_id", sa.LargeBinary(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _fk("identity_keys", "desk_key_id", "desk_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_keys")),
        sa.UniqueConstraint("desk_key_id", name=op.f("uq_identity_keys_desk_key_id")),
        sa.UniqueConstraint("key_id", name=op.f("uq_identity_keys_key_id")),
        sa.UniqueConstraint("public_key", name=op.f("uq_identity_keys_public_key")),
    )
    op.create_table(
        "identity_key_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identity_key_id", sa.Integer(), nullable=False),
        sa.Column("recipient_staff_user_id", sa.Integer(), nullable=True),
        sa.Column("recovery_key_id", sa.Integer(), nullable=True),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(recipient_staff_user_id IS NULL) <> (recovery_key_id IS NULL)",
            name=op.f("ck_identity_key_grants_one_identity_recipient"),
        ),
        _fk("identity_key_grants", "identity_key_id", "identity_keys"),
        _fk("identity_key_grants", "recipient_staff_user_id", "staff_users"),
        _fk("identity_key_grants", "recovery_key_id", "recovery_keys"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_key_grants")),
        sa.UniqueConstraint(
            "identity_key_id",
            "recipient_staff_user_id",
            name=op.f("uq_identity_key_grants_identity_key_id_recipient_staff_user_id"),
        ),
        sa.UniqueConstraint(
            "identity_key_id",
            "recovery_key_id",
            name=op.f("uq_identity_key_grants_identity_key_id_recovery_key_id"),
        ),
    )
    with op.batch_alter_table("identity_key_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identity_key_grants_recipient_staff_user_id"),
            ["recipient_staff_user_id"],
            unique=False,
        )
    op.create_table(
        "submission_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("identity_key_id", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("compartment_public_key", sa.LargeBinary(length=32), nullable=True),
        sa.Column("compartment_envelope", sa.LargeBinary(), nullable=True),
        _fk("submission_identities", "identity_key_id", "identity_keys"),
        _fk("submission_identities", "submission_id", "submissions"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission_identities")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_submission_identities_submission_id")),
    )
    with op.batch_alter_table("submission_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_identities_identity_key_id"),
            ["identity_key_id"],
            unique=False,
        )
    op.create_table(
        "compartment_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_identity_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        _fk("compartment_grants", "granted_by_id", "staff_users"),
        _fk("compartment_grants", "staff_user_id", "staff_users"),
        _fk("compartment_grants", "submission_identity_id", "submission_identities"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compartment_grants")),
        sa.UniqueConstraint(
            "submission_identity_id",
            "staff_user_id",
            name=op.f("uq_compartment_grants_submission_identity_id_staff_user_id"),
        ),
    )
    with op.batch_alter_table("compartment_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_compartment_grants_staff_user_id"), ["staff_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_compartment_grants_submission_identity_id"),
            ["submission_identity_id"],
            unique=False,
        )


def downgrade() -> None:
    for table in (
        "compartment_grants",
        "submission_identities",
        "identity_key_grants",
        "identity_keys",
    ):
        op.drop_table(table)
