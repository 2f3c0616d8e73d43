"""Submissions in full: topic tags and urgency, further information, consent changes,
attachments, tombstones of deleted submissions, and the submitters' sign-in limiter.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Written out by hand, like 0001, so that it keeps creating exactly this schema whatever the models
become. The two new columns of ``submissions`` get a server default only while they are added,
so that rows stored before this revision read as "no topics" and "not urgent"; the models give
every new row explicit values.
"""

import datetime as dt

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ENUM_LENGTH = 32
SUBMISSION_KINDS = ("agenda_input", "individual_case", "reprisal_report", "seminar_recommendations")


def _foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _envelope_table(table: str) -> None:
    """A table of envelopes appended to a submission, each sealed to the then current desk key."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("desk_key_id", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        _foreign_key(table, "submission_id", "submissions"),
        _foreign_key(table, "desk_key_id", "desk_keys"),
    )
    op.create_index(op.f(f"ix_{table}_submission_id"), table, ["submission_id"])


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.add_column(
            sa.Column("topic_tags", sa.JSON(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch.add_column(
            sa.Column("urgent", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("topic_tags", server_default=None)
        batch.alter_column("urgent", server_default=None)
    _envelope_table("further_information")
    _envelope_table("consent_changes")
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("storage_name", sa.String(64), nullable=False),
        sa.Column("ciphertext_size", sa.BigInteger(), nullable=False),
        sa.Column("keys_envelope", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("public_id", name=op.f("uq_attachments_public_id")),
        sa.UniqueConstraint("storage_name", name=op.f("uq_attachments_storage_name")),
        _foreign_key("attachments", "submission_id", "submissions"),
    )
    op.create_index(op.f("ix_attachments_submission_id"), "attachments", ["submission_id"])
    quoted_kinds = ", ".join(f"'{kind}'" for kind in SUBMISSION_KINDS)
    op.create_table(
        "deleted_submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(64), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(ENUM_LENGTH), nullable=False),
        sa.Column("deleted_on", sa.Date(), nullable=False),
        sa.CheckConstraint(f"kind IN ({quoted_kinds})", name=op.f("ck_deleted_submissions_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deleted_submissions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_deleted_submissions_public_id")),
        _foreign_key("deleted_submissions", "submitter_id", "submitters"),
    )
    op.create_index(
        op.f("ix_deleted_submissions_submitter_id"), "deleted_submissions", ["submitter_id"]
    )
    throttles = op.create_table(
        "sign_in_throttles",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("level", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sign_in_throttles")),
    )
    # The one bucket the submitters' sign-in limiter uses, made here so that two workers can
    # never race to create it.
    op.bulk_insert(
        throttles,
        [{"name": "global", "level": 0.0, "updated_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}],
    )


def downgrade() -> None:
    for table in (
        "sign_in_throttles",
        "deleted_submissions",
        "attachments",
        "consent_changes",
        "further_information",
    ):
        op.drop_table(table)
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("urgent")
        batch.drop_column("topic_tags")
