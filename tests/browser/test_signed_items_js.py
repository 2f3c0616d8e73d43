"""The inbox tab refuses what the server cannot have been given by the desk or the submitter.

Here the test is the hostile server: it writes into the served instance's database a desk message
without a signature, one signed by a key of its own (as someone who swapped the desk signing key
would), a consent change sealed to the stored public keys, raising the named person's consent,
and the persons' names re-sealed and signed by the writer.
The tab checks each against the keys named inside the submission it opens with its own codename:
it shows the genuine message, and "This item could not be verified" in place of every forgery,
whose words never reach the page; the person's consent stands as the submitter left it.
"""

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.db import Database
from portal.models import (
    ConsentChange,
    DeskKey,
    DeskMessage,
    MessageAuthor,
    RecoveryKey,
    Submission,
    SubmissionKind,
    utc_now,
)
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    new_public_id,
    recipient_keys,
    signed_consent_change_context,
    signed_desk_message_context,
    signed_identities_context,
)
from portal.services.desks.keys import create_desk_key, current_desk_key
from portal.services.submissions.payload import encode_payload
from tests.browser.test_inbox_js import _sign_in
from tests.browser.test_messages_js import ASKED, _as_triage_officer, _send
from tests.conftest import DemoInstance, SentSubmission

pytestmark = pytest.mark.browser

FORGED = "FORGED-3b9e1f send us your full name"
CASE_FORM = {
    "topics": ["human_rights_defenders"],
    "contact_through_portal": True,
    "persons": [
        {
            "name": "Amina",
            "consent": {"level": "raise_by_name", "given_by": "person", "risks_explained": True},
        }
    ],
    "situation": "Detained after meeting the EU Delegation.",
    "relation_to_person": "colleague",
}
UNVERIFIED = "This item could not be verified."


@contextmanager
def _stored(instance: DemoInstance, public_id: str) -> Iterator[tuple[Session, Submission]]:
    """The submission's row in the served instance's database; committed after the block."""
    database = Database(instance.settings.database_url)
    try:
        with database.session() as session:
            yield (
                session,
                session.scalars(select(Submission).where(Submission.public_id == public_id)).one(),
            )
            session.commit()
    finally:
        database.dispose()


def _desk_message(
    submission: Submission,
    desk_key: DeskKey,
    recipients: list[bytes],
    position: int,
    text: str,
    signer: bytes | None,
) -> None:
    """Add a desk message to ``submission``, signed by ``signer`` (or not at all)."""
    message_id = new_public_id()
    context = signed_desk_message_context(
        SubmissionAddress.of(submission), message_id, position, Direction.TO_SUBMITTER
    )
    payload = {"format": "parley-desk-message-v1", "text": text}
    envelope = crypto.seal_envelope(encode_payload(payload), recipients, context)
    submission.messages.append(
        DeskMessage(
            public_id=message_id,
            written_by=MessageAuthor.DESK,
            desk_key_id=desk_key.id,
            sent_on=submission.received_on,
            envelope=envelope,
            position=position,
            signature=None if signer is None else crypto.sign_item(signer, context, envelope),
        )
    )


def _as_hostile_server(instance: DemoInstance, public_id: str) -> None:
    """Write the forgeries: only public keys are needed, and the writer has them all."""
    with _stored(instance, public_id) as (session, submission):
        desk_key = current_desk_key(session, submission.dialogue)
        recipients = list(recipient_keys(desk_key, submission.submitter_public_key))
        writer_seed = secrets.token_bytes(32)
        for position, signer in ((2, None), (3, writer_seed)):
            _desk_message(submission, desk_key, recipients, position, FORGED, signer)
        context = signed_consent_change_context(SubmissionAddress.of(submission), 1)
        raised = {"level": "handover_list", "given_by": "person", "risks_explained": True}
        change = {"format": "parley-consent-change-v1", "person": 0, "consent": raised}
        envelope = crypto.seal_envelope(encode_payload(change), recipients, context)
        submission.consent_changes.append(
            ConsentChange(
                desk_key_id=desk_key.id,
                received_on=submission.received_on,
                envelope=envelope,
                position=1,
                signature=crypto.sign_item(writer_seed, context, envelope),
            )
        )
        identity = submission.identity
        assert identity is not None  # the names were sealed apart, to be forged too
        context = signed_identities_context(SubmissionAddress.of(submission))
        names = {"format": "parley-identities-v1", "persons": [{"name": FORGED}]}
        identity.envelope = crypto.seal_envelope(
            encode_payload(names),
            [identity.identity_key.public_key, submission.submitter_public_key],
            context,
        )
        identity.signature = crypto.sign_item(writer_seed, context, identity.envelope)


def test_the_tab_refuses_forged_desk_messages_and_a_forged_consent_change(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    _as_triage_officer(portal_server_instance, sent.public_id, _send)
    _as_hostile_server(portal_server_instance, sent.public_id)

    _sign_in(js_page, portal_server, sent.codename)
    js_page.goto(f"{portal_server}/inbox/{sent.public_id}")
    thread = js_page.locator("#message-thread")
    thread.get_by_text(ASKED).wait_for()
    js_page.locator("#consent-changes li").wait_for()

    entries = thread.locator("li")
    assert entries.count() == 3
    assert [UNVERIFIED in entries.nth(n).inner_text() for n in range(3)] == [False, True, True]
    assert UNVERIFIED in js_page.inner_text("#consent-changes")
    as_sent = js_page.inner_text(".consent-as-sent").split(": ", 1)[1]
    assert js_page.inner_text(".consent-as-now").split(": ", 1)[1] == as_sent
    assert FORGED not in js_page.inner_text("main")
    # The names, re-sealed and signed by the writer: the notice stands before the persons.
    assert js_page.inner_text("main").count(UNVERIFIED) == 4


RECOVERY_CERTIFIED = "Sent under a desk key the recovery key certified."
OTHER_RECOVERY = "FORGED-7c1d certified by another recovery key"


def _message_under_a_recovery_certified_key(
    instance: DemoInstance, public_id: str, certifier_seed: bytes, text: str
) -> None:
    """A desk key made by no holder of the one before (as for offline review, and retired at
    once so that nothing else is sealed to it), certified by ``certifier_seed``, and a desk
    message signed with it."""
    with _stored(instance, public_id) as (session, submission):
        recovery_key = session.scalars(select(RecoveryKey)).one()
        desk_key, private_key = create_desk_key(session, submission.dialogue, recovery_key)
        signing_seed = crypto.desk_signing_seed(private_key)
        desk_key.certificate = crypto.certify_desk_key(
            certifier_seed,
            submission.dialogue.slug,
            desk_key.generation,
            desk_key.public_key,
            desk_key.signing_public_key,
        ).signature
        desk_key.retired_at = utc_now()
        session.flush()
        position = 1 + max(message.position or 0 for message in submission.messages)
        recipients = [desk_key.public_key, submission.submitter_public_key]
        _desk_message(submission, desk_key, recipients, position, text, signing_seed)


def test_the_tab_trusts_a_desk_key_certified_by_the_recovery_key_its_submission_names(
    js_page: Any,
    portal_server: str,
    portal_server_instance: DemoInstance,
    send_under_new_codename: Callable[..., SentSubmission],
) -> None:
    sent = send_under_new_codename(
        portal_server_instance.settings, SubmissionKind.INDIVIDUAL_CASE, CASE_FORM
    )
    _as_triage_officer(portal_server_instance, sent.public_id, _send)
    recovery = crypto.import_recovery_key(portal_server_instance.recovery_key)
    for seed, text in (
        (crypto.recovery_signing_seed(recovery), RECOVERY_CERTIFIED),
        (crypto.recovery_signing_seed(crypto.generate_private_key()), OTHER_RECOVERY),
    ):
        _message_under_a_recovery_certified_key(portal_server_instance, sent.public_id, seed, text)

    _sign_in(js_page, portal_server, sent.codename)
    js_page.goto(f"{portal_server}/inbox/{sent.public_id}")
    thread = js_page.locator("#message-thread")
    thread.get_by_text(RECOVERY_CERTIFIED).wait_for()

    entries = thread.locator("li")
    assert entries.count() == 3
    assert [UNVERIFIED in entries.nth(n).inner_text() for n in range(3)] == [False, False, True]
    assert OTHER_RECOVERY not in js_page.inner_text("main")
