"""triage queue indexes and submission topics

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06 08:45:00.000000

Each filter of the triage queue gets an index that leads with the dialogue and the filtered
column and ends with the id, so that a filtered page reads its rows in order from the index. A
submission's agenda themes, kept as a JSON array, get a row each in ``submission_topics``,
filled here from the submissions already stored, so that the topic filter reads an index too.
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0014"
branch_labels = None
depends_on = None

QUEUE_INDEXES = {
    "session": "session_id",
    "kind": "kind",
    "state": "state",
    "risk": "risk_level",
    "urgent": "urgent",
    "risk_hold": "risk_hold",
}
BATCH = 5_000


def _tags(stored: str | list[str] | None) -> list[str]:
    """The JSON array as the driver hands it: text on SQLite, already parsed by psycopg."""
    if isinstance(stored, str):
        return json.loads(stored)
    return stored or []


def _fill_submission_topics() -> None:
    """One row per stored submission and theme, read from the JSON array in batches."""
    connection = op.get_bind()
    submissions = sa.table(
        "submissions",
        sa.column("id", sa.Integer()),
        sa.column("dialogue_id", sa.Integer()),
        sa.column("topic_tags", sa.Text()),
    )
    topics = sa.table(
        "submission_topics",
        sa.column("submission_id", sa.Integer()),
        sa.column("topic", sa.String()),
        sa.column("dialogue_id", sa.Integer()),
    )
    last_id = 0
    while True:
        batch = connection.execute(
            sa.select(submissions.c.id, submissions.c.dialogue_id, submissions.c.topic_tags)
            .where(submissions.c.id > last_id)
            .order_by(submissions.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        rows = [
            {"submission_id": row.id, "dialogue_id": row.dialogue_id, "topic": topic}
            for row in batch
            for topic in sorted(set(_tags(row.topic_tags)))
        ]
        if rows:
            connection.execute(sa.insert(topics), rows)
        last_id = batch[-1].id


def upgrade() -> None:
    op.create_table(
        "submission_topics",
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("dialogue_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dialogue_id"],
            ["dialogues.id"],
            name=op.f("fk_submission_topics_dialogue_id_dialogues"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_submission_topics_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("submission_id", "topic", name=op.f("pk_submission_topics")),
    )
    op.create_index(
        "ix_submission_topics_queue",
        "submission_topics",
        ["dialogue_id", "topic", "submission_id"],
        unique=False,
    )
    for name, column in QUEUE_INDEXES.items():
        op.create_index(
            f"ix_submissions_queue_{name}", "submissions", ["dialogue_id", column, "id"]
        )
    _fill_submission_topics()


def downgrade() -> None:
    for name in QUEUE_INDEXES:
        op.drop_index(f"ix_submissions_queue_{name}", table_name="submissions")
    op.drop_index("ix_submission_topics_queue", table_name="submission_topics")
    op.drop_table("submission_topics")
