"""Resets that need two administrators (``portal.services.staff.resets``), on both databases.

The pages' tests (test_admin_pages.py) show the flow through the browser's eyes; these pin the
rule itself: nobody resets alone, nobody approves their own request or their own account, and a
request lapses after ``REQUEST_LIFETIME``.
"""

import pytest
from sqlalchemy import select

from portal.models import StaffResetNotice, StaffResetRequest, StaffRole, StaffUser
from portal.services.staff.accounts import create_staff_account
from portal.services.staff.resets import (
    REQUEST_LIFETIME,
    ResetRefusedError,
    approve_reset,
    pending_resets,
    request_reset,
)
from tests.conftest import ConsultationWorld


def _account(world: ConsultationWorld, name: str, role=StaffRole.TRIAGE_OFFICER) -> StaffUser:
    return create_staff_account(
        world.session,
        email=f"{name}@example.org",
        display_name=name.title(),
        role=role,
        created_by=None,
    ).user


def _people(world: ConsultationWorld) -> tuple[StaffUser, StaffUser, StaffUser]:
    return (
        _account(world, "officer"),
        _account(world, "asker", StaffRole.ADMINISTRATOR),
        _account(world, "approver", StaffRole.ADMINISTRATOR),
    )


def test_a_second_administrator_carries_out_the_reset(consultation_world: ConsultationWorld):
    world = consultation_world
    officer, asker, approver = _people(world)
    old_key = bytes(officer.personal_public_key)
    request_reset(world.session, officer, requested_by=asker)
    assert bytes(officer.personal_public_key) == old_key  # nothing changes on a request

    one_time = approve_reset(world.session, officer, approver=approver)

    assert one_time and bytes(officer.personal_public_key) != old_key
    assert world.session.scalars(select(StaffResetRequest)).first() is None
    notice = world.session.scalars(select(StaffResetNotice)).one()
    assert (notice.requested_by_id, notice.approved_by_id) == (asker.id, approver.id)


@pytest.mark.parametrize("who", ["asker", "owner", "not an administrator"])
def test_nobody_approves_their_own_request_or_account(
    consultation_world: ConsultationWorld, who: str
):
    world = consultation_world
    officer, asker, approver = _people(world)
    target = approver if who == "owner" else officer
    request_reset(world.session, target, requested_by=asker)
    approving = {"asker": asker, "owner": approver, "not an administrator": officer}[who]

    with pytest.raises(ResetRefusedError):
        approve_reset(world.session, target, approver=approving)
    assert world.session.scalars(select(StaffResetNotice)).first() is None


def test_a_lapsed_request_is_not_listed_cannot_be_approved_and_can_be_asked_again(
    consultation_world: ConsultationWorld,
):
    world = consultation_world
    officer, asker, approver = _people(world)
    request_reset(world.session, officer, requested_by=asker)
    with pytest.raises(ResetRefusedError, match="already waiting"):
        request_reset(world.session, officer, requested_by=approver)
    waiting = world.session.scalars(select(StaffResetRequest)).one()
    waiting.requested_at = waiting.requested_at - REQUEST_LIFETIME
    world.session.flush()

    assert pending_resets(world.session) == []
    with pytest.raises(ResetRefusedError, match="lapses"):
        approve_reset(world.session, officer, approver=approver)

    request_reset(world.session, officer, requested_by=approver)
    assert [item.requested_by.id for item in pending_resets(world.session)] == [approver.id]
    assert approve_reset(world.session, officer, approver=asker)
