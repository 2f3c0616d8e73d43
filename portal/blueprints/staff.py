"""Pages for triage officers and co-chairs: desks, queues and triage (under ``/staff``).

This module turns requests into calls of the services and answers into pages; every rule lives
in a service: who may read what in ``need_to_know``, opening content in ``staff_reading``, the
queue in ``triage_queue``, every decision and state change in ``triage``, and links to the
agenda in ``rounds.agenda`` (whose own pages are in ``portal.blueprints.agenda``). A refused
decision is rolled back and the page says why; a submission of a desk the person is not on is a
403.

Content is decrypted in memory for the one response that shows it; responses are ``no-store``
(``portal.security``). Attachments are decrypted as a stream; see ``staff_reading``.
"""

import datetime as dt
import enum
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.routing import BuildError

from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import (
    AgendaLinkForm,
    DeclineForm,
    DuplicateForm,
    JustificationForm,
    NameReadersForm,
    NamesEmergencyForm,
    NoteForm,
    RiskForm,
    RiskHoldForm,
    TopicsForm,
)
from portal.i18n import refusal_text
from portal.labels import label
from portal.models import (
    DeclineReason,
    ReviewMode,
    RiskLevel,
    StaffRole,
    Submission,
    SubmissionKind,
    SubmissionState,
    Topic,
    utc_now,
)
from portal.services.desks import need_to_know
from portal.services.rounds import agenda, handover_sheet, roadmap
from portal.services.rounds.record import case_replies
from portal.services.rounds.waiting import overdue_per_dialogue, waiting_per_session
from portal.services.staff import identities, triage
from portal.services.staff.reading import (
    OpenedForStaff,
    ReadRefusal,
    ReadRefusedError,
    decrypted_chunks,
    open_attachment_for_staff,
    open_submission_for_staff,
)
from portal.services.staff.triage_queue import (
    NO_RISK,
    NO_SESSION,
    QueueFilters,
    QueueFlag,
    queue_page,
    state_counts,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.by_public_id import attachment_by_public_id
from portal.services.submissions.inbox import current_consents
from portal.web.instance import app_storage
from portal.web.lookups import desk_dialogue_or_403, desk_submission_or_404, found_or_404
from portal.web.row_links import RowLinks
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("staff", __name__, url_prefix="/staff")

CONTENT_ROLES = need_to_know.CONTENT_ROLES


@blueprint.context_processor
def _staff_words() -> dict[str, Any]:
    """Readable names of the triage vocabularies, from the one table in ``portal.labels``."""
    return {
        "risk_words": {level: label(level) for level in RiskLevel},
        "decline_words": {reason: label(reason) for reason in DeclineReason},
    }


# --- desks and queues --------------------------------------------------------------------------


@blueprint.get("/")
@staff_required()
def home(signed_in: SignedInStaff) -> str:
    """The person's desks with how many submissions are in each state, and the sessions of
    those desks with what waits for them in each (``portal.services.rounds.waiting``), the
    roadmaps with overdue actions for a co-chair; for an observer, the agendas the co-chairs
    have shared."""
    database = reading()
    desks = [
        (dialogue, state_counts(database, dialogue))
        for dialogue in need_to_know.desk_dialogues(database, signed_in.user)
    ]
    today = utc_now().date()
    waiting = waiting_per_session(database, signed_in.user, today=today)
    admin_url = None
    if signed_in.user.role is StaffRole.ADMINISTRATOR:
        try:
            admin_url = url_for("admin.staff_list")
        except BuildError:
            admin_url = None
    is_observer = signed_in.user.role is StaffRole.OBSERVER
    return render_template(
        "staff/home.html",
        admin_url=admin_url,
        desks=desks,
        shared_agendas=agenda.shared_agendas(database) if is_observer else [],
        waiting=waiting,
        overdue=overdue_per_dialogue(database, signed_in.user, today=today),
        states=list(SubmissionState),
        is_observer=is_observer,
        is_administrator=signed_in.user.role is StaffRole.ADMINISTRATOR,
    )


@blueprint.get("/dialogues/<slug>/queue")
@staff_required(CONTENT_ROLES)
def queue(signed_in: SignedInStaff, slug: str) -> str:
    """A page of the dialogue's queue: metadata only, filtered, keyset-paged."""
    database = reading()
    dialogue = desk_dialogue_or_403(database, signed_in, slug)
    filters = QueueFilters.from_args(request.args.to_dict())
    page = queue_page(
        database,
        dialogue,
        filters,
        after=request.args.get("after", type=int),
        before=request.args.get("before", type=int),
        today=utc_now().date(),
    )
    return render_template(
        "staff/triage/queue.html",
        dialogue=dialogue,
        page=page,
        filters=filters,
        filter_args=filters.as_args(),
        sessions=list(dialogue.sessions),
        kinds=list(SubmissionKind),
        states=list(SubmissionState),
        topics=list(Topic),
        risks=list(RiskLevel),
        flags=list(QueueFlag),
        no_session=NO_SESSION,
        no_risk=NO_RISK,
        kind_words=_translated(SubmissionKind),
        state_words=_translated(SubmissionState),
        topic_words=_translated(Topic),
        risk_level_words=_translated(RiskLevel),
        submission_link=RowLinks("staff.submission", "public_id"),
    )


def _translated(vocabulary: type[enum.StrEnum]) -> dict[str, str]:
    """Each value's label, translated once for a page that shows it on many rows: a label is
    translated anew each time it is shown, and a queue page would pay for it on every row."""
    return {str(value): str(label(value)) for value in vocabulary}


# --- one submission ----------------------------------------------------------------------------


@blueprint.get("/submissions/<public_id>")
@staff_required(CONTENT_ROLES)
def submission(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    """The submission opened for this response, with the triage panel; or its metadata only."""
    found = desk_submission_or_404(reading(), signed_in, public_id)
    return _submission_page(signed_in, found)


@blueprint.post("/submissions/<public_id>/emergency-access")
@staff_required(CONTENT_ROLES)
def emergency_access(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    """Open a restricted submission outside need-to-know, with a written justification."""
    found = desk_submission_or_404(reading(), signed_in, public_id)
    justification = JustificationForm().justification.data or ""
    try:
        with unit_of_work() as database:
            triage.grant_emergency_access(
                database, signed_in.user, found, justification, now=utc_now()
            )
    except triage.TriageForbiddenError:
        abort(403)
    except triage.TriageRefusedError as refusal:
        return _submission_page(
            signed_in,
            found,
            refusal=refusal_text(refusal),
            typed_justification=justification,
            status=400,
        )
    return redirect(url_for(".submission", public_id=public_id))


@blueprint.post("/submissions/<public_id>/topics")
@staff_required(CONTENT_ROLES)
def set_topics(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    return _decide(
        signed_in,
        public_id,
        "topics",
        lambda db, found, now: triage.set_topics(
            db, signed_in.user, found, TopicsForm().topic.data or [], now=now
        ),
    )


@blueprint.post("/submissions/<public_id>/risk")
@staff_required(CONTENT_ROLES)
def assess_risk(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    def act(db: Session, found: Submission, now: dt.datetime) -> None:
        form = RiskForm()
        form.validate()
        if form.level.errors:
            raise triage.TriageRefusedError(_("Choose a risk level."))
        if form.reassess_on.errors:
            raise triage.TriageRefusedError(_("Give the re-assessment date as a date."))
        triage.assess_risk(
            db,
            signed_in.user,
            found,
            level=RiskLevel(form.level.data),
            reassess_on=form.reassess_on.data,
            gender_specific=form.gender_specific.data == "yes",
            women_hrd=form.women_hrd.data == "yes",
            named_member_ids=form.named_member_ids,
            now=now,
        )

    return _decide(signed_in, public_id, "risk", act)


@blueprint.post("/submissions/<public_id>/name-readers")
@staff_required(CONTENT_ROLES)
def name_readers(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    """Name the desk members who read the case's names (``staff.identities``)."""
    return _decide(
        signed_in,
        public_id,
        "names",
        lambda db, found, now: identities.name_members(
            db, signed_in, found, NameReadersForm().member_ids, now=now
        ),
    )


@blueprint.post("/submissions/<public_id>/names-emergency-access")
@staff_required(CONTENT_ROLES)
def names_emergency_access(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    """Give one member the case's names for a while, with a reason the desk sees."""

    def act(db: Session, found: Submission, now: dt.datetime) -> None:
        form = NamesEmergencyForm()
        identities.grant_emergency_names(
            db, signed_in, found, form.member_id, form.justification.data or "", now=now
        )

    return _decide(signed_in, public_id, "names", act)


@blueprint.post("/submissions/<public_id>/risk-hold")
@staff_required(CONTENT_ROLES)
def risk_hold(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    return _decide(
        signed_in,
        public_id,
        "risk",
        lambda db, found, now: triage.set_risk_hold(
            db, signed_in.user, found, RiskHoldForm().hold.data == "set", now=now
        ),
    )


@blueprint.post("/submissions/<public_id>/accept")
@staff_required(CONTENT_ROLES)
def accept(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    return _decide(
        signed_in,
        public_id,
        "decision",
        lambda db, found, now: triage.accept(db, signed_in.user, found, now=now),
    )


@blueprint.post("/submissions/<public_id>/decline")
@staff_required(CONTENT_ROLES)
def decline(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    def act(db: Session, found: Submission, now: dt.datetime) -> None:
        form = DeclineForm()
        if not form.validate():
            raise triage.TriageRefusedError(_("Choose why the desk declines it."))
        triage.decline(db, signed_in.user, found, DeclineReason(form.reason.data), now=now)

    return _decide(signed_in, public_id, "decision", act)


@blueprint.post("/submissions/<public_id>/duplicate")
@staff_required(CONTENT_ROLES)
def mark_duplicate(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    return _decide(
        signed_in,
        public_id,
        "decision",
        lambda db, found, now: triage.mark_duplicate(
            db, signed_in.user, found, DuplicateForm().original.data or "", now=now
        ),
    )


@blueprint.post("/submissions/<public_id>/notes")
@staff_required(CONTENT_ROLES)
def add_note(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    return _decide(
        signed_in,
        public_id,
        "notes",
        lambda db, found, now: triage.add_note(
            db, signed_in, found, NoteForm().text.data or "", now=now
        ),
    )


@blueprint.post("/submissions/<public_id>/agenda-link")
@staff_required(CONTENT_ROLES)
def link_to_agenda(signed_in: SignedInStaff, public_id: str) -> ResponseReturnValue:
    def act(db: Session, found: Submission, now: dt.datetime) -> None:
        form = AgendaLinkForm()
        if not form.validate():
            raise triage.TriageRefusedError(_("Choose an agenda item."))
        agenda.link_submission(db, signed_in.user, found, form.agenda_item.data, now=now)

    return _decide(signed_in, public_id, "agenda", act)


@blueprint.get("/attachments/<public_id>")
@staff_required(CONTENT_ROLES)
def attachment(signed_in: SignedInStaff, public_id: str) -> Response:
    """One attachment (by its own public id), decrypted chunk by chunk as it is sent; the read
    is audited and committed first."""
    stored = found_or_404(attachment_by_public_id(reading(), public_id))
    found = desk_submission_or_404(reading(), signed_in, stored.submission.public_id)
    try:
        with unit_of_work() as database:
            opened = open_attachment_for_staff(database, signed_in, found, public_id, now=utc_now())
    except ReadRefusedError:
        abort(403)
    except LookupError:
        abort(404)
    if opened is None:  # its keys record could not be verified; that is on record
        abort(404)
    response = Response(
        decrypted_chunks(app_storage(), opened), mimetype="application/octet-stream"
    )
    # Always a download, never shown in the page: the type a submitter sent is not trusted.
    response.headers.set("Content-Disposition", "attachment", filename=opened.name or "file")
    response.content_length = opened.size
    return response


# --- helpers -----------------------------------------------------------------------------------


def _decide(
    signed_in: SignedInStaff,
    public_id: str,
    anchor: str,
    act: Callable[[Session, Submission, dt.datetime], Any],
) -> ResponseReturnValue:
    """Run one triage action in its own transaction: committed whole, or rolled back whole.

    Who may decide is checked before the form is read, so that someone who may not triage is
    answered 403 whatever they post, never a form error.
    """
    found: Submission | None = None
    try:
        with unit_of_work() as database:
            found = desk_submission_or_404(database, signed_in, public_id, for_update=True)
            now = utc_now()
            triage.require_triage(database, signed_in.user, found, now=now)
            act(database, found, now)
    except triage.TriageForbiddenError:
        abort(403)
    except triage.TriageRefusedError as refusal:
        # Only raised once the submission is found: the lookup answers 404 or 403 itself.
        assert found is not None
        return _submission_page(signed_in, found, refusal=refusal_text(refusal), status=400)
    return redirect(url_for(".submission", public_id=public_id, _anchor=anchor))


def _refusal_words(reason: ReadRefusal) -> str:
    return {
        ReadRefusal.NOT_ON_DESK: _("You are not on this dialogue's desk."),
        ReadRefusal.RESTRICTED: _(
            "This submission is high-risk and restricted to the desk members named on it."
        ),
        ReadRefusal.DESK_KEY_NOT_GRANTED: _(
            "You are on this desk but hold no grant of the desk key this submission is sealed "
            "to. A desk member who holds it must grant it to you."
        ),
        ReadRefusal.OFFLINE_REVIEW: _(
            "This dialogue is reviewed offline: its content is read on an offline machine from "
            "an exported bundle, never on the server."
        ),
    }[reason]


def _submission_page(
    signed_in: SignedInStaff,
    found: Submission,
    *,
    refusal: str | None = None,
    typed_justification: str = "",
    status: int = 200,
) -> ResponseReturnValue:
    """The submission page: opened for this response when need-to-know allows, else metadata.

    Opening records the read and moves a received submission into triage, committed here. The
    roadmap's actions linked to it show only to a reader who may read it, as on the roadmap.
    """
    database = reading()
    now = utc_now()
    user = signed_in.user
    access = need_to_know.submission_access(database, user, found, now=now)
    opened: OpenedForStaff | None = None
    read_refusal: ReadRefusal | None = None
    if found.dialogue.review_mode is ReviewMode.OFFLINE:
        read_refusal = ReadRefusal.OFFLINE_REVIEW
    elif access is need_to_know.Access.RESTRICTED:
        read_refusal = ReadRefusal.RESTRICTED
    else:
        try:
            with unit_of_work():
                opened = open_submission_for_staff(database, signed_in, found, now=now)
                triage.note_opened(database, found)
        except ReadRefusedError as refused:
            read_refusal = refused.reason
            status = 403 if status == 200 else status
    with unit_of_work():
        history = case_replies(database, signed_in, found, now=now)
    may_triage = need_to_know.may_triage(database, user, found.dialogue)
    persons = opened.payload.get("persons", []) if opened is not None else []
    body = render_template(
        "staff/triage/submission.html",
        submission=found,
        opened=opened,
        persons=persons,
        consents=current_consents(opened) if opened is not None else (),
        read_refusal=read_refusal,
        read_refusal_words=_refusal_words(read_refusal) if read_refusal else None,
        restricted=need_to_know.is_restricted(database, found),
        notes=opened.notes if opened is not None else (),
        may_triage=may_triage and access is need_to_know.Access.READ,
        decisions=triage.open_decisions(found),
        refusal=refusal,
        typed_justification=typed_justification,
        min_justification=triage.MIN_JUSTIFICATION,
        topics=list(Topic),
        risks=list(RiskLevel),
        decline_reasons=[
            reason for reason in DeclineReason if reason is not DeclineReason.DUPLICATE
        ],
        key_holders=triage.key_holders(database, found) if may_triage else [],
        named_ids={member.staff_user_id for member in found.named_members},
        name_grants=identities.name_readers(found, now=now),
        agenda_items=agenda.linkable_items(database, found),
        agenda_sessions=agenda.sessions_for_links(found),
        linked_item_ids={link.agenda_item_id for link in found.agenda_links},
        handover_panel=handover_sheet.case_panel(database, found, opened, today=now.date())
        if opened is not None
        else None,
        history=history,
        follow_up=[
            (action, roadmap.is_overdue(action, now.date()))
            for action in roadmap.actions_of_case(found)
        ]
        if access is need_to_know.Access.READ
        else [],
        today=now.date(),
        now=now,
    )
    return body, status
