"""debrief, follow-up roadmap, reporting

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 04:44:32.040110

Desk messages gain what makes some of them notices (a session's debrief, progress on the
roadmap) and whether their reader has seen them; messages already stored are plain messages,
counted as seen so that an inbox does not call old news new. The desk's sealed prose gains the
general debrief and the desk's words to one contributor. New tables keep why a contributor gets
no debrief, a session's public summary and the follow-up roadmap (operational results, actions,
their links and their changes of state). Staff accounts gain the opt-in to a daily digest;
submissions the desk's classification that a case concerns a woman human-rights defender.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

DESK_TEXT_PURPOSES = (
    "briefing_point",
    "item_reply",
    "case_reply",
    "recommendation_note",
    "debrief_general",
    "debrief_feedback",
)


def _desk_text_purposes(purposes: tuple[str, ...]) -> None:
    """Let the desk's sealed prose hold exactly ``purposes``."""
    quoted = ", ".join(f"'{purpose}'" for purpose in purposes)
    with op.batch_alter_table("desk_texts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_desk_texts_purpose"), type_="check")
        batch_op.create_check_constraint(op.f("ck_desk_texts_purpose"), f"purpose IN ({quoted})")


def upgrade() -> None:
    op.create_table(
        "follow_up_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("measure", sa.String(length=1000), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_follow_up_results_created_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["dialogue_id"],
            ["dialogues.id"],
            name=op.f("fk_follow_up_results_dialogue_id_dialogues"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_results")),
    )
    with op.batch_alter_table("follow_up_results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_results_dialogue_id"), ["dialogue_id"], unique=False
        )

    op.create_table(
        "follow_up_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("result_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "owner",
            sa.Enum(
                "eu",
                "partner",
                "delegation",
                name="owner",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "planned",
                "in_progress",
                "done",
                "dropped",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["staff_users.id"],
            name=op.f("fk_follow_up_actions_created_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["dialogue_id"],
            ["dialogues.id"],
            name=op.f("fk_follow_up_actions_dialogue_id_dialogues"),
        ),
        sa.ForeignKeyConstraint(
            ["result_id"],
            ["follow_up_results.id"],
            name=op.f("fk_follow_up_actions_result_id_follow_up_results"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_follow_up_actions_session_id_dialogue_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_actions")),
    )
    with op.batch_alter_table("follow_up_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_actions_dialogue_id"), ["dialogue_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_actions_result_id"), ["result_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_actions_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "session_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column(
            "statement_source",
            sa.Enum(
                "joint",
                "eu",
                name="statement_source",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("written_by_id", sa.Integer(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_session_summaries_session_id_dialogue_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["written_by_id"],
            ["staff_users.id"],
            name=op.f("fk_session_summaries_written_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_summaries")),
        sa.UniqueConstraint("session_id", name=op.f("uq_session_summaries_session_id")),
    )
    op.create_table(
        "debriefs_withheld",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "risk_to_the_submitter",
                "answered_with_another_submission",
                "submission_withdrawn",
                "other",
                name="withheld_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_debriefs_withheld_recorded_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_debriefs_withheld_session_id_dialogue_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_debriefs_withheld_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debriefs_withheld")),
        sa.UniqueConstraint(
            "session_id",
            "submission_id",
            name=op.f("uq_debriefs_withheld_session_id_submission_id"),
        ),
    )
    with op.batch_alter_table("debriefs_withheld", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_debriefs_withheld_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_debriefs_withheld_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "follow_up_action_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "planned",
                "in_progress",
                "done",
                "dropped",
                name="state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("changed_by_id", sa.Integer(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["follow_up_actions.id"],
            name=op.f("fk_follow_up_action_changes_action_id_follow_up_actions"),
        ),
        sa.ForeignKeyConstraint(
            ["changed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_follow_up_action_changes_changed_by_id_staff_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_action_changes")),
    )
    with op.batch_alter_table("follow_up_action_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_action_changes_action_id"), ["action_id"], unique=False
        )

    op.create_table(
        "follow_up_action_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action_id", sa.Integer(), nullable=False),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("recommendation_index", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["action_id"],
            ["follow_up_actions.id"],
            name=op.f("fk_follow_up_action_links_action_id_follow_up_actions"),
        ),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_follow_up_action_links_agenda_item_id_agenda_items"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_follow_up_action_links_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_action_links")),
    )
    with op.batch_alter_table("follow_up_action_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_follow_up_action_links_action_id"), ["action_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_action_links_agenda_item_id"), ["agenda_item_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_follow_up_action_links_submission_id"), ["submission_id"], unique=False
        )

    with op.batch_alter_table("desk_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "purpose",
                sa.Enum(
                    "message",
                    "debrief",
                    "progress",
                    name="purpose",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="message",
            )
        )
        batch_op.add_column(sa.Column("session_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("follow_up_action_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("seen_by_submitter", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_index(
            batch_op.f("ix_desk_messages_follow_up_action_id"),
            ["follow_up_action_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_desk_messages_session_id"), ["session_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_desk_messages_follow_up_action_id_follow_up_actions"),
            "follow_up_actions",
            ["follow_up_action_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_desk_messages_session_id_dialogue_sessions"),
            "dialogue_sessions",
            ["session_id"],
            ["id"],
        )

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest_opt_in", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("digest_last_sent_on", sa.Date(), nullable=True))

    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("women_hrd", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("desk_messages", schema=None) as batch_op:
        batch_op.alter_column("purpose", server_default=None)
        batch_op.alter_column("seen_by_submitter", server_default=None)
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.alter_column("digest_opt_in", server_default=None)
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.alter_column("women_hrd", server_default=None)
    _desk_text_purposes(DESK_TEXT_PURPOSES)


def downgrade() -> None:
    op.execute("DELETE FROM desk_texts WHERE purpose IN ('debrief_general', 'debrief_feedback')")
    _desk_text_purposes(DESK_TEXT_PURPOSES[:4])
    op.execute("DELETE FROM desk_messages WHERE purpose != 'message'")
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_column("women_hrd")

    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("digest_last_sent_on")
        batch_op.drop_column("digest_opt_in")

    with op.batch_alter_table("desk_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_desk_messages_session_id_dialogue_sessions"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_desk_messages_follow_up_action_id_follow_up_actions"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_desk_messages_session_id"))
        batch_op.drop_index(batch_op.f("ix_desk_messages_follow_up_action_id"))
        batch_op.drop_column("seen_by_submitter")
        batch_op.drop_column("follow_up_action_id")
        batch_op.drop_column("session_id")
        batch_op.drop_constraint(op.f("ck_desk_messages_purpose"), type_="check")
        batch_op.drop_column("purpose")

    with op.batch_alter_table("follow_up_action_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_action_links_submission_id"))
        batch_op.drop_index(batch_op.f("ix_follow_up_action_links_agenda_item_id"))
        batch_op.drop_index(batch_op.f("ix_follow_up_action_links_action_id"))

    op.drop_table("follow_up_action_links")
    with op.batch_alter_table("follow_up_action_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_action_changes_action_id"))

    op.drop_table("follow_up_action_changes")
    with op.batch_alter_table("debriefs_withheld", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debriefs_withheld_submission_id"))
        batch_op.drop_index(batch_op.f("ix_debriefs_withheld_session_id"))

    op.drop_table("debriefs_withheld")
    op.drop_table("session_summaries")
    with op.batch_alter_table("follow_up_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_actions_session_id"))
        batch_op.drop_index(batch_op.f("ix_follow_up_actions_result_id"))
        batch_op.drop_index(batch_op.f("ix_follow_up_actions_dialogue_id"))

    op.drop_table("follow_up_actions")
    with op.batch_alter_table("follow_up_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_follow_up_results_dialogue_id"))

    op.drop_table("follow_up_results")
