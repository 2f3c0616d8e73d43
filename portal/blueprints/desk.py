"""Desk pages: who sits on a desk, key grants, removal and rotation (under ``/staff/desks``).

A desk's page is for its members only: an unknown dialogue is 404, a known one whose desk the
person does not sit on (administrators and observers included, whatever their role) is 403.
Granting and rotating need the desk key, which opens only in the acting member's own session
(``desks.MemberKeys``, through ``need_to_know.open_desk_key``); the key lives for that request.

A grant takes two steps on one route: choosing a colleague answers with a page showing their
key's fingerprint and asking for the 30 digits they read out from their own account page; only
the second post, with those digits, grants anything. The page does not print the digits
themselves, so that the confirmation cannot be copied from the very page it is meant to check.

The rules live in ``portal.services.desks.membership``; this module turns forms into service calls.
"""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy.orm import Session

import crypto
from portal.blueprints.staff_access import staff_required
from portal.blueprints.staff_forms import GrantForm
from portal.i18n import refusal_text
from portal.models import Dialogue, StaffUser
from portal.services.audit.listing import list_events
from portal.services.desks.keys import current_desk_key
from portal.services.desks.membership import (
    DeskActionError,
    FingerprintMismatchError,
    LastKeyHolderError,
    MemberKeys,
    can_grant_member,
    can_remove_member,
    candidates_for_grant,
    check_grantable,
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
from portal.web.instance import app_secrets
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
    """Step one (no digits posted): the colleague's fingerprint and the field for the digits;
    step two: grant, if the digits are those of the key still on the account."""
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    form = GrantForm()
    member = _chosen_member(reading(), form)
    if member is None:
        return _render_desk(
            reading(),
            signed_in,
            dialogue,
            error=_("No staff account matches; choose one from the list or type its e-mail."),
            status=400,
        )
    if form.fingerprint.data is None:
        try:
            check_grantable(reading(), dialogue, member, keys=MemberKeys(signed_in))
        except DeskActionError as error:
            return _render_desk(
                reading(), signed_in, dialogue, error=refusal_text(error), status=400
            )
        return _render_confirmation(dialogue, member)
    try:
        with unit_of_work() as database:
            outcome = grant_member(
                database,
                dialogue,
                member,
                keys=MemberKeys(signed_in),
                typed_fingerprint=form.fingerprint.data,
                shown_fingerprint=form.shown_fingerprint.data,
                at_rest_key=app_secrets().at_rest_key,
            )
    except FingerprintMismatchError as error:
        return _render_confirmation(
            dialogue, reading().get(StaffUser, member.id), refusal_text(error), 400
        )
    except DeskActionError as error:
        return _render_desk(reading(), signed_in, dialogue, error=refusal_text(error), status=400)
    if outcome.keys_granted:
        flash(
            _(
                "%(name)s's key is confirmed and they now hold %(count)s desk keys of this "
                "dialogue.",
                name=member.display_name,
                count=outcome.keys_granted,
            )
        )
    else:
        flash(_("%(name)s's key is confirmed.", name=member.display_name))
    return redirect(url_for("desk.desk", slug=dialogue.slug))


@blueprint.post("/<slug>/members/<int:user_id>/remove")
@staff_required()
def remove(signed_in: SignedInStaff, slug: str, user_id: int) -> ResponseReturnValue:
    dialogue = desk_dialogue_or_403(reading(), signed_in, slug)
    member = found_or_404(reading().get(StaffUser, user_id))
    try:
        with unit_of_work() as database:
            remove_member(database, dialogue, member, keys=MemberKeys(signed_in))
    except LastKeyHolderError as error:
        hint = _(
            "%(refusal)s. Grant the key to a colleague first; only an operator with the recovery "
            "key can take the last holder off the desk.",
            refusal=refusal_text(error),
        )
        return _render_desk(reading(), signed_in, dialogue, error=hint, status=409)
    except DeskActionError as error:
        return _render_desk(reading(), signed_in, dialogue, error=refusal_text(error), status=400)
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
            outcome = rotate_desk_key(
                database,
                dialogue,
                keys=MemberKeys(signed_in),
                at_rest_key=app_secrets().at_rest_key,
            )
            waiting = ", ".join(user.display_name for user in outcome.not_confirmed)
    except DeskActionError as error:
        return _render_desk(reading(), signed_in, dialogue, error=refusal_text(error), status=400)
    flash(
        _(
            "The desk key is rotated. New fingerprint: %(fingerprint)s. Publish it where "
            "submitters compare it.",
            fingerprint=crypto.fingerprint(outcome.new_key.public_key),
        )
    )
    if waiting:
        flash(
            _(
                "Not given the new key, because their key changed or was never confirmed: "
                "%(names)s. Confirm each one's key with them to grant it.",
                names=waiting,
            )
        )
    return redirect(url_for("desk.desk", slug=dialogue.slug))


# --- helpers -----------------------------------------------------------------------------------


def _render_confirmation(
    dialogue: Dialogue, member: StaffUser, error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "staff/desk/confirm_key.html",
            dialogue=dialogue,
            member=member,
            fingerprint=crypto.fingerprint(member.personal_public_key),
            error=error,
        ),
        status,
    )


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
    status: int = 200,
) -> ResponseReturnValue:
    current = current_desk_key(database, dialogue)
    members = desk_members(database, dialogue, at_rest_key=app_secrets().at_rest_key)
    keys = MemberKeys(signed_in)
    before = request.args.get("before", type=int)
    return (
        render_template(
            "staff/desk/desk.html",
            dialogue=dialogue,
            members=members,
            grantable={
                member.user.id
                for member in members
                if can_grant_member(database, dialogue, member.user, keys=keys)
            },
            removable={
                member.user.id
                for member in members
                if can_remove_member(database, dialogue, member.user, keys=keys)
            },
            candidates=candidates_for_grant(database, dialogue),
            current_key=current,
            fingerprint=None if current is None else crypto.fingerprint(current.public_key),
            retired_keys=[key for key in desk_keys(database, dialogue) if key.retired_at],
            i_hold_key=current is not None and holds_key(database, signed_in.user, current),
            events=list_events(database, before=before, dialogue_id=dialogue.id),
            before=before,
            accesses=emergency_accesses(database, dialogue),
            error=error,
            me=signed_in.user,
        ),
        status,
    )
