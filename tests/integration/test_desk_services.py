"""Desk rules (``portal.services.desks.membership``) and audit listing
(``portal.services.audit.listing``).

On both databases: a grant seals every desk key the granter can open and the new member then
reads the desk's submissions; removal deletes grants; rotation keeps old submissions readable and
sends new ones to the new key; an administrator's assignment grants nothing, and an administrator
reads nothing by role.
"""

import secrets

import pytest
from sqlalchemy import select

import crypto
from portal.models import (
    AuditEvent,
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    ReviewMode,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
)
from portal.services.audit.listing import list_events, record_audit_view
from portal.services.audit.trail import AuditAction, record_event, verify_audit_chain
from portal.services.contexts import (
    SubmissionAddress,
    new_public_id,
    submission_context,
)
from portal.services.desks.keys import current_desk_key, grant_desk_access
from portal.services.desks.membership import (
    DeskActionError,
    LastKeyHolderError,
    MemberKeys,
    RecoveryKeys,
    assign_member,
    awaiting_desks,
    candidates_for_grant,
    desk_members,
    desk_sizes,
    grant_member,
    member_desks,
    remove_member,
    rotate_desk_key,
)
from portal.services.desks.need_to_know import (
    DeskKeyUnavailableError,
    NotOnDeskError,
    is_desk_member,
    open_desk_key,
)
from portal.services.desks.review_mode import switch_to_offline
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.submitters import register_submitter
from tests.conftest import ConsultationWorld

# Argon2 at its cheapest: these tests never unwrap the personal key from the passphrase.
CHEAP_ARGON2 = crypto.Argon2Params(memory_kib=8, iterations=1, lanes=1)


def _staff(world: ConsultationWorld, name: str, role=StaffRole.TRIAGE_OFFICER) -> SignedInStaff:
    """An enrolled account and the signed-in form its session would give."""
    key = crypto.generate_private_key()
    user = StaffUser(
        email=f"{name}@example.org",
        display_name=name.title(),
        role=role,
        login_hash="unused",
        personal_public_key=crypto.public_key_bytes(key),
        personal_private_key_wrapped=crypto.wrap_private_key(key, "passphrase-x", CHEAP_ARGON2),
        totp_secret_sealed=None,
        last_totp_step=None,
        must_change_passphrase=False,
        active=True,
    )
    world.session.add(user)
    world.session.flush()
    return SignedInStaff(
        user=user,
        session_reference=f"test-{name}",
        personal_key_bytes=crypto.private_key_bytes(key),
    )


def _founding_member(world: ConsultationWorld, name: str = "alice") -> SignedInStaff:
    """A member granted the first desk key by the set-up, as ``portal init --demo`` does."""
    member = _staff(world, name)
    grant_desk_access(
        world.session,
        desk_key=world.desk_key,
        desk_private_key=world.desk_private_key,
        member=member.user,
        granted_by=None,
    )
    return member


def _submission(world: ConsultationWorld) -> Submission:
    submitter = register_submitter(
        world.session,
        world.pepper,
        login_secret=secrets.token_bytes(32),
        public_key=crypto.public_key_bytes(crypto.generate_private_key()),
        today=world.now.date(),
    )
    address = submission_address(
        world.session,
        dialogue=world.dialogue,
        dialogue_session=world.dialogue_session,
        kind=SubmissionKind.INDIVIDUAL_CASE,
        public_id=new_public_id(),
        now=world.now,
    )
    return accept_plain_submission(
        world.session,
        address=address,
        submitter=submitter,
        form={
            "topics": ["human_rights_defenders"],
            "contact_through_portal": False,
            "women_hrd": False,
            "persons": [
                {
                    "name": "A. Defender",
                    "consent": {
                        "level": "raise_by_name",
                        "given_by": "person",
                        "risks_explained": True,
                    },
                }
            ],
            "place": "Capital",
            "situation": "Detained since spring.",
            "relation_to_person": "colleague",
        },
        today=world.now.date(),
    )


def _reads(world: ConsultationWorld, member: SignedInStaff, submission: Submission) -> bytes:
    """The submission's plaintext, opened the way a desk page does: with the member's grant."""
    desk_private_key = open_desk_key(world.session, member, submission.desk_key)
    context = submission_context(SubmissionAddress.of(submission))
    return crypto.open_envelope(submission.envelope, desk_private_key, context)


def _grants(world: ConsultationWorld, user: StaffUser) -> list[DeskKeyGrant]:
    return list(
        world.session.scalars(
            select(DeskKeyGrant)
            .join(DeskKey, DeskKey.id == DeskKeyGrant.desk_key_id)
            .where(
                DeskKeyGrant.recipient_staff_user_id == user.id,
                DeskKey.dialogue_id == world.dialogue.id,
            )
        )
    )


def _actions(world: ConsultationWorld, after: int) -> list[str]:
    return list(
        world.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.sequence > after)
            .order_by(AuditEvent.sequence)
        )
    )


def _last_sequence(world: ConsultationWorld) -> int:
    return world.session.scalar(select(AuditEvent.sequence).order_by(AuditEvent.sequence.desc()))


# --- granting ----------------------------------------------------------------------------------


def test_a_new_member_granted_by_a_member_reads_the_desks_submissions(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    bob = _staff(world, "bob")
    submission = _submission(world)
    with pytest.raises(NotOnDeskError):
        _reads(world, bob, submission)
    before = _last_sequence(world)

    outcome = grant_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))

    assert outcome.membership_created and outcome.keys_granted == 1
    assert is_desk_member(world.session, bob.user, world.dialogue)
    assert _reads(world, bob, submission).startswith(b"{")
    assert _actions(world, before) == [AuditAction.DESK_KEY_GRANTED, AuditAction.DESK_MEMBER_ADDED]
    added = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DESK_MEMBER_ADDED)
    ).one()
    assert added.actor_staff_user_id == alice.user.id
    assert added.dialogue_id == world.dialogue.id
    assert added.details["staff_user_id"] == bob.user.id
    world.session.commit()
    assert verify_audit_chain(world.session).intact


def test_a_grant_seals_every_desk_key_the_granter_holds_retired_ones_too(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    old_submission = _submission(world)
    rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(alice))
    new_submission = _submission(world)
    bob = _staff(world, "bob")

    outcome = grant_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))

    assert outcome.keys_granted == 2
    assert {grant.desk_key_id for grant in _grants(world, bob.user)} == {
        old_submission.desk_key_id,
        new_submission.desk_key_id,
    }
    assert old_submission.desk_key_id != new_submission.desk_key_id
    assert _reads(world, bob, old_submission).startswith(b"{")
    assert _reads(world, bob, new_submission).startswith(b"{")


def test_granting_again_is_refused_and_the_granter_must_hold_the_key(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    bob = _staff(world, "bob")
    carol = _staff(world, "carol")
    grant_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))

    with pytest.raises(DeskActionError, match="already holds"):
        grant_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))
    # Carol is not on the desk: she opens no key, so she can grant none.
    with pytest.raises(DeskActionError, match="cannot open"):
        grant_member(world.session, world.dialogue, carol.user, keys=MemberKeys(carol))
    assert not is_desk_member(world.session, carol.user, world.dialogue)


@pytest.mark.parametrize("problem", ["observer", "deactivated", "offline"])
def test_grants_that_must_not_be_made_are_refused(
    consultation_world: ConsultationWorld, problem: str
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    role = StaffRole.OBSERVER if problem == "observer" else StaffRole.CO_CHAIR
    bob = _staff(world, "bob", role)
    if problem == "deactivated":
        bob.user.active = False
    if problem == "offline":
        world.dialogue.review_mode = ReviewMode.OFFLINE
    world.session.commit()

    with pytest.raises(DeskActionError):
        grant_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))
    world.session.rollback()
    assert _grants(world, bob.user) == []
    assert not world.session.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == bob.user.id)
    ).all()


def test_a_member_awaiting_the_key_after_a_reset_is_granted_it_again(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    bob = _founding_member(world, "bob")
    submission = _submission(world)
    # A reset gives Bob a new personal key; a grant sealed to the old one never opens again.
    new_key = crypto.generate_private_key()
    bob.user.personal_public_key = crypto.public_key_bytes(new_key)
    bob = SignedInStaff(bob.user, "test-bob-2", crypto.private_key_bytes(new_key))
    assert [m.awaiting_key for m in desk_members(world.session, world.dialogue)] == [False, True]
    assert awaiting_desks(world.session, [bob.user])[bob.user.id] == [("valdoria", True)]
    with pytest.raises(DeskKeyUnavailableError):
        _reads(world, bob, submission)

    outcome = grant_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))

    assert not outcome.membership_created and outcome.keys_granted == 1
    assert len(_grants(world, bob.user)) == 1
    assert _reads(world, bob, submission).startswith(b"{")
    assert not any(m.awaiting_key for m in desk_members(world.session, world.dialogue))


def test_the_recovery_key_grants_like_a_member(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    bob = _staff(world, "bob")
    submission = _submission(world)
    before = _last_sequence(world)

    grant_member(
        world.session, world.dialogue, bob.user, keys=RecoveryKeys(world.recovery_private_key)
    )

    assert _reads(world, bob, submission).startswith(b"{")
    added = world.session.scalars(
        select(AuditEvent).where(
            AuditEvent.sequence > before, AuditEvent.action == AuditAction.DESK_MEMBER_ADDED
        )
    ).one()
    assert added.actor_staff_user_id is None and added.details["by"] == "recovery_key"
    # Another instance's recovery key opens nothing here.
    with pytest.raises(DeskActionError, match="cannot open"):
        grant_member(
            world.session,
            world.dialogue,
            _staff(world, "carol").user,
            keys=RecoveryKeys(crypto.generate_private_key()),
        )


# --- administrators ----------------------------------------------------------------------------


def test_an_administrators_assignment_grants_no_key(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    alice = _founding_member(world)
    admin = _staff(world, "admin", StaffRole.ADMINISTRATOR)
    dora = _staff(world, "dora", StaffRole.CO_CHAIR)
    submission = _submission(world)
    before = _last_sequence(world)

    assign_member(world.session, world.dialogue, dora.user, actor=admin.user)

    assert is_desk_member(world.session, dora.user, world.dialogue)
    assert _grants(world, dora.user) == []
    with pytest.raises(DeskKeyUnavailableError):
        _reads(world, dora, submission)
    assert _actions(world, before) == [AuditAction.DESK_MEMBER_ADDED]
    awaiting = {m.user.id: m.awaiting_key for m in desk_members(world.session, world.dialogue)}
    assert awaiting == {alice.user.id: False, dora.user.id: True}
    # A desk member then grants the key, and Dora reads.
    grant_member(world.session, world.dialogue, dora.user, keys=MemberKeys(alice))
    assert _reads(world, dora, submission).startswith(b"{")


def test_an_administrator_reads_nothing_by_role_and_cannot_hand_out_keys(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    _founding_member(world)
    admin = _staff(world, "admin", StaffRole.ADMINISTRATOR)
    eve = _staff(world, "eve")
    submission = _submission(world)

    with pytest.raises(NotOnDeskError):
        _reads(world, admin, submission)
    with pytest.raises(DeskActionError, match="cannot open"):
        grant_member(world.session, world.dialogue, eve.user, keys=MemberKeys(admin))
    # Putting themselves on the desk gives them a membership and still no key.
    assign_member(world.session, world.dialogue, admin.user, actor=admin.user)
    with pytest.raises(DeskKeyUnavailableError):
        _reads(world, admin, submission)
    with pytest.raises(DeskActionError, match="cannot open"):
        grant_member(world.session, world.dialogue, eve.user, keys=MemberKeys(admin))
    with pytest.raises(DeskActionError, match="cannot open"):
        rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(admin))
    assert _grants(world, admin.user) == [] and _grants(world, eve.user) == []


def test_assignment_refuses_observers_and_members_already_on_the_desk(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    observer = _staff(world, "olga", StaffRole.OBSERVER)

    with pytest.raises(DeskActionError, match="never reads"):
        assign_member(world.session, world.dialogue, observer.user, actor=None)
    with pytest.raises(DeskActionError, match="already on the desk"):
        assign_member(world.session, world.dialogue, alice.user, actor=None)
    assert observer.user not in candidates_for_grant(world.session, world.dialogue)
    assert alice.user not in candidates_for_grant(world.session, world.dialogue)


# --- removing ----------------------------------------------------------------------------------


def test_removing_a_member_deletes_all_their_grants_of_the_desk(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    bob = _staff(world, "bob")
    rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(alice))
    grant_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))
    submission = _submission(world)
    assert len(_grants(world, bob.user)) == 2
    before = _last_sequence(world)

    deleted = remove_member(world.session, world.dialogue, bob.user, actor=alice.user)

    assert deleted == 2
    assert _grants(world, bob.user) == []
    assert not is_desk_member(world.session, bob.user, world.dialogue)
    with pytest.raises(NotOnDeskError):
        _reads(world, bob, submission)
    assert _reads(world, alice, submission).startswith(b"{")
    removed = world.session.scalars(select(AuditEvent).where(AuditEvent.sequence > before)).one()
    assert removed.action == AuditAction.DESK_MEMBER_REMOVED
    assert removed.details == {"staff_user_id": bob.user.id, "grants_deleted": 2}


def test_removing_the_last_key_holder_needs_confirmation(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    dora = _staff(world, "dora")
    assign_member(world.session, world.dialogue, dora.user, actor=None)
    submission = _submission(world)

    with pytest.raises(LastKeyHolderError):
        remove_member(world.session, world.dialogue, alice.user, actor=alice.user)
    # A member awaiting the key may go without confirmation: the holder stays.
    remove_member(world.session, world.dialogue, dora.user, actor=alice.user)

    remove_member(
        world.session,
        world.dialogue,
        alice.user,
        actor=alice.user,
        confirm_last_key_holder=True,
    )
    assert desk_members(world.session, world.dialogue) == []
    # The recovery key still opens everything and can grant the desk again.
    grant_member(
        world.session, world.dialogue, dora.user, keys=RecoveryKeys(world.recovery_private_key)
    )
    assert _reads(world, dora, submission).startswith(b"{")
    with pytest.raises(DeskActionError, match="not on the desk"):
        remove_member(world.session, world.dialogue, alice.user, actor=None)


# --- rotating ----------------------------------------------------------------------------------


def test_rotation_keeps_old_submissions_readable_and_new_ones_use_the_new_key(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    bob = _founding_member(world, "bob")
    dora = _staff(world, "dora")
    assign_member(world.session, world.dialogue, dora.user, actor=None)
    old_submission = _submission(world)
    old_key = current_desk_key(world.session, world.dialogue)
    before = _last_sequence(world)

    outcome = rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(alice))

    assert outcome.old_key.id == old_key.id and old_key.retired_at is not None
    assert current_desk_key(world.session, world.dialogue).id == outcome.new_key.id
    assert {user.id for user in outcome.granted_to} == {alice.user.id, bob.user.id}
    new_submission = _submission(world)
    assert new_submission.desk_key_id == outcome.new_key.id
    for member in (alice, bob):
        assert _reads(world, member, old_submission).startswith(b"{")
        assert _reads(world, member, new_submission).startswith(b"{")
    assert _grants(world, dora.user) == []
    # The recovery key holds the new key too.
    recovery = RecoveryKeys(world.recovery_private_key)
    assert recovery.open(world.session, outcome.new_key) is not None
    actions = _actions(world, before)
    assert actions[0] == AuditAction.DESK_KEY_CREATED
    assert actions[-1] == AuditAction.DESK_KEY_ROTATED
    assert actions.count(AuditAction.DESK_KEY_GRANTED) == 3  # recovery key, Alice, Bob
    rotated = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DESK_KEY_ROTATED)
    ).one()
    assert rotated.details["old_key_id"] == old_key.key_id.hex()
    assert rotated.details["new_key_id"] == outcome.new_key.key_id.hex()
    world.session.commit()
    assert verify_audit_chain(world.session).intact


def test_rotation_by_the_recovery_key_and_refusals(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    alice = _founding_member(world)
    bob = _staff(world, "bob")

    outcome = rotate_desk_key(
        world.session, world.dialogue, keys=RecoveryKeys(world.recovery_private_key)
    )
    assert [user.id for user in outcome.granted_to] == [alice.user.id]
    with pytest.raises(DeskActionError, match="cannot open"):
        rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(bob))
    world.dialogue.review_mode = ReviewMode.OFFLINE
    with pytest.raises(DeskActionError, match="offline"):
        rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(alice))


# --- the audit listing -------------------------------------------------------------------------


def test_audit_pages_are_newest_first_keyset_paginated_and_filtered(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = _founding_member(world)
    for number in range(5):
        record_event(
            world.session,
            action=AuditAction.SUBMISSION_READ,
            object_type="submission",
            object_id=f"s{number}",
            actor=alice.user,
            dialogue=world.dialogue,
        )
    world.session.commit()
    total = world.session.scalar(select(AuditEvent.sequence).order_by(AuditEvent.sequence.desc()))

    seen: list[int] = []
    before = None
    while True:
        page = list_events(world.session, before=before, limit=3)
        seen.extend(entry.event.sequence for entry in page.entries)
        if page.next_before is None:
            break
        before = page.next_before
    assert seen == list(range(total, 0, -1))

    reads = list_events(world.session, action=str(AuditAction.SUBMISSION_READ))
    assert [entry.event.object_id for entry in reads.entries] == [f"s{n}" for n in range(4, -1, -1)]
    assert reads.entries[0].actor_name == "Alice"
    assert reads.entries[0].dialogue_slug == "valdoria"
    frozen = list_events(world.session, dialogue_id=world.frozen_dialogue.id)
    assert {entry.dialogue_slug for entry in frozen.entries} == {"marenland"}
    assert all(entry.event.dialogue_id == world.frozen_dialogue.id for entry in frozen.entries)

    record_audit_view(world.session, alice.user, before=None, action=None, dialogue=world.dialogue)
    viewed = list_events(world.session, limit=1).entries[0]
    assert viewed.event.action == AuditAction.AUDIT_LOG_VIEWED
    assert viewed.event.dialogue_id is None
    assert viewed.event.details["filter_dialogue_id"] == world.dialogue.id


def test_in_offline_review_nobody_awaits_a_key(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    alice = _founding_member(world)
    world.dialogue.review_mode = ReviewMode.OFFLINE
    for grant in _grants(world, alice.user):
        world.session.delete(grant)
    world.session.flush()

    [member] = desk_members(world.session, world.dialogue)

    assert not member.holds_current_key and not member.awaiting_key
    assert awaiting_desks(world.session, [alice.user])[alice.user.id] == [("valdoria", False)]


def test_every_page_agrees_who_awaits_the_desk_key_online_and_offline(
    consultation_world: ConsultationWorld,
) -> None:
    """The account page (``member_desks``), the administration pages (``awaiting_desks``) and
    the desk page (``desk_members``) used to disagree after a switch to offline review: the
    account page still said "awaiting a key grant", though nobody holds the key offline."""
    world = consultation_world
    holder = _staff(world, "holder").user
    newcomer = _staff(world, "newcomer").user
    grant_member(
        world.session, world.dialogue, holder, keys=RecoveryKeys(world.recovery_private_key)
    )
    assign_member(world.session, world.dialogue, newcomer, actor=None)

    def awaiting(user: StaffUser) -> tuple[bool, bool, bool]:
        account = [desk.awaiting_key for desk in member_desks(world.session, [user])[user.id]]
        admin = [awaits for _slug, awaits in awaiting_desks(world.session, [user])[user.id]]
        desk = [
            m.awaiting_key for m in desk_members(world.session, world.dialogue) if m.user is user
        ]
        assert len(account) == len(admin) == len(desk) == 1
        return account[0], admin[0], desk[0]

    assert awaiting(holder) == (False, False, False)
    assert awaiting(newcomer) == (True, True, True)

    switch_to_offline(world.session, world.dialogue)
    world.session.flush()

    assert awaiting(holder) == (False, False, False)
    assert awaiting(newcomer) == (False, False, False)


def test_desk_sizes_count_members_per_dialogue(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    for name in ("one", "two"):
        assign_member(world.session, world.dialogue, _staff(world, name).user, actor=None)

    sizes = desk_sizes(world.session)

    assert sizes[world.dialogue.id] == 2
    assert world.frozen_dialogue.id not in sizes
