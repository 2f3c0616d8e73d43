"""The submitter's inbox with JavaScript: the browser holds the key, the server moves envelopes.

Where JavaScript runs, ``static/js/inbox-sign-in.mjs`` derives the codename's secrets in the page
and posts only the login secret and the owner tag key; the session opened for it holds no private
key, only the tag key with which the server finds the submitter's submissions
(``inbox_web_sessions.start_browser_held_session``, ``owner_tags``). The key seed stays in the tab's
``sessionStorage``, and ``static/js/inbox.mjs`` fetches the envelopes, opens them, and seals what
the person adds. The codename, the private key and the plaintext never reach the server.

All requests and answers are JSON; every POST carries the CSRF token in ``X-CSRFToken``::

    POST /inbox/sign-in/login-secret
         {"login_secret": base64 (32 bytes), "owner_tag_key": base64 (32 bytes),
          "proof": {"challenge": token, "nonce": whole number} (when one was asked)}
         -> {"next": inbox address}
    GET  /inbox/<public_id>/sealed
         -> {"submission": item, "further_information": [item], "consent_changes": [item],
             "messages": [message], "attachments": [item: an attachment-keys record]}
            item = {"context": str, "envelope": base64, "signature": base64 or null,
                    "received_on": ISO date}
            message = {"public_id": str, "written_by": "desk" | "submitter",
                       "context": str, "envelope": base64, "signature": base64 or null,
                       "desk_key_id": key id of its desk key (hex), "sent_on": ISO date}
            and "dialogue": slug, "desk_keys": [{"key_id", "generation", "public_key": hex,
                "signing_public_key": hex or null, "certificate": hex or null}]
    POST /inbox/<public_id>/sealed-further-information   {"envelope": base64, "signature": base64}
    POST /inbox/<public_id>/sealed-consent                {"envelope": base64, "signature": base64,
                                                           "round": session id (optional)}
    POST /inbox/<public_id>/sealed-message   {"public_id": the page's reply id, "envelope": base64,
                                              "signature": base64}
         -> {"next": the submission's address}
    POST /inbox/<public_id>/seen   {"messages": [public id of a desk item the page showed]}
         -> {"marked": how many were new}

A message is a desk message or a notice, told apart inside its envelope; each also carries
``"new": bool`` (not yet shown to the submitter; new ones come first) and the answer carries
``"session_dates": {session id: ISO date}`` of the dialogue, for a debrief notice's heading.

Items come in history order with their signatures (null for an item stored before signatures),
and the page checks them as ``provenance`` does before it shows or uses anything. The server
records as ``item.unverified`` what fails the check it can make without opening anything
(``messages.unverified_as_stored``). What the page
adds to a signed submission is signed in the tab with the submission's signing key under the
context the page names (``data-signing-key`` is the key the row names, which the tab compares
with the one its codename derives); the server refuses a signature that does not verify.

A reply to the desk is sealed under the message public id the page was served with
(``data-reply-id``, made by the server); the server checks the envelope's context for that id
and its recipients (``messages.reply_sealed``) and stores it, never seeing the text.

Refusals are ``{"error": message}``: 400 (malformed body, envelope refused, missing CSRF token),
401 (no live inbox session), 404 (not this submitter's submission), 429 with a proof-of-work
challenge to solve first while many sign-ins fail (``portal.web.sign_in_work``). A refused sign-in
gives the same words as without JavaScript and counts in the same failure gauge; a refused
envelope stores nothing. Deleting needs no key and stays the form post of ``submitter``.

A consent change that confirms a person for a new round carries the round inside its envelope,
and the page sends the same session id beside it as ``round``: in plaintext, only so that the
server can refuse (400, nothing stored) a round that is not an open request of this submission
(``rounds.consent_requests.confirm_sealed``). The staff reader trusts only the sealed value.
"""

import base64
import binascii
import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec

from flask import Blueprint, abort, jsonify, make_response, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from portal.blueprints.submitter import (
    confirmed_round,
    keep_only_ticket,
    replace_inbox_session,
    resumed_inbox_session,
    round_refusal,
    sign_in_refused_message,
)
from portal.models import Submission, utc_now
from portal.services.contexts import is_public_id
from portal.services.proof_of_work import ChallengeRequiredError
from portal.services.rounds.consent_requests import NoOpenRequestError, confirm_sealed
from portal.services.submissions.inbox import (
    SealedRecord,
    SubmissionNotFoundError,
    add_sealed_further_information,
    change_sealed_consent,
    history_order,
    own_submission,
    sealed_submission,
)
from portal.services.submissions.inbox_news import mark_seen, new_first
from portal.services.submissions.inbox_web_sessions import (
    SignedInSubmitter,
    start_browser_held_session,
)
from portal.services.submissions.intake import MAX_ENVELOPE_BYTES, SubmissionRefusedError
from portal.services.submissions.messages import (
    desk_key_history,
    reply_sealed,
    sealed_thread,
    unverified_as_stored,
)
from portal.services.submissions.notices import notice_session_dates
from portal.services.submissions.owner_tags import OWNER_TAG_KEY_SIZE
from portal.services.submissions.provenance import record_unverified
from portal.services.submissions.submitters import (
    LOGIN_SECRET_SIZE,
    SignInRefusedError,
    sign_in_from_browser,
)
from portal.web.error_answers import malformed_request_answer
from portal.web.instance import app_secrets
from portal.web.request_limits import accepts_body
from portal.web.sign_in_work import (
    MalformedProofError,
    challenge_answer,
    challenge_gate,
    proof_from,
)
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("submitter_sealed", __name__, url_prefix="/inbox")

# Base64 makes an envelope a third larger; the JSON around it is a few bytes.
REQUEST_BODY_LIMIT = MAX_ENVELOPE_BYTES * 4 // 3 + 1024
# The most items one "seen" post names, and its body: a thread longer than this is marked over
# several visits.
MAX_SEEN_IDS = 500
SEEN_BODY_LIMIT = MAX_SEEN_IDS * 80 + 1024

_Params = ParamSpec("_Params")


class MalformedRequestError(ValueError):
    """A body that is not the JSON the endpoint takes."""


@blueprint.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError) -> ResponseReturnValue:
    """A missing or stale token, answered in JSON so the page can say so."""
    return _refusal(_("This page has expired. Reload it and try again."), 400)


def json_session_required(
    view: Callable[Concatenate[SignedInSubmitter, _Params], ResponseReturnValue],
) -> Callable[_Params, ResponseReturnValue]:
    """Open the request's inbox session for ``view``, or answer 401 in JSON.

    Like ``submitter.inbox_session_required``, an ended session's row goes; the page then
    sends the person to sign in again.
    """

    @functools.wraps(view)
    def wrapper(*args: _Params.args, **kwargs: _Params.kwargs) -> ResponseReturnValue:
        signed_in = resumed_inbox_session()
        if signed_in is None:
            message = _("Your inbox session has ended. Sign in again with your codename.")
            return _refusal(message, 401)
        return view(signed_in, *args, **kwargs)

    return wrapper


@blueprint.post("/sign-in/login-secret")
def sign_in_with_login_secret() -> ResponseReturnValue:
    """Sign in with the login secret a browser derived, opening a browser-held-key session."""
    try:
        body = _json_body()
        login_secret = _base64_field(body, "login_secret")
        owner_tag_key = _base64_field(body, "owner_tag_key")
        proof = proof_from(body)
    except (MalformedRequestError, MalformedProofError) as error:
        return malformed_request_answer(str(error))
    if len(login_secret) != LOGIN_SECRET_SIZE:
        return malformed_request_answer(f"login_secret: {LOGIN_SECRET_SIZE} bytes expected")
    if len(owner_tag_key) != OWNER_TAG_KEY_SIZE:
        return malformed_request_answer(f"owner_tag_key: {OWNER_TAG_KEY_SIZE} bytes expected")
    pepper = app_secrets().codename_pepper
    now = utc_now()
    with unit_of_work() as database:
        try:
            sign_in_from_browser(
                database,
                pepper,
                login_secret,
                owner_tag_key=owner_tag_key,
                now=now,
                challenges=challenge_gate(),
                proof=proof,
            )
        except ChallengeRequiredError as required:
            return challenge_answer(required)
        except SignInRefusedError:
            return _refusal(sign_in_refused_message(), 400)
        ticket = replace_inbox_session(
            database, lambda: start_browser_held_session(database, owner_tag_key, now=now)
        )
    keep_only_ticket(ticket)
    return jsonify(next=url_for("submitter.inbox"))


@blueprint.get("/<public_id>/sealed")
@json_session_required
def sealed_envelopes(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Everything stored for one own submission, still sealed, for the page to open."""
    found = _own_or_404(signed_in, public_id)
    sealed = sealed_submission(found)
    unverified = unverified_as_stored(found)
    if unverified:
        with unit_of_work() as database:
            record_unverified(database, found, unverified, by_submitter=True)
    return jsonify(
        submission=_item(sealed.submission, found.received_on.isoformat()),
        further_information=[
            _item(record, item.received_on.isoformat())
            for record, item in zip(
                sealed.further_information, history_order(found.further_information), strict=True
            )
        ],
        consent_changes=[
            _item(record, item.received_on.isoformat())
            for record, item in zip(
                sealed.consent_changes, history_order(found.consent_changes), strict=True
            )
        ],
        messages=[
            {
                "public_id": message.public_id,
                "written_by": str(message.written_by),
                "context": message.record.context,
                "envelope": base64.b64encode(message.record.envelope).decode("ascii"),
                "signature": _optional_base64(message.record.signature),
                "desk_key_id": message.desk_key_id_hex,
                "sent_on": message.sent_on.isoformat(),
                "new": message.new,
            }
            for message in new_first(sealed_thread(found))
        ],
        session_dates={
            str(session_id): date.isoformat()
            for session_id, date in notice_session_dates(found).items()
        },
        dialogue=found.dialogue.slug,
        desk_keys=[
            {
                "key_id": desk_key.key_id.hex(),
                "generation": desk_key.generation,
                "public_key": desk_key.public_key.hex(),
                "signing_public_key": _optional_hex(desk_key.signing_public_key),
                "certificate": _optional_hex(desk_key.certificate),
            }
            for desk_key in desk_key_history(found)
        ],
        attachments=[
            _item(record, found.received_on.isoformat()) for record in sealed.attachment_keys
        ],
        identities=None
        if sealed.identities is None
        else _item(sealed.identities, found.received_on.isoformat()),
    )


@blueprint.post("/<public_id>/sealed-further-information")
@accepts_body(REQUEST_BODY_LIMIT)
@json_session_required
def add_further_information(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Store further information the page sealed, once the service has checked its address."""
    return _store_sealed(
        signed_in, public_id, add_sealed_further_information, "further-information"
    )


@blueprint.post("/<public_id>/sealed-consent")
@accepts_body(REQUEST_BODY_LIMIT)
@json_session_required
def change_consent(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Store a consent change the page sealed, once the service has checked its address; one
    that names a round beside it is stored only as the answer to an open request."""
    body = request.get_json(silent=True)
    beside = body.get("round") if isinstance(body, dict) else None
    # A JSON number only: text is for forms.
    round_id = confirmed_round(0 if isinstance(beside, str) else beside)
    if round_id is None:
        return _store_sealed(signed_in, public_id, change_sealed_consent, "consent")
    confirm = functools.partial(confirm_sealed, round_id=round_id)
    return _store_sealed(signed_in, public_id, confirm, "consent")


@blueprint.post("/<public_id>/sealed-message")
@accepts_body(REQUEST_BODY_LIMIT)
@json_session_required
def reply(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Store a reply to the desk the page sealed under the reply id it was served with."""
    found = _own_or_404(signed_in, public_id)
    try:
        body = _json_body()
        envelope = _base64_field(body, "envelope")
        signature = _signature_field(body)
    except MalformedRequestError as error:
        return malformed_request_answer(str(error))
    message_id = body.get("public_id")
    if not isinstance(message_id, str):
        return _refusal("public_id: text expected", 400)
    try:
        with unit_of_work() as database:
            reply_sealed(database, found, message_id, envelope, signature, today=utc_now().date())
    except SubmissionRefusedError:
        return _refusal(_("This cannot be done for this submission. Nothing was changed."), 400)
    return jsonify(next=url_for("submitter.submission", public_id=public_id, _anchor="messages"))


@blueprint.post("/<public_id>/seen")
@accepts_body(SEEN_BODY_LIMIT)
@json_session_required
def mark_shown_seen(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Mark as seen the new desk items the page showed: ``{"messages": [public id]}``.

    A post rather than a side effect of fetching the envelopes, so that only what the tab could
    open and show stops being new (``inbox_news``); CSRF-protected like every post here.
    """
    found = _own_or_404(signed_in, public_id)
    try:
        shown = _public_ids(_json_body(), "messages")
    except MalformedRequestError as error:
        return malformed_request_answer(str(error))
    with unit_of_work() as database:
        marked = mark_seen(database, found, shown)
    return jsonify(marked=marked)


def _public_ids(body: dict[str, Any], name: str) -> list[str]:
    values = body.get(name)
    if (
        not isinstance(values, list)
        or len(values) > MAX_SEEN_IDS
        or not all(isinstance(value, str) and is_public_id(value) for value in values)
    ):
        raise MalformedRequestError(f"{name}: a list of at most {MAX_SEEN_IDS} public ids expected")
    return values


def _store_sealed(
    signed_in: SignedInSubmitter,
    public_id: str,
    store: Callable[..., Any],
    anchor: str,
) -> ResponseReturnValue:
    found = _own_or_404(signed_in, public_id)
    try:
        body = _json_body()
        envelope = _base64_field(body, "envelope")
        signature = _signature_field(body)
    except MalformedRequestError as error:
        return malformed_request_answer(str(error))
    try:
        with unit_of_work() as database:
            store(database, found, envelope, signature, today=utc_now().date())
    except NoOpenRequestError:
        return _refusal(round_refusal(), 400)
    except SubmissionRefusedError:
        return _refusal(_("This cannot be done for this submission. Nothing was changed."), 400)
    return jsonify(next=url_for("submitter.submission", public_id=public_id, _anchor=anchor))


def _own_or_404(signed_in: SignedInSubmitter, public_id: str) -> Submission:
    """The signed-in submitter's submission, or a JSON 404 that does not say whether it exists."""
    if is_public_id(public_id):
        try:
            return own_submission(reading(), signed_in.owner_tag_key, public_id)
        except SubmissionNotFoundError:
            pass
    abort(make_response(jsonify(error=_("There is no such submission in your inbox.")), 404))


def _item(record: SealedRecord, received_on: str) -> dict[str, str | None]:
    return {
        "context": record.context,
        "envelope": base64.b64encode(record.envelope).decode("ascii"),
        "signature": _optional_base64(record.signature),
        "received_on": received_on,
    }


def _optional_hex(value: bytes | None) -> str | None:
    return None if value is None else bytes(value).hex()


def _optional_base64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode("ascii")


def _signature_field(body: dict[str, Any]) -> bytes | None:
    """The item's signature; absent or null only for a submission sent before signatures,
    which the service checks."""
    if body.get("signature") is None:
        return None
    return _base64_field(body, "signature")


def _json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise MalformedRequestError("the request body is not a JSON object")
    return body


def _base64_field(body: dict[str, Any], name: str) -> bytes:
    value = body.get(name)
    if not isinstance(value, str):
        raise MalformedRequestError(f"{name}: base64 text expected")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise MalformedRequestError(f"{name}: base64 text expected") from None


def _refusal(message: str, status: int) -> ResponseReturnValue:
    return jsonify(error=message), status
