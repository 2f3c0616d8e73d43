"""Staff sign-in, first-sign-in enrolment and each person's own account (under ``/staff``).

- ``/staff/sign-in``: e-mail, passphrase and the authenticator code in one form
  (``portal.services.staff.sign_in`` holds every rule: one generic refusal, limits per account
  and overall without any address, refused replayed codes, the Argon2 concurrency cap).
- ``/staff/account/enrol``: an account made or reset by an administrator first chooses its own
  passphrase (which re-wraps the personal key, taken from the session) and then enrols TOTP: the
  secret is shown as text and as a QR code drawn on the server as SVG, and is kept, sealed, only
  in the session cookie until a code from the app confirms it.
- ``/staff/account``: name, role, desks, live sessions; change the passphrase (the current one
  is required; every other session ends); sign out everywhere.

The Argon2 gate is made when the blueprint is registered, one per application and so one per
worker process: ``PORTAL_ARGON2_SLOTS`` (default 2) derivations at once, each waiting at most
``PORTAL_ARGON2_WAIT_SECONDS`` (default 0.5) for a slot before the answer is 503.
"""

import base64
import io
import os
from collections.abc import Mapping

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.blueprints.staff_access import (
    begin_staff_session,
    forget_staff_session,
    signed_in_staff,
    staff_required,
)
from portal.db import request_session
from portal.errors import ConfigurationError
from portal.models import DeskKey, DeskKeyGrant, DeskMembership, Dialogue, StaffUser, utc_now
from portal.services.audit.trail import AuditAction, record_event
from portal.services.staff.accounts import (
    TOTP_SEAL_PURPOSE,
    end_other_staff_sessions,
    set_staff_passphrase,
)
from portal.services.staff.passphrase_policy import (
    MIN_PASSPHRASE_LENGTH,
    PassphraseRefusedError,
    PersonalDetails,
    check_passphrase,
)
from portal.services.staff.sign_in import (
    DEFAULT_ARGON2_SLOTS,
    DEFAULT_ARGON2_WAIT_SECONDS,
    Argon2BusyError,
    Argon2Gate,
    StaffSignInLimits,
    StaffSignInRefusedError,
    StaffSignInThrottledError,
    check_current_passphrase,
    prepare_stand_in,
    sign_in_staff,
)
from portal.services.staff.web_sessions import (
    SignedInStaff,
    end_all_staff_sessions,
    live_session_count,
)
from portal.web.instance import app_secrets

blueprint = Blueprint("staff_account", __name__, url_prefix="/staff")

GATE_EXTENSION = "parley.argon2_gate"
# Tests may put other StaffSignInLimits here; the defaults are the service's.
LIMITS_EXTENSION = "parley.staff_sign_in_limits"
ARGON2_SLOTS_VARIABLE = "PORTAL_ARGON2_SLOTS"
ARGON2_WAIT_VARIABLE = "PORTAL_ARGON2_WAIT_SECONDS"
# The pending TOTP secret in the cookie, sealed under the at-rest key for this account and
# session, until a code confirms it.
PENDING_TOTP_ENTRY = "staff_pending_totp"
_PENDING_TOTP_PURPOSE = "staff-totp-pending"
HOME_ENDPOINT = "staff.home"


@blueprint.record_once
def _make_gate(state: BlueprintSetupState) -> None:
    """One Argon2 gate per application (per worker process), sized from the environment; and
    the stand-in hash for unknown e-mails, made before the first sign-in."""
    app = state.app
    prepare_stand_in()
    if GATE_EXTENSION not in app.extensions:
        app.extensions[GATE_EXTENSION] = Argon2Gate(
            slots=int(_number_setting(ARGON2_SLOTS_VARIABLE, DEFAULT_ARGON2_SLOTS, whole=True)),
            wait_seconds=_number_setting(ARGON2_WAIT_VARIABLE, DEFAULT_ARGON2_WAIT_SECONDS),
        )


def _number_setting(name: str, default: float, *, whole: bool = False) -> float:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value) if whole else float(value)
    except ValueError:
        number = -1
    if number < (1 if whole else 0):
        shape = "a whole number of at least 1" if whole else "a number of seconds, 0 or more"
        raise ConfigurationError(f"{name} must be {shape}")
    return number


def _gate() -> Argon2Gate:
    return current_app.extensions[GATE_EXTENSION]


def _limits() -> StaffSignInLimits:
    return current_app.extensions.get(LIMITS_EXTENSION) or StaffSignInLimits()


def _secrets():
    return app_secrets()


def _busy_page() -> tuple[str, int]:
    return render_template("staff/account/busy.html"), 503


# -- Sign-in and sign-out ------------------------------------------------------------------------


@blueprint.route("/sign-in", methods=["GET", "POST"])
def sign_in() -> ResponseReturnValue:
    """The sign-in form; posted, check e-mail, passphrase and code and open a session, or give
    the one generic refusal.

    A refusal is committed before it is answered: a failure counts towards the limits only once
    it is stored. Someone already signed in is sent on.
    """
    signed_in = signed_in_staff()
    if signed_in is not None:
        return redirect(url_for(_landing(signed_in)))
    if request.method == "GET":
        notice = None
        if request.args.get("signed_out"):
            notice = _("You have signed out.")
        elif request.args.get("ended"):
            notice = _("Your sessions have ended. Sign in again.")
        return _sign_in_page(notice=notice)
    database = request_session()
    secrets = _secrets()
    email = request.form.get("email", "")
    try:
        outcome = sign_in_staff(
            database,
            email=email,
            passphrase=request.form.get("passphrase", ""),
            code=request.form.get("code", ""),
            now=utc_now(),
            pepper=secrets.codename_pepper,
            at_rest_key=secrets.at_rest_key,
            gate=_gate(),
            limits=_limits(),
        )
    except StaffSignInThrottledError:
        database.rollback()
        return _sign_in_page(
            error=_("Too many attempts to sign in. Please try again later."), email=email
        ), 429
    except Argon2BusyError:
        database.rollback()
        return _sign_in_page(
            error=_("The portal is busy. Please try again in a moment."), email=email
        ), 503
    except StaffSignInRefusedError:
        database.commit()
        return _sign_in_page(
            error=_(
                "These details do not open a staff account. Check the e-mail address, the "
                "passphrase and the code from your authenticator app, and try again."
            ),
            email=email,
        ), 400
    database.commit()
    begin_staff_session(outcome.ticket)
    pending = outcome.user.must_change_passphrase or outcome.user.totp_secret_sealed is None
    return redirect(url_for("staff_account.enrol" if pending else HOME_ENDPOINT))


@blueprint.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End this browser's session, whatever state it is in, and empty the cookie."""
    signed_in = signed_in_staff()
    database = request_session()
    forget_staff_session()
    if signed_in is not None:
        record_event(
            database,
            action=AuditAction.STAFF_SIGNED_OUT,
            object_type="staff_user",
            object_id=signed_in.user.id,
            actor=signed_in.user,
        )
    database.commit()
    session.clear()
    return redirect(url_for("staff_account.sign_in", signed_out=1))


@blueprint.post("/account/sign-out-everywhere")
@staff_required(enrolment=True)
def sign_out_everywhere(signed_in: SignedInStaff) -> ResponseReturnValue:
    """End every session of this account, this one included."""
    database = request_session()
    ended = end_all_staff_sessions(database, signed_in.user)
    record_event(
        database,
        action=AuditAction.STAFF_SESSIONS_ENDED,
        object_type="staff_user",
        object_id=signed_in.user.id,
        actor=signed_in.user,
        details={"sessions_ended": ended, "by": "self"},
    )
    database.commit()
    session.clear()
    return redirect(url_for("staff_account.sign_in", ended=1))


# -- The account page ----------------------------------------------------------------------------


@blueprint.get("/account")
@staff_required()
def account(signed_in: SignedInStaff) -> ResponseReturnValue:
    """Who the person is, which desks they sit on, their sessions; change the passphrase."""
    return _account_page(signed_in)


@blueprint.post("/account/passphrase")
@staff_required()
def change_passphrase(signed_in: SignedInStaff) -> ResponseReturnValue:
    """Change the passphrase: the current one, then a new one the policy accepts, twice."""
    database = request_session()
    user = signed_in.user
    current = request.form.get("current_passphrase", "")
    new = request.form.get("new_passphrase", "")
    problem = _new_passphrase_problem(user, new, request.form.get("confirm_passphrase", ""))
    if problem is not None:
        return _account_page(signed_in, error=problem, status=400)
    try:
        with _gate().slot():
            if not check_current_passphrase(
                database,
                user,
                current,
                now=utc_now(),
                pepper=_secrets().codename_pepper,
                limits=_limits(),
            ):
                database.commit()
                return _account_page(
                    signed_in,
                    error=_("The current passphrase is not right."),
                    status=400,
                )
            set_staff_passphrase(database, user, signed_in.personal_key(), new, changed_by=user)
    except StaffSignInThrottledError:
        database.rollback()
        return _account_page(
            signed_in,
            error=_("Too many attempts. Please try again later."),
            status=429,
        )
    except Argon2BusyError:
        database.rollback()
        return _busy_page()
    ended = end_other_staff_sessions(database, user, keep=signed_in.session_reference)
    database.commit()
    flash(_("Your passphrase is changed. Sessions ended elsewhere: %(count)s.", count=ended))
    return redirect(url_for("staff_account.account"))


# -- First sign-in enrolment ---------------------------------------------------------------------


@blueprint.get("/account/enrol")
@staff_required(enrolment=True)
def enrol(signed_in: SignedInStaff) -> ResponseReturnValue:
    """The next step of enrolment: a new passphrase, then the authenticator app."""
    user = signed_in.user
    if user.must_change_passphrase:
        return _passphrase_step(signed_in)
    if user.totp_secret_sealed is None:
        return _totp_step(signed_in)
    return redirect(url_for(HOME_ENDPOINT))


@blueprint.post("/account/enrol/passphrase")
@staff_required(enrolment=True)
def enrol_passphrase(signed_in: SignedInStaff) -> ResponseReturnValue:
    """Step 1: replace the one-time passphrase with one the person chose."""
    user = signed_in.user
    if not user.must_change_passphrase:
        return redirect(url_for("staff_account.enrol"))
    new = request.form.get("new_passphrase", "")
    problem = _new_passphrase_problem(user, new, request.form.get("confirm_passphrase", ""))
    if problem is not None:
        return _passphrase_step(signed_in, error=problem, status=400)
    database = request_session()
    try:
        with _gate().slot():
            set_staff_passphrase(database, user, signed_in.personal_key(), new, changed_by=user)
    except Argon2BusyError:
        database.rollback()
        return _busy_page()
    end_other_staff_sessions(database, user, keep=signed_in.session_reference)
    database.commit()
    return redirect(url_for("staff_account.enrol"))


@blueprint.post("/account/enrol/totp")
@staff_required(enrolment=True)
def enrol_totp(signed_in: SignedInStaff) -> ResponseReturnValue:
    """Step 2: a code from the app confirms the pending secret, which is then stored sealed."""
    user = signed_in.user
    if user.must_change_passphrase or user.totp_secret_sealed is not None:
        return redirect(url_for("staff_account.enrol"))
    secret = _pending_totp_secret(signed_in)
    if secret is None:
        return redirect(url_for("staff_account.enrol"))
    step = crypto.verify_totp(secret, request.form.get("code", ""), utc_now().timestamp())
    if step is None:
        return _totp_step(
            signed_in,
            error=_(
                "This code does not match. Check that the app's clock is right and type the "
                "code it shows now."
            ),
            status=400,
        )
    database = request_session()
    user.totp_secret_sealed = crypto.seal_box(_secrets().at_rest_key, secret, TOTP_SEAL_PURPOSE)
    user.last_totp_step = step
    record_event(
        database,
        action=AuditAction.STAFF_TOTP_ENROLLED,
        object_type="staff_user",
        object_id=user.id,
        actor=user,
    )
    database.commit()
    session.pop(PENDING_TOTP_ENTRY, None)
    flash(_("Your authenticator app is set up. From now on, sign in with its code."))
    return redirect(url_for(HOME_ENDPOINT))


# -- Helpers -------------------------------------------------------------------------------------


def _landing(signed_in: SignedInStaff) -> str:
    return "staff_account.enrol" if signed_in.enrolment_pending else HOME_ENDPOINT


def _sign_in_page(*, error: str | None = None, notice: str | None = None, email: str = "") -> str:
    return render_template(
        "staff/account/sign_in.html", error=error, notice=notice, email=email.strip()[:254]
    )


def _new_passphrase_problem(user: StaffUser, new: str, confirmation: str) -> str | None:
    """Why the new passphrase cannot be taken, or ``None``."""
    try:
        check_passphrase(new, PersonalDetails(email=user.email, display_name=user.display_name))
    except PassphraseRefusedError as error:
        return str(error)
    if new != confirmation:
        return _("The two passphrases are not the same. Type the new passphrase twice.")
    return None


def _passphrase_step(
    signed_in: SignedInStaff, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "staff/account/enrol_passphrase.html",
        user=signed_in.user,
        error=error,
        min_length=MIN_PASSPHRASE_LENGTH,
        messages=get_flashed_messages(),
    ), status


def _totp_step(
    signed_in: SignedInStaff, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    secret = _pending_totp_secret(signed_in)
    if secret is None:
        secret = crypto.new_totp_secret()
        session[PENDING_TOTP_ENTRY] = base64.b64encode(
            crypto.seal_box(_secrets().at_rest_key, secret, _pending_purpose(signed_in))
        ).decode("ascii")
    uri = crypto.totp_provisioning_uri(secret, signed_in.user.email)
    return render_template(
        "staff/account/enrol_totp.html",
        user=signed_in.user,
        error=error,
        secret_text=_grouped(crypto.totp_secret_base32(secret)),
        qr_data_uri=qr_svg_data_uri(uri),
    ), status


def _pending_totp_secret(signed_in: SignedInStaff) -> bytes | None:
    """The secret shown on the enrolment page, from the cookie, if it is this session's."""
    sealed = session.get(PENDING_TOTP_ENTRY)
    if not isinstance(sealed, str):
        return None
    try:
        return crypto.open_box(
            _secrets().at_rest_key, base64.b64decode(sealed), _pending_purpose(signed_in)
        )
    except (crypto.CryptoError, ValueError):
        session.pop(PENDING_TOTP_ENTRY, None)
        return None


def _pending_purpose(signed_in: SignedInStaff) -> str:
    return (
        f"{_PENDING_TOTP_PURPOSE}|staff:{signed_in.user.id}|session:{signed_in.session_reference}"
    )


def _grouped(text: str) -> str:
    """Base32 in groups of four, easier to type into an app by hand."""
    return " ".join(text[index : index + 4] for index in range(0, len(text), 4))


def qr_svg_data_uri(payload: str) -> str:
    """A QR code of ``payload`` drawn on the server as SVG, as a ``data:`` URI for an image."""
    image = qrcode.make(
        payload,
        image_factory=qrcode.image.svg.SvgPathImage,
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=10,
        border=4,
    )
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _desks_of(database: Session, user: StaffUser) -> list[Mapping[str, object]]:
    """Each desk the person sits on, and whether they hold its current key yet."""
    rows = database.execute(
        select(Dialogue)
        .join(DeskMembership, DeskMembership.dialogue_id == Dialogue.id)
        .where(DeskMembership.staff_user_id == user.id)
        .order_by(Dialogue.slug)
    ).scalars()
    desks = []
    for dialogue in rows:
        holds = database.scalar(
            select(DeskKeyGrant.id)
            .join(DeskKey, DeskKey.id == DeskKeyGrant.desk_key_id)
            .where(
                DeskKey.dialogue_id == dialogue.id,
                DeskKey.retired_at.is_(None),
                DeskKeyGrant.recipient_staff_user_id == user.id,
            )
            .limit(1)
        )
        desks.append({"dialogue": dialogue, "awaiting_grant": holds is None})
    return desks


def _account_page(
    signed_in: SignedInStaff, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    database = request_session()
    return render_template(
        "staff/account/account.html",
        user=signed_in.user,
        desks=_desks_of(database, signed_in.user),
        live_sessions=live_session_count(database, signed_in.user, now=utc_now()),
        error=error,
        min_length=MIN_PASSPHRASE_LENGTH,
        messages=get_flashed_messages(),
    ), status
