"""Foundation: dialogues, sessions, staff and desks, keys and grants, submissions, audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Written out by hand rather than imported from the models, so that this revision keeps creating
exactly this schema whatever the models become. Every constraint is named (``pk_``, ``uq_``,
``fk_``, ``ck_``, ``ix_`` + table + columns) as the models' naming convention does, so that later
revisions can address them on SQLite and PostgreSQL alike.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ENUM_LENGTH = 32


def _choice(
    table: str, column: str, values: Sequence[str], nullable: bool = False
) -> tuple[sa.Column, sa.CheckConstraint]:
    """A string column restricted to ``values`` by a CHECK constraint ``ck_<table>_<column>``."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return (
        sa.Column(column, sa.String(ENUM_LENGTH), nullable=nullable),
        sa.CheckConstraint(f"{column} IN ({quoted})", name=op.f(f"ck_{table}_{column}")),
    )


def _moment(column: str, nullable: bool = False) -> sa.Column:
    return sa.Column(column, sa.DateTime(timezone=True), nullable=nullable)


def _foreign_key(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "dialogues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(200), nullable=False),
        *_choice("dialogues", "partner_kind", ("country", "regional_group")),
        *_choice(
            "dialogues",
            "kind",
            ("formal", "informal", "local", "sub_committee", "like_minded_consultation"),
        ),
        *_choice("dialogues", "status", ("active", "frozen")),
        *_choice("dialogues", "review_mode", ("online", "offline")),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialogues")),
        sa.UniqueConstraint("slug", name=op.f("uq_dialogues_slug")),
    )
    op.create_table(
        "recovery_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("key_id", sa.LargeBinary(16), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_keys")),
        sa.UniqueConstraint("public_key", name=op.f("uq_recovery_keys_public_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_recovery_keys_key_id")),
    )
    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        *_choice(
            "staff_users", "role", ("administrator", "triage_officer", "co_chair", "observer")
        ),
        sa.Column("login_hash", sa.String(255), nullable=False),
        sa.Column("personal_public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("personal_private_key_wrapped", sa.LargeBinary(128), nullable=False),
        sa.Column("totp_secret_sealed", sa.LargeBinary(128), nullable=False),
        sa.Column("last_totp_step", sa.BigInteger(), nullable=True),
        sa.Column("must_change_passphrase", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("email", name=op.f("uq_staff_users_email")),
    )
    op.create_table(
        "submitters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lookup_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("created_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submitters")),
        sa.UniqueConstraint("lookup_hash", name=op.f("uq_submitters_lookup_hash")),
    )
    op.create_table(
        "audit_events",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        _moment("occurred_at"),
        sa.Column("actor_staff_user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(64), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
        _foreign_key("audit_events", "actor_staff_user_id", "staff_users"),
        _foreign_key("audit_events", "dialogue_id", "dialogues"),
    )
    op.create_index(op.f("ix_audit_events_dialogue_id"), "audit_events", ["dialogue_id"])
    op.create_table(
        "desk_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("key_id", sa.LargeBinary(16), nullable=False),
        _moment("created_at"),
        _moment("retired_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_keys")),
        sa.UniqueConstraint("public_key", name=op.f("uq_desk_keys_public_key")),
        sa.UniqueConstraint("key_id", name=op.f("uq_desk_keys_key_id")),
        _foreign_key("desk_keys", "dialogue_id", "dialogues"),
    )
    op.create_index(op.f("ix_desk_keys_dialogue_id"), "desk_keys", ["dialogue_id"])
    op.create_table(
        "desk_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        _moment("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_memberships")),
        sa.UniqueConstraint(
            "dialogue_id",
            "staff_user_id",
            name=op.f("uq_desk_memberships_dialogue_id_staff_user_id"),
        ),
        _foreign_key("desk_memberships", "dialogue_id", "dialogues"),
        _foreign_key("desk_memberships", "staff_user_id", "staff_users"),
        _foreign_key("desk_memberships", "granted_by_id", "staff_users"),
    )
    op.create_index(
        op.f("ix_desk_memberships_staff_user_id"), "desk_memberships", ["staff_user_id"]
    )
    op.create_table(
        "dialogue_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        *_choice("dialogue_sessions", "place", ("brussels", "partner_country", "video")),
        _moment("consultation_opens_at", nullable=True),
        _moment("consultation_closes_at", nullable=True),
        *_choice(
            "dialogue_sessions",
            "state",
            (
                "planned",
                "consultation_open",
                "consultation_closed",
                "held",
                "debriefed",
                "follow_up",
            ),
        ),
        _moment("created_at"),
        sa.CheckConstraint(
            "(consultation_opens_at IS NULL AND consultation_closes_at IS NULL)"
            " OR (consultation_opens_at < consultation_closes_at)",
            name=op.f("ck_dialogue_sessions_consultation_window"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dialogue_sessions")),
        _foreign_key("dialogue_sessions", "dialogue_id", "dialogues"),
    )
    op.create_index(op.f("ix_dialogue_sessions_dialogue_id"), "dialogue_sessions", ["dialogue_id"])
    op.create_table(
        "desk_key_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_key_id", sa.Integer(), nullable=False),
        sa.Column("recipient_staff_user_id", sa.Integer(), nullable=True),
        sa.Column("recovery_key_id", sa.Integer(), nullable=True),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        _moment("created_at"),
        sa.CheckConstraint(
            "(recipient_staff_user_id IS NULL) <> (recovery_key_id IS NULL)",
            name=op.f("ck_desk_key_grants_one_recipient"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_key_grants")),
        sa.UniqueConstraint(
            "desk_key_id",
            "recipient_staff_user_id",
            name=op.f("uq_desk_key_grants_desk_key_id_recipient_staff_user_id"),
        ),
        sa.UniqueConstraint(
            "desk_key_id",
            "recovery_key_id",
            name=op.f("uq_desk_key_grants_desk_key_id_recovery_key_id"),
        ),
        _foreign_key("desk_key_grants", "desk_key_id", "desk_keys"),
        _foreign_key("desk_key_grants", "recipient_staff_user_id", "staff_users"),
        _foreign_key("desk_key_grants", "recovery_key_id", "recovery_keys"),
    )
    op.create_index(
        op.f("ix_desk_key_grants_recipient_staff_user_id"),
        "desk_key_grants",
        ["recipient_staff_user_id"],
    )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(64), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        *_choice(
            "submissions",
            "kind",
            ("agenda_input", "individual_case", "reprisal_report", "seminar_recommendations"),
        ),
        *_choice(
            "submissions",
            "state",
            (
                "received",
                "in_triage",
                "accepted",
                "declined",
                "on_agenda",
                "on_handover_list",
                "raised",
                "debriefed",
                "withdrawn",
            ),
        ),
        sa.Column("received_on", sa.Date(), nullable=False),
        *_choice("submissions", "risk_level", ("low", "medium", "high"), nullable=True),
        sa.Column("desk_key_id", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.LargeBinary(), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("public_id", name=op.f("uq_submissions_public_id")),
        _foreign_key("submissions", "dialogue_id", "dialogues"),
        _foreign_key("submissions", "session_id", "dialogue_sessions"),
        _foreign_key("submissions", "desk_key_id", "desk_keys"),
        _foreign_key("submissions", "submitter_id", "submitters"),
    )
    for column in ("dialogue_id", "session_id", "submitter_id"):
        op.create_index(op.f(f"ix_submissions_{column}"), "submissions", [column])


def downgrade() -> None:
    for table in (
        "submissions",
        "desk_key_grants",
        "dialogue_sessions",
        "desk_memberships",
        "desk_keys",
        "audit_events",
        "submitters",
        "staff_users",
        "recovery_keys",
        "dialogues",
    ):
        op.drop_table(table)
