"""Pages for administrators: accounts, desk assignments, dialogues and the audit log (``/admin``).

Every page is for the administrator role only (``staff_required``). An administrator manages
accounts and who sits on which desk, but reads no content by role: putting someone on a desk
here makes a membership without any desk key (``desks.assign_member``), and only a desk member
who holds the key can grant it (``portal.blueprints.desk``). A one-time passphrase (new account
or reset) is shown once, in the response to the request that made it, and never stored.

The rules live in ``portal.services.staff.accounts``, ``portal.services.desks.membership`` and
``portal.services.audit.listing``; this module turns forms into service calls and answers into
pages.
"""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.blueprints.staff_access import staff_required
from portal.db import request_session
from portal.models import (
    DeskMembership,
    Dialogue,
    StaffRole,
    StaffUser,
    utc_now,
)
from portal.services.audit.listing import PAGE_SIZE, audit_actions, list_events, record_audit_view
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks.membership import (
    DeskActionError,
    LastKeyHolderError,
    assign_member,
    awaiting_desks,
    remove_member,
)
from portal.services.staff.accounts import (
    StaffDetailsError,
    create_staff_account,
    reset_staff_account,
    set_staff_active,
)
from portal.services.staff.web_sessions import (
    SignedInStaff,
    end_all_staff_sessions,
    live_session_count,
)

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

ADMINISTRATORS = [StaffRole.ADMINISTRATOR]
# Roles offered in the creation form, in the order people think of them.
ROLE_CHOICES = (
    StaffRole.TRIAGE_OFFICER,
    StaffRole.CO_CHAIR,
    StaffRole.OBSERVER,
    StaffRole.ADMINISTRATOR,
)


@blueprint.get("/")
@staff_required(roles=ADMINISTRATORS)
def index(_signed_in: SignedInStaff) -> ResponseReturnValue:
    return redirect(url_for("admin.staff_list"))


@blueprint.get("/staff")
@staff_required(roles=ADMINISTRATORS)
def staff_list(signed_in: SignedInStaff) -> ResponseReturnValue:
    return _render_staff_list(request_session(), signed_in)


@blueprint.post("/staff")
@staff_required(roles=ADMINISTRATORS)
def create_staff(signed_in: SignedInStaff) -> ResponseReturnValue:
    database = request_session()
    form = {
        "email": request.form.get("email", "").strip(),
        "display_name": request.form.get("display_name", "").strip(),
        "role": request.form.get("role", ""),
    }
    try:
        role = StaffRole(form["role"])
    except ValueError:
        return _render_staff_list(
            database, signed_in, form=form, error=_("Choose a role."), status=400
        )
    try:
        created = create_staff_account(
            database,
            email=form["email"],
            display_name=form["display_name"],
            role=role,
            created_by=signed_in.user,
        )
    except StaffDetailsError as error:
        database.rollback()
        return _render_staff_list(database, signed_in, form=form, error=str(error), status=400)
    database.commit()
    return render_template(
        "admin/passphrase.html",
        user=created.user,
        passphrase=created.one_time_passphrase,
        reset=False,
    )


@blueprint.get("/staff/<int:user_id>")
@staff_required(roles=ADMINISTRATORS)
def staff_detail(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    return _render_staff_detail(request_session(), signed_in, _user_or_404(user_id))


@blueprint.post("/staff/<int:user_id>/reset")
@staff_required(roles=ADMINISTRATORS)
def reset_staff(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    database = request_session()
    user = _user_or_404(user_id)
    if user.id == signed_in.user.id:
        return _render_staff_detail(
            database,
            signed_in,
            user,
            error=_("You cannot reset your own account; ask another administrator."),
            status=400,
        )
    passphrase = reset_staff_account(database, user, reset_by=signed_in.user)
    database.commit()
    return render_template("admin/passphrase.html", user=user, passphrase=passphrase, reset=True)


@blueprint.post("/staff/<int:user_id>/active")
@staff_required(roles=ADMINISTRATORS)
def set_active(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    database = request_session()
    user = _user_or_404(user_id)
    active = request.form.get("active") == "yes"
    if user.id == signed_in.user.id and not active:
        return _render_staff_detail(
            database,
            signed_in,
            user,
            error=_("You cannot deactivate your own account; ask another administrator."),
            status=400,
        )
    try:
        set_staff_active(database, user, active, actor=signed_in.user)
    except StaffDetailsError as error:
        database.rollback()
        return _render_staff_detail(database, signed_in, user, error=str(error), status=400)
    database.commit()
    flash(_("The account is active.") if active else _("The account is deactivated."))
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.post("/staff/<int:user_id>/end-sessions")
@staff_required(roles=ADMINISTRATORS)
def end_sessions(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    database = request_session()
    user = _user_or_404(user_id)
    ended = end_all_staff_sessions(database, user)
    record_event(
        database,
        action=AuditAction.STAFF_SESSIONS_ENDED,
        object_type="staff_user",
        object_id=user.id,
        actor=signed_in.user,
        details={"sessions_ended": ended},
    )
    database.commit()
    if user.id == signed_in.user.id:
        return redirect(url_for("staff_account.sign_in"))
    flash(_("Sessions ended: %(count)s.", count=ended))
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.post("/staff/<int:user_id>/desks")
@staff_required(roles=ADMINISTRATORS)
def assign_desk(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    database = request_session()
    user = _user_or_404(user_id)
    dialogue = _dialogue(database, request.form.get("dialogue", ""))
    if dialogue is None:
        return _render_staff_detail(
            database, signed_in, user, error=_("Choose a dialogue."), status=400
        )
    try:
        assign_member(database, dialogue, user, actor=signed_in.user)
    except DeskActionError as error:
        database.rollback()
        return _render_staff_detail(database, signed_in, user, error=str(error), status=400)
    database.commit()
    flash(
        _(
            "%(name)s is on the desk of %(dialogue)s, without the desk key: a desk member who "
            "holds it must grant it before they can read anything.",
            name=user.display_name,
            dialogue=dialogue.slug,
        )
    )
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.post("/staff/<int:user_id>/desks/<slug>/remove")
@staff_required(roles=ADMINISTRATORS)
def unassign_desk(signed_in: SignedInStaff, user_id: int, slug: str) -> ResponseReturnValue:
    database = request_session()
    user = _user_or_404(user_id)
    dialogue = _dialogue(database, slug)
    if dialogue is None:
        abort(404)
    try:
        remove_member(
            database,
            dialogue,
            user,
            actor=signed_in.user,
            confirm_last_key_holder=request.form.get("confirm_last") == "yes",
        )
    except LastKeyHolderError as error:
        database.rollback()
        return _render_staff_detail(
            database, signed_in, user, error=str(error), confirm_last=dialogue.slug, status=409
        )
    except DeskActionError as error:
        database.rollback()
        return _render_staff_detail(database, signed_in, user, error=str(error), status=400)
    database.commit()
    flash(
        _(
            "%(name)s is no longer on the desk of %(dialogue)s; their grants of its keys are "
            "deleted.",
            name=user.display_name,
            dialogue=dialogue.slug,
        )
    )
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.get("/dialogues")
@staff_required(roles=ADMINISTRATORS)
def dialogue_list(_signed_in: SignedInStaff) -> ResponseReturnValue:
    database = request_session()
    counts = dict(
        database.execute(
            select(DeskMembership.dialogue_id, func.count()).group_by(DeskMembership.dialogue_id)
        ).all()
    )
    dialogues = list(database.scalars(select(Dialogue).order_by(Dialogue.slug)))
    return render_template(
        "admin/dialogues.html",
        dialogues=[(dialogue, counts.get(dialogue.id, 0)) for dialogue in dialogues],
    )


@blueprint.get("/audit")
@staff_required(roles=ADMINISTRATORS)
def audit_log(signed_in: SignedInStaff) -> ResponseReturnValue:
    database = request_session()
    before = request.args.get("before", type=int)
    action = request.args.get("action", "") or None
    if action is not None and action not in audit_actions():
        action = None
    dialogue = _dialogue(database, request.args.get("dialogue", ""))
    limit = request.args.get("limit", type=int) or PAGE_SIZE
    page = list_events(
        database,
        before=before,
        action=action,
        dialogue_id=None if dialogue is None else dialogue.id,
        limit=limit,
    )
    record_audit_view(database, signed_in.user, before=before, action=action, dialogue=dialogue)
    database.commit()
    return render_template(
        "admin/audit.html",
        page=page,
        actions=audit_actions(),
        dialogues=list(database.scalars(select(Dialogue).order_by(Dialogue.slug))),
        selected_action=action or "",
        selected_dialogue="" if dialogue is None else dialogue.slug,
        before=before,
        limit=None if limit == PAGE_SIZE else limit,
    )


# --- helpers -----------------------------------------------------------------------------------


def _user_or_404(user_id: int) -> StaffUser:
    user = request_session().get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _dialogue(database: Session, slug: str) -> Dialogue | None:
    if not slug:
        return None
    return database.scalars(select(Dialogue).where(Dialogue.slug == slug)).first()


def _render_staff_list(
    database: Session,
    signed_in: SignedInStaff,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    now = utc_now()
    users = list(database.scalars(select(StaffUser).order_by(StaffUser.display_name, StaffUser.id)))
    desks = awaiting_desks(database, users)
    rows = [
        {
            "user": user,
            "enrolled": _enrolled(user),
            "desks": desks.get(user.id, []),
            "live_sessions": live_session_count(database, user, now=now),
        }
        for user in users
    ]
    return (
        render_template(
            "admin/staff_list.html",
            rows=rows,
            roles=ROLE_CHOICES,
            form=form or {"email": "", "display_name": "", "role": ""},
            error=error,
            me=signed_in.user,
        ),
        status,
    )


def _render_staff_detail(
    database: Session,
    signed_in: SignedInStaff,
    user: StaffUser,
    *,
    error: str | None = None,
    confirm_last: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    desks = awaiting_desks(database, [user]).get(user.id, [])
    on_desks = {slug for slug, _awaiting in desks}
    dialogues = [
        dialogue
        for dialogue in database.scalars(select(Dialogue).order_by(Dialogue.slug))
        if dialogue.slug not in on_desks
    ]
    return (
        render_template(
            "admin/staff_detail.html",
            user=user,
            enrolled=_enrolled(user),
            desks=desks,
            dialogues=dialogues,
            live_sessions=live_session_count(database, user, now=utc_now()),
            error=error,
            confirm_last=confirm_last,
            me=signed_in.user,
        ),
        status,
    )


def _enrolled(user: StaffUser) -> bool:
    """Whether the person has chosen their passphrase and enrolled their second factor."""
    return not user.must_change_passphrase and user.totp_secret_sealed is not None
