"""Switching a dialogue to offline review and back, on both databases.

Offline: a new desk key granted to the recovery key alone, the old one retired, every staff
grant of the dialogue deleted (recovery grants kept), so no staff session opens a desk key.
Online again: the recovery key re-grants every desk key to every active content member whose
key was confirmed and has not changed since; a key swapped into the database gets nothing.
"""

import pytest
from sqlalchemy import func, select

import crypto
from portal.models import (
    AuditEvent,
    DeskKey,
    DeskKeyGrant,
    ReviewMode,
    StaffRole,
)
from portal.services.desks.keys import current_desk_key, open_desk_key_grant
from portal.services.desks.need_to_know import DeskKeyUnavailableError, open_desk_key
from portal.services.desks.review_mode import ReviewModeError, switch_to_offline, switch_to_online
from tests.conftest import DESK_AT_REST_KEY as AT_REST_KEY
from tests.conftest import ConsultationWorld, desk_person


def _grants(world: ConsultationWorld, *, staff: bool) -> int:
    column = DeskKeyGrant.recipient_staff_user_id if staff else DeskKeyGrant.recovery_key_id
    return world.session.scalar(
        select(func.count())
        .select_from(DeskKeyGrant)
        .join(DeskKey, DeskKey.id == DeskKeyGrant.desk_key_id)
        .where(DeskKey.dialogue_id == world.dialogue.id, column.is_not(None))
    )


def _actions(world: ConsultationWorld) -> list[str]:
    return list(world.session.scalars(select(AuditEvent.action).order_by(AuditEvent.sequence)))


def test_offline_review_leaves_no_desk_key_open_to_staff_and_online_grants_again(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    officer = desk_person(world, StaffRole.TRIAGE_OFFICER)
    co_chair = desk_person(world, StaffRole.CO_CHAIR)
    gone = desk_person(world, StaffRole.TRIAGE_OFFICER, active=False)
    observer = desk_person(world, StaffRole.OBSERVER)
    swapped = desk_person(world, StaffRole.CO_CHAIR)
    world.session.commit()
    assert open_desk_key(world.session, officer.signed_in(), world.desk_key)
    old_key = world.desk_key

    switch = switch_to_offline(world.session, world.dialogue)
    world.session.commit()

    assert world.dialogue.review_mode is ReviewMode.OFFLINE
    assert old_key.retired_at is not None
    assert current_desk_key(world.session, world.dialogue).id == switch.new_key.id
    assert crypto.public_key_bytes(switch.new_private_key) == switch.new_key.public_key
    assert switch.staff_grants_deleted == 4
    assert _grants(world, staff=True) == 0
    assert _grants(world, staff=False) == 2
    for person in (officer, co_chair):
        for key in (old_key, switch.new_key):
            with pytest.raises(DeskKeyUnavailableError):
                open_desk_key(world.session, person.signed_in(), key)
    actions = _actions(world)
    assert actions[-2:] == ["desk_key.rotated", "dialogue.review_mode_changed"]
    assert "desk_key.created" in actions[-5:] and "identity_key.granted" in actions[-3:]
    with pytest.raises(ReviewModeError, match="already in offline review"):
        switch_to_offline(world.session, world.dialogue)
    world.session.rollback()

    with pytest.raises(ReviewModeError, match="not the recovery key"):
        switch_to_online(
            world.session,
            world.dialogue,
            crypto.generate_private_key(),
            at_rest_key=AT_REST_KEY,
        )
    world.session.rollback()
    assert world.dialogue.review_mode is ReviewMode.OFFLINE
    assert _grants(world, staff=True) == 0

    # While offline, a database writer puts their own key on a confirmed member's account.
    swapped.user.personal_public_key = crypto.public_key_bytes(crypto.generate_private_key())
    world.session.commit()

    outcome = switch_to_online(
        world.session, world.dialogue, world.recovery_private_key, at_rest_key=AT_REST_KEY
    )
    world.session.commit()

    assert world.dialogue.review_mode is ReviewMode.ONLINE
    assert set(outcome.members) == {officer.user.id, co_chair.user.id}
    assert [user.id for user in outcome.not_confirmed] == [swapped.user.id]
    assert (outcome.desk_keys, outcome.grants_made) == (2, 4)
    for person in (officer, co_chair):
        for key in (old_key, switch.new_key):
            opened = open_desk_key(world.session, person.signed_in(), key)
            assert crypto.public_key_bytes(opened) == key.public_key
    for person in (gone, observer, swapped):
        held = world.session.scalars(
            select(DeskKeyGrant).where(DeskKeyGrant.recipient_staff_user_id == person.user.id)
        ).all()
        assert held == []
    assert _actions(world)[-1] == "dialogue.review_mode_changed"
    event = world.session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()
    assert event.details["to"] == "online" and event.details["grants_made"] == 4
    with pytest.raises(ReviewModeError, match="already in online review"):
        switch_to_online(
            world.session, world.dialogue, world.recovery_private_key, at_rest_key=AT_REST_KEY
        )


def test_the_recovery_key_still_opens_every_desk_key_offline(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    switch = switch_to_offline(world.session, world.dialogue)
    world.session.commit()

    for key in (world.desk_key, switch.new_key):
        [grant] = [grant for grant in key.grants if grant.recovery_key_id is not None]
        opened = open_desk_key_grant(grant, world.recovery_private_key)
        assert crypto.public_key_bytes(opened) == key.public_key
