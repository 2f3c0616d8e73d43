"""Accounts, desk members, cases and agenda items for service tests on ``consultation_world``.

The accounts are enrolled as ``portal staff create`` would leave them, without a sign-in: the
tests hold the personal key that a staff web session would unwrap.
"""

import secrets
from typing import Any

import crypto
from portal.models import (
    AgendaItem,
    AgendaItemStatus,
    AgendaLink,
    AgendaPriority,
    AgendaTheme,
    DialogueSession,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from portal.services.desks.confirmations import record_confirmation
from portal.services.desks.keys import grant_desk_access
from portal.services.desks.membership import membership_of
from portal.services.staff import triage
from portal.services.staff.fingerprints import short_fingerprint
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.submitters import register_submitter
from tests.conftest import ConsultationWorld
from tests.intake_support import TEST_SUBMISSION_IDS

# Argon2 at its cheapest: these tests never unwrap the personal key from the passphrase.
CHEAP_ARGON2 = crypto.Argon2Params(memory_kib=8, iterations=1, lanes=1)
# The instance's at-rest key, which seals the key confirmations of memberships.
AT_REST_KEY = crypto.new_symmetric_key()


def confirmed_key(user: StaffUser) -> dict[str, Any]:
    """What a granter passes after the colleague read them their key's short fingerprint."""
    return {
        "typed_fingerprint": short_fingerprint(user.personal_public_key),
        "at_rest_key": AT_REST_KEY,
    }


def staff_account(
    world: ConsultationWorld, name: str, role: StaffRole = StaffRole.TRIAGE_OFFICER
) -> SignedInStaff:
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


def founding_member(
    world: ConsultationWorld,
    name: str = "alice",
    *,
    confirmed: bool = True,
    role: StaffRole = StaffRole.TRIAGE_OFFICER,
) -> SignedInStaff:
    """A member granted the first desk key by the set-up, as ``portal init --demo`` does
    (which also records the key as confirmed; ``confirmed=False`` is a desk from before)."""
    member = staff_account(world, name, role)
    grant_desk_access(
        world.session,
        desk_key=world.desk_key,
        desk_private_key=world.desk_private_key,
        member=member.user,
        granted_by=None,
    )
    if confirmed:
        record_confirmation(
            membership_of(world.session, world.dialogue, member.user),
            member.user,
            at_rest_key=AT_REST_KEY,
            now=world.now,
        )
    return member


CASE_FORM: dict[str, Any] = {
    "topics": ["human_rights_defenders"],
    "contact_through_portal": False,
    "women_hrd": False,
    "persons": [
        {
            "name": "A. Defender",
            "consent": {"level": "raise_by_name", "given_by": "person", "risks_explained": True},
        }
    ],
    "place": "Capital",
    "situation": "Detained since spring.",
    "relation_to_person": "colleague",
}


SEMINAR_FORM: dict[str, Any] = {
    "topics": [],
    "seminar": "Civil-society seminar, Brussels",
    "recommendations": [
        {
            "text": "Release all detained journalists.",
            "addressee": "Government",
            "topic": "freedom_of_expression",
        },
        {
            "text": "Ratify the optional protocol.",
            "addressee": "Parliament",
            "topic": "rule_of_law",
        },
    ],
}
REPRISAL_FORM: dict[str, Any] = {
    "topics": [],
    "what_happened": "The office was searched after the consultation.",
    "when": "Last month",
    "link_to_engagement": "They had met the EU delegation.",
    "urgency": "standard",
    "persons": [],
}


def included_item(session: Any, dialogue_session: DialogueSession, title: str) -> AgendaItem:
    """An item a co-chair included in the session's agenda, as the agenda pages leave it."""
    item = AgendaItem(
        session_id=dialogue_session.id,
        title=title,
        theme=AgendaTheme.SPECIFIC_TOPIC,
        priority_of=AgendaPriority.EU,
        status=AgendaItemStatus.INCLUDED,
    )
    session.add(item)
    session.flush()
    return item


def link_to(session: Any, submission: Submission, item: AgendaItem) -> None:
    """``submission``, accepted, linked to ``item``: on the agenda."""
    session.add(AgendaLink(submission_id=submission.id, agenda_item_id=item.id))
    triage.change_state(submission, SubmissionState.ON_AGENDA)
    session.flush()


def plain_case(world: ConsultationWorld) -> Submission:
    return sent_submission(world, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM)


def sent_submission(
    world: ConsultationWorld, kind: SubmissionKind, form: dict[str, Any]
) -> Submission:
    """A submission of ``kind`` sent under a new codename, as the form without JavaScript stores
    it: to the world's open session, or to the dialogue for a reprisal report."""
    codename_key = crypto.CodenameSecrets(
        login_secret=secrets.token_bytes(32), key_seed=secrets.token_bytes(32)
    )
    register_submitter(
        world.session,
        world.pepper,
        login_secret=codename_key.login_secret,
        public_key=codename_key.public_key_bytes(),
        today=world.now.date(),
    )
    address = submission_address(
        world.session,
        dialogue=world.dialogue,
        dialogue_session=None if kind is SubmissionKind.REPRISAL_REPORT else world.dialogue_session,
        kind=kind,
        public_id=TEST_SUBMISSION_IDS.issue(world.now),
        ids=TEST_SUBMISSION_IDS,
        now=world.now,
    )
    return accept_plain_submission(
        world.session,
        address=address,
        submitter_key=codename_key,
        form=form,
        today=world.now.date(),
    )
