"""Desk pages: who sits on a desk, key grants, removal and rotation (under ``/staff/desks``).

A desk's page is for its members only: an unknown dialogue is 404, a known one whose desk the
person does not sit on (administrators and observers included, whatever their role) is 403.
Granting and rotating need the desk key, which opens only in the acting member's own session
(``desks.MemberKeys``, through ``need_to_know.open_desk_key``); the key lives for that request.

The rules live in ``portal.services.desks.membership``; this module turns forms into service calls.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

import crypto
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import ConfirmLastForm, GrantForm
from portal.models import Dialogue, StaffUser
from portal.services.audit.listing import list_events
from portal.services.desks.keys import current_desk_key
from portal.services.desks.membership import (
    DeskActionError,
    LastKeyHolderError,
    MemberKeys,
    candidates_for_grant,
    desk_keys,
    desk_members,
    emergency_accesses,
    grant_member,
    holds_key,
    remove_member,
    rotate_desk_key,
)
from portal.services.staff.accounts import staff_by_email
from portal.services.staff.web_sessions import SignedInStaff
from portal.web.lookups import desk_dialogue_or_403, found_or_404
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("desk", __name__, url_prefix="/staff/desks")


@blueprint.get("/<slug>")
@staff_required()
def desk(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    database = reading()
    return _render_desk(database, signed_in, desk_dialogue_or_403(database, signed_in, slug))


@blueprint.post("/<slug>/grant")
@staff_required()
def grant(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    member = _chosen_member(reading(), GrantForm())
    if member is None:
        return _render_desk(
            reading(),
            signed_in,
            dialogue,
            error=_("No staff account matches; choose one from the list or type its e-mail."),
            status=400,
        )
    try:
        with unit_of_work() as database:
            outcome = grant_member(database, dialogue, member, keys=MemberKeys(signed_in))
    except DeskActionError as error:
        return _render_desk(reading(), signed_in, dialogue, error=str(error), status=400)
    flash(
        _(
            "%(name)s now holds %(count)s desk keys of this dialogue.",
            name=member.display_name,
            count=outcome.keys_granted,
        )
    )
    return redirect(url_for("desk.desk", slug=dialogue.slug))


@blueprint.post("/<slug>/members/<int:user_id>/remove")
@staff_required()
def remove(signed_in: SignedInStaff, slug: str, user_id: int) -> ResponseReturnValue:
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    member = found_or_404(reading().get(StaffUser, user_id))
    try:
        with unit_of_work() as database:
            remove_member(
                database,
                dialogue,
                member,
                actor=signed_in.user,
                confirm_last_key_holder=ConfirmLastForm().confirmed,
            )
    except LastKeyHolderError as error:
        return _render_desk(
            reading(), signed_in, dialogue, error=str(error), confirm_last=member.id, status=409
        )
    except DeskActionError as error:
        return _render_desk(reading(), signed_in, dialogue, error=str(error), status=400)
    if member.id == signed_in.user.id:
        return redirect(url_for("staff.home"))
    flash(_("%(name)s is no longer on this desk.", name=member.display_name))
    return redirect(url_for("desk.desk", slug=dialogue.slug))


@blueprint.post("/<slug>/rotate")
@staff_required()
def rotate(signed_in: SignedInStaff, slug: str) -> ResponseReturnValue:
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    try:
        with unit_of_work() as database:
            outcome = rotate_desk_key(database, dialogue, keys=MemberKeys(signed_in))
    except DeskActionError as error:
        return _render_desk(reading(), signed_in, dialogue, error=str(error), status=400)
    flash(
        _(
            "The desk key is rotated. New fingerprint: %(fingerprint)s. Publish it where "
            "submitters compare it.",
            fingerprint=crypto.fingerprint(outcome.new_key.public_key),
        )
    )
    return redirect(url_for("desk.desk", slug=dialogue.slug))


# --- helpers -----------------------------------------------------------------------------------


def _chosen_member(database: Session, form: GrantForm) -> StaffUser | None:
    """The account picked from the list (``staff_user_id``) or typed (``email``)."""
    if form.staff_user_id.data is not None:
        return database.get(StaffUser, form.staff_user_id.data)
    return staff_by_email(database, form.email.data) if form.email.data else None


def _render_desk(
    database: Session,
    signed_in: SignedInStaff,
    dialogue: Dialogue,
    *,
    error: str | None = None,
    confirm_last: int | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    current = current_desk_key(database, dialogue)
    before = request.args.get("before", type=int)
    return (
        render_template(
            "staff/desk/desk.html",
            dialogue=dialogue,
            members=desk_members(database, dialogue),
            candidates=candidates_for_grant(database, dialogue),
            current_key=current,
            fingerprint=None if current is None else crypto.fingerprint(current.public_key),
            retired_keys=[key for key in desk_keys(database, dialogue) if key.retired_at],
            i_hold_key=current is not None and holds_key(database, signed_in.user, current),
            events=list_events(database, before=before, dialogue_id=dialogue.id),
            before=before,
            accesses=emergency_accesses(database, dialogue),
            error=error,
            confirm_last=confirm_last,
            me=signed_in.user,
        ),
        status,
    )
