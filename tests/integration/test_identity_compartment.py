"""The identity compartment, on both databases: names open only for those a triage officer names.

A case's persons are read by every member who may read it as "Person 1" with their consent;
their names open for triage officers (the identity key), for the members named on the case (a
grant of its compartment key) and for emergency access a holder gives. The database writer is
played throughout: rows that name someone open nothing unless a holder sealed them a grant.
"""

import datetime as dt
import hashlib
import io
import json
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from portal.db import app_database
from portal.models import (
    AuditEvent,
    CompartmentGrant,
    IdentityKeyGrant,
    NamedMember,
    StaffRole,
    StaffUser,
    Submission,
    SubmissionIdentity,
    SubmissionKind,
)
from portal.services.bundles.export import write_bundle
from portal.services.bundles.manifest import MANIFEST_NAME
from portal.services.contexts import (
    SubmissionAddress,
    compartment_copy_context,
    compartment_grant_context,
    signed_identities_context,
    signed_submission_context,
    submission_context,
)
from portal.services.desks.keys import create_desk_key
from portal.services.desks.membership import RecoveryKeys, grant_member, remove_member
from portal.services.desks.review_mode import switch_to_offline, switch_to_online
from portal.services.staff.fingerprints import short_fingerprint
from portal.services.staff.identities import (
    NamesState,
    grant_emergency_names,
    holds_names_grant,
    name_members,
    names_for,
)
from portal.services.staff.reading import open_submission_for_staff
from portal.services.staff.triage import TriageForbiddenError, TriageRefusedError
from portal.services.submissions.inbox import delete_submission, open_submission
from portal.services.submissions.intake import accept_plain_submission, submission_address
from portal.services.submissions.submitters import register_new_codename
from portal.storage import EncryptedStorage
from tests.conftest import (
    DESK_AT_REST_KEY,
    ConsultationWorld,
    DemoInstance,
    DeskPerson,
    csrf_token_for,
    desk_person,
    staff_account,
)
from tests.intake_support import TEST_SUBMISSION_IDS
from tests.staff_sessions_support import demo_credentials, sign_in_client

CANARY = "Canary-Name-7f3a9c"
JUSTIFICATION = "The named member is away and the case cannot wait a day."


def _case(world: ConsultationWorld, name: str = CANARY):
    """An individual case naming ``name`` only in its person field, sent without JavaScript."""
    new = register_new_codename(world.session, world.pepper, language="en", today=world.now.date())
    address = submission_address(
        world.session,
        dialogue=world.dialogue,
        dialogue_session=world.dialogue_session,
        kind=SubmissionKind.INDIVIDUAL_CASE,
        public_id=TEST_SUBMISSION_IDS.issue(world.now),
        ids=TEST_SUBMISSION_IDS,
        now=world.now,
    )
    consent = {"level": "raise_by_name", "given_by": "family", "risks_explained": True}
    submission = accept_plain_submission(
        world.session,
        address=address,
        submitter_key=new.secrets,
        form={
            "persons": [{"name": name, "consent": consent}],
            "situation": "Detained since spring.",
            "relation_to_person": "colleague",
        },
        today=world.now.date(),
    )
    world.session.flush()
    return submission, new


def _desk(world: ConsultationWorld) -> tuple[DeskPerson, DeskPerson, DeskPerson]:
    """A triage officer, and two co-chairs: one to be named, one not."""
    return (
        desk_person(world, StaffRole.TRIAGE_OFFICER),
        desk_person(world, StaffRole.CO_CHAIR),
        desk_person(world, StaffRole.CO_CHAIR),
    )


def _named_case(world: ConsultationWorld) -> tuple[Submission, DeskPerson, DeskPerson, DeskPerson]:
    """A case whose triage officer named the first co-chair on it, and not the second."""
    submission, _new = _case(world)
    officer, named, unnamed = _desk(world)
    name_members(world.session, officer.signed_in(), submission, [named.user.id], now=world.now)
    return submission, officer, named, unnamed


def _reads(world: ConsultationWorld, person: DeskPerson, submission: Submission) -> NamesState:
    """What ``person`` reads of the case's names through the staff reading, checked for the
    canary: present exactly when the names are not sealed from them."""
    opened = open_submission_for_staff(world.session, person.signed_in(), submission, now=world.now)
    shown = json.dumps(opened.payload)
    assert (CANARY in shown) is (opened.names is not NamesState.SEALED)
    return opened.names


def test_a_case_is_read_by_number_until_members_are_named(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, new = _case(world)
    officer, named, unnamed = _desk(world)

    assert _reads(world, officer, submission) is NamesState.OPEN
    for person in (named, unnamed):
        assert _reads(world, person, submission) is NamesState.SEALED
    opened = open_submission_for_staff(
        world.session, unnamed.signed_in(), submission, now=world.now
    )
    assert opened.payload["persons"] == [
        {"consent": {"level": "raise_by_name", "given_by": "family", "risks_explained": True}}
    ]
    # The submitter reads back what they sent, names included.
    assert open_submission(submission, new.secrets).payload["persons"][0]["name"] == CANARY

    assert name_members(
        world.session, officer.signed_in(), submission, [named.user.id], now=world.now
    ) == [named.user.id]

    assert _reads(world, named, submission) is NamesState.OPEN
    assert _reads(world, unnamed, submission) is NamesState.SEALED
    actions = world.session.scalars(select(AuditEvent.action)).all()
    assert "submission.name_readers_set" in actions and "submission.names_read" in actions


def test_a_canary_name_is_in_no_envelope_the_desk_key_opens(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, _new = _case(world)
    address = SubmissionAddress.of(submission)

    main = crypto.open_envelope(
        submission.envelope, world.desk_private_key, signed_submission_context(address)
    )
    assert CANARY.encode() not in main
    with pytest.raises(crypto.DecryptionError):
        crypto.open_envelope(
            submission.identity.envelope, world.desk_private_key, submission_context(address)
        )
    assert CANARY.encode() not in submission.identity.envelope


def test_a_row_naming_a_member_opens_nothing_without_a_holders_grant(
    consultation_world: ConsultationWorld,
) -> None:
    """The database writer names the unnamed member three ways; the cryptography refuses each."""
    world = consultation_world
    submission, officer, _named, unnamed = _named_case(world)
    identity = submission.identity
    [granted] = identity.grants
    address = SubmissionAddress.of(submission)
    key_id = crypto.key_id(identity.compartment_public_key)

    # 1. A high-risk naming row, as the restriction of a case uses.
    world.session.add(NamedMember(submission_id=submission.id, staff_user_id=unnamed.user.id))
    # 2. A copy of the named member's grant, moved to the unnamed member's account.
    copied = CompartmentGrant(
        identity=identity, staff_user_id=unnamed.user.id, envelope=granted.envelope
    )
    world.session.add(copied)
    world.session.flush()
    assert names_for(
        world.session, unnamed.signed_in(), submission, submission.signing_public_key, now=world.now
    ).state is (NamesState.SEALED)
    # 3. A grant sealed to the member's public key, of a key the writer made up.
    made_up = crypto.generate_private_key()
    copied.envelope = crypto.seal_envelope(
        crypto.private_key_bytes(made_up),
        [unnamed.user.personal_public_key],
        compartment_grant_context(address, key_id, unnamed.user.id),
    )
    world.session.flush()
    assert names_for(
        world.session, unnamed.signed_in(), submission, submission.signing_public_key, now=world.now
    ).state is (NamesState.SEALED)
    # An identity key grant row for a co-chair, copied from the officer's, opens nothing either.
    officer_grant = world.session.scalars(
        select(IdentityKeyGrant).where(IdentityKeyGrant.recipient_staff_user_id == officer.user.id)
    ).one()
    world.session.add(
        IdentityKeyGrant(
            identity_key_id=officer_grant.identity_key_id,
            recipient_staff_user_id=unnamed.user.id,
            envelope=officer_grant.envelope,
        )
    )
    world.session.flush()
    assert names_for(
        world.session, unnamed.signed_in(), submission, submission.signing_public_key, now=world.now
    ).state is (NamesState.SEALED)


@pytest.mark.parametrize("signer", ["the writer's key", "no signature"])
def test_names_the_database_writer_sealed_are_never_shown_or_passed_on(
    consultation_world: ConsultationWorld, signer: str
) -> None:
    world = consultation_world
    submission, new = _case(world)
    officer, named, _unnamed = _desk(world)
    identity = submission.identity
    context = signed_identities_context(SubmissionAddress.of(submission))
    forged = "Forged-Name-Of-The-Writer"
    identity.envelope = crypto.seal_envelope(
        json.dumps({"format": "parley-identities-v1", "persons": [{"name": forged}]}).encode(),
        [identity.identity_key.public_key, submission.submitter_public_key],
        context,
    )
    writer_seed = bytes(range(32))
    identity.signature = (
        crypto.sign_item(writer_seed, context, identity.envelope)
        if signer != "no signature"
        else None
    )
    world.session.flush()

    opened = open_submission_for_staff(
        world.session, officer.signed_in(), submission, now=world.now
    )
    assert opened.names is NamesState.UNVERIFIED and forged not in json.dumps(opened.payload)
    recorded = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "item.unverified")
    ).all()
    assert [event.details for event in recorded] == [{"item": "identities"}]
    own = open_submission(submission, new.secrets)
    assert own.unverified == ["identities"] and forged not in json.dumps(own.payload)
    with pytest.raises(TriageRefusedError, match="could not be verified"):
        name_members(world.session, officer.signed_in(), submission, [named.user.id], now=world.now)


@pytest.mark.parametrize(
    "forgery", ["copy resealed", "copy signed by the writer", "original replaced"]
)
def test_a_compartment_copy_the_database_writer_changed_shows_no_name(
    consultation_world: ConsultationWorld, forgery: str
) -> None:
    world = consultation_world
    submission, _officer, named, _unnamed = _named_case(world)
    identity = submission.identity
    assert _reads(world, named, submission) is NamesState.OPEN
    forged = "Forged-Name-Of-The-Writer"
    names = json.dumps({"format": "parley-identities-v1", "persons": [{"name": forged}]})
    writer_seed = bytes(range(32))
    context = compartment_copy_context(
        SubmissionAddress.of(submission),
        crypto.key_id(identity.compartment_public_key),
        hashlib.sha256(identity.envelope).digest(),
        identity.compartment_signed_by_id,
    )
    if forgery == "original replaced":
        identity.envelope = identity.envelope[:-1] + bytes([identity.envelope[-1] ^ 1])
    else:
        identity.compartment_envelope = crypto.seal_envelope(
            names.encode(), [identity.compartment_public_key], context
        )
    if forgery == "copy signed by the writer":
        key = crypto.signing_public_key(writer_seed)
        identity.compartment_signature = crypto.sign_item(
            writer_seed, context, identity.compartment_envelope
        )
        identity.compartment_signing_key = key
        identity.compartment_certificate = crypto.certify_staff_key(
            writer_seed, submission.dialogue.slug, identity.compartment_signed_by_id, key
        )
    world.session.flush()

    opened = open_submission_for_staff(world.session, named.signed_in(), submission, now=world.now)
    assert opened.names is NamesState.UNVERIFIED
    assert forged not in json.dumps(opened.payload) and CANARY not in json.dumps(opened.payload)


def test_naming_again_takes_the_key_from_whoever_is_left_out(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, _new = _case(world)
    officer, first, second = _desk(world)
    name_members(world.session, officer.signed_in(), submission, [first.user.id], now=world.now)
    kept_envelope = submission.identity.grants[0].envelope

    name_members(world.session, officer.signed_in(), submission, [second.user.id], now=world.now)
    # The writer puts the old grant back: it holds the key of a compartment that is gone.
    world.session.add(
        CompartmentGrant(
            identity=submission.identity, staff_user_id=first.user.id, envelope=kept_envelope
        )
    )
    world.session.flush()

    assert _reads(world, first, submission) is NamesState.SEALED
    assert _reads(world, second, submission) is NamesState.OPEN


def test_only_a_triage_officer_holding_the_identity_key_names_members(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, _new = _case(world)
    officer, named, _unnamed = _desk(world)

    with pytest.raises(TriageForbiddenError):
        name_members(world.session, named.signed_in(), submission, [named.user.id], now=world.now)
    outsider = desk_person(world, StaffRole.TRIAGE_OFFICER)
    world.session.execute(
        IdentityKeyGrant.__table__.delete().where(
            IdentityKeyGrant.recipient_staff_user_id == outsider.user.id
        )
    )
    with pytest.raises(TriageRefusedError, match="identity key"):
        name_members(world.session, outsider.signed_in(), submission, [], now=world.now)
    observer = desk_person(world, StaffRole.OBSERVER)
    with pytest.raises(TriageRefusedError, match="hold the desk key"):
        name_members(
            world.session, officer.signed_in(), submission, [observer.user.id], now=world.now
        )
    assert submission.identity.grants == []


def test_emergency_access_to_names_is_given_by_a_holder_and_ends(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, officer, named, unnamed = _named_case(world)

    with pytest.raises(TriageRefusedError, match="at least"):
        grant_emergency_names(
            world.session, officer.signed_in(), submission, unnamed.user.id, "now", now=world.now
        )
    with pytest.raises(TriageForbiddenError):
        grant_emergency_names(
            world.session,
            named.signed_in(),
            submission,
            unnamed.user.id,
            JUSTIFICATION,
            now=world.now,
        )
    access = grant_emergency_names(
        world.session,
        officer.signed_in(),
        submission,
        unnamed.user.id,
        JUSTIFICATION,
        now=world.now,
    )

    assert access.staff_user_id == unnamed.user.id and access.justification == JUSTIFICATION
    assert _reads(world, unnamed, submission) is NamesState.OPEN
    assert _reads(world, named, submission) is NamesState.OPEN  # re-sealed, still named
    later = access.expires_at + dt.timedelta(seconds=1)
    assert names_for(
        world.session, unnamed.signed_in(), submission, submission.signing_public_key, now=later
    ).state is (NamesState.SEALED)
    event = world.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "submission.names_emergency_access")
    ).one()
    assert event.details["member"] == unnamed.user.id and JUSTIFICATION not in str(event.details)


def test_leaving_the_desk_or_offline_review_takes_the_names_away(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, officer, named, unnamed = _named_case(world)

    remove_member(
        world.session,
        world.dialogue,
        named.user,
        keys=RecoveryKeys(world.recovery_private_key),
    )
    world.session.expire_all()
    assert submission.identity.grants == []

    switch_to_offline(world.session, world.dialogue)
    staff_identity_grants = select(IdentityKeyGrant).where(
        IdentityKeyGrant.recipient_staff_user_id.is_not(None)
    )
    assert world.session.scalars(staff_identity_grants).all() == []

    switch_to_online(
        world.session, world.dialogue, world.recovery_private_key, at_rest_key=DESK_AT_REST_KEY
    )
    holders = {
        grant.recipient_staff_user_id for grant in world.session.scalars(staff_identity_grants)
    }
    assert holders == {officer.user.id}
    assert _reads(world, officer, submission) is NamesState.OPEN
    assert _reads(world, unnamed, submission) is NamesState.SEALED


def test_a_bundle_carries_the_names_only_for_an_exporter_who_reads_them(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    _submission, officer, named, unnamed = _named_case(world)
    storage = EncryptedStorage(world.storage_dir)

    def exported(person: DeskPerson) -> dict:
        out = io.BytesIO()
        write_bundle(
            world.session,
            storage,
            world.dialogue,
            out,
            today=world.now.date(),
            include_names=lambda found: holds_names_grant(
                world.session, person.user, found, now=world.now
            ),
            actor=person.user,
            via="web",
        )
        with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
            [entry] = json.loads(archive.read(MANIFEST_NAME))["submissions"]
        assert CANARY not in json.dumps(entry)
        return entry

    assert exported(unnamed)["identities"] is None
    for person in (officer, named):
        assert exported(person)["identities"]["envelope"]
    assert json.dumps(exported(unnamed)).count("compartment") == 0


def test_a_desk_key_made_before_identity_keys_keeps_names_in_the_submission(
    consultation_world: ConsultationWorld,
) -> None:
    """Until its desk key is rotated, an instance migrated from a release without identity keys
    seals new cases as before, and every reader of the case reads their names."""
    world = consultation_world
    old_key, old_private = create_desk_key(world.session, world.dialogue, world.recovery_key)
    world.desk_key.retired_at = world.now
    world.desk_key, world.desk_private_key = old_key, old_private
    world.session.flush()
    co_chair = desk_person(world, StaffRole.CO_CHAIR)

    submission, _new = _case(world)

    assert submission.identity is None
    assert _reads(world, co_chair, submission) is NamesState.IN_SUBMISSION
    opened = open_submission_for_staff(
        world.session, co_chair.signed_in(), submission, now=world.now
    )
    assert opened.payload["persons"][0]["name"] == CANARY


def test_the_case_page_shows_names_only_to_those_named_there(
    app: Flask, writable_demo_instance: DemoInstance, send_under_new_codename
) -> None:
    """On the staff pages: the co-chair reads "Person 1" until the triage officer names them
    there; a refused naming or emergency access answers 400 and changes nothing."""
    consent = {"level": "raise_by_name", "given_by": "family", "risks_explained": True}
    sent = send_under_new_codename(
        writable_demo_instance.settings,
        SubmissionKind.INDIVIDUAL_CASE,
        {
            "persons": [{"name": CANARY, "consent": consent}],
            "situation": "Detained.",
            "relation_to_person": "colleague",
        },
    )
    accounts = demo_credentials(writable_demo_instance.credentials_file)
    page = f"/staff/submissions/{sent.public_id}"

    def client_of(role: str) -> FlaskClient:
        client = app.test_client()
        sign_in_client(app, client, accounts[role].email, accounts[role].password)
        return client

    officer, co_chair = client_of("triage_officer"), client_of("co_chair")
    with app.app_context(), app_database(app).session() as session:
        co_chair_id = session.scalars(
            select(StaffUser.id).where(StaffUser.email == accounts["co_chair"].email)
        ).one()

    before = co_chair.get(page).get_data(as_text=True)
    assert CANARY not in before and "Person 1" in before and 'id="names-sealed"' in before
    assert CANARY in officer.get(page).get_data(as_text=True)

    def post(client: FlaskClient, url: str, **data: object):
        return client.post(url, data={"csrf_token": csrf_token_for(client), **data})

    refused = post(officer, f"{page}/names-emergency-access", member=str(co_chair_id))
    assert refused.status_code == 400 and "at least" in refused.get_data(as_text=True)
    assert CANARY not in co_chair.get(page).get_data(as_text=True)
    assert post(co_chair, f"{page}/name-readers", named=[str(co_chair_id)]).status_code == 403

    named = post(officer, f"{page}/name-readers", named=[str(co_chair_id)])

    assert named.status_code == 302
    after = co_chair.get(page).get_data(as_text=True)
    assert CANARY in after and 'id="names-sealed"' not in after
    assert 'id="name-readers-list">Demo Co-chair</dd>' in officer.get(page).get_data(as_text=True)


def test_a_grant_of_the_desk_gives_a_triage_officer_the_identity_key_and_nobody_else(
    consultation_world: ConsultationWorld,
) -> None:
    """The recovery key (``portal desk grant``) grants the desk: a triage officer receives the
    identity key with it and reads names; a co-chair receives the desk key only."""
    world = consultation_world
    submission, _new = _case(world)
    joined = [staff_account(world, role) for role in (StaffRole.TRIAGE_OFFICER, StaffRole.CO_CHAIR)]
    for person in joined:
        grant_member(
            world.session,
            world.dialogue,
            person.user,
            keys=RecoveryKeys(world.recovery_private_key),
            typed_fingerprint=short_fingerprint(person.user.personal_public_key),
            at_rest_key=DESK_AT_REST_KEY,
        )
    officer, co_chair = joined

    assert _reads(world, officer, submission) is NamesState.OPEN
    assert _reads(world, co_chair, submission) is NamesState.SEALED


def test_deleting_a_case_shreds_its_names_and_compartment(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submission, _officer, _named, _unnamed = _named_case(world)

    delete_submission(
        world.session, EncryptedStorage(world.storage_dir), submission, today=world.now.date()
    )
    world.session.commit()

    for table in (SubmissionIdentity, CompartmentGrant):
        assert world.session.scalars(select(table)).all() == []
