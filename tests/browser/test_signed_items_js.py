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
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

import crypto
from portal.db import Database
from portal.models import ConsentChange, DeskMessage, MessageAuthor, Submission, SubmissionKind
from portal.services.contexts import (
    Direction,
    SubmissionAddress,
    new_public_id,
    recipient_keys,
    signed_consent_change_context,
    signed_desk_message_context,
    signed_identities_context,
)
from portal.services.desks.keys import current_desk_key
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


def _as_hostile_server(instance: DemoInstance, public_id: str) -> None:
    """Write the forgeries: only public keys are needed, and the writer has them all."""
    database = Database(instance.settings.database_url)
    try:
        with database.session() as session:
            submission = session.scalars(
                select(Submission).where(Submission.public_id == public_id)
            ).one()
            desk_key = current_desk_key(session, submission.dialogue)
            recipients = recipient_keys(desk_key, submission)
            address = SubmissionAddress.of(submission)
            writer_seed = secrets.token_bytes(32)
            for position, signer in ((2, None), (3, writer_seed)):
                message_id = new_public_id()
                context = signed_desk_message_context(
                    address, message_id, position, Direction.TO_SUBMITTER
                )
                payload = {"format": "parley-desk-message-v1", "text": FORGED}
                envelope = crypto.seal_envelope(encode_payload(payload), recipients, context)
                submission.messages.append(
                    DeskMessage(
                        public_id=message_id,
                        written_by=MessageAuthor.DESK,
                        desk_key_id=desk_key.id,
                        sent_on=submission.received_on,
                        envelope=envelope,
                        position=position,
                        signature=None
                        if signer is None
                        else crypto.sign_item(signer, context, envelope),
                    )
                )
            context = signed_consent_change_context(address, 1)
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
            context = signed_identities_context(address)
            names = {"format": "parley-identities-v1", "persons": [{"name": FORGED}]}
            identity.envelope = crypto.seal_envelope(
                encode_payload(names),
                [identity.identity_key.public_key, submission.submitter_public_key],
                context,
            )
            identity.signature = crypto.sign_item(writer_seed, context, identity.envelope)
            session.commit()
    finally:
        database.dispose()


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
