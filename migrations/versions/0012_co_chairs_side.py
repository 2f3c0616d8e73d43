"""the co-chairs' side: agenda, handover list, session record, consent asked again

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:45:15.676939

Agenda items gain a theme (the standing items of the guidelines), an order, whose priority they
are, a gender dimension and whether a co-chair has taken them in; items already stored become
included "specific topic" items of the EU in the order they were made. A session gains its
agenda's stage, the freezing of its handover list and its record (held on, where, complete).
The handover list becomes its own table: a case proposed under the old rule (the proposer on the
submission) becomes an entry proposed by the same person for the submission's session, awaiting
a co-chair's approval, and goes back to accepted (or on agenda, when linked) until approved; a
case that belongs to no session goes back the same way without an entry. New tables keep how
each case was taken up per session, the response to each seminar recommendation, requests to
confirm consent again for a new round, and the desk's sealed prose of a session.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column(
            "how_raised",
            sa.Enum(
                "during_item",
                "handover_list",
                "not_raised",
                name="how_raised",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column(
            "not_raised_reason",
            sa.Enum(
                "consent_did_not_allow",
                "risk_to_the_person",
                "no_time",
                "raised_through_other_channel",
                "partner_refused_to_discuss",
                "situation_resolved",
                "other",
                name="not_raised_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_case_outcomes_agenda_item_id_agenda_items"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_case_outcomes_recorded_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_case_outcomes_session_id_dialogue_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_case_outcomes_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_outcomes")),
        sa.UniqueConstraint(
            "session_id", "submission_id", name=op.f("uq_case_outcomes_session_id_submission_id")
        ),
    )
    with op.batch_alter_table("case_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_case_outcomes_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_case_outcomes_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "consent_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("requested_on", sa.Date(), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_consent_requests_session_id_dialogue_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_consent_requests_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_requests")),
        sa.UniqueConstraint(
            "submission_id", "session_id", name=op.f("uq_consent_requests_submission_id_session_id")
        ),
    )
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_requests_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_consent_requests_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "desk_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "briefing_point",
                "item_reply",
                "case_reply",
                "recommendation_note",
                name="purpose",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("agenda_item_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("recommendation_index", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("desk_key_id", sa.Integer(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(length=64), nullable=False),
        sa.Column("author_signing_public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("author_certificate", sa.LargeBinary(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["agenda_item_id"],
            ["agenda_items.id"],
            name=op.f("fk_desk_texts_agenda_item_id_agenda_items"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["staff_users.id"], name=op.f("fk_desk_texts_author_id_staff_users")
        ),
        sa.ForeignKeyConstraint(
            ["desk_key_id"], ["desk_keys.id"], name=op.f("fk_desk_texts_desk_key_id_desk_keys")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_desk_texts_session_id_dialogue_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_desk_texts_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_texts")),
    )
    with op.batch_alter_table("desk_texts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_desk_texts_agenda_item_id"), ["agenda_item_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_desk_texts_session_id"), ["session_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_desk_texts_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "handover_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "left_reason",
            sa.Enum(
                "consent",
                "risk",
                name="left_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["staff_users.id"],
            name=op.f("fk_handover_entries_approved_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["staff_users.id"],
            name=op.f("fk_handover_entries_proposed_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_handover_entries_session_id_dialogue_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_handover_entries_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_handover_entries")),
        sa.UniqueConstraint(
            "session_id", "submission_id", name=op.f("uq_handover_entries_session_id_submission_id")
        ),
    )
    with op.batch_alter_table("handover_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_handover_entries_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_handover_entries_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "recommendation_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("recommendation_index", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "discussed",
                "taken_up",
                "not_taken_up",
                name="outcome",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "not_taken_up_reason",
            sa.Enum(
                "outside_dialogue_scope",
                "already_addressed",
                "partner_declined",
                "not_feasible_this_round",
                "other",
                name="not_taken_up_reason",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["staff_users.id"],
            name=op.f("fk_recommendation_responses_recorded_by_id_staff_users"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["dialogue_sessions.id"],
            name=op.f("fk_recommendation_responses_session_id_dialogue_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_recommendation_responses_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_responses")),
        sa.UniqueConstraint(
            "session_id",
            "submission_id",
            "recommendation_index",
            name=op.f("uq_recommendation_responses_session_id_submission_id_recommendation_index"),
        ),
    )
    with op.batch_alter_table("recommendation_responses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recommendation_responses_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recommendation_responses_submission_id"), ["submission_id"], unique=False
        )

    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "theme",
                sa.Enum(
                    "general_developments",
                    "specific_topic",
                    "multilateral_engagement",
                    "ratification_and_implementation",
                    "un_cooperation",
                    "good_governance_and_rule_of_law",
                    "international_humanitarian_law",
                    "reprisals",
                    name="theme",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="specific_topic",
            )
        )
        batch_op.add_column(sa.Column("position", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column(
                "priority_of",
                sa.Enum(
                    "eu",
                    "partner",
                    "both",
                    name="priority_of",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="eu",
            )
        )
        batch_op.add_column(sa.Column("gender_dimension", sa.String(length=1000), nullable=True))
        batch_op.add_column(
            sa.Column(
                "status",
                sa.Enum(
                    "proposed",
                    "included",
                    name="status",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="included",
            )
        )
        batch_op.add_column(sa.Column("proposed_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("discussed", sa.Boolean(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_agenda_items_proposed_by_id_staff_users"),
            "staff_users",
            ["proposed_by_id"],
            ["id"],
        )

    with op.batch_alter_table("dialogue_sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "agenda_state",
                sa.Enum(
                    "draft",
                    "shared",
                    "agreed",
                    "final",
                    name="agenda_state",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=False,
                server_default="draft",
            )
        )
        batch_op.add_column(
            sa.Column("handover_frozen_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("handover_frozen_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("held_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "held_place",
                sa.Enum(
                    "brussels",
                    "partner_country",
                    "video",
                    name="held_place",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(
            sa.Column("record_completed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_dialogue_sessions_handover_frozen_by_id_staff_users"),
            "staff_users",
            ["handover_frozen_by_id"],
            ["id"],
        )

    op.execute("UPDATE agenda_items SET position = id")
    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        for column in ("theme", "position", "priority_of", "status"):
            batch_op.alter_column(column, server_default=None)
    with op.batch_alter_table("dialogue_sessions", schema=None) as batch_op:
        batch_op.alter_column("agenda_state", server_default=None)

    _move_proposals_to_entries()
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_submissions_handover_proposed_by_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_column("handover_proposed_by_id")


def _move_proposals_to_entries() -> None:
    """Proposals made under the old rule become entries awaiting a co-chair's approval."""
    op.execute(
        "INSERT INTO handover_entries (session_id, submission_id, proposed_by_id, proposed_at)"
        " SELECT session_id, id, handover_proposed_by_id, CURRENT_TIMESTAMP FROM submissions"
        " WHERE state = 'on_handover_list' AND session_id IS NOT NULL"
        " AND handover_proposed_by_id IS NOT NULL"
    )
    op.execute(
        "UPDATE submissions SET state = CASE WHEN EXISTS (SELECT 1 FROM agenda_links"
        " WHERE agenda_links.submission_id = submissions.id) THEN 'on_agenda' ELSE 'accepted' END"
        " WHERE state = 'on_handover_list'"
    )


def downgrade() -> None:
    with op.batch_alter_table("submissions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handover_proposed_by_id", sa.INTEGER(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_handover_proposed_by_id_staff_users"),
            "staff_users",
            ["handover_proposed_by_id"],
            ["id"],
        )
    # An entry still on a list goes back to the old rule's single mark of a proposal.
    op.execute(
        "UPDATE submissions SET handover_proposed_by_id = (SELECT proposed_by_id FROM"
        " handover_entries WHERE handover_entries.submission_id = submissions.id"
        " AND handover_entries.left_at IS NULL ORDER BY handover_entries.id DESC LIMIT 1),"
        " state = 'on_handover_list' WHERE state IN ('accepted', 'on_agenda') AND EXISTS"
        " (SELECT 1 FROM handover_entries WHERE handover_entries.submission_id = submissions.id"
        " AND handover_entries.left_at IS NULL)"
    )

    with op.batch_alter_table("dialogue_sessions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_dialogue_sessions_handover_frozen_by_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_column("record_completed_at")
        batch_op.drop_constraint(op.f("ck_dialogue_sessions_held_place"), type_="check")
        batch_op.drop_column("held_place")
        batch_op.drop_column("held_on")
        batch_op.drop_column("handover_frozen_by_id")
        batch_op.drop_column("handover_frozen_at")
        batch_op.drop_constraint(op.f("ck_dialogue_sessions_agenda_state"), type_="check")
        batch_op.drop_column("agenda_state")

    with op.batch_alter_table("agenda_items", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_agenda_items_proposed_by_id_staff_users"), type_="foreignkey"
        )
        batch_op.drop_column("discussed")
        batch_op.drop_column("proposed_by_id")
        batch_op.drop_constraint(op.f("ck_agenda_items_status"), type_="check")
        batch_op.drop_column("status")
        batch_op.drop_column("gender_dimension")
        batch_op.drop_constraint(op.f("ck_agenda_items_priority_of"), type_="check")
        batch_op.drop_column("priority_of")
        batch_op.drop_column("position")
        batch_op.drop_constraint(op.f("ck_agenda_items_theme"), type_="check")
        batch_op.drop_column("theme")

    with op.batch_alter_table("recommendation_responses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recommendation_responses_submission_id"))
        batch_op.drop_index(batch_op.f("ix_recommendation_responses_session_id"))

    op.drop_table("recommendation_responses")
    with op.batch_alter_table("handover_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_handover_entries_submission_id"))
        batch_op.drop_index(batch_op.f("ix_handover_entries_session_id"))

    op.drop_table("handover_entries")
    with op.batch_alter_table("desk_texts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_desk_texts_submission_id"))
        batch_op.drop_index(batch_op.f("ix_desk_texts_session_id"))
        batch_op.drop_index(batch_op.f("ix_desk_texts_agenda_item_id"))

    op.drop_table("desk_texts")
    with op.batch_alter_table("consent_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_requests_submission_id"))
        batch_op.drop_index(batch_op.f("ix_consent_requests_session_id"))

    op.drop_table("consent_requests")
    with op.batch_alter_table("case_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_outcomes_submission_id"))
        batch_op.drop_index(batch_op.f("ix_case_outcomes_session_id"))

    op.drop_table("case_outcomes")
