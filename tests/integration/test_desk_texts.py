"""Staff prose of a session, sealed to the desk key and signed (``rounds.desk_texts``)."""

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent, DeskText, DeskTextPurpose, StaffRole
from portal.services.contexts import DeskTextSubject
from portal.services.rounds.desk_texts import (
    DeskTextRefusedError,
    read_desk_texts,
    subject_of,
    write_desk_text,
)
from portal.services.submissions.payload import LONG_TEXT_LIMIT
from portal.services.submissions.provenance import Provenance
from tests.conftest import ConsultationWorld
from tests.desk_world_support import founding_member, plain_case, staff_account

BRIEFING = DeskTextSubject(str(DeskTextPurpose.BRIEFING_POINT), agenda_item_id=None)


def _events(world: ConsultationWorld, action: str) -> int:
    return world.session.scalar(select(func.count()).where(AuditEvent.action == action)) or 0


def test_a_text_is_written_read_back_replaced_and_cleared(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world, "alice")
    bob = founding_member(world, "bob", role=StaffRole.CO_CHAIR)
    case = plain_case(world)
    subject = subject_of(DeskTextPurpose.CASE_REPLY, submission=case)
    row = write_desk_text(
        world.session,
        alice,
        world.dialogue_session,
        subject,
        " The minister replied. ",
        now=world.now,
    )
    assert row is not None and b"minister" not in row.envelope
    read = read_desk_texts(world.session, bob, world.dialogue_session)
    assert read[subject].text == "The minister replied."
    assert (
        read[subject].provenance is Provenance.SIGNED
        and read[subject].row.author_id == alice.user.id
    )
    # Writing again re-seals the same row under the new writer's name.
    again = write_desk_text(
        world.session, bob, world.dialogue_session, subject, "Reply updated.", now=world.now
    )
    assert again is not None and again.id == row.id
    assert read_desk_texts(world.session, alice, world.dialogue_session)[subject].text == (
        "Reply updated."
    )
    assert _events(world, "desk_text.written") == 2
    # Other purposes are asked for apart.
    only = frozenset({DeskTextPurpose.BRIEFING_POINT})
    assert read_desk_texts(world.session, alice, world.dialogue_session, only) == {}
    assert (
        write_desk_text(world.session, bob, world.dialogue_session, subject, "  ", now=world.now)
        is None
    )
    assert world.session.scalar(select(func.count()).select_from(DeskText)) == 0
    assert _events(world, "desk_text.cleared") == 1


def test_refused_texts_store_nothing(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    alice = founding_member(world, "alice")
    outsider = staff_account(world, "olga", StaffRole.CO_CHAIR)
    with pytest.raises(DeskTextRefusedError, match="at most"):
        write_desk_text(
            world.session,
            alice,
            world.dialogue_session,
            BRIEFING,
            "x" * (LONG_TEXT_LIMIT + 1),
            now=world.now,
        )
    with pytest.raises(DeskTextRefusedError, match="grant"):
        write_desk_text(
            world.session, outsider, world.dialogue_session, BRIEFING, "Points.", now=world.now
        )
    missing = DeskTextSubject(str(DeskTextPurpose.CASE_REPLY), None, "Z" * 22)
    with pytest.raises(DeskTextRefusedError, match="does not exist"):
        write_desk_text(
            world.session, alice, world.dialogue_session, missing, "Reply.", now=world.now
        )
    world.session.rollback()
    assert world.session.scalar(select(func.count()).select_from(DeskText)) == 0


def test_a_text_moved_or_reattributed_does_not_verify_and_is_never_shown(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world, "alice")
    bob = founding_member(world, "bob", role=StaffRole.CO_CHAIR)
    case = plain_case(world)
    reply = subject_of(DeskTextPurpose.CASE_REPLY, submission=case)
    written = write_desk_text(
        world.session, alice, world.dialogue_session, reply, "Said.", now=world.now
    )
    assert written is not None
    # Re-attributed to a colleague: the context names the author.
    written.author_id = bob.user.id
    world.session.flush()
    read = read_desk_texts(world.session, bob, world.dialogue_session)[reply]
    assert read.provenance is Provenance.UNVERIFIED and read.text == ""
    written.author_id = alice.user.id
    # Moved to another purpose: the context names the subject.
    written.purpose = DeskTextPurpose.BRIEFING_POINT
    world.session.flush()
    moved = subject_of(DeskTextPurpose.BRIEFING_POINT, submission=case)
    assert not read_desk_texts(world.session, bob, world.dialogue_session)[moved].usable
    assert _events(world, "item.unverified") == 2


def test_a_reader_without_the_desk_key_reads_nothing(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    alice = founding_member(world, "alice")
    outsider = staff_account(world, "olga", StaffRole.CO_CHAIR)
    write_desk_text(
        world.session, alice, world.dialogue_session, BRIEFING, "Points.", now=world.now
    )
    assert read_desk_texts(world.session, outsider, world.dialogue_session) == {}
