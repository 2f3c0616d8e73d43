"""The four public forms with JavaScript: the browser seals, the server checks and stores.

Where JavaScript runs, ``static/js/submit-form.mjs`` builds the submission payload from the same
form the no-JavaScript path posts, seals it to the desk key and the submission's key, and sends
only this JSON (``POST /sealed-submissions``, CSRF token in the ``X-CSRFToken`` header)::

    {"dialogue": slug, "session": session id or null (reprisal reports),
     "kind": SubmissionKind, "public_id": the id the form was issued with,
     "envelope": base64, "signature": base64 (64 bytes),
     "submission_key": base64 (32 bytes), "signing_key": base64 (32 bytes),
     "login_secret": base64 (32 bytes), "owner_tag_key": base64 (32 bytes),
     "new_submitter": bool, "public_key": base64 (32 bytes; new submitters only),
     "topics": [Topic values], "urgent": bool,
     "attachments": [{"upload": upload public id, "keys_envelope": base64,
                      "signature": base64}]  (optional),
     "identities_envelope": base64  (the persons' names, when the form names an identity key),
     "identities_signature": base64 (64 bytes; with the identities envelope),
     "proof": {"challenge": token, "nonce": whole number}  (when one was asked)}

Each attachment is a completed upload (``/uploads``) made for this ``public_id``, with the
attachment-keys record the browser sealed for it; the server claims the uploads in the same
transaction that stores the submission (``attachments.claim_uploads``), so either the
submission and all its files are stored, or nothing is and the uploads stay as they were.

The codename and the plaintext never reach the server: a new submitter's codename is made and
derived in the browser, which sends the login secret and the codename's public key (for the
``submitters`` row); an existing one is derived there too and only its login secret signs in.
Either way the browser derives the submission's own key pair from the codename and
``public_id`` (``deriveSubmissionKeys``), seals to its public half and sends it as
``submission_key``; the envelopes must be addressed to exactly the desk key and that key, which is
all the submission's row keeps of the submitter's keys. The browser signs the submission and each
keys record with the signing key derived beside it (``signing_key``, also sealed inside the
submission), and the server refuses a signature that does not verify. The browser also derives
the codename's owner tag key (``ownerTagKey``) and sends it as ``owner_tag_key``: the server
stores the submission under the codename's next free owner tag and forgets the key when the
request ends (``owner_tags``, which says why a wrong key only hides its sender's own
submissions). ``topics`` and ``urgent`` are the plaintext routing metadata the server keeps
(``payload.RoutingMetadata``); the server cannot check them against the sealed content, and the
desk reads the truth when it opens the envelope.

Answers are JSON: ``{"ok": true, "next": inbox sign-in address}``, or ``{"error": message}``
with 400 (malformed request, envelope refused), 403 (codename refused, missing CSRF token), 404
(no such dialogue or session), 409 (the form does not accept this now, or was already sent), 410
(the form's id was not issued by this server or has expired: the page fetches a fresh id and
keeps what was typed) or 429 with a proof-of-work challenge to solve first while many codenames
fail (``portal.web.sign_in_work``). A refusal stores nothing, except that a refused codename is
counted in the failure gauge, as on the no-JavaScript path. A new submitter whose login secret
is already registered gets exactly the 403 a wrong codename gets, counted the same way
(``submitters.BrowserRegistration``): the answer never says that a codename exists.

Codename word lists are served here too (``/codename-words/<language>.txt``), so that the
browser can draw a new codename from the same list the server would use.
"""

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session

import crypto
from crypto.codename import display_wordlist
from portal.blueprints.forms import codename_refusal
from portal.i18n import page_address, refusal_text
from portal.models import SubmissionKind, utc_now
from portal.security import page_moves_on
from portal.services.contexts import SubmissionAddress
from portal.services.dialogues.dialogue_sessions import UnknownDialogueError, UnknownSessionError
from portal.services.proof_of_work import ChallengeRequiredError, Proof
from portal.services.submissions.attachments import (
    MAX_ATTACHMENTS,
    MAX_KEYS_ENVELOPE_BYTES,
    UploadClaim,
    claim_uploads,
)
from portal.services.submissions.destination import SealedDestination, read_sealed_destination
from portal.services.submissions.intake import (
    MAX_ENVELOPE_BYTES,
    MAX_IDENTITIES_ENVELOPE_BYTES,
    FormExpiredError,
    SubmissionRefusedError,
    accept_sealed_submission,
    submission_address,
)
from portal.services.submissions.owner_tags import OWNER_TAG_KEY_SIZE
from portal.services.submissions.payload import (
    PayloadError,
    RoutingMetadata,
    parse_routing_metadata,
)
from portal.services.submissions.submitters import (
    BrowserRegistration,
    SignInRefusedError,
    SubmitterError,
    browser_registration,
    sign_in_from_browser,
)
from portal.web.error_answers import malformed_request_answer
from portal.web.instance import app_secrets, app_storage, app_submission_ids
from portal.web.request_limits import accepts_body
from portal.web.sign_in_work import (
    MalformedProofError,
    challenge_answer,
    challenge_gate,
    proof_from,
)
from portal.web.transaction import unit_of_work

blueprint = Blueprint("forms_sealed", __name__)

# Base64 makes the envelopes a third larger; the other fields are a few hundred bytes.
_ENVELOPES_LIMIT = (
    MAX_ENVELOPE_BYTES + MAX_IDENTITIES_ENVELOPE_BYTES + MAX_ATTACHMENTS * MAX_KEYS_ENVELOPE_BYTES
)
REQUEST_BODY_LIMIT = _ENVELOPES_LIMIT * 4 // 3 + 64 * 1024


class MalformedRequestError(ValueError):
    """A request body that is not the JSON this endpoint takes; the message says what is off."""


class SealedRefusalError(Exception):
    """A submission refused before anything of it is stored: the answer's message and status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class SealedRequest:
    """What the browser sent, checked for shape (not yet for meaning)."""

    dialogue_slug: str
    session_id: int | None
    kind: SubmissionKind
    public_id: str
    envelope: bytes
    signature: bytes
    identities_envelope: bytes | None  # the persons' names, sealed apart (intake docstring)
    identities_signature: bytes | None  # with the identities envelope, signed like the rest
    submission_key: bytes
    signing_key: bytes
    login_secret: bytes
    owner_tag_key: bytes
    public_key: bytes | None  # None: an existing submitter, who signs in
    proof: Proof | None  # the proof of work, when one was asked (``proof_of_work``)
    topics: list[str]
    urgent: bool
    attachments: list[UploadClaim]


@dataclass(frozen=True)
class Codename:
    """Who sends: the codename's public key and, for a new pseudonym, its registration, which
    the submission's insert stores."""

    public_key: bytes
    registration: BrowserRegistration | None


@blueprint.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError) -> ResponseReturnValue:
    """A missing or stale token: JSON like every other answer here, so the page can say so."""
    return _refusal(gettext("This form has expired. Reload the page and send it again."), 403)


@blueprint.post("/sealed-submissions")
@accepts_body(REQUEST_BODY_LIMIT)
def receive_sealed_submission() -> ResponseReturnValue:
    """Store one submission a browser sealed; see the module docstring for the exchange."""
    try:
        sealed = _read_request(request.get_json(silent=True))
    except (MalformedRequestError, MalformedProofError) as error:
        return malformed_request_answer(str(error))
    now = utc_now()
    try:
        with unit_of_work() as database:
            address, routing, destination = _address(database, sealed, now)
            try:
                codename = _codename(database, sealed, now, destination.sign_in_gauge)
                if not isinstance(codename, Codename):
                    return codename
                submission = accept_sealed_submission(
                    database,
                    address=address,
                    codename_public_key=codename.public_key,
                    owner_tag_key=sealed.owner_tag_key,
                    submitter_public_key=sealed.submission_key,
                    signing_public_key=sealed.signing_key,
                    envelope=sealed.envelope,
                    signature=sealed.signature,
                    identities_envelope=sealed.identities_envelope,
                    identities_signature=sealed.identities_signature,
                    routing=routing,
                    today=now.date(),
                    registration=codename.registration,
                    desk_key=destination.desk_key,
                )
            except SignInRefusedError:
                # Answered from inside the unit of work, so that the counted failure commits.
                return _refusal(str(codename_refusal()), 403)
            claim_uploads(database, app_storage(), submission, sealed.attachments, now)
    except SealedRefusalError as refusal:
        return _refusal(refusal.message, refusal.status)
    except (SubmitterError, SubmissionRefusedError) as refusal:
        return _refusal(refusal_text(refusal), 400)
    # The page now shows the result, with links only: nothing more is posted from it.
    page_moves_on()
    return jsonify(ok=True, next=page_address("submitter.sign_in_form"))


@blueprint.get("/codename-words/<language>.txt")
def codename_words(language: str) -> ResponseReturnValue:
    """One language's codename word list, one word a line, spelled as it is shown."""
    if language not in crypto.LANGUAGES:
        return _refusal(gettext("There is no word list for this language."), 404)
    words = display_wordlist(language)
    return Response("\n".join(words) + "\n", mimetype="text/plain")


def _address(
    database: Session, sealed: SealedRequest, now: dt.datetime
) -> tuple[SubmissionAddress, RoutingMetadata, SealedDestination]:
    """Where the submission goes, its routing metadata and what else the one read before
    storing found (``submissions.destination``), or ``SealedRefusalError``."""
    try:
        destination = read_sealed_destination(
            database, sealed.dialogue_slug, sealed.session_id, sealed.public_id, now
        )
    except (UnknownDialogueError, UnknownSessionError):
        raise SealedRefusalError(gettext("There is no such dialogue or session."), 404) from None
    try:
        routing = parse_routing_metadata(sealed.topics, urgent=sealed.urgent)
        address = submission_address(
            database,
            dialogue=destination.dialogue,
            dialogue_session=destination.dialogue_session,
            kind=sealed.kind,
            public_id=sealed.public_id,
            ids=app_submission_ids(),
            now=now,
            id_taken=destination.public_id_taken,
        )
    except PayloadError:
        raise SealedRefusalError(gettext("The agenda themes are not on the list."), 400) from None
    except FormExpiredError as refusal:
        raise SealedRefusalError(refusal_text(refusal), 410) from None
    except SubmissionRefusedError as refusal:
        raise SealedRefusalError(refusal_text(refusal), 409) from None
    return address, routing, destination


def _codename(
    database: Session, sealed: SealedRequest, now: dt.datetime, gauge: float
) -> Codename | ResponseReturnValue:
    """The new pseudonym's registration, or the existing one signed in, as on the no-JavaScript
    path; or else the answer to send, a (JSON, status) pair, while a proof of work is asked.
    ``gauge`` is the failure gauge's level, read with the destination.

    A malformed registration raises and stores nothing; one whose login secret is taken is found
    when its row is stored with the submission (``submitters.BrowserRegistration``). A refused
    sign-in raises ``SignInRefusedError``, counted, as that registration does then: the caller
    answers both as a wrong codename is answered on the no-JavaScript path, from inside the unit
    of work, so that the failure is committed and counts towards the sign-in limit: registering
    cannot tell which codenames exist.
    """
    pepper = app_secrets().codename_pepper
    try:
        if sealed.public_key is not None:
            registration = browser_registration(
                database,
                pepper,
                login_secret=sealed.login_secret,
                public_key=sealed.public_key,
                now=now,
                challenges=challenge_gate(),
                proof=sealed.proof,
                gauge=gauge,
            )
            return Codename(sealed.public_key, registration)
        submitter = sign_in_from_browser(
            database,
            pepper,
            sealed.login_secret,
            owner_tag_key=sealed.owner_tag_key,
            now=now,
            challenges=challenge_gate(),
            proof=sealed.proof,
            gauge=gauge,
        )
        return Codename(bytes(submitter.public_key), None)
    except ChallengeRequiredError as required:
        return challenge_answer(required)


def _read_request(body: Any) -> SealedRequest:
    if not isinstance(body, dict):
        raise MalformedRequestError("the request is not a JSON object")
    session_id = body.get("session")
    if session_id is not None and (isinstance(session_id, bool) or not isinstance(session_id, int)):
        raise MalformedRequestError("session must be a number or null")
    try:
        kind = SubmissionKind(body.get("kind"))
    except ValueError:
        raise MalformedRequestError("kind is not a kind of submission") from None
    new_submitter = _flag(body, "new_submitter")
    owner_tag_key = _base64(body, "owner_tag_key")
    if len(owner_tag_key) != OWNER_TAG_KEY_SIZE:
        raise MalformedRequestError(f"owner_tag_key must be {OWNER_TAG_KEY_SIZE} bytes")
    topics = body.get("topics", [])
    if not isinstance(topics, list) or not all(isinstance(topic, str) for topic in topics):
        raise MalformedRequestError("topics must be a list of agenda themes")
    return SealedRequest(
        dialogue_slug=_text(body, "dialogue"),
        session_id=session_id,
        kind=kind,
        public_id=_text(body, "public_id"),
        envelope=_base64(body, "envelope"),
        signature=_base64(body, "signature"),
        identities_envelope=(
            None
            if body.get("identities_envelope") is None
            else _base64(body, "identities_envelope")
        ),
        identities_signature=(
            None
            if body.get("identities_envelope") is None
            else _base64(body, "identities_signature")
        ),
        submission_key=_base64(body, "submission_key"),
        signing_key=_base64(body, "signing_key"),
        login_secret=_base64(body, "login_secret"),
        owner_tag_key=owner_tag_key,
        public_key=_base64(body, "public_key") if new_submitter else None,
        proof=proof_from(body),
        topics=topics,
        urgent=_flag(body, "urgent"),
        attachments=_attachments(body),
    )


def _attachments(body: dict[str, Any]) -> list[UploadClaim]:
    entries = body.get("attachments", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise MalformedRequestError("attachments must be a list of uploads and their keys")
    return [
        UploadClaim(
            _text(entry, "upload"), _base64(entry, "keys_envelope"), _base64(entry, "signature")
        )
        for entry in entries
    ]


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise MalformedRequestError(f"{key} must be text")
    return value


def _flag(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise MalformedRequestError(f"{key} must be true or false")
    return value


def _base64(body: dict[str, Any], key: str) -> bytes:
    try:
        return base64.b64decode(_text(body, key), validate=True)
    except (binascii.Error, ValueError):
        raise MalformedRequestError(f"{key} must be base64") from None


def _refusal(message: str, status: int) -> ResponseReturnValue:
    return jsonify(error=message), status
