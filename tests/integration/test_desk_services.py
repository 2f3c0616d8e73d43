"""Desk rules (``portal.services.desks.membership``) and audit listing
(``portal.services.audit.listing``).

On both databases: a grant seals every desk key the granter can open and the new member then
reads the desk's submissions; removal deletes grants; rotation keeps old submissions readable and
sends new ones to the new key; an administrator's assignment grants nothing, and an administrator
reads nothing by role.
"""

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
)
from portal.services.audit.listing import list_events, record_audit_view
from portal.services.audit.trail import AuditAction, record_event, verify_audit_chain
from portal.services.contexts import (
    SubmissionAddress,
    desk_key_grant_context,
    signed_submission_context,
)
from portal.services.desks.confirmations import KeyConfirmation
from portal.services.desks.keys import current_desk_key
from portal.services.desks.membership import (
    DeskActionError,
    FingerprintMismatchError,
    LastKeyHolderError,
    MemberKeys,
    NotKeyHolderError,
    RecoveryKeys,
    WithoutKeys,
    assign_member,
    awaiting_desks,
    candidates_for_grant,
    desk_members,
    desk_sizes,
    grant_member,
    member_desks,
    membership_of,
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
from portal.services.staff.fingerprints import matches_short_fingerprint, short_fingerprint
from portal.services.staff.web_sessions import SignedInStaff
from tests.conftest import ConsultationWorld
from tests.desk_world_support import (
    AT_REST_KEY,
    confirmed_key,
    founding_member,
    plain_case,
    staff_account,
)


def _reads(world: ConsultationWorld, member: SignedInStaff, submission: Submission) -> bytes:
    """The submission's plaintext, opened the way a desk page does: with the member's grant."""
    desk_private_key = open_desk_key(world.session, member, submission.desk_key)
    context = signed_submission_context(SubmissionAddress.of(submission))
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
    alice = founding_member(world)
    bob = staff_account(world, "bob")
    submission = plain_case(world)
    with pytest.raises(NotOnDeskError):
        _reads(world, bob, submission)
    before = _last_sequence(world)

    outcome = grant_member(
        world.session,
        world.dialogue,
        bob.user,
        keys=MemberKeys(alice),
        **confirmed_key(bob.user),
    )

    assert outcome.membership_created and outcome.keys_granted == 1
    assert is_desk_member(world.session, bob.user, world.dialogue)
    assert _reads(world, bob, submission).startswith(b"{")
    assert _actions(world, before) == [
        AuditAction.DESK_KEY_GRANTED,
        AuditAction.DESK_MEMBER_ADDED,
        AuditAction.DESK_MEMBER_KEY_CONFIRMED,
    ]
    confirmed = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DESK_MEMBER_KEY_CONFIRMED)
    ).one()
    assert confirmed.details["fingerprint"] == crypto.fingerprint(bob.user.personal_public_key)
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
    alice = founding_member(world)
    old_submission = plain_case(world)
    rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(alice), at_rest_key=AT_REST_KEY)
    new_submission = plain_case(world)
    bob = staff_account(world, "bob")

    outcome = grant_member(
        world.session,
        world.dialogue,
        bob.user,
        keys=MemberKeys(alice),
        **confirmed_key(bob.user),
    )

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
    alice = founding_member(world)
    bob = staff_account(world, "bob")
    carol = staff_account(world, "carol")
    grant_member(
        world.session,
        world.dialogue,
        bob.user,
        keys=MemberKeys(alice),
        **confirmed_key(bob.user),
    )

    with pytest.raises(DeskActionError, match="already holds"):
        grant_member(
            world.session,
            world.dialogue,
            bob.user,
            keys=MemberKeys(alice),
            **confirmed_key(bob.user),
        )
    # Carol is not on the desk: she opens no key, so she can grant none.
    with pytest.raises(DeskActionError, match="cannot open"):
        grant_member(
            world.session,
            world.dialogue,
            carol.user,
            keys=MemberKeys(carol),
            **confirmed_key(carol.user),
        )
    assert not is_desk_member(world.session, carol.user, world.dialogue)


@pytest.mark.parametrize("problem", ["observer", "deactivated", "offline"])
def test_grants_that_must_not_be_made_are_refused(
    consultation_world: ConsultationWorld, problem: str
) -> None:
    world = consultation_world
    alice = founding_member(world)
    role = StaffRole.OBSERVER if problem == "observer" else StaffRole.CO_CHAIR
    bob = staff_account(world, "bob", role)
    if problem == "deactivated":
        bob.user.active = False
    if problem == "offline":
        world.dialogue.review_mode = ReviewMode.OFFLINE
    world.session.commit()

    with pytest.raises(DeskActionError):
        grant_member(
            world.session,
            world.dialogue,
            bob.user,
            keys=MemberKeys(alice),
            **confirmed_key(bob.user),
        )
    world.session.rollback()
    assert _grants(world, bob.user) == []
    assert not world.session.scalars(
        select(DeskMembership).where(DeskMembership.staff_user_id == bob.user.id)
    ).all()


def test_a_member_awaiting_the_key_after_a_reset_is_granted_it_again(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world)
    bob = founding_member(world, "bob")
    submission = plain_case(world)
    # A reset gives Bob a new personal key; a grant sealed to the old one never opens again.
    new_key = crypto.generate_private_key()
    bob.user.personal_public_key = crypto.public_key_bytes(new_key)
    bob = SignedInStaff(bob.user, "test-bob-2", crypto.private_key_bytes(new_key))
    assert [
        m.awaiting_key for m in desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY)
    ] == [False, True]
    assert awaiting_desks(world.session, [bob.user])[bob.user.id] == [("valdoria", True)]
    with pytest.raises(DeskKeyUnavailableError):
        _reads(world, bob, submission)

    outcome = grant_member(
        world.session,
        world.dialogue,
        bob.user,
        keys=MemberKeys(alice),
        **confirmed_key(bob.user),
    )

    assert not outcome.membership_created and outcome.keys_granted == 1
    assert len(_grants(world, bob.user)) == 1
    assert _reads(world, bob, submission).startswith(b"{")
    assert not any(
        m.awaiting_key for m in desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY)
    )


def test_the_recovery_key_grants_like_a_member(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    bob = staff_account(world, "bob")
    submission = plain_case(world)
    before = _last_sequence(world)

    grant_member(
        world.session,
        world.dialogue,
        bob.user,
        keys=RecoveryKeys(world.recovery_private_key),
        **confirmed_key(bob.user),
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
        carol = staff_account(world, "carol").user
        grant_member(
            world.session,
            world.dialogue,
            carol,
            keys=RecoveryKeys(crypto.generate_private_key()),
            **confirmed_key(carol),
        )


# --- confirmed keys: the database writer ---------------------------------------------------------


def test_a_key_swapped_into_the_database_is_refused_and_nothing_is_granted(
    consultation_world: ConsultationWorld,
) -> None:
    """Bob awaits the key; someone who can write rows puts their own key on his account. The
    granter types the digits Bob read out from his page: they are not the swapped key's."""
    world = consultation_world
    alice = founding_member(world)
    bob = staff_account(world, "bob")
    assign_member(world.session, world.dialogue, bob.user, actor=None)
    bobs_digits = short_fingerprint(bob.user.personal_public_key)
    shown = crypto.fingerprint(bob.user.personal_public_key)
    before = _last_sequence(world)
    intruder = crypto.public_key_bytes(crypto.generate_private_key())
    bob.user.personal_public_key = intruder
    world.session.flush()

    with pytest.raises(FingerprintMismatchError, match="not the fingerprint"):
        grant_member(
            world.session,
            world.dialogue,
            bob.user,
            keys=MemberKeys(alice),
            typed_fingerprint=bobs_digits,
            at_rest_key=AT_REST_KEY,
        )
    # Even digits that match the swapped key are refused when the page showed Bob's key.
    with pytest.raises(FingerprintMismatchError, match="changed since the page was shown"):
        grant_member(
            world.session,
            world.dialogue,
            bob.user,
            keys=MemberKeys(alice),
            typed_fingerprint=short_fingerprint(intruder),
            shown_fingerprint=shown,
            at_rest_key=AT_REST_KEY,
        )
    assert _grants(world, bob.user) == []
    assert _actions(world, before) == []


def test_the_short_fingerprint_ignores_spacing_and_nothing_else() -> None:
    public_key = crypto.public_key_bytes(crypto.generate_private_key())
    digits = short_fingerprint(public_key)
    assert len(digits) == 35 and digits.replace(" ", "").isdigit()
    value = int(crypto.fingerprint(public_key).replace(" ", ""), 16) % 10**30
    assert digits.replace(" ", "") == f"{value:030d}"
    assert matches_short_fingerprint(public_key, digits.replace(" ", "-"))
    assert matches_short_fingerprint(public_key, " " + digits.replace(" ", "") + " ")
    assert not matches_short_fingerprint(public_key, digits[:-1])
    assert not matches_short_fingerprint(public_key, digits + "0")
    assert not matches_short_fingerprint(public_key, "")


def test_rotation_grants_only_keys_that_were_confirmed_and_have_not_changed(
    consultation_world: ConsultationWorld,
) -> None:
    """A database writer swaps Bob's key and rewrites his grant to name it, and copies Alice's
    confirmation onto Carol's membership: rotation gives neither the new key. Dora's membership
    predates confirmations: she keeps reading the old key but waits for a confirmed grant."""
    world = consultation_world
    alice = founding_member(world)
    bob = founding_member(world, "bob")
    carol = founding_member(world, "carol")
    dora = founding_member(world, "dora", confirmed=False)
    intruder = crypto.public_key_bytes(crypto.generate_private_key())
    [bobs_grant] = _grants(world, bob.user)
    bob.user.personal_public_key = intruder
    bobs_grant.envelope = crypto.seal_envelope(
        b"not the desk key",
        [intruder],
        desk_key_grant_context(world.dialogue.slug, world.desk_key.key_id),
    )
    membership_of(world.session, world.dialogue, carol.user).key_confirmation = membership_of(
        world.session, world.dialogue, alice.user
    ).key_confirmation
    world.session.flush()
    states = {
        m.user.id: (m.holds_current_key, m.confirmation)
        for m in desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY)
    }
    assert states == {
        alice.user.id: (True, KeyConfirmation.CONFIRMED),
        bob.user.id: (True, KeyConfirmation.CHANGED),
        carol.user.id: (True, KeyConfirmation.CHANGED),
        dora.user.id: (True, KeyConfirmation.UNCONFIRMED),
    }

    outcome = rotate_desk_key(
        world.session, world.dialogue, keys=MemberKeys(alice), at_rest_key=AT_REST_KEY
    )

    assert [user.id for user in outcome.granted_to] == [alice.user.id]
    assert {user.id for user in outcome.not_confirmed} == {bob.user.id, carol.user.id, dora.user.id}
    new_key = outcome.new_key
    assert [g.recipient_staff_user_id for g in new_key.grants if g.recipient_staff_user_id] == [
        alice.user.id
    ]
    rotated = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.DESK_KEY_ROTATED)
    ).one()
    assert set(rotated.details["not_confirmed"]) == {bob.user.id, carol.user.id, dora.user.id}
    # Confirming Dora's key with her grants her the new key; her old grant stays.
    outcome = grant_member(
        world.session, world.dialogue, dora.user, keys=MemberKeys(alice), **confirmed_key(dora.user)
    )
    assert outcome.keys_granted == 1


def test_a_holder_whose_key_was_never_confirmed_is_confirmed_without_a_new_grant(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world)
    dora = founding_member(world, "dora", confirmed=False)

    outcome = grant_member(
        world.session, world.dialogue, dora.user, keys=MemberKeys(alice), **confirmed_key(dora.user)
    )

    assert outcome.keys_granted == 0 and not outcome.membership_created
    [member] = [
        m
        for m in desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY)
        if m.user.id == dora.user.id
    ]
    assert member.confirmation is KeyConfirmation.CONFIRMED
    with pytest.raises(DeskActionError, match="already holds"):
        grant_member(
            world.session,
            world.dialogue,
            dora.user,
            keys=MemberKeys(alice),
            **confirmed_key(dora.user),
        )


def test_only_a_key_holder_removes_a_member_who_holds_the_key(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world)
    bob = founding_member(world, "bob")
    admin = staff_account(world, "admin", StaffRole.ADMINISTRATOR)
    dora = staff_account(world, "dora")
    for user in (admin.user, dora.user):
        assign_member(world.session, world.dialogue, user, actor=None)
    before = _last_sequence(world)

    for outsider in (MemberKeys(admin), MemberKeys(dora), WithoutKeys()):
        with pytest.raises(NotKeyHolderError, match="only someone who holds it"):
            remove_member(world.session, world.dialogue, bob.user, keys=outsider)
    assert _actions(world, before) == []
    assert len(_grants(world, bob.user)) == 1
    # Someone off the key may still take off a member who awaits it, and a holder a holder.
    remove_member(world.session, world.dialogue, dora.user, keys=MemberKeys(admin))
    remove_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))
    assert _grants(world, bob.user) == []


# --- administrators ----------------------------------------------------------------------------


def test_an_administrators_assignment_grants_no_key(consultation_world: ConsultationWorld) -> None:
    world = consultation_world
    alice = founding_member(world)
    admin = staff_account(world, "admin", StaffRole.ADMINISTRATOR)
    dora = staff_account(world, "dora", StaffRole.CO_CHAIR)
    submission = plain_case(world)
    before = _last_sequence(world)

    assign_member(world.session, world.dialogue, dora.user, actor=admin.user)

    assert is_desk_member(world.session, dora.user, world.dialogue)
    assert _grants(world, dora.user) == []
    with pytest.raises(DeskKeyUnavailableError):
        _reads(world, dora, submission)
    assert _actions(world, before) == [AuditAction.DESK_MEMBER_ADDED]
    awaiting = {
        m.user.id: m.awaiting_key
        for m in desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY)
    }
    assert awaiting == {alice.user.id: False, dora.user.id: True}
    # A desk member then grants the key, and Dora reads.
    grant_member(
        world.session, world.dialogue, dora.user, keys=MemberKeys(alice), **confirmed_key(dora.user)
    )
    assert _reads(world, dora, submission).startswith(b"{")


def test_an_administrator_reads_nothing_by_role_and_cannot_hand_out_keys(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    founding_member(world)
    admin = staff_account(world, "admin", StaffRole.ADMINISTRATOR)
    eve = staff_account(world, "eve")
    submission = plain_case(world)

    with pytest.raises(NotOnDeskError):
        _reads(world, admin, submission)
    with pytest.raises(DeskActionError, match="cannot open"):
        grant_member(
            world.session,
            world.dialogue,
            eve.user,
            keys=MemberKeys(admin),
            **confirmed_key(eve.user),
        )
    # Putting themselves on the desk gives them a membership and still no key.
    assign_member(world.session, world.dialogue, admin.user, actor=admin.user)
    with pytest.raises(DeskKeyUnavailableError):
        _reads(world, admin, submission)
    with pytest.raises(DeskActionError, match="cannot open"):
        grant_member(
            world.session,
            world.dialogue,
            eve.user,
            keys=MemberKeys(admin),
            **confirmed_key(eve.user),
        )
    with pytest.raises(DeskActionError, match="cannot open"):
        rotate_desk_key(
            world.session, world.dialogue, keys=MemberKeys(admin), at_rest_key=AT_REST_KEY
        )
    assert _grants(world, admin.user) == [] and _grants(world, eve.user) == []


def test_assignment_refuses_observers_and_members_already_on_the_desk(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world)
    observer = staff_account(world, "olga", StaffRole.OBSERVER)

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
    alice = founding_member(world)
    bob = staff_account(world, "bob")
    rotate_desk_key(world.session, world.dialogue, keys=MemberKeys(alice), at_rest_key=AT_REST_KEY)
    grant_member(
        world.session,
        world.dialogue,
        bob.user,
        keys=MemberKeys(alice),
        **confirmed_key(bob.user),
    )
    submission = plain_case(world)
    assert len(_grants(world, bob.user)) == 2
    before = _last_sequence(world)

    deleted = remove_member(world.session, world.dialogue, bob.user, keys=MemberKeys(alice))

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
    alice = founding_member(world)
    dora = staff_account(world, "dora")
    assign_member(world.session, world.dialogue, dora.user, actor=None)
    submission = plain_case(world)

    recovery = RecoveryKeys(world.recovery_private_key)
    # In a member's own session there is no second holder to agree: refused, confirmed or not.
    for confirmed in (False, True):
        with pytest.raises(LastKeyHolderError):
            remove_member(
                world.session,
                world.dialogue,
                alice.user,
                keys=MemberKeys(alice),
                confirm_last_key_holder=confirmed,
            )
    with pytest.raises(LastKeyHolderError):
        remove_member(world.session, world.dialogue, alice.user, keys=recovery)
    # A member awaiting the key may go without confirmation: the holder stays.
    remove_member(world.session, world.dialogue, dora.user, keys=MemberKeys(alice))

    remove_member(
        world.session, world.dialogue, alice.user, keys=recovery, confirm_last_key_holder=True
    )
    assert desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY) == []
    # The recovery key still opens everything and can grant the desk again.
    grant_member(
        world.session,
        world.dialogue,
        dora.user,
        keys=RecoveryKeys(world.recovery_private_key),
        **confirmed_key(dora.user),
    )
    assert _reads(world, dora, submission).startswith(b"{")
    with pytest.raises(DeskActionError, match="not on the desk"):
        remove_member(world.session, world.dialogue, alice.user, keys=recovery)


# --- rotating ----------------------------------------------------------------------------------


def test_rotation_keeps_old_submissions_readable_and_new_ones_use_the_new_key(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world)
    bob = founding_member(world, "bob")
    dora = staff_account(world, "dora")
    assign_member(world.session, world.dialogue, dora.user, actor=None)
    old_submission = plain_case(world)
    old_key = current_desk_key(world.session, world.dialogue)
    before = _last_sequence(world)

    outcome = rotate_desk_key(
        world.session, world.dialogue, keys=MemberKeys(alice), at_rest_key=AT_REST_KEY
    )

    assert outcome.old_key.id == old_key.id and old_key.retired_at is not None
    assert current_desk_key(world.session, world.dialogue).id == outcome.new_key.id
    assert {user.id for user in outcome.granted_to} == {alice.user.id, bob.user.id}
    new_submission = plain_case(world)
    assert new_submission.desk_key_id == outcome.new_key.id
    for member in (alice, bob):
        assert _reads(world, member, old_submission).startswith(b"{")
        assert _reads(world, member, new_submission).startswith(b"{")
    assert _grants(world, dora.user) == []
    # The recovery key holds the new key too.
    recovery = RecoveryKeys(world.recovery_private_key)
    assert recovery.open(world.session, outcome.new_key) is not None
    # The new key follows the old one, certified by its signing key, which Alice held.
    new_key = outcome.new_key
    assert new_key.generation == old_key.generation + 1
    certificate = crypto.DeskKeyCertificate(
        new_key.generation, new_key.public_key, new_key.signing_public_key, new_key.certificate
    )
    crypto.verify_desk_key_chain_from(
        old_key.signing_public_key, old_key.generation, world.dialogue.slug, [certificate]
    )
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
    alice = founding_member(world)
    bob = staff_account(world, "bob")

    outcome = rotate_desk_key(
        world.session,
        world.dialogue,
        keys=RecoveryKeys(world.recovery_private_key),
        at_rest_key=AT_REST_KEY,
    )
    assert [user.id for user in outcome.granted_to] == [alice.user.id]
    with pytest.raises(DeskActionError, match="cannot open"):
        rotate_desk_key(
            world.session, world.dialogue, keys=MemberKeys(bob), at_rest_key=AT_REST_KEY
        )
    world.dialogue.review_mode = ReviewMode.OFFLINE
    with pytest.raises(DeskActionError, match="offline"):
        rotate_desk_key(
            world.session, world.dialogue, keys=MemberKeys(alice), at_rest_key=AT_REST_KEY
        )


# --- the audit listing -------------------------------------------------------------------------


def test_audit_pages_are_newest_first_keyset_paginated_and_filtered(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    alice = founding_member(world)
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
    alice = founding_member(world)
    world.dialogue.review_mode = ReviewMode.OFFLINE
    for grant in _grants(world, alice.user):
        world.session.delete(grant)
    world.session.flush()

    [member] = desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY)

    assert not member.holds_current_key and not member.awaiting_key
    assert awaiting_desks(world.session, [alice.user])[alice.user.id] == [("valdoria", False)]


def test_every_page_agrees_who_awaits_the_desk_key_online_and_offline(
    consultation_world: ConsultationWorld,
) -> None:
    """The account page (``member_desks``), the administration pages (``awaiting_desks``) and
    the desk page (``desk_members``) used to disagree after a switch to offline review: the
    account page still said "awaiting a key grant", though nobody holds the key offline."""
    world = consultation_world
    holder = staff_account(world, "holder").user
    newcomer = staff_account(world, "newcomer").user
    grant_member(
        world.session,
        world.dialogue,
        holder,
        keys=RecoveryKeys(world.recovery_private_key),
        **confirmed_key(holder),
    )
    assign_member(world.session, world.dialogue, newcomer, actor=None)

    def awaiting(user: StaffUser) -> tuple[bool, bool, bool]:
        account = [desk.awaiting_key for desk in member_desks(world.session, [user])[user.id]]
        admin = [awaits for _slug, awaits in awaiting_desks(world.session, [user])[user.id]]
        desk = [
            m.awaiting_key
            for m in desk_members(world.session, world.dialogue, at_rest_key=AT_REST_KEY)
            if m.user is user
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
        assign_member(world.session, world.dialogue, staff_account(world, name).user, actor=None)

    sizes = desk_sizes(world.session)

    assert sizes[world.dialogue.id] == 2
    assert world.frozen_dialogue.id not in sizes
