"""Who is signed in on the staff side, and the one decorator every staff page goes through.

Flask-Login supplies ``current_user`` (a :class:`StaffPrincipal`, or anonymous) from this
module's request loader, which resumes the staff session named by the ticket in the cookie
(``portal.services.staff.web_sessions``). Flask-Login's own "session protection" is switched off: it
works by hashing the client's address and user agent into the cookie, and Parley never reads
either. Its remember-me cookie is never set, so a staff session ends with the browser.

:func:`staff_required` is the gate: not signed in goes to the sign-in page, an account that
must still choose a passphrase or enrol its second factor goes to enrolment, a role the page is
not for gets 403. Need-to-know on content is not decided here but in
``portal.services.desks.need_to_know``, which the pages call for the dialogue or submission at hand.
"""

import functools
from collections.abc import Callable, Iterable
from typing import Concatenate, ParamSpec

from flask import Flask, Request, g, redirect, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user
from sqlalchemy.orm import Session
from werkzeug.exceptions import Forbidden

from portal.models import StaffRole, utc_now
from portal.services.staff.web_sessions import (
    SignedInStaff,
    StaffSessionEndedError,
    end_staff_session,
    resume_staff_session,
)
from portal.services.web_session_tickets import SessionTicket
from portal.web.transaction import unit_of_work

STAFF_TICKET_ENTRY = "staff_ticket"
SIGN_IN_ENDPOINT = "staff_account.sign_in"
ENROLMENT_ENDPOINT = "staff_account.enrol"

_Params = ParamSpec("_Params")


class StaffPrincipal(UserMixin):
    """The signed-in staff member as Flask-Login and the templates see them."""

    def __init__(self, signed_in: SignedInStaff) -> None:
        self.signed_in = signed_in
        self.user = signed_in.user

    def get_id(self) -> str:
        return str(self.user.id)


def init_app(app: Flask) -> None:
    """Attach Flask-Login with Parley's loader and without address-based session protection."""
    manager = LoginManager()
    manager.session_protection = None
    manager.login_view = SIGN_IN_ENDPOINT
    manager.anonymous_user = AnonymousUserMixin
    manager.request_loader(_load_from_ticket)
    manager.init_app(app)


def begin_staff_session(ticket: SessionTicket) -> None:
    """Keep a new session's ticket as the only thing in the cookie.

    The cookie is emptied first so that nothing of the signed-out state (not even its CSRF
    token) carries over, and any earlier staff ticket is forgotten.
    """
    session.clear()
    session[STAFF_TICKET_ENTRY] = ticket.to_cookie()
    g.pop("staff_principal", None)


def forget_staff_session(database: Session) -> None:
    """Sign out of this browser: delete the session row (in the caller's unit of work) and the
    ticket."""
    ticket = SessionTicket.from_cookie(session.pop(STAFF_TICKET_ENTRY, None))
    if ticket is not None:
        end_staff_session(database, ticket.reference)
    g.pop("staff_principal", None)


def signed_in_staff() -> SignedInStaff | None:
    """The signed-in staff member of this request, if any."""
    principal = current_user._get_current_object()
    return principal.signed_in if isinstance(principal, StaffPrincipal) else None


def staff_required(
    roles: Iterable[StaffRole] | None = None, *, enrolment: bool = False
) -> Callable[
    [Callable[Concatenate[SignedInStaff, _Params], ResponseReturnValue]],
    Callable[_Params, ResponseReturnValue],
]:
    """Admit only a signed-in staff member (of one of ``roles``, when given) to the view.

    The view receives the :class:`SignedInStaff` as its first argument. ``enrolment=True`` marks
    the pages an account with enrolment pending may reach; every other page sends it there.
    """
    allowed = None if roles is None else frozenset(roles)

    def decorate(
        view: Callable[Concatenate[SignedInStaff, _Params], ResponseReturnValue],
    ) -> Callable[_Params, ResponseReturnValue]:
        @functools.wraps(view)
        def wrapper(*args: _Params.args, **kwargs: _Params.kwargs) -> ResponseReturnValue:
            signed_in = signed_in_staff()
            if signed_in is None:
                return redirect(url_for(SIGN_IN_ENDPOINT))
            if signed_in.enrolment_pending and not enrolment:
                return redirect(url_for(ENROLMENT_ENDPOINT))
            if allowed is not None and signed_in.user.role not in allowed:
                raise Forbidden()
            return view(signed_in, *args, **kwargs)

        wrapper.staff_roles = allowed  # type: ignore[attr-defined]  # read by the route matrix
        return wrapper

    return decorate


def _load_from_ticket(_request: Request) -> StaffPrincipal | None:
    """Flask-Login's request loader: resume the session the cookie's ticket names."""
    cached = g.get("staff_principal")
    if cached is not None:
        return cached
    ticket = SessionTicket.from_cookie(session.get(STAFF_TICKET_ENTRY))
    if ticket is None:
        return None
    with unit_of_work() as database:
        try:
            signed_in = resume_staff_session(database, ticket, now=utc_now())
        except StaffSessionEndedError:
            # Committed with the block: an ended session's row is deleted for good.
            signed_in = None
    if signed_in is None:
        session.pop(STAFF_TICKET_ENTRY, None)
        return None
    g.staff_principal = StaffPrincipal(signed_in)
    return g.staff_principal
