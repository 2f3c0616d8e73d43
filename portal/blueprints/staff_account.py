"""Staff sign-in, first-sign-in enrolment and each person's own account (under ``/staff``).

- ``/staff/sign-in``: e-mail, passphrase and the authenticator code in one form
  (``portal.services.staff.sign_in`` holds every rule: one generic refusal, limits per account
  and overall without any address, refused replayed codes, the Argon2 concurrency cap).
- ``/staff/account/enrol``: an account made or reset by an administrator first chooses its own
  passphrase (which re-wraps the personal key, taken from the session) and then enrols TOTP: the
  secret is shown as text and as a QR code drawn on the server as SVG, and is kept, sealed, only
  in the session cookie until a code from the app confirms it.
- ``/staff/account``: name, role, desks, live sessions, the personal key's fingerprint in the
  short form read out to a colleague before a grant; change the passphrase (the current one is
  required; every other session ends); switch one's own daily e-mail digest on or off
  (``/staff/account/digest``; only for the roles it counts work for,
  ``portal.services.staff.digests``); sign out everywhere. After a reset, the enrolment and
  account pages show when and by whom it was made until the owner acknowledges it.

The Argon2 gate is made when the blueprint is registered, one per application and so one per
worker process, sized by the settings ``PORTAL_ARGON2_SLOTS`` and ``PORTAL_ARGON2_WAIT_SECONDS``
(``portal.settings``): that many derivations at once, each waiting at most that long for a slot
before the answer is 503. One more slot per worker is kept for staff on a known device.

After each successful sign-in the browser gets a known-device token in the ``parley_staff_device``
cookie (Secure when the portal's cookies are, HttpOnly, SameSite=Strict, path ``/staff``, 90
days; ``portal.services.staff.known_devices``), which the next sign-in presents so that a flood of
strangers cannot keep this person out. Signing out keeps it: it opens nothing by itself.
"""

import base64
import io

import qrcode
import qrcode.image.svg
from flask import (
    Blueprint,
    abort,
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

import crypto
from portal.blueprints.staff_access import (
    begin_staff_session,
    forget_staff_session,
    signed_in_staff,
    staff_required,
)
from portal.blueprints.staff_forms import (
    ChangePassphraseForm,
    DigestForm,
    NewPassphraseForm,
    SignInForm,
    TotpCodeForm,
)
from portal.i18n import refusal_text
from portal.models import StaffUser, utc_now
from portal.models.staff import MAX_EMAIL_LENGTH
from portal.services.audit.trail import AuditAction, record_event
from portal.services.contexts import pending_totp_secret_purpose
from portal.services.desks.membership import member_desks
from portal.services.staff.accounts import (
    TotpCodeMismatchError,
    confirm_totp_enrolment,
    end_all_sessions_audited,
    end_other_staff_sessions,
    set_staff_passphrase,
)
from portal.services.staff.digests import digest_offered, set_digest_opt_in
from portal.services.staff.fingerprints import short_fingerprint
from portal.services.staff.known_devices import KNOWN_DEVICE_DAYS, issue_device_token
from portal.services.staff.passphrase_policy import (
    MIN_PASSPHRASE_LENGTH,
    PassphraseRefusedError,
    PersonalDetails,
    check_passphrase,
)
from portal.services.staff.resets import acknowledge_reset_notice, reset_notice_for
from portal.services.staff.sign_in import (
    KNOWN_DEVICE_SLOTS,
    StaffSignInLimits,
    StaffSignInRefusedError,
    StaffSignInThrottledError,
    check_current_passphrase,
    prepare_stand_in,
    sign_in_staff,
)
from portal.services.staff.web_sessions import SignedInStaff, live_session_count
from portal.services.work_gate import BusyError, WorkGate
from portal.web.instance import app_secrets, app_settings, web_instance
from portal.web.transaction import reading, unit_of_work

blueprint = Blueprint("staff_account", __name__, url_prefix="/staff")

GATE_EXTENSION = "parley.argon2_gate"
# Tests may put other StaffSignInLimits here; the defaults are the service's.
LIMITS_EXTENSION = "parley.staff_sign_in_limits"
# The pending TOTP secret in the cookie, sealed under the at-rest key for this account and
# session, until a code confirms it.
PENDING_TOTP_ENTRY = "staff_pending_totp"
HOME_ENDPOINT = "staff.home"
# The known-device token (``portal.services.staff.known_devices``): sent only to /staff pages.
DEVICE_COOKIE = "parley_staff_device"
DEVICE_COOKIE_PATH = "/staff"


@blueprint.record_once
def _make_gate(state: BlueprintSetupState) -> None:
    """One Argon2 gate per application (per worker process), sized by its settings; and the
    stand-in hash for unknown e-mails, made before the first sign-in."""
    app = state.app
    prepare_stand_in()
    if GATE_EXTENSION not in app.extensions:
        settings = web_instance(app).settings
        app.extensions[GATE_EXTENSION] = WorkGate(
            slots=settings.argon2_slots,
            wait_seconds=settings.argon2_wait_seconds,
            reserved_slots=KNOWN_DEVICE_SLOTS,
        )


def _gate() -> WorkGate:
    return current_app.extensions[GATE_EXTENSION]


def _limits() -> StaffSignInLimits:
    return current_app.extensions.get(LIMITS_EXTENSION) or StaffSignInLimits()


def _busy_page(busy: BusyError) -> ResponseReturnValue:
    return render_template("staff/account/busy.html"), 503, {"Retry-After": str(busy.retry_after)}


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
    form = SignInForm()
    email = form.email.data or ""
    secrets = app_secrets()
    refused = False
    try:
        with unit_of_work() as database:
            try:
                outcome = sign_in_staff(
                    database,
                    email=email,
                    passphrase=form.passphrase.data or "",
                    code=form.code.data or "",
                    now=utc_now(),
                    pepper=secrets.codename_pepper,
                    at_rest_key=secrets.at_rest_key,
                    gate=_gate(),
                    device_token=request.cookies.get(DEVICE_COOKIE),
                    limits=_limits(),
                )
            except StaffSignInRefusedError:
                # Committed with the block: a failure counts towards the limits once stored.
                refused = True
    except (StaffSignInThrottledError, BusyError) as waiting:
        # Nothing was tried: the page says why and when to try again.
        throttled = isinstance(waiting, StaffSignInThrottledError)
        if throttled:
            error = _("Too many attempts to sign in. Please try again later.")
        else:
            error = _("The portal is busy. Please try again in a moment.")
        page = _sign_in_page(error=error, email=email)
        return page, 429 if throttled else 503, {"Retry-After": str(waiting.retry_after)}
    if refused:
        return _sign_in_page(
            error=_(
                "These details do not open a staff account. Check the e-mail address, the "
                "passphrase and the code from your authenticator app, and try again."
            ),
            email=email,
        ), 400
    begin_staff_session(outcome.ticket)
    pending = outcome.user.must_change_passphrase or outcome.user.totp_secret_sealed is None
    response = redirect(url_for("staff_account.enrol" if pending else HOME_ENDPOINT))
    response.set_cookie(
        DEVICE_COOKIE,
        issue_device_token(secrets.at_rest_key, outcome.address, utc_now().date()),
        max_age=KNOWN_DEVICE_DAYS * 24 * 3600,
        path=DEVICE_COOKIE_PATH,
        secure=app_settings().cookie_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


@blueprint.post("/sign-out")
def sign_out() -> ResponseReturnValue:
    """End this browser's session, whatever state it is in, and empty the cookie."""
    signed_in = signed_in_staff()
    with unit_of_work() as database:
        forget_staff_session(database)
        if signed_in is not None:
            record_event(
                database,
                action=AuditAction.STAFF_SIGNED_OUT,
                object_type="staff_user",
                object_id=signed_in.user.id,
                actor=signed_in.user,
            )
    session.clear()
    return redirect(url_for("staff_account.sign_in", signed_out=1))


@blueprint.post("/account/sign-out-everywhere")
@staff_required(enrolment=True)
def sign_out_everywhere(signed_in: SignedInStaff) -> ResponseReturnValue:
    """End every session of this account, this one included."""
    with unit_of_work() as database:
        end_all_sessions_audited(database, signed_in.user, actor=signed_in.user)
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
    user = signed_in.user
    form = ChangePassphraseForm()
    new = form.new_passphrase.data or ""
    problem = _new_passphrase_problem(user, new, form.confirm_passphrase.data or "")
    if problem is not None:
        return _account_page(signed_in, error=problem, status=400)
    wrong_current = False
    try:
        with unit_of_work() as database:
            with _gate().slot():
                # A wrong current passphrase is committed with the block: it counts towards
                # the limits like a failed sign-in.
                wrong_current = not check_current_passphrase(
                    database,
                    user,
                    form.current_passphrase.data or "",
                    now=utc_now(),
                    pepper=app_secrets().codename_pepper,
                    limits=_limits(),
                )
                if not wrong_current:
                    set_staff_passphrase(
                        database, user, signed_in.personal_key(), new, changed_by=user
                    )
            if not wrong_current:
                ended = end_other_staff_sessions(database, user, keep=signed_in.session_reference)
    except StaffSignInThrottledError as throttled:
        page, status = _account_page(
            signed_in, error=_("Too many attempts. Please try again later."), status=429
        )
        return page, status, {"Retry-After": str(throttled.retry_after)}
    except BusyError as busy:
        return _busy_page(busy)
    if wrong_current:
        return _account_page(signed_in, error=_("The current passphrase is not right."), status=400)
    flash(_("Your passphrase is changed. Sessions ended elsewhere: %(count)s.", count=ended))
    return redirect(url_for("staff_account.account"))


@blueprint.post("/account/digest")
@staff_required()
def change_digest(signed_in: SignedInStaff) -> ResponseReturnValue:
    """Switch the person's own daily digest on or off; only they can, from their session."""
    if not digest_offered(signed_in.user):
        abort(403)
    form = DigestForm()
    if not form.validate():
        abort(400)
    wanted = form.digest.data == "on"
    with unit_of_work() as database:
        set_digest_opt_in(database, signed_in.user, wanted)
    if wanted:
        flash(_("Your daily digest is switched on."))
    else:
        flash(_("Your daily digest is switched off."))
    return redirect(url_for("staff_account.account", _anchor="digest"))


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
    form = NewPassphraseForm()
    new = form.new_passphrase.data or ""
    problem = _new_passphrase_problem(user, new, form.confirm_passphrase.data or "")
    if problem is not None:
        return _passphrase_step(signed_in, error=problem, status=400)
    try:
        with unit_of_work() as database:
            with _gate().slot():
                set_staff_passphrase(database, user, signed_in.personal_key(), new, changed_by=user)
            end_other_staff_sessions(database, user, keep=signed_in.session_reference)
    except BusyError as busy:
        return _busy_page(busy)
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
    try:
        with unit_of_work() as database:
            confirm_totp_enrolment(
                database,
                user,
                secret,
                TotpCodeForm().code.data or "",
                now=utc_now(),
                at_rest_key=app_secrets().at_rest_key,
            )
    except TotpCodeMismatchError:
        return _totp_step(
            signed_in,
            error=_(
                "This code does not match. Check that the app's clock is right and type the "
                "code it shows now."
            ),
            status=400,
        )
    session.pop(PENDING_TOTP_ENTRY, None)
    flash(_("Your authenticator app is set up. From now on, sign in with its code."))
    if reset_notice_for(reading(), user) is not None:
        return redirect(url_for("staff_account.account"))
    return redirect(url_for(HOME_ENDPOINT))


@blueprint.post("/account/reset-notice")
@staff_required()
def acknowledge_reset(signed_in: SignedInStaff) -> ResponseReturnValue:
    """The owner has read the notice of a reset: stop showing it."""
    with unit_of_work() as database:
        acknowledge_reset_notice(database, signed_in.user)
    return redirect(url_for("staff_account.account"))


# -- Helpers -------------------------------------------------------------------------------------


def _landing(signed_in: SignedInStaff) -> str:
    return "staff_account.enrol" if signed_in.enrolment_pending else HOME_ENDPOINT


def _sign_in_page(*, error: str | None = None, notice: str | None = None, email: str = "") -> str:
    return render_template(
        "staff/account/sign_in.html",
        error=error,
        notice=notice,
        email=email.strip()[:MAX_EMAIL_LENGTH],
    )


def _new_passphrase_problem(user: StaffUser, new: str, confirmation: str) -> str | None:
    """Why the new passphrase cannot be taken, or ``None``."""
    try:
        check_passphrase(new, PersonalDetails(email=user.email, display_name=user.display_name))
    except PassphraseRefusedError as error:
        return refusal_text(error)
    if new != confirmation:
        return _("The two passphrases are not the same. Type the new passphrase twice.")
    return None


def _passphrase_step(
    signed_in: SignedInStaff, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "staff/account/enrol_passphrase.html",
        user=signed_in.user,
        reset_notice=reset_notice_for(reading(), signed_in.user),
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
            crypto.seal_box(app_secrets().at_rest_key, secret, _pending_purpose(signed_in))
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
            app_secrets().at_rest_key, base64.b64decode(sealed), _pending_purpose(signed_in)
        )
    except (crypto.CryptoError, ValueError):
        session.pop(PENDING_TOTP_ENTRY, None)
        return None


def _pending_purpose(signed_in: SignedInStaff) -> str:
    return pending_totp_secret_purpose(signed_in.user.id, signed_in.session_reference)


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


def _account_page(
    signed_in: SignedInStaff, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    database = reading()
    return render_template(
        "staff/account/account.html",
        user=signed_in.user,
        fingerprint=crypto.fingerprint(signed_in.user.personal_public_key),
        short_fingerprint=short_fingerprint(signed_in.user.personal_public_key),
        reset_notice=reset_notice_for(database, signed_in.user),
        desks=member_desks(database, [signed_in.user])[signed_in.user.id],
        live_sessions=live_session_count(database, signed_in.user, now=utc_now()),
        digest_offered=digest_offered(signed_in.user),
        error=error,
        min_length=MIN_PASSPHRASE_LENGTH,
        messages=get_flashed_messages(),
    ), status
