"""Pages for administrators: accounts, desk assignments, dialogues (with their retention) and the
audit log (``/admin``).

Every page is for the administrator role only (``staff_required``). An administrator manages
accounts and who sits on which desk, but reads no content by role: putting someone on a desk
here makes a membership without any desk key (``desks.assign_member``), and only a desk member
who holds the key can grant it (``portal.blueprints.desk``); taking someone who holds the key off
a desk needs the key too, so an administrator does it only as a key-holding member. A reset is a
request that a different administrator approves or cancels (``portal.services.staff.resets``). A
one-time passphrase (new account, or reset to its approver) is shown once, in the response to
the request that made it, and never stored.

The rules live in ``portal.services.staff.accounts``, ``portal.services.desks.membership`` and
``portal.services.audit.listing``; this module turns forms into service calls and answers into
pages.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.blueprints.admin_forms import (
    ROLE_CHOICES,
    ActiveForm,
    AssignDeskForm,
    NewAccountForm,
    RetentionForm,
)
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import first_error
from portal.i18n import refusal_text
from portal.models import Dialogue, StaffRole, StaffUser, utc_now
from portal.services.audit.listing import PAGE_SIZE, audit_actions, list_events, record_audit_view
from portal.services.desks.membership import (
    DeskActionError,
    MemberKeys,
    assign_member,
    awaiting_desks,
    desk_sizes,
    may_sit_on_a_desk,
    member_desks,
    removal_refusal,
    remove_member,
)
from portal.services.dialogues.catalogue import all_dialogues
from portal.services.dialogues.retention import (
    MAX_NOTICE_DAYS,
    MAX_RETENTION_DAYS,
    MIN_NOTICE_DAYS,
    RetentionSettingError,
    scheduled_deletions,
    set_retention,
)
from portal.services.staff.accounts import (
    StaffDetailsError,
    create_staff_account,
    end_all_sessions_audited,
    set_staff_active,
    staff_accounts,
)
from portal.services.staff.resets import (
    ResetRefusedError,
    approve_reset,
    cancel_reset,
    pending_reset_of,
    pending_resets,
    request_reset,
)
from portal.services.staff.web_sessions import SignedInStaff, live_session_count
from portal.web.lookups import dialogue_or_404, found_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("admin", __name__, url_prefix="/admin")

ADMINISTRATORS = [StaffRole.ADMINISTRATOR]


@blueprint.get("/")
@staff_required(roles=ADMINISTRATORS)
def index(_signed_in: SignedInStaff) -> ResponseReturnValue:
    return redirect(url_for("admin.staff_list"))


@blueprint.get("/staff")
@staff_required(roles=ADMINISTRATORS)
def staff_list(signed_in: SignedInStaff) -> ResponseReturnValue:
    return _render_staff_list(reading(), signed_in)


@blueprint.post("/staff")
@staff_required(roles=ADMINISTRATORS)
def create_staff(signed_in: SignedInStaff) -> ResponseReturnValue:
    form = NewAccountForm()
    if not form.validate():
        return _render_staff_list(
            reading(), signed_in, form=form.typed(), error=first_error(form), status=400
        )
    try:
        with unit_of_work() as database:
            created = create_staff_account(
                database,
                email=form.email.data,
                display_name=form.display_name.data,
                role=StaffRole(form.role.data),
                created_by=signed_in.user,
            )
    except StaffDetailsError as error:
        return _render_staff_list(
            reading(), signed_in, form=form.typed(), error=refusal_text(error), status=400
        )
    return render_template(
        "admin/passphrase.html",
        user=created.user,
        passphrase=created.one_time_passphrase,
        reset=False,
    )


@blueprint.get("/staff/<int:user_id>")
@staff_required(roles=ADMINISTRATORS)
def staff_detail(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    return _render_staff_detail(reading(), signed_in, _user_or_404(user_id))


@blueprint.post("/staff/<int:user_id>/reset")
@staff_required(roles=ADMINISTRATORS)
def reset_staff(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    """Ask for a reset; another administrator must approve it before anything changes."""
    user = _user_or_404(user_id)
    try:
        with unit_of_work() as database:
            request_reset(database, user, requested_by=signed_in.user)
    except ResetRefusedError as error:
        return _render_staff_detail(
            reading(), signed_in, user, error=refusal_text(error), status=400
        )
    flash(
        _(
            "The reset of %(name)s waits for another administrator's approval. Nothing has "
            "changed on the account yet.",
            name=user.display_name,
        )
    )
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.post("/staff/<int:user_id>/reset/approve")
@staff_required(roles=ADMINISTRATORS)
def approve_staff_reset(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    """Carry out a reset another administrator asked for; the approver sees the passphrase."""
    user = _user_or_404(user_id)
    try:
        with unit_of_work() as database:
            passphrase = approve_reset(database, user, approver=signed_in.user)
    except ResetRefusedError as error:
        return _render_staff_detail(
            reading(), signed_in, user, error=refusal_text(error), status=400
        )
    return render_template("admin/passphrase.html", user=user, passphrase=passphrase, reset=True)


@blueprint.post("/staff/<int:user_id>/reset/cancel")
@staff_required(roles=ADMINISTRATORS)
def cancel_staff_reset(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    try:
        with unit_of_work() as database:
            cancel_reset(database, user, actor=signed_in.user)
    except ResetRefusedError as error:
        return _render_staff_detail(
            reading(), signed_in, user, error=refusal_text(error), status=400
        )
    flash(_("The reset of %(name)s is cancelled.", name=user.display_name))
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.post("/staff/<int:user_id>/active")
@staff_required(roles=ADMINISTRATORS)
def set_active(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    active = ActiveForm().activate
    if user.id == signed_in.user.id and not active:
        return _render_staff_detail(
            reading(),
            signed_in,
            user,
            error=_("You cannot deactivate your own account; ask another administrator."),
            status=400,
        )
    try:
        with unit_of_work() as database:
            set_staff_active(database, user, active, actor=signed_in.user)
    except StaffDetailsError as error:
        return _render_staff_detail(
            reading(), signed_in, user, error=refusal_text(error), status=400
        )
    flash(_("The account is active.") if active else _("The account is deactivated."))
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.post("/staff/<int:user_id>/end-sessions")
@staff_required(roles=ADMINISTRATORS)
def end_sessions(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    with unit_of_work() as database:
        ended = end_all_sessions_audited(database, user, actor=signed_in.user)
    if user.id == signed_in.user.id:
        return redirect(url_for("staff_account.sign_in"))
    flash(_("Sessions ended: %(count)s.", count=ended))
    return redirect(url_for("admin.staff_detail", user_id=user.id))


@blueprint.post("/staff/<int:user_id>/desks")
@staff_required(roles=ADMINISTRATORS)
def assign_desk(signed_in: SignedInStaff, user_id: int) -> ResponseReturnValue:
    user = _user_or_404(user_id)
    form = AssignDeskForm()
    dialogue = form.chosen(all_dialogues(reading()))
    if dialogue is None:
        return _render_staff_detail(reading(), signed_in, user, error=first_error(form), status=400)
    try:
        with unit_of_work() as database:
            assign_member(database, dialogue, user, actor=signed_in.user)
    except DeskActionError as error:
        return _render_staff_detail(
            reading(), signed_in, user, error=refusal_text(error), status=400
        )
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
    user = _user_or_404(user_id)
    dialogue = dialogue_or_404(reading(), slug)
    try:
        with unit_of_work() as database:
            remove_member(database, dialogue, user, keys=MemberKeys(signed_in))
    except DeskActionError as error:
        return _render_staff_detail(
            reading(), signed_in, user, error=refusal_text(error), status=400
        )
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
    database = reading()
    sizes = desk_sizes(database)
    return render_template(
        "admin/dialogues.html",
        dialogues=[(dialogue, sizes.get(dialogue.id, 0)) for dialogue in all_dialogues(database)],
    )


@blueprint.get("/dialogues/<slug>")
@staff_required(roles=ADMINISTRATORS)
def dialogue_settings(_signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    return _render_dialogue_settings(reading(), dialogue_or_404(reading(), slug))


@blueprint.post("/dialogues/<slug>/retention")
@staff_required(roles=ADMINISTRATORS)
def set_dialogue_retention(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    dialogue = dialogue_or_404(reading(), slug)
    form = RetentionForm()
    if not form.validate():
        return _render_dialogue_settings(reading(), dialogue, error=first_error(form), status=400)
    try:
        with unit_of_work() as database:
            set_retention(
                database,
                dialogue,
                days=form.days.data,
                notice_days=form.notice_days.data,
                today=utc_now().date(),
                actor=signed_in.user,
            )
    except RetentionSettingError as error:
        return _render_dialogue_settings(reading(), dialogue, error=refusal_text(error), status=400)
    flash(_("The retention of %(slug)s is saved.", slug=dialogue.slug))
    return redirect(url_for("admin.dialogue_settings", slug=dialogue.slug))


@blueprint.get("/audit")
@staff_required(roles=ADMINISTRATORS)
def audit_log(signed_in: SignedInStaff) -> ResponseReturnValue:
    """A page of the audit log, filtered by action and dialogue; viewing it is itself audited."""
    before = request.args.get("before", type=int)
    action = request.args.get("action", "") or None
    if action is not None and action not in audit_actions():
        action = None
    with unit_of_work() as database:
        dialogues = all_dialogues(database)
        chosen = request.args.get("dialogue", "")
        dialogue = next((item for item in dialogues if item.slug == chosen), None)
        limit = request.args.get("limit", type=int) or PAGE_SIZE
        page = list_events(
            database,
            before=before,
            action=action,
            dialogue_id=None if dialogue is None else dialogue.id,
            limit=limit,
        )
        record_audit_view(database, signed_in.user, before=before, action=action, dialogue=dialogue)
    return render_template(
        "admin/audit.html",
        page=page,
        actions=audit_actions(),
        dialogues=dialogues,
        selected_action=action or "",
        selected_dialogue="" if dialogue is None else dialogue.slug,
        before=before,
        limit=None if limit == PAGE_SIZE else limit,
    )


# --- helpers -----------------------------------------------------------------------------------


def _user_or_404(user_id: int) -> StaffUser:
    return found_or_404(reading().get(StaffUser, user_id))


def _render_staff_list(
    database: Session,
    signed_in: SignedInStaff,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    now = utc_now()
    users = staff_accounts(database)
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
            resets=pending_resets(database),
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
    status: int = 200,
) -> ResponseReturnValue:
    keys = MemberKeys(signed_in)
    desks = [
        {
            "slug": desk.dialogue.slug,
            "awaiting_key": desk.awaiting_key,
            "removal_refusal": _removal_refusal(database, desk.dialogue, user, keys),
        }
        for desk in member_desks(database, [user]).get(user.id, [])
    ]
    on_desks = {desk["slug"] for desk in desks}
    dialogues = [dialogue for dialogue in all_dialogues(database) if dialogue.slug not in on_desks]
    return (
        render_template(
            "admin/staff_detail.html",
            user=user,
            enrolled=_enrolled(user),
            desks=desks,
            dialogues=dialogues,
            assignable=may_sit_on_a_desk(user),
            live_sessions=live_session_count(database, user, now=utc_now()),
            pending_reset=pending_reset_of(database, user),
            error=error,
            me=signed_in.user,
        ),
        status,
    )


def _render_dialogue_settings(
    database: Session, dialogue: Dialogue, *, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "admin/dialogue.html",
            dialogue=dialogue,
            scheduled=scheduled_deletions(database, dialogue, today=utc_now().date()),
            limits={
                "max_days": MAX_RETENTION_DAYS,
                "min_notice": MIN_NOTICE_DAYS,
                "max_notice": MAX_NOTICE_DAYS,
            },
            error=error,
        ),
        status,
    )


def _removal_refusal(
    database: Session, dialogue: Dialogue, user: StaffUser, keys: MemberKeys
) -> str | None:
    """Why the service would refuse to take ``user`` off this desk, in the page's language; the
    page offers the button only when there is no such reason."""
    refusal = removal_refusal(database, dialogue, user, keys=keys)
    return None if refusal is None else refusal_text(refusal)


def _enrolled(user: StaffUser) -> bool:
    """Whether the person has chosen their passphrase and enrolled their second factor."""
    return not user.must_change_passphrase and user.totp_secret_sealed is not None
