"""The submitter's inbox without JavaScript, under ``/inbox``: sign in with the codename, list
and read back one's own submissions, add further information, change or withdraw consent per
named person, read the desk's messages and answer them, delete a submission, sign out.

Signing in derives the codename's secrets on the server for that one request
(``submitters.sign_in_with_codename``) and opens an inbox session whose key lives only in the
session cookie and whose sealed private key lives only in the database
(``portal.services.submissions.inbox_web_sessions``; SECURITY.md, "Submitter inbox sessions"). Every
other page opens that session, uses the private key for its own request and forgets it. Every rule
(whose submission it is, what a consent change must say, what deleting destroys) lives in the
service layer; this module turns forms into service calls and service answers into pages.

Another person's submission and one that does not exist are the same 404, and an ended session
sends the person back to the sign-in page with a word saying why.
"""

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, Concatenate, ParamSpec

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import format_number
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.forms_web.vocabulary import consent_messages
from portal.labels import label
from portal.models import ConsentRequest, Submission, Topic, utc_now
from portal.numbers import LARGEST_ID, whole_number
from portal.services.contexts import is_public_id
from portal.services.rounds.consent_requests import (
    NoOpenRequestError,
    confirm_plain,
    current_request,
    waiting_requests,
)
from portal.services.rounds.round_consent import persons_in_round
from portal.services.submissions.inbox import (
    KINDS_WITH_CONSENT,
    SubmissionNotFoundError,
    add_plain_further_information,
    change_plain_consent,
    current_consents,
    delete_submission,
    list_inbox,
    open_submission,
    own_submission,
    sealing_target,
)
from portal.services.submissions.inbox_news import mark_seen, new_first
from portal.services.submissions.inbox_web_sessions import (
    KeyHeldByBrowserError,
    SessionEndedError,
    SessionTicket,
    SignedInSubmitter,
    end_session,
    resume_session,
    start_session,
)
from portal.services.submissions.intake import SubmissionRefusedError
from portal.services.submissions.kinds import LONG_TEXT_LIMIT
from portal.services.submissions.messages import (
    desk_messages_by_submission,
    new_reply_id,
    reply_context,
    reply_plain,
    thread_for_submitter,
    unverified_messages,
)
from portal.services.submissions.notices import notice_session_dates
from portal.services.submissions.own_attachments import own_attachments
from portal.services.submissions.payload import (
    ConsentGiver,
    ConsentLevel,
    PayloadError,
    Urgency,
)
from portal.services.submissions.progress import submission_path
from portal.services.submissions.provenance import (
    Provenance,
    UnverifiedSubmissionError,
    record_unverified,
)
from portal.services.submissions.submitters import SignInRefusedError, sign_in_with_codename
from portal.services.work_gate import BusyError
from portal.web.instance import app_secrets, app_storage
from portal.web.notice_headings import notice_heading_words
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("submitter", __name__, url_prefix="/inbox")

# The key of the inbox session's ticket inside the signed session cookie.
TICKET_COOKIE_ENTRY = "inbox"

_Params = ParamSpec("_Params")


def _consent_error_messages() -> dict[str, str]:
    """What to say next to a consent form for each field the service found wrong."""
    return {
        "person": _("Choose one of the people named in this submission."),
        **{f"consent.{key}": str(text) for key, text in consent_messages().items()},
    }


def sign_in_refused_message() -> str:
    """The one answer to any codename (or login secret) that opens no inbox, on both paths."""
    return _("This codename does not open an inbox. Check each word and try again.")


def sign_in_busy_message() -> str:
    """The answer while the server's budget for checking codenames is spent."""
    return _(
        "Many people are signing in right now, so your codename could not be checked yet. "
        "Please try again in a moment."
    )


def current_ticket() -> SessionTicket | None:
    """The inbox session ticket in this request's cookie, if it holds a well-formed one."""
    return SessionTicket.from_cookie(session.get(TICKET_COOKIE_ENTRY))


def replace_inbox_session(database: Session, start: Callable[[], SessionTicket]) -> SessionTicket:
    """End the cookie's previous inbox session and start a new one, in ``database``'s unit of
    work; once it is committed, :func:`keep_only_ticket` hands the new ticket to the cookie."""
    previous = current_ticket()
    if previous is not None:
        end_session(database, previous)
    return start()


def keep_only_ticket(ticket: SessionTicket) -> None:
    """Empty the cookie and keep only the new inbox session's ticket in it.

    The cookie is emptied first so that nothing of the signed-out state (not even its CSRF token)
    carries over into the signed-in one.
    """
    session.clear()
    session[TICKET_COOKIE_ENTRY] = ticket.to_cookie()


def resumed_inbox_session() -> SignedInSubmitter | None:
    """The live inbox session the cookie's ticket opens, if any.

    An ended session's row is deleted on the way (the unit of work commits it), whichever
    answer the page then gives.
    """
    ticket = current_ticket()
    if ticket is None:
        return None
    with unit_of_work() as database:
        try:
            return resume_session(database, ticket, now=utc_now())
        except SessionEndedError:
            return None


def inbox_session_required(
    view: Callable[Concatenate[SignedInSubmitter, _Params], ResponseReturnValue],
) -> Callable[_Params, ResponseReturnValue]:
    """Open the request's inbox session and hand the signed-in submitter to ``view``.

    Without a ticket the person is sent to sign in; with one that opens no live session (ended,
    signed out, or a key that does not open its box) the ticket is dropped from the cookie and
    the sign-in page says the session ended.
    """

    @functools.wraps(view)
    def wrapper(*args: _Params.args, **kwargs: _Params.kwargs) -> ResponseReturnValue:
        if current_ticket() is None:
            return redirect(url_for(".sign_in_form"))
        signed_in = resumed_inbox_session()
        if signed_in is None:
            session.pop(TICKET_COOKIE_ENTRY, None)
            return redirect(url_for(".sign_in_form", ended=1))
        return view(signed_in, *args, **kwargs)

    return wrapper


@blueprint.get("/sign-in")
def sign_in_form() -> str:
    """The codename form, with a word on why the person is here again, if there is one."""
    notice = None
    if request.args.get("ended"):
        notice = _("Your inbox session has ended. Sign in again with your codename.")
    elif request.args.get("signed_out"):
        notice = _("You have signed out.")
    return _sign_in_page(notice=notice)


@blueprint.post("/sign-in")
def sign_in() -> ResponseReturnValue:
    """Check the codename (on the server, for this request only) and open an inbox session.

    A refusal is committed before it is answered: the failure counts in the failure gauge only
    once it is stored (see ``portal.services.submissions.submitters``). While the budget for
    checking codenames is spent the answer is 503 with ``Retry-After``, nothing tried.
    """
    pepper = app_secrets().codename_pepper
    now = utc_now()
    with unit_of_work() as database:
        try:
            _, secrets = sign_in_with_codename(
                database, pepper, request.form.get("codename", ""), now=now
            )
        except BusyError as busy:
            page = _sign_in_page(error=sign_in_busy_message())
            return page, 503, {"Retry-After": str(busy.retry_after)}
        except SignInRefusedError:
            return _sign_in_page(error=sign_in_refused_message()), 400
        ticket = replace_inbox_session(database, lambda: start_session(database, secrets, now=now))
    keep_only_ticket(ticket)
    return redirect(url_for(".inbox"))


@blueprint.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """Delete the inbox session's row and empty the cookie, whatever state the session is in."""
    ticket = current_ticket()
    if ticket is not None:
        with unit_of_work() as database:
            end_session(database, ticket)
    session.clear()
    return redirect(url_for(".sign_in_form", signed_out=1))


@blueprint.get("")
@inbox_session_required
def inbox(signed_in: SignedInSubmitter) -> str:
    """Every own submission with its kind, state and dates, and deleted ones as tombstones."""
    database = reading()
    entries = list_inbox(database, signed_in.owner_tag_key)
    desk_messages = desk_messages_by_submission(database, signed_in.owner_tag_key)
    desk_threads = [
        (entry, desk_messages[entry.public_id])
        for entry in entries
        if entry.public_id in desk_messages
    ]
    return render_template(
        "inbox/index.html",
        entries=entries,
        desk_threads=new_first(desk_threads, lambda thread: thread[1].new),
        consent_requests=waiting_requests(database, signed_in.owner_tag_key),
    )


@blueprint.get("/<public_id>")
@inbox_session_required
def submission(signed_in: SignedInSubmitter, public_id: str) -> str:
    """One submission read back in full, with the forms that act on it."""
    return _submission_page(signed_in, _own_or_404(signed_in, public_id))


@blueprint.post("/<public_id>/further-information")
@inbox_session_required
def add_further_information(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Seal what the person adds to the submission's recipients, like the submission itself.

    Only for sessions whose key the server holds: a person signed in with JavaScript seals in
    the browser, and a plain post from such a session would hand the server plaintext it was
    promised never to see.
    """
    found = _own_or_404(signed_in, public_id)
    if signed_in.key_held_by_browser:
        return _submission_page(signed_in, found, refusal=_refusal()), 400
    text = request.form.get("text", "")
    try:
        with unit_of_work() as database:
            add_plain_further_information(
                database, found, signed_in, {"text": text}, today=utc_now().date()
            )
    except PayloadError:
        error = _(
            "Write what you want to add, in at most %(limit)s characters.",
            limit=format_number(LONG_TEXT_LIMIT),
        )
        return _submission_page(
            signed_in, found, further_information_error=error, typed_text=text
        ), 400
    except SubmissionRefusedError:
        return _submission_page(signed_in, found, refusal=_refusal()), 400
    return redirect(url_for(".submission", public_id=public_id, _anchor="further-information"))


@blueprint.post("/<public_id>/messages")
@inbox_session_required
def reply(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Seal the person's message to the desk and to themselves, like further information.

    Accepted whether or not the person agreed to be contacted: they chose to write. Refused for
    a session whose key the browser holds, for the reason ``add_further_information`` gives.
    """
    found = _own_or_404(signed_in, public_id)
    if signed_in.key_held_by_browser:
        return _submission_page(signed_in, found, refusal=_refusal()), 400
    text = request.form.get("text", "")
    try:
        with unit_of_work() as database:
            reply_plain(database, found, signed_in, {"text": text}, today=utc_now().date())
    except PayloadError:
        error = _(
            "Write your message, in at most %(limit)s characters.",
            limit=format_number(LONG_TEXT_LIMIT),
        )
        return _submission_page(signed_in, found, message_error=error, typed_message=text), 400
    except SubmissionRefusedError:
        return _submission_page(signed_in, found, refusal=_refusal()), 400
    return redirect(url_for(".submission", public_id=public_id, _anchor="messages"))


@blueprint.post("/<public_id>/consent")
@inbox_session_required
def change_consent(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Record a new consent level (or its withdrawal) for one named person.

    A form that carries a ``round`` confirms the person for that session: refused, with nothing
    stored, unless the session is an open request of this submission.
    """
    found = _own_or_404(signed_in, public_id)
    form = _consent_form(request.form)
    round_id = confirmed_round(request.form.get("round"))
    today = utc_now().date()
    try:
        with unit_of_work() as database:
            if round_id is None:
                change_plain_consent(database, found, signed_in, form, today=today)
            else:
                confirm_plain(database, found, signed_in, form, round_id, today=today)
    except PayloadError as error:
        messages = _consent_error_messages()
        errors = [messages[path] for path in error.errors if path in messages]
        return _submission_page(
            signed_in, found, consent_errors={form["person"]: errors or [messages["person"]]}
        ), 400
    except NoOpenRequestError:
        return _submission_page(signed_in, found, refusal=round_refusal()), 400
    except (SubmissionRefusedError, KeyHeldByBrowserError):
        return _submission_page(signed_in, found, refusal=_refusal()), 400
    return redirect(url_for(".submission", public_id=public_id, _anchor="consent"))


@blueprint.post("/<public_id>/delete")
@inbox_session_required
def delete(signed_in: SignedInSubmitter, public_id: str) -> ResponseReturnValue:
    """Crypto-shred the submission once the person has confirmed it cannot be undone."""
    found = _own_or_404(signed_in, public_id)
    if request.form.get("understood") != "yes":
        error = _("Tick the box to confirm that you understand deleting cannot be undone.")
        return _submission_page(signed_in, found, delete_error=error), 400
    with unit_of_work() as database:
        delete_submission(database, app_storage(), found, today=utc_now().date())
    return redirect(url_for(".inbox"))


def _sign_in_page(**context: str | None) -> str:
    """The sign-in page; ``inbox-sign-in.mjs`` shows the refusal the server words."""
    return render_template("inbox/sign_in.html", refused=sign_in_refused_message(), **context)


def _own_or_404(signed_in: SignedInSubmitter, public_id: str) -> Submission:
    """The signed-in submitter's submission, or 404 without saying whether it exists."""
    if not is_public_id(public_id):
        abort(404)
    try:
        return own_submission(reading(), signed_in.owner_tag_key, public_id)
    except SubmissionNotFoundError:
        abort(404)


def _consent_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The posted consent form in the shape ``change_plain_consent`` validates."""
    person = whole_number(form.get("person", ""))
    return {
        "person": -1 if person is None else person,
        "consent": {
            "level": form.get("level"),
            "given_by": form.get("given_by"),
            "risks_explained": form.get("risks_explained") == "yes",
        },
    }


def confirmed_round(value: object) -> int | None:
    """The session a consent form (its text field) or a sealed change (its JSON number)
    confirms: ``None`` for an ordinary change (no round given); anything that is not a session
    number becomes 0, which no request has."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = whole_number(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return value if 0 < value <= LARGEST_ID else 0


def round_refusal() -> str:
    """The answer to a confirmation for a session that does not, or no longer, ask for one."""
    return _(
        "That session does not ask you to confirm consent for this submission, or it has "
        "already been held. Nothing was changed."
    )


def sealed_page_data(found: Submission, consent_request: ConsentRequest | None) -> dict[str, str]:
    """The ``data-*`` attributes with which ``inbox.mjs`` reads back and seals in the page;
    ``round`` is the session of the request to confirm consent again, if one is open."""
    database = reading()
    target = sealing_target(database, found)
    desk_key, submitter_key = target.recipients
    reply_id = new_reply_id(database)
    value_labels = {
        str(value): str(label(value))
        for vocabulary in (ConsentLevel, ConsentGiver, Topic, Urgency)
        for value in vocabulary
    }
    return {
        "kind": str(found.kind),
        "public-id": found.public_id,
        "sealed-url": url_for("submitter_sealed.sealed_envelopes", public_id=found.public_id),
        "further-information-url": url_for(
            "submitter_sealed.add_further_information", public_id=found.public_id
        ),
        "consent-url": url_for("submitter_sealed.change_consent", public_id=found.public_id),
        "desk-key": desk_key.hex(),
        "submitter-key": submitter_key.hex(),
        "further-information-context": target.further_information_context,
        "consent-change-context": target.consent_change_context,
        "reply-url": url_for("submitter_sealed.reply", public_id=found.public_id),
        "reply-id": reply_id,
        "reply-context": reply_context(found, reply_id),
        "signing-key": (found.signing_public_key or b"").hex(),
        "value-labels": json.dumps(value_labels),
        "round": "" if consent_request is None else str(consent_request.session_id),
        "seen-url": url_for("submitter_sealed.mark_shown_seen", public_id=found.public_id),
        "notice-words": json.dumps(notice_heading_words()),
    }


def _record_unverified(found: Submission, kinds: list[str]) -> None:
    """Put on record each item of the read-back that failed the check of who sealed it."""
    if kinds:
        with unit_of_work() as database:
            record_unverified(database, found, kinds, by_submitter=True)


def _refusal() -> str:
    return _("This cannot be done for this submission. Nothing was changed.")


def _submission_page(
    signed_in: SignedInSubmitter,
    found: Submission,
    *,
    further_information_error: str | None = None,
    typed_text: str = "",
    consent_errors: Mapping[int, list[str]] | None = None,
    delete_error: str | None = None,
    refusal: str | None = None,
    message_error: str | None = None,
    typed_message: str = "",
) -> str:
    """The read-back page, opened with the submitter's key for this response only.

    For a session whose key the browser holds, the page carries no plaintext: it names where the
    envelopes are and what to seal to, and ``static/js/inbox.mjs`` opens and seals in the page.
    """
    consent_request = current_request(found)
    path = submission_path(found, today=utc_now().date())
    if signed_in.key_held_by_browser:
        return render_template(
            "inbox/submission.html",
            submission=found,
            path=path,
            sealed_page=sealed_page_data(found, consent_request),
            consent_request=consent_request,
            takes_consent=found.kind in KINDS_WITH_CONSENT,
            delete_error=delete_error,
            refusal=refusal,
        )
    try:
        opened = open_submission(found, signed_in)
    except UnverifiedSubmissionError:
        _record_unverified(found, ["submission"])
        return render_template(
            "inbox/submission.html", submission=found, path=path, submission_unverified=True
        )
    thread = new_first(thread_for_submitter(found, signed_in, opened.anchors))
    attachments = own_attachments(found, signed_in, opened.anchors)
    unverified_files = ["attachment" for item in attachments if item.name is None]
    _record_unverified(found, opened.unverified + unverified_messages(thread) + unverified_files)
    persons = opened.payload.get("persons", [])
    in_round = (
        ()
        if consent_request is None
        else persons_in_round(reading(), opened, found, consent_request.session)
    )
    page = render_template(
        "inbox/submission.html",
        submission=found,
        path=path,
        session_dates=notice_session_dates(found),
        consent_request=consent_request,
        awaiting=[person.awaiting_confirmation for person in in_round],
        payload=opened.payload,
        provenance=str(opened.provenance),
        further_information=[(item.row.received_on, item) for item in opened.further_information],
        consent_changes=[(item.row.received_on, item) for item in opened.consent_changes],
        persons=persons,
        identities_unverified=opened.identities is Provenance.UNVERIFIED,
        current_consents=current_consents(opened),
        takes_consent=found.kind in KINDS_WITH_CONSENT,
        further_information_error=further_information_error,
        typed_text=typed_text,
        thread=thread,
        attachments=attachments,
        message_error=message_error,
        typed_message=typed_message,
        consent_errors=consent_errors or {},
        delete_error=delete_error,
        refusal=refusal,
    )
    # The page above showed every item of the thread, new ones marked: from now on they are not.
    with unit_of_work() as database:
        mark_seen(database, found, [entry.public_id for entry in thread if entry.new])
    return page
