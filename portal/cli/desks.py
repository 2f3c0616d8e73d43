"""``portal desk ...``: operators see who sits on a desk and manage it with the recovery key.

``grant`` and ``rotate`` need a desk key's private half, which on the server only a desk member's
session or the recovery key can open; from the command line it is the recovery key, read from
standard input (typed at a hidden prompt, or piped) and never echoed or stored. ``grant`` also
needs ``--fingerprint``: the 30 digits the recipient read out from their account page, checked
against the key on their account (without it, the command names the key's fingerprint and stops).
``remove`` needs the recovery key only for a member who holds the current desk key (the web's rule:
only a holder removes a holder); ``members`` needs none, listing reads no content.

Each command runs in one transaction: a refusal is one line and nothing is half-stored. The rules
are those of the web pages, in ``portal.services.desks.membership``.
"""

import click
from sqlalchemy.orm import Session

import crypto
from portal.cli.support import operator_context, operator_transaction, read_recovery_key
from portal.errors import OperatorError
from portal.models import StaffUser
from portal.services.desks.keys import current_desk_key
from portal.services.desks.membership import (
    DeskActionError,
    DeskMember,
    KeyHolder,
    LastKeyHolderError,
    RecoveryKeys,
    WithoutKeys,
    desk_members,
    grant_member,
    holds_key,
    remove_member,
    rotate_desk_key,
)
from portal.services.dialogues.catalogue import DialogueDetailsError
from portal.services.dialogues.dialogue_sessions import dialogue_by_slug
from portal.services.staff.accounts import staff_by_email

REFUSALS = (DeskActionError, DialogueDetailsError)


@click.group("desk")
def desk_group() -> None:
    """List a desk's members; grant, remove and rotate desk keys (grant and rotate need the
    recovery key on standard input)."""


@desk_group.command("members")
@click.argument("slug")
def members_command(slug: str) -> None:
    """The members of the desk of SLUG and whether each holds the current desk key."""
    with operator_context(*REFUSALS) as (session, secrets):
        dialogue = dialogue_by_slug(session, slug)
        current = current_desk_key(session, dialogue)
        fingerprint = "-" if current is None else crypto.fingerprint(current.public_key)
        rows = [
            (
                member.user.email,
                str(member.user.role),
                "active" if member.user.active else "deactivated",
                _key_state(member),
                member.user.display_name,
            )
            for member in desk_members(session, dialogue, at_rest_key=secrets.at_rest_key)
        ]
    click.echo(f"Desk of {slug}; current desk key {fingerprint}")
    if not rows:
        click.echo("Nobody sits on this desk.")
        return
    _print_table(("email", "role", "account", "key", "name"), rows)


@desk_group.command("grant")
@click.argument("slug")
@click.argument("email")
@click.option(
    "--fingerprint",
    "typed",
    metavar="DIGITS",
    help="The 30 digits EMAIL read out to you from their account page, over another channel.",
)
def grant_command(slug: str, email: str, typed: str | None) -> None:
    """Put EMAIL on the desk of SLUG and grant every desk key of it, with the recovery key,
    once the fingerprint they read out to you matches the key on their account."""
    recovery = read_recovery_key()
    with operator_context(*REFUSALS) as (session, secrets):
        dialogue = dialogue_by_slug(session, slug)
        member = _staff(session, email)
        fingerprint = crypto.fingerprint(member.personal_public_key)
        if typed is None:
            raise OperatorError(
                f"{member.email}'s key has the fingerprint {fingerprint}; ask them to read you "
                "the 30 digits on their account page and give them with --fingerprint"
            )
        outcome = grant_member(
            session,
            dialogue,
            member,
            keys=RecoveryKeys(recovery),
            typed_fingerprint=typed,
            at_rest_key=secrets.at_rest_key,
        )
        address, created, count = member.email, outcome.membership_created, outcome.keys_granted
    joined = "put on the desk and granted" if created else "granted"
    click.echo(f"{address}'s key {fingerprint} is confirmed.")
    click.echo(f"{address} {joined} {count} desk key(s) of {slug}.")


@desk_group.command("remove")
@click.argument("slug")
@click.argument("email")
@click.option(
    "--confirm-last",
    is_flag=True,
    help="Remove even the last member who holds the current desk key "
    "(afterwards only the recovery key opens the desk's submissions).",
)
def remove_command(slug: str, email: str, confirm_last: bool) -> None:
    """Take EMAIL off the desk of SLUG, deleting every grant they hold of its desk keys.

    For a member who holds the current desk key, reads the recovery key from standard input.
    """
    with operator_transaction(*REFUSALS) as session:
        dialogue = dialogue_by_slug(session, slug)
        member = _staff(session, email)
        current = current_desk_key(session, dialogue)
        keys: KeyHolder = WithoutKeys()
        if current is not None and holds_key(session, member, current):
            keys = RecoveryKeys(read_recovery_key())
        try:
            deleted = remove_member(
                session, dialogue, member, keys=keys, confirm_last_key_holder=confirm_last
            )
        except LastKeyHolderError as error:
            raise OperatorError(f"{error}; add --confirm-last to remove them anyway") from None
        address = member.email
    click.echo(f"{address} removed from the desk of {slug}; {deleted} grant(s) deleted.")


@desk_group.command("rotate")
@click.argument("slug")
def rotate_command(slug: str) -> None:
    """Make a new desk key for SLUG, retire the old one and grant the new one to its holders."""
    recovery = read_recovery_key()
    with operator_context(*REFUSALS) as (session, secrets):
        dialogue = dialogue_by_slug(session, slug)
        outcome = rotate_desk_key(
            session, dialogue, keys=RecoveryKeys(recovery), at_rest_key=secrets.at_rest_key
        )
        fingerprint = crypto.fingerprint(outcome.new_key.public_key)
        holders = [user.email for user in outcome.granted_to]
        waiting = [user.email for user in outcome.not_confirmed]
    click.echo(f"Desk key of {slug} rotated. New fingerprint: {fingerprint}")
    click.echo(f"Granted to: {', '.join(holders) or 'nobody (recovery key only)'}")
    if waiting:
        click.echo(f"Not granted, key changed or never confirmed: {', '.join(waiting)}")
    click.echo("Publish the new fingerprint where submitters compare it.")


def _key_state(member: DeskMember) -> str:
    """The key column: holds, awaiting or offline, then "changed" or "unconfirmed" when the key
    on the account is not one a granter confirmed (joined by a comma, no space)."""
    if member.holds_current_key:
        state = "holds"
    else:
        state = "offline" if member.offline_review else "awaiting"
    if member.key_changed:
        return f"{state},changed"
    if member.confirmation == "unconfirmed":
        return f"{state},unconfirmed"
    return state


def _staff(session: Session, email: str) -> StaffUser:
    user = staff_by_email(session, email)
    if user is None:
        raise OperatorError(f"there is no staff account {email.strip().lower()!r}")
    return user


def _print_table(headings: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max(len(cell) for cell in column) for column in zip(headings, *rows, strict=True)]
    for row in (headings, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]))
