"""The four public forms without JavaScript: the browser posts over TLS, the server seals.

Each form is one URL: GET shows it, POST receives it. A form is shown and received only while
the service rules accept that kind of submission (``portal.services.dialogues.dialogue_sessions``):
otherwise the page says why, with 404 for a dialogue or session that does not exist and 409 for one
that does not accept this form now. The form carries a fresh public submission id issued by the
server (``submissions.submission_ids``), which the envelope's context binds
(``portal.services.contexts``), the desk key's fingerprint and who will read it. A form that comes
back keeps its id while it is still valid and gets a fresh one otherwise; a form sent after its
id expired comes back with a fresh id, everything typed and a note saying so.

Receiving a form, in this order, so that nothing is half-stored and nothing typed is lost:

1. the body is parsed with every file encrypted as it arrives (``forms_web.uploads``), then the
   CSRF token is checked; this blueprint is exempt from ``CSRFProtect``'s early check only
   because that check would parse the body first and spool large files to disk in clear;
2. "add more rows" and any validation error (payload, attachments over the limit) roll back the
   transaction, which deletes every staged file, and show the form again with all that was typed
   (files excepted, and the page says so next to the file input); files the storage quota has no
   room for (``portal.services.storage_quota``) bring the form back the same way, with 507;
3. the codename: a new one is registered in the page's language, or a typed one is derived for
   this request only; a wrong one is answered generically, counted, and the form comes back, as
   it does with "try again in a moment" (503) while the budget for checking codenames is spent;
4. the submission and its files are stored in one transaction and the codename is shown once,
   in this response (``Cache-Control: no-store`` is set on every response), with a check that it
   was written down (``forms_web.codename_check``) which needs nothing kept on the server.
"""

import json
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import LazyString, lazy_gettext
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

import crypto
from portal.forms_web import fields as form_fields
from portal.forms_web import vocabulary
from portal.forms_web.codename_check import (
    CheckUnreadableError,
    new_retype_check,
    read_retype_check,
    words_match,
)
from portal.forms_web.uploads import ATTACHMENTS_FIELD, PostedForm, read_posted_form
from portal.i18n import codename_language
from portal.models import (
    DeskKey,
    Dialogue,
    DialogueSession,
    IdentityKey,
    SubmissionKind,
    utc_now,
)
from portal.services.contexts import (
    SubmissionAddress,
    signed_attachment_keys_context,
    signed_identities_context,
    signed_submission_context,
)
from portal.services.desks.keys import current_desk_key
from portal.services.dialogues.dialogue_sessions import (
    UnknownDialogueError,
    UnknownSessionError,
    consultation_accepts_submissions,
    dialogue_accepts_reprisal_reports,
    dialogue_by_slug,
    session_by_id,
)
from portal.services.storage_quota import StagingRoom
from portal.services.submissions import kinds
from portal.services.submissions.attachments import UploadBudget, attach_file
from portal.services.submissions.intake import (
    FormExpiredError,
    SubmissionRefusedError,
    accept_plain_submission,
    identity_key_for,
    submission_address,
)
from portal.services.submissions.payload import PayloadError, validate_submission
from portal.services.submissions.submitters import (
    SignInRefusedError,
    register_new_codename,
    sign_in_with_codename,
)
from portal.services.work_gate import BusyError
from portal.web.instance import (
    app_recovery_signing_key,
    app_secrets,
    app_settings,
    app_storage,
    app_storage_limits,
    app_submission_ids,
)
from portal.web.transaction import discard_changes, reading, unit_of_work

blueprint = Blueprint("forms", __name__)

FORM_METHODS = ("GET", "POST")
ADD_ROWS_ACTION = "add_rows"
EXISTING_CODENAME = "existing"
# The body of the codename check holds two words and a token; nothing near this size.
CHECK_BODY_LIMIT = 16 * 1024


@blueprint.record_once
def _check_csrf_after_parsing(state: BlueprintSetupState) -> None:
    """Exempt these routes from the early CSRF check; each checks the token itself."""
    state.app.extensions["csrf"].exempt(blueprint)


class FormComesBackError(Exception):
    """A post that stores nothing: the form goes back to the person with all they typed.

    Raised inside the unit of work, so that everything the post staged (the encrypted files
    included, ``portal.storage``) is rolled back before the page is answered.
    """

    def __init__(self, page: str, status: int) -> None:
        super().__init__(status)
        self.page = page
        self.status = status


@dataclass(frozen=True)
class Destination:
    """Where a form goes: the dialogue, its session (none for a reprisal report), its desk key."""

    kind: SubmissionKind
    dialogue: Dialogue
    dialogue_session: DialogueSession | None
    desk_key: DeskKey
    identity_key: IdentityKey | None  # set when the form's persons are sealed apart


@blueprint.route("/dialogues/<slug>/sessions/<int:session_id>/agenda-input", methods=FORM_METHODS)
def agenda_input(slug: str, session_id: int) -> ResponseReturnValue:
    return _form_page(SubmissionKind.AGENDA_INPUT, slug, session_id)


@blueprint.route(
    "/dialogues/<slug>/sessions/<int:session_id>/individual-case", methods=FORM_METHODS
)
def individual_case(slug: str, session_id: int) -> ResponseReturnValue:
    return _form_page(SubmissionKind.INDIVIDUAL_CASE, slug, session_id)


@blueprint.route(
    "/dialogues/<slug>/sessions/<int:session_id>/seminar-recommendations", methods=FORM_METHODS
)
def seminar_recommendations(slug: str, session_id: int) -> ResponseReturnValue:
    return _form_page(SubmissionKind.SEMINAR_RECOMMENDATIONS, slug, session_id)


@blueprint.route("/dialogues/<slug>/reprisal-report", methods=FORM_METHODS)
def reprisal_report(slug: str) -> ResponseReturnValue:
    return _form_page(SubmissionKind.REPRISAL_REPORT, slug, None)


@blueprint.post("/codename-check")
def codename_check() -> ResponseReturnValue:
    """Compare two retyped words of a new codename with the ones its page's token holds."""
    request.max_content_length = CHECK_BODY_LIMIT
    _require_csrf_token(request.form)
    try:
        check, expected = read_retype_check(
            request.form.get("token", ""), _at_rest_key(), utc_now()
        )
    except CheckUnreadableError:
        return render_template("forms/codename_check.html", check=None, result="expired"), 400
    typed = request.form.getlist("word")
    result = "match" if words_match(expected, typed) else "mismatch"
    return render_template("forms/codename_check.html", check=check, result=result)


def _form_page(kind: SubmissionKind, slug: str, session_id: int | None) -> ResponseReturnValue:
    found = _find_destination(reading(), kind, slug, session_id)
    if not isinstance(found, Destination):
        return found
    spec = kinds.declaration(kind)
    if request.method == "GET":
        return _render_form(found, form_fields.ReadForm(spec), _fresh_id())
    try:
        with unit_of_work() as database:
            return _receive(database, found, spec)
    except FormComesBackError as back:
        return back.page, back.status


def _find_destination(
    session: Session, kind: SubmissionKind, slug: str, session_id: int | None
) -> Destination | ResponseReturnValue:
    """The destination of a form, or the page saying why it does not accept one now."""
    try:
        dialogue = dialogue_by_slug(session, slug)
        dialogue_session = None if session_id is None else session_by_id(session, session_id)
    except (UnknownDialogueError, UnknownSessionError):
        return render_template("forms/unavailable.html", reason="not_found"), 404
    if dialogue_session is not None and dialogue_session.dialogue_id != dialogue.id:
        return render_template("forms/unavailable.html", reason="not_found"), 404
    desk_key = current_desk_key(session, dialogue)
    if not dialogue_accepts_reprisal_reports(dialogue):
        reason = "frozen"
    elif dialogue_session is not None and not consultation_accepts_submissions(
        dialogue_session, utc_now()
    ):
        reason = "consultation_closed"
    elif desk_key is None:
        reason = "no_desk_key"
    else:
        identity_key = identity_key_for(session, desk_key, kind)
        return Destination(kind, dialogue, dialogue_session, desk_key, identity_key)
    page = render_template("forms/unavailable.html", reason=reason, dialogue=dialogue)
    return page, 409


def _receive(
    database: Session, destination: Destination, spec: kinds.KindDeclaration
) -> ResponseReturnValue:
    """Store a posted form in ``database``'s unit of work, or raise ``FormComesBackError``."""
    posted, form = _read_checked_form(database, destination, spec)
    public_id = form.value("public_id")
    files_dropped = bool(posted.files) or posted.over_budget
    now = utc_now()
    pepper = app_secrets().codename_pepper
    new_codename = None
    if form.value("codename_choice") == EXISTING_CODENAME:
        try:
            _, codename_key = sign_in_with_codename(
                database, pepper, form.value("codename"), now=now
            )
        except (SignInRefusedError, BusyError) as refusal:
            for received in posted.files:
                app_storage().discard(database, received.encrypted.staged)
            # Answered from inside the unit of work, so the refusal is committed and counted
            # (see ``services.submitters``).
            busy = isinstance(refusal, BusyError)
            form.errors["codename"] = codename_busy() if busy else codename_refusal()
            page = _render_form(
                destination, form, _live_or_fresh_id(public_id), files_dropped=files_dropped
            )
            if busy:
                return page, 503, {"Retry-After": str(refusal.retry_after)}
            return page, 400
    else:
        new = register_new_codename(
            database, pepper, language=codename_language(), today=now.date()
        )
        codename_key, new_codename = new.secrets, new.codename

    try:
        address = submission_address(
            database,
            dialogue=destination.dialogue,
            dialogue_session=destination.dialogue_session,
            kind=destination.kind,
            public_id=public_id,
            ids=app_submission_ids(),
            now=now,
        )
        submission = accept_plain_submission(
            database,
            address=address,
            submitter_key=codename_key,
            form=form.payload_input(),
            today=now.date(),
            recovery_signing_key=app_recovery_signing_key(),
        )
    except FormExpiredError:
        page = _render_form(
            destination, form, _fresh_id(), files_dropped=files_dropped, expired=True
        )
        raise FormComesBackError(page, 400) from None
    except SubmissionRefusedError:
        page = _render_form(
            destination, form, _fresh_id(), files_dropped=files_dropped, not_sent=True
        )
        raise FormComesBackError(page, 409) from None
    for received in posted.files:
        attach_file(
            database,
            submission,
            received.encrypted,
            codename_key,
            file_name=received.file_name,
            content_type=received.content_type,
        )
    if new_codename is None:
        return render_template(
            "forms/received.html",
            back_url=_back_url(destination),
            attachments=len(posted.files),
        )
    return render_template(
        "forms/codename.html",
        back_url=_back_url(destination),
        attachments=len(posted.files),
        words=new_codename.split(" "),
        check=new_retype_check(new_codename, _at_rest_key(), now),
    )


def _read_checked_form(
    database: Session, destination: Destination, spec: kinds.KindDeclaration
) -> tuple[PostedForm, form_fields.ReadForm]:
    """The posted form, its files staged in ``database``'s transaction, once it may be stored.

    A stale CSRF token, a request for more rows and any refusal of a field raise
    ``FormComesBackError`` with the form as typed.
    """
    settings = app_settings()
    storage = app_storage()
    room = StagingRoom(database, storage, app_storage_limits())
    posted = read_posted_form(database, storage, UploadBudget(settings.max_upload_bytes), room)
    form = form_fields.ReadForm(spec, posted.fields)
    public_id = _live_or_fresh_id(form.value("public_id"))
    files_dropped = bool(posted.files) or posted.over_budget
    if not _csrf_token_valid(posted.fields):
        # Most often the page outlived its session while the person wrote: hand everything
        # back under a fresh token rather than lose it. Nothing is stored, so a forged post
        # achieves nothing, and the answer goes only to the browser that sent it.
        page = _render_form(destination, form, public_id, files_dropped=files_dropped, expired=True)
        raise FormComesBackError(page, 400)
    if form.value("action") == ADD_ROWS_ACTION:
        form.add_rows()
        raise FormComesBackError(
            _render_form(destination, form, public_id, files_dropped=files_dropped), 200
        )
    _check_fields(form, posted, settings.max_upload_bytes)
    if form.errors:
        raise FormComesBackError(
            _render_form(destination, form, public_id, files_dropped=files_dropped),
            507 if posted.storage_full else 400,
        )
    return posted, form


def _check_fields(form: form_fields.ReadForm, posted: PostedForm, limit_bytes: int) -> None:
    """Put every refusal of the typed fields and of the files next to its field."""
    try:
        validate_submission(form.payload_input(), form.spec.kind)
    except PayloadError as error:
        form.add_payload_errors(
            {
                path: vocabulary.field_message(path, message)
                for path, message in error.errors.items()
            }
        )
    if posted.storage_full:
        form.errors[ATTACHMENTS_FIELD] = lazy_gettext(
            "The portal cannot take more files right now, so none was kept. Send the form "
            "without files, or try again later."
        )
    elif posted.over_budget:
        form.errors[ATTACHMENTS_FIELD] = lazy_gettext(
            "The files together are larger than %(limit)s, so none was kept. Choose fewer or "
            "smaller files.",
            limit=vocabulary.size_text(limit_bytes),
        )


def _render_form(
    destination: Destination,
    form: form_fields.ReadForm,
    public_id: str,
    *,
    files_dropped: bool = False,
    not_sent: bool = False,
    expired: bool = False,
) -> str:
    return render_template(
        "forms/form.html",
        destination=destination,
        spec=form.spec,
        form=form,
        public_id=public_id,
        fingerprint=crypto.fingerprint(destination.desk_key.public_key),
        files_dropped=files_dropped,
        not_sent=not_sent,
        expired=expired,
        # Built, not copied from the request, so that it carries the page's language (i18n).
        form_url=url_for(request.endpoint or "", **(request.view_args or {})),
        back_url=_back_url(destination),
        html_id=form_fields.html_id,
        upload_limit=vocabulary.size_text(app_settings().max_upload_bytes),
        sealing=_sealing_data(destination, public_id),
    )


def _sealing_data(destination: Destination, public_id: str) -> dict[str, str]:
    """What the form's script needs to seal it in the browser (``forms_sealed``), as the
    ``data-*`` attributes of the form: all of it public, none of it typed by the person."""
    address = SubmissionAddress(
        destination.dialogue, destination.dialogue_session, destination.kind, public_id
    )
    session = destination.dialogue_session
    return {
        "sealed-url": url_for("forms_sealed.receive_sealed_submission"),
        "codename-words-url": url_for("forms_sealed.codename_words", language=codename_language()),
        "kind": str(destination.kind),
        "dialogue": destination.dialogue.slug,
        "session": "" if session is None else str(session.id),
        "context": signed_submission_context(address),
        "uploads-url": url_for("uploads.create"),
        # The context of each file's keys, less the upload id that ends it (made in the browser).
        "attachment-context-prefix": signed_attachment_keys_context(address, ""),
        "desk-key": destination.desk_key.public_key.hex(),
        # The desk signing key the submission will name as the one its desk messages come from;
        # empty for a desk key no holder has opened since signatures came in.
        "desk-signing-key": (destination.desk_key.signing_public_key or b"").hex(),
        # The recovery signing key it will accept as a certifier of later desk keys; empty until
        # the instance records one (portal.instance).
        "recovery-signing-key": (app_recovery_signing_key() or b"").hex(),
        "messages": json.dumps(_browser_messages(), ensure_ascii=False),
        **_identities_sealing(destination, address),
    }


def _identities_sealing(destination: Destination, address: SubmissionAddress) -> dict[str, str]:
    """Where the browser seals the persons' names apart, when this form's desk does that."""
    if destination.identity_key is None:
        return {}
    return {
        "identity-key": destination.identity_key.public_key.hex(),
        "identities-context": signed_identities_context(address),
    }


def _browser_messages() -> dict[str, str]:
    """The sentences the form's script shows: the field refusals, the one answer to a codename
    that cannot be right, and what to do when the network failed."""
    return {
        **vocabulary.browser_messages(),
        "codename": str(codename_refusal()),
        "image_not_cleaned": str(
            lazy_gettext(
                "The photo {name} could not be cleaned of hidden details, so nothing was sent. "
                "Remove it, or save it again with another program, and send the form again."
            )
        ),
        "form_renewed": str(
            lazy_gettext(
                "This form was open for a long time and had expired, so nothing was sent. It "
                "has been renewed with everything you wrote and chose still here: check it and "
                "send it again."
            )
        ),
        "not_sent": str(
            lazy_gettext(
                "This form could not be sent. Nothing was stored. Check your connection and "
                "send it again."
            )
        ),
    }


def _csrf_token_valid(fields: MultiDict[str, str]) -> bool:
    """The CSRF check ``CSRFProtect`` would have made, on the body this blueprint parsed."""
    if not current_app.config["WTF_CSRF_ENABLED"]:
        return True
    try:
        validate_csrf(fields.get("csrf_token"))
    except ValidationError:
        return False
    return True


def _require_csrf_token(fields: MultiDict[str, str]) -> None:
    """Refuse the request as ``CSRFProtect`` would when the token does not check out."""
    if not _csrf_token_valid(fields):
        discard_changes()
        raise CSRFError("The CSRF token is missing or invalid.")


def codename_refusal() -> LazyString:
    """The one message a refused codename gets on either path, in the page's language."""
    return lazy_gettext("This codename does not open an inbox. Check each word and try again.")


def codename_busy() -> LazyString:
    """What a codename gets while the server's budget for checking codenames is spent."""
    return lazy_gettext(
        "Many people are signing in right now, so your codename could not be checked yet. "
        "Please send the form again in a moment."
    )


def _fresh_id() -> str:
    """A new submission id for a form shown now."""
    return app_submission_ids().issue(utc_now())


def _live_or_fresh_id(posted_id: str) -> str:
    """The id a form that comes back carries: its own while still valid, else a fresh one."""
    return posted_id if app_submission_ids().is_live(posted_id, utc_now()) else _fresh_id()


def _at_rest_key() -> bytes:
    return app_secrets().at_rest_key


def _back_url(destination: Destination) -> str:
    if destination.dialogue_session is None:
        return url_for("public.dialogue", slug=destination.dialogue.slug)
    return url_for(
        "public.session",
        slug=destination.dialogue.slug,
        session_id=destination.dialogue_session.id,
    )
