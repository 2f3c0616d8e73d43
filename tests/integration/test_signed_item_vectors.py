"""The signed-items vectors (tests/vectors/signed-items-v1.json) in Python: the v2 contexts as
``portal.services.contexts`` builds them, the signatures, and what the reading rule says of each
item. Node (tests/js/signed-items.test.mjs) and Chromium check the same file."""

from typing import Any

import pytest

import crypto
from portal.models import Dialogue, DialogueSession, SubmissionKind
from portal.services import contexts
from portal.services.submissions.inbox import OpenedSubmission, current_consents
from portal.services.submissions.provenance import (
    Anchors,
    CheckedItem,
    Provenance,
    UnverifiedSubmissionError,
    checked_anchors,
    item_provenance,
    message_provenance,
)
from tests.vectors.vector_files import load_vectors

VECTORS = load_vectors("signed-items-v1.json")
ENVELOPE = bytes.fromhex(VECTORS["envelope"])


def _address() -> contexts.SubmissionAddress:
    where = VECTORS["address"]
    return contexts.SubmissionAddress(
        Dialogue(slug=where["dialogue"]),
        DialogueSession(id=where["session"]),
        SubmissionKind(where["kind"]),
        VECTORS["public_id"],
    )


def _own_signing_key() -> bytes:
    key_seed = crypto.derive_codename_secrets(VECTORS["codename"]).key_seed
    return crypto.derive_submission_keys(key_seed, VECTORS["public_id"]).signing_public_key()


def _anchors(payload: dict[str, Any], signature: str | None) -> Anchors:
    return checked_anchors(
        payload,
        signature=None if signature is None else bytes.fromhex(signature),
        mirror=_own_signing_key(),
        signed_context=VECTORS["contexts"]["submission"],
        envelope=ENVELOPE,
    )


def test_the_v2_contexts_are_the_ones_the_builders_make() -> None:
    address, message_id = _address(), VECTORS["message_id"]
    to_desk, to_submitter = contexts.Direction.TO_DESK, contexts.Direction.TO_SUBMITTER
    built = VECTORS["contexts"]
    assert built == {
        "submission": contexts.signed_submission_context(address),
        "further information 1": contexts.signed_further_information_context(address, 1),
        "consent change 2": contexts.signed_consent_change_context(address, 2),
        "consent change 3": contexts.signed_consent_change_context(address, 3),
        "further information 2": contexts.signed_further_information_context(address, 2),
        "attachment keys": contexts.signed_attachment_keys_context(address, message_id),
        "reply 4": contexts.signed_desk_message_context(address, message_id, 4, to_desk),
        "desk message 1": contexts.signed_desk_message_context(
            address, message_id, 1, to_submitter
        ),
        "reply 4 the other way": contexts.signed_desk_message_context(
            address, message_id, 4, to_submitter
        ),
        "consent change v1": contexts.consent_change_context(address),
    }


def test_the_submission_is_signed_by_its_own_key_and_names_the_anchors() -> None:
    submission = VECTORS["submission"]
    key_seed = crypto.derive_codename_secrets(VECTORS["codename"]).key_seed
    seed = crypto.derive_submission_keys(key_seed, VECTORS["public_id"]).signing_seed
    assert crypto.sign_item(seed, submission["context"], ENVELOPE).hex() == submission["signature"]
    anchors = _anchors(submission["payload"], submission["signature"])
    assert anchors.submission_key.hex() == submission["anchors"]["submission"]
    assert anchors.desk_key.hex() == submission["anchors"]["desk"]
    assert anchors.recovery_key.hex() == submission["anchors"]["recovery"]


def test_a_v1_signatures_block_is_still_read_and_names_no_recovery_key() -> None:
    submission = VECTORS["submission"]
    block = {**submission["payload"]["signatures"], "format": "parley-signatures-v1"}
    del block["recovery_key"]
    anchors = _anchors({**submission["payload"], "signatures": block}, submission["signature"])
    assert anchors.desk_key.hex() == submission["anchors"]["desk"]
    assert anchors.recovery_key is None


@pytest.mark.parametrize(
    "refused", VECTORS["refused_submissions"], ids=lambda case: case["description"]
)
def test_a_submission_that_does_not_verify_is_refused(refused: dict[str, Any]) -> None:
    with pytest.raises(UnverifiedSubmissionError):
        _anchors(refused["payload"], refused["signature"])


def _provenance(anchors: Anchors, case: dict[str, Any]) -> Provenance:
    signature = None if case["signature"] is None else bytes.fromhex(case["signature"])
    if case["side"] == "desk":
        return message_provenance(
            anchors,
            from_desk=True,
            desk_signing_key=anchors.desk_key,
            signed_context=case["context"],
            envelope=ENVELOPE,
            signature=signature,
        )
    return item_provenance(
        anchors.submission_key,
        signed_context=case["context"],
        envelope=ENVELOPE,
        signature=signature,
    )


@pytest.mark.parametrize(
    ("anchored", "case"),
    [(True, case) for case in VECTORS["signed_submission_items"]]
    + [(False, case) for case in VECTORS["before_signatures_items"]],
    ids=lambda value: value["description"] if isinstance(value, dict) else str(value),
)
def test_each_item_gets_the_rules_answer(anchored: bool, case: dict[str, Any]) -> None:
    submission = VECTORS["submission"]
    anchors = _anchors(submission["payload"], submission["signature"]) if anchored else None
    assert _provenance(anchors or Anchors(None, None), case) == Provenance(case["expected"])


@pytest.mark.parametrize("case", VECTORS["consent_rule"], ids=str)
def test_the_consent_rule(case: dict[str, Any]) -> None:
    def consent(level: str | None) -> dict[str, Any]:
        return {"level": level, "given_by": "person", "risks_explained": True}

    change = {"person": 0, "consent": consent(case["proposed"])}
    opened = OpenedSubmission(
        payload={"persons": [{"name": "A", "consent": consent(case["current"])}]},
        provenance=Provenance.SIGNED,
        anchors=Anchors(bytes(32), None),
        further_information=(),
        consent_changes=(CheckedItem(change, Provenance(case["provenance"])),),
    )
    [now] = current_consents(opened)
    assert (now == change["consent"]) is case["counts"]
