"""staff side

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 03:26:37.845722
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("sealed_key", sa.LargeBinary(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_staff_sessions_staff_user_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("reference", name=op.f("uq_staff_sessions_reference")),
    )
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_staff_sessions_staff_user_id"), ["staff_user_id"], unique=False
        )

    op.create_table(
        "agenda_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_agenda_items_session_id_dialogue_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_items")),
    )
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agenda_items_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "agenda_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_agenda_links_agenda_item_id_agenda_items"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_agenda_links_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agenda_links")),
        sa.UniqueConstraint(
            "submission_id",
            "agenda_item_id",
            name=op.f("uq_agenda_links_submission_id_agenda_item_id"),
        ),
    )
    with op.batch_alter_table("agenda_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agenda_links_agenda_item_id"), ["agenda_item_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_agenda_links_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "desk_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=64), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column(
            "written_by",
            sa.Enum(
                "desk",
                "submitter",
                name="written_by",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("desk_key_id", sa.Integer(), nullable=False),
        sa.Column("sent_on", sa.Date(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_users.id"], name=op.f("fk_desk_messages_author_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["desk_key_id"], ["desk_keys.id"], name=op.f("fk_desk_messages_desk_key_id_desk_keys")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_desk_messages_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_messages")),
        sa.UniqueConstraint("public_id", name=op.f("uq_desk_messages_public_id")),
    )
    with op.batch_alter_table("desk_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_desk_messages_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "emergency_accesses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("justification", sa.String(length=2000), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_emergency_accesses_staff_user_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_emergency_accesses_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_emergency_accesses")),
    )
    with op.batch_alter_table("emergency_accesses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_emergency_accesses_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "named_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_named_members_staff_user_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_named_members_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_named_members")),
        sa.UniqueConstraint(
            "submission_id",
            "staff_user_id",
            name=op.f("uq_named_members_submission_id_staff_user_id"),
        ),
    )
    with op.batch_alter_table("named_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_named_members_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "triage_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("desk_key_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_users.id"], name=op.f("fk_triage_notes_author_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["desk_key_id"], ["desk_keys.id"], name=op.f("fk_triage_notes_desk_key_id_desk_keys")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_triage_notes_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_notes")),
    )
    with op.batch_alter_table("triage_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_triage_notes_submission_id"), ["submission_id"], unique=False
        )

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret_sealed", existing_type=sa.BLOB(), nullable=True)

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("risk_reassess_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "gender_specific_risk", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("risk_hold", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column(
                "decline_reason",
                sa.Enum(
                    "outside_dialogue_scope",
                    "not_enough_information",
                    "duplicate",
                    "consent_does_not_allow",
                    "raised_through_other_channel",
                    "other",
                    name="decline_reason",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("handover_proposed_by_id", sa.Integer(), nullable=True))
        batch_op.alter_column("gender_specific_risk", server_default=None)
        batch_op.alter_column("risk_hold", server_default=None)
        batch_op.create_index("ix_submissions_dialogue_queue", ["dialogue_id", "id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_duplicate_of_id_submissions"),
            "submissions",
            ["duplicate_of_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_handover_proposed_by_id_staff_users"),
            "staff_users",
            ["handover_proposed_by_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_submissions_handover_proposed_by_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_submissions_duplicate_of_id_submissions"), type_="foreignkey"
        )
        batch_op.drop_index("ix_submissions_dialogue_queue")
        batch_op.drop_column("handover_proposed_by_id")
        batch_op.drop_column("duplicate_of_id")
        batch_op.drop_constraint(op.f("ck_submissions_decline_reason"), type_="check")
        batch_op.drop_column("decline_reason")
        batch_op.drop_column("risk_hold")
        batch_op.drop_column("gender_specific_risk")
        batch_op.drop_column("risk_reassess_on")

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column("totp_secret_sealed", existing_type=sa.BLOB(), nullable=False)

    with op.batch_alter_table("triage_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_triage_notes_submission_id"))

    op.drop_table("triage_notes")
    with op.batch_alter_table("named_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_named_members_submission_id"))

    op.drop_table("named_members")
    with op.batch_alter_table("emergency_accesses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_emergency_accesses_submission_id"))

    op.drop_table("emergency_accesses")
    with op.batch_alter_table("desk_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_messages_submission_id"))

    op.drop_table("desk_messages")
    with op.batch_alter_table("agenda_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_links_submission_id"))
        batch_op.drop_index(batch_op.f("ix_agenda_links_agenda_item_id"))

    op.drop_table("agenda_links")
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agenda_items_session_id"))

    op.drop_table("agenda_items")
    with op.batch_alter_table("staff_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_sessions_staff_user_id"))

    op.drop_table("staff_sessions")
