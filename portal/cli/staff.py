"""``portal staff ...``: operators manage staff accounts from the command line.

Each command runs in one transaction (``operator_transaction``): a refusal (unknown e-mail,
duplicate account, the last administrator) is one line on standard error, exit status 1, and
nothing is stored. A one-time passphrase is printed only after its account is committed, once;
it is never stored anywhere but as the account's Argon2 hash and key wrap.

The operator acts as nobody in particular: audit events of these commands have no actor.
"""

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.cli.support import enum_choice, operator_transaction
from portal.errors import OperatorError
from portal.models import StaffRole, StaffUser, utc_now
from portal.services.staff.accounts import (
    StaffDetailsError,
    create_staff_account,
    end_all_sessions_audited,
    reset_staff_account,
    set_staff_active,
    staff_by_email,
)
from portal.services.staff.web_sessions import live_session_count
from portal.timefmt import iso_utc


@click.group("staff")
def staff_group() -> None:
    """Create, list, reset, deactivate and reactivate staff accounts; end their sessions."""


@staff_group.command("create")
@click.option("--email", required=True, help="The person's e-mail address; they sign in with it.")
@click.option("--name", required=True, help="The name colleagues know them by.")
@click.option("--role", required=True, type=enum_choice(StaffRole))
def create_command(email: str, name: str, role: str) -> None:
    """Create an account and print its one-time passphrase, once.

    At the first sign-in the person chooses their own passphrase and sets up an authenticator
    app. The account sits on no desk until one is assigned and its key granted.
    """
    with operator_transaction(StaffDetailsError) as session:
        created = create_staff_account(
            session, email=email, display_name=name, role=StaffRole(role), created_by=None
        )
        address = created.user.email
        passphrase = created.one_time_passphrase
    click.echo(f"Created {address} ({role}).")
    _print_one_time(passphrase)


@staff_group.command("list")
def list_command() -> None:
    """Every account: e-mail, role, state, enrolment and open sessions."""
    with operator_transaction() as session:
        now = utc_now()
        users = session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
        if not users:
            click.echo("No staff accounts.")
            return
        for user in users:
            state = "active" if user.active else "deactivated"
            if user.must_change_passphrase or user.totp_secret_sealed is None:
                state += ", enrolment pending"
            sessions = live_session_count(session, user, now=now)
            click.echo(
                f"{user.email}\t{user.role}\t{state}\tsessions: {sessions}\t"
                f"created {iso_utc(user.created_at)}\t{user.display_name}"
            )


@staff_group.command("reset")
@click.argument("email")
def reset_command(email: str) -> None:
    """Give an account a new one-time passphrase and a new personal key.

    Its sessions end, its second factor is cleared, and its desk key grants are deleted: it
    keeps its desk memberships but reads nothing until a desk member (or the recovery key,
    ``portal desk ...``) confirms the new key's fingerprint with its owner and grants each desk
    again. Unlike a reset on the web, no second administrator approves it: whoever runs this
    already controls the server. It is audited, and the owner is told at the next sign-in.
    """
    with operator_transaction(StaffDetailsError) as session:
        user = _account(session, email)
        address = user.email
        passphrase = reset_staff_account(session, user, reset_by=None)
    click.echo(f"Reset {address}. Its desk keys must be granted again by a desk member.")
    click.echo("The owner is told of this reset (when, and that an operator made it) at sign-in.")
    _print_one_time(passphrase)


@staff_group.command("deactivate")
@click.argument("email")
def deactivate_command(email: str) -> None:
    """Stop an account from signing in and end its sessions."""
    with operator_transaction(StaffDetailsError) as session:
        user = _account(session, email)
        set_staff_active(session, user, False, actor=None)
        address = user.email
    click.echo(f"Deactivated {address}.")


@staff_group.command("reactivate")
@click.argument("email")
def reactivate_command(email: str) -> None:
    """Let a deactivated account sign in again."""
    with operator_transaction(StaffDetailsError) as session:
        user = _account(session, email)
        set_staff_active(session, user, True, actor=None)
        address = user.email
    click.echo(f"Reactivated {address}.")


@staff_group.command("end-sessions")
@click.argument("email")
def end_sessions_command(email: str) -> None:
    """End every session of an account (it can sign in again)."""
    with operator_transaction(StaffDetailsError) as session:
        user = _account(session, email)
        ended = end_all_sessions_audited(session, user, actor=None)
        address = user.email
    click.echo(f"Ended {ended} session(s) of {address}.")


def _account(session: Session, email: str) -> StaffUser:
    user = staff_by_email(session, email)
    if user is None:
        raise OperatorError(f"no staff account has the e-mail address {email.strip()!r}")
    return user


def _print_one_time(passphrase: str) -> None:
    click.echo("One-time passphrase (shown only now; hand it over in person or by phone):")
    click.echo(f"    {passphrase}")
    click.echo("At the first sign-in it must be replaced, and an authenticator app set up.")
