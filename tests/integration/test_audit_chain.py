"""The audit chain's verification names the first event that was edited, removed or reordered.

Each test makes a fresh instance with plain ``portal init`` (quick: no demo accounts), appends a
few events through ``record_event`` as the portal does, then tampers with the rows in SQL as
someone holding the database would, and checks what ``verify_audit_chain`` reports.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, delete, select, update
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from crypto import audit_digest
from portal.models import AuditEvent, StaffRole, StaffUser
from portal.services.audit.trail import (
    AuditAction,
    ChainHead,
    ChainProblem,
    canonical_encoding,
    chain_head,
    describe_event,
    record_event,
    verify_audit_chain,
)
from tests.conftest import BACKENDS, database_for, portal_environment, run_portal

APPENDED_EVENTS = 8


@dataclass(frozen=True)
class AuditedInstance:
    """A fresh instance whose trail holds the events of ``portal init`` and a few more."""

    environment: dict[str, str | None]
    engine: Engine
    actor_id: int
    last_sequence: int

    def session(self) -> Session:
        return Session(self.engine)

    def event(self, sequence: int) -> AuditEvent:
        with self.session() as session:
            event = session.get(AuditEvent, sequence)
            assert event is not None
            session.expunge(event)
            return event

    def verify(self, expect_head: ChainHead | None = None) -> Any:
        with self.session() as session:
            return verify_audit_chain(session, expect_head=expect_head)

    def head(self) -> ChainHead:
        with self.session() as session:
            current = chain_head(session)
        assert current is not None
        return current

    def update(self, sequence: int, **values: Any) -> None:
        """Change stored columns of one event directly, as an SQL UPDATE would."""
        with self.engine.begin() as connection:
            connection.execute(
                update(AuditEvent.__table__)
                .where(AuditEvent.__table__.c.sequence == sequence)
                .values(**values)
            )

    def delete(self, *sequences: int) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                delete(AuditEvent.__table__).where(AuditEvent.__table__.c.sequence.in_(sequences))
            )

    def swap_rows(self, first: int, second: int) -> None:
        """Give two stored events each other's sequence numbers: the rows change places."""
        column = AuditEvent.__table__.c.sequence
        with self.engine.begin() as connection:
            for old, new in ((first, -1), (second, first), (-1, second)):
                connection.execute(
                    update(AuditEvent.__table__).where(column == old).values(sequence=new)
                )

    def swap_contents(self, first: int, second: int) -> None:
        """Keep the sequence numbers but exchange everything else, hashes included."""
        table = AuditEvent.__table__
        others = [column.name for column in table.c if column.name != "sequence"]
        with self.engine.begin() as connection:
            rows = {
                row.sequence: row
                for row in connection.execute(
                    select(table).where(table.c.sequence.in_((first, second)))
                )
            }
            # The hash is unique: park one row's hash first.
            connection.execute(
                update(table).where(table.c.sequence == first).values(hash=b"\xff" * 32)
            )
            for target, source in ((second, first), (first, second)):
                connection.execute(
                    update(table)
                    .where(table.c.sequence == target)
                    .values({name: getattr(rows[source], name) for name in others})
                )


def _append_events(session: Session) -> int:
    actor = StaffUser(
        email="auditor@example.org",
        display_name="Audit Test",
        role=StaffRole.ADMINISTRATOR,
        login_hash="not-a-hash",
        personal_public_key=bytes(32),
        personal_private_key_wrapped=bytes(90),
        totp_secret_sealed=None,
        last_totp_step=None,
        must_change_passphrase=True,
        active=False,
    )
    session.add(actor)
    session.flush()
    actions = [
        AuditAction.STAFF_SIGNED_IN,
        AuditAction.SUBMISSION_READ,
        AuditAction.SUBMISSION_RISK_ASSESSED,
        AuditAction.MESSAGE_SENT,
        AuditAction.DESK_KEY_GRANTED,
        AuditAction.SUBMISSION_ACCEPTED,
        AuditAction.BUNDLE_EXPORTED,
        AuditAction.STAFF_SIGNED_OUT,
    ]
    assert len(actions) == APPENDED_EVENTS
    for number, action in enumerate(actions, start=1):
        record_event(
            session,
            action=action,
            object_type="submission" if "submission" in action else "staff_user",
            object_id=f"object-{number}",
            actor=actor,
            details={"step": number, "labels": ["a", "b"], "flag": number % 2 == 0},
        )
    session.commit()
    return actor.id


@contextmanager
def audited_instance(backend: str, folder: Path) -> Iterator[AuditedInstance]:
    """A fresh instance on ``backend`` in ``folder`` with a few events appended to its trail."""
    with database_for(backend, folder) as url:
        environment = portal_environment(folder / "instance", url)
        result = run_portal(environment, "init")
        assert result.exit_code == 0, result.output
        engine = create_engine(url, poolclass=NullPool)
        try:
            with Session(engine) as session:
                actor_id = _append_events(session)
                last = session.scalar(select(AuditEvent.sequence).order_by(-AuditEvent.sequence))
            yield AuditedInstance(environment, engine, actor_id, last)
        finally:
            engine.dispose()


@pytest.fixture(params=BACKENDS)
def audited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditedInstance]:
    with audited_instance(request.param, tmp_path) as instance:
        yield instance


def test_an_untouched_trail_is_intact_and_reports_its_head(audited: AuditedInstance) -> None:
    result = audited.verify()

    assert result.intact
    assert result.problem is None and result.description is None
    assert result.events_checked == audited.last_sequence > APPENDED_EVENTS
    last = audited.event(audited.last_sequence)
    assert result.head == ChainHead(last.sequence, bytes(last.hash)) == audited.head()
    assert audited.verify(expect_head=audited.head()).intact
    # An older head kept earlier is still part of a longer trail.
    older = audited.event(3)
    assert audited.verify(expect_head=ChainHead(3, bytes(older.hash))).intact


@pytest.mark.parametrize(
    "change",
    [
        {"details": {"step": 99, "labels": ["a", "b"], "flag": False}},
        {"action": str(AuditAction.SUBMISSION_DECLINED)},
        {"actor_staff_user_id": None},
        {"object_id": "object-else"},
        {"occurred_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC)},
    ],
    ids=["details", "action", "actor", "object", "time"],
)
def test_an_edited_event_is_named(audited: AuditedInstance, change: dict[str, Any]) -> None:
    victim = audited.last_sequence - 4
    audited.update(victim, **change)

    result = audited.verify()

    assert result.first_broken_sequence == victim
    assert result.problem is ChainProblem.EDITED
    assert result.events_checked == victim - 1
    edited = audited.event(victim)
    assert result.description == (
        f"{describe_event(edited)} was edited: its stored fields do not match its hash"
    )
    assert f"event {victim} ({edited.action} on {edited.object_type} {edited.object_id} at " in (
        result.description
    )


def test_an_edited_event_whose_hash_was_recomputed_breaks_the_next_link(
    audited: AuditedInstance,
) -> None:
    victim = audited.last_sequence - 3
    event = audited.event(victim)
    event.details = {"step": 0}
    audited.update(
        victim, details=event.details, hash=audit_digest(event.prev_hash, canonical_encoding(event))
    )

    result = audited.verify()

    assert result.first_broken_sequence == victim + 1
    assert result.problem is ChainProblem.UNLINKED
    assert result.description.startswith(f"{describe_event(audited.event(victim + 1))} does not ")
    assert f"link to event {victim}" in result.description


def test_a_removed_event_is_named_with_the_next_one_found(audited: AuditedInstance) -> None:
    victim = audited.last_sequence - 2
    audited.delete(victim)

    result = audited.verify()

    assert result.first_broken_sequence == victim
    assert result.problem is ChainProblem.MISSING
    assert result.description == (
        f"event {victim} is missing (next found is {describe_event(audited.event(victim + 1))})"
    )


def test_several_removed_events_are_named_as_a_range(audited: AuditedInstance) -> None:
    audited.delete(4, 5, 6)

    result = audited.verify()

    assert (result.first_broken_sequence, result.events_checked) == (4, 3)
    assert result.description.startswith("events 4 to 6 are missing (next found is event 7 (")


def test_the_first_event_removed_is_named(audited: AuditedInstance) -> None:
    audited.delete(1)

    result = audited.verify()

    assert (result.first_broken_sequence, result.events_checked) == (1, 0)
    assert result.description.startswith("event 1 is missing (next found is event 2 (")


def test_reordered_events_are_named_at_the_first(audited: AuditedInstance) -> None:
    first = audited.last_sequence - 5
    moved = audited.event(first + 1)
    audited.swap_rows(first, first + 1)

    result = audited.verify()

    assert result.first_broken_sequence == first
    assert result.problem is ChainProblem.OUT_OF_ORDER
    now_first = audited.event(first)
    assert (now_first.action, now_first.object_id) == (moved.action, moved.object_id)
    assert result.description == (
        f"{describe_event(now_first)} is out of order: it follows event {first + 1} in the "
        f"chain, not event {first - 1} (events were reordered)"
    )


def test_swapped_contents_are_named_at_the_first(audited: AuditedInstance) -> None:
    first, second = audited.last_sequence - 6, audited.last_sequence - 2
    audited.swap_contents(first, second)

    result = audited.verify()

    assert result.first_broken_sequence == first
    assert result.problem is ChainProblem.OUT_OF_ORDER
    assert result.description.startswith(f"{describe_event(audited.event(first))} is out of order")
    assert f"follows event {second - 1} in the chain, not event {first - 1}" in result.description


def test_swapped_fields_with_their_hashes_kept_read_as_edited(audited: AuditedInstance) -> None:
    first, second = audited.last_sequence - 6, audited.last_sequence - 5
    one, other = audited.event(first), audited.event(second)
    audited.update(first, action=other.action, details=other.details)
    audited.update(second, action=one.action, details=one.details)

    result = audited.verify()

    assert (result.first_broken_sequence, result.problem) == (first, ChainProblem.EDITED)


def test_a_replaced_first_link_is_named(audited: AuditedInstance) -> None:
    audited.update(1, prev_hash=b"\x01" * 32)

    result = audited.verify()

    assert (result.first_broken_sequence, result.problem) == (1, ChainProblem.UNLINKED)
    assert "does not link to the start of the trail" in result.description


def test_removing_the_last_events_shows_only_against_a_kept_head(
    audited: AuditedInstance,
) -> None:
    kept = audited.head()
    audited.delete(kept.sequence, kept.sequence - 1)

    # The documented limit: the shorter trail is intact in itself.
    alone = audited.verify()
    assert alone.intact and alone.events_checked == kept.sequence - 2

    result = audited.verify(expect_head=kept)

    assert (result.first_broken_sequence, result.problem) == (
        kept.sequence,
        ChainProblem.HEAD_MISSING,
    )
    assert result.description == (
        f"the kept head event {kept.sequence} ({kept.hash.hex()}) is missing: the trail ends at "
        f"event {kept.sequence - 2}, so events {kept.sequence - 1} to {kept.sequence} were removed"
    )


def test_a_rewritten_tail_shows_against_a_kept_head(audited: AuditedInstance) -> None:
    kept = audited.head()
    last = audited.event(kept.sequence)
    last.details = {"step": 0}
    audited.update(
        kept.sequence,
        details=last.details,
        hash=audit_digest(last.prev_hash, canonical_encoding(last)),
    )
    assert audited.verify().intact

    result = audited.verify(expect_head=kept)

    assert (result.first_broken_sequence, result.problem) == (
        kept.sequence,
        ChainProblem.HEAD_REPLACED,
    )
    assert result.description.startswith(f"{describe_event(audited.event(kept.sequence))} is not")


def test_a_break_is_reported_before_a_kept_head(audited: AuditedInstance) -> None:
    kept = audited.head()
    audited.update(2, object_id="else")

    result = audited.verify(expect_head=kept)

    assert (result.first_broken_sequence, result.problem) == (2, ChainProblem.EDITED)


def test_a_head_reads_back_from_its_text_form() -> None:
    head = ChainHead(42, bytes(range(32)))

    assert ChainHead.parse(str(head)) == head
    assert ChainHead.parse(f"  {head}\n") == head
    for wrong in ("", "42", "42:", "x:" + "00" * 32, "0:" + "00" * 32, "42:" + "00" * 31):
        with pytest.raises(ValueError):
            ChainHead.parse(wrong)
