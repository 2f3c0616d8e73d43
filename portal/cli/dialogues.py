"""``portal dialogue ...`` and ``portal session ...``: operators manage dialogues and sessions.

Each command runs in one database transaction: a refusal (unknown name, bad date, a change the
rules forbid) is reported as one line before anything is committed, so nothing is half-stored.
The rules themselves live in ``portal.services.dialogues.dialogue_sessions`` and
``portal.services.dialogues.catalogue``; this module only reads the operator's words and prints the
outcome.

Moments are read as ISO 8601 with an explicit offset (``2026-03-01T09:00+01:00``) or as UTC
(``2026-03-01T08:00Z``); a moment without one is refused, because guessing the zone of a
deadline announced to people in other countries is how a consultation closes an hour early.
"""

import datetime as dt

import click
from sqlalchemy import select

import crypto
from portal.cli.bundles import review_mode_command
from portal.cli.recovery import certify_command
from portal.cli.support import (
    IsoDate,
    IsoMoment,
    enum_choice,
    operator_transaction,
    read_recovery_key,
)
from portal.errors import OperatorError
from portal.models import (
    Dialogue,
    DialogueKind,
    PartnerKind,
    RecoveryKey,
    ReviewMode,
    SessionPlace,
    SessionState,
    utc_now,
)
from portal.services.desks.keys import current_desk_key
from portal.services.desks.recovery_certificates import (
    RecoveryCertificationError,
    instance_recovery_signing_seed,
)
from portal.services.dialogues.catalogue import (
    DialogueDetailsError,
    create_dialogue,
    schedule_session,
)
from portal.services.dialogues.dialogue_sessions import (
    LATER_STAGES,
    advance_session,
    close_consultation,
    consultation_accepts_submissions,
    dialogue_by_slug,
    freeze_dialogue,
    open_consultation,
    session_by_id,
    unfreeze_dialogue,
)
from portal.services.dialogues.retention import (
    MAX_NOTICE_DAYS,
    MAX_RETENTION_DAYS,
    MIN_NOTICE_DAYS,
    scheduled_deletions,
    set_retention,
)
from portal.timefmt import iso_utc

MOMENT_HELP = "ISO 8601 with an explicit offset (2026-03-01T09:00+01:00) or UTC (…T08:00Z)"


@click.group("dialogue")
def dialogue_group() -> None:
    """Create, list, freeze and unfreeze dialogues; set their retention; print a desk key's
    fingerprint."""


@dialogue_group.command("create")
@click.option("--slug", required=True, help="Stable short name used in URLs: a-z, 0-9, hyphens.")
@click.option("--partner", required=True, help="The partner country or regional group.")
@click.option("--partner-kind", required=True, type=enum_choice(PartnerKind))
@click.option("--kind", required=True, type=enum_choice(DialogueKind))
@click.option(
    "--review-mode",
    type=enum_choice(ReviewMode),
    default=ReviewMode.ONLINE.value,
    show_default=True,
    help="online: desk members decrypt on the server during their request; "
    "offline: only exported bundles are decrypted, on an offline machine.",
)
@click.option(
    "--certify",
    is_flag=True,
    help="Read the recovery key from standard input and certify the new desk key with it.",
)
def create_dialogue_command(
    slug: str, partner: str, partner_kind: str, kind: str, review_mode: str, certify: bool
) -> None:
    """Create an active dialogue and its desk key (held by the recovery key until granted)."""
    recovery_private_key = read_recovery_key() if certify else None
    with operator_transaction(DialogueDetailsError, RecoveryCertificationError) as session:
        recovery_key = session.scalars(select(RecoveryKey).order_by(RecoveryKey.id)).first()
        if recovery_key is None:
            raise OperatorError("this instance has no recovery key; run `portal init` first")
        new = create_dialogue(
            session,
            slug=slug,
            partner=partner,
            partner_kind=PartnerKind(partner_kind),
            kind=DialogueKind(kind),
            review_mode=ReviewMode(review_mode),
            recovery_key=recovery_key,
            recovery_signing_seed=None
            if recovery_private_key is None
            else instance_recovery_signing_seed(session, recovery_private_key),
        )
        fingerprint = crypto.fingerprint(new.desk_key.public_key)
    click.echo(f"Dialogue {slug} created ({kind}, {review_mode} review).")
    click.echo(f"Desk key fingerprint: {fingerprint}")
    if certify:
        click.echo("Desk key certified with the recovery key.")


@dialogue_group.command("list")
def list_dialogues_command() -> None:
    """Every dialogue: slug, status, review mode, kind, number of sessions and partner."""
    with operator_transaction(DialogueDetailsError) as session:
        dialogues = list(session.scalars(select(Dialogue).order_by(Dialogue.slug)))
        rows = [
            (
                d.slug,
                str(d.status),
                str(d.review_mode),
                str(d.kind),
                str(len(d.sessions)),
                d.partner,
            )
            for d in dialogues
        ]
    _print_table(("slug", "status", "review", "kind", "sessions", "partner"), rows)


@dialogue_group.command("freeze")
@click.argument("slug")
def freeze_command(slug: str) -> None:
    """Freeze a dialogue: it accepts nothing, and any open consultation is closed."""
    with operator_transaction(DialogueDetailsError) as session:
        closed = freeze_dialogue(session, dialogue_by_slug(session, slug))
        closed_ids = [item.id for item in closed]
    click.echo(f"Dialogue {slug} is frozen.")
    for session_id in closed_ids:
        click.echo(f"Closed the open consultation of session {session_id}.")


@dialogue_group.command("unfreeze")
@click.argument("slug")
def unfreeze_command(slug: str) -> None:
    """Make a frozen dialogue active again (its consultations stay closed)."""
    with operator_transaction(DialogueDetailsError) as session:
        unfreeze_dialogue(session, dialogue_by_slug(session, slug))
    click.echo(f"Dialogue {slug} is active.")


@dialogue_group.command("retention")
@click.argument("slug")
@click.option(
    "--days",
    type=click.IntRange(1, MAX_RETENTION_DAYS),
    help="Delete a session's submissions this many days after it reached follow-up.",
)
@click.option("--keep", is_flag=True, help="Delete nothing by age (the default).")
@click.option(
    "--notice-days",
    type=click.IntRange(MIN_NOTICE_DAYS, MAX_NOTICE_DAYS),
    help=f"The least notice the desk gets of a deletion (default {MIN_NOTICE_DAYS}).",
)
def retention_command(slug: str, days: int | None, keep: bool, notice_days: int | None) -> None:
    """Show or set how long the dialogue SLUG keeps a session's submissions after follow-up,
    and list the deletions scheduled."""
    if days is not None and keep:
        raise click.UsageError("give --days or --keep, not both")
    today = utc_now().date()
    with operator_transaction(DialogueDetailsError) as session:
        dialogue = dialogue_by_slug(session, slug)
        if days is not None or keep or notice_days is not None:
            set_retention(
                session,
                dialogue,
                days=None if keep else (days or dialogue.retention_days),
                notice_days=notice_days or dialogue.retention_notice_days,
                today=today,
            )
        period = dialogue.retention_days
        notice = dialogue.retention_notice_days
        rows = [
            (
                str(item.dialogue_session.id),
                item.dialogue_session.date.isoformat(),
                str(item.submissions),
                item.deletion_day.isoformat(),
            )
            for item in scheduled_deletions(session, dialogue, today=today)
        ]
    if period is None:
        click.echo(f"Dialogue {slug} keeps submissions until their submitters delete them.")
    else:
        click.echo(
            f"Dialogue {slug} deletes a session's submissions {period} days after the session "
            f"reached follow-up, with at least {notice} days' notice to its desk."
        )
    if rows:
        _print_table(("session", "date", "submissions", "deleted on"), rows)


dialogue_group.add_command(review_mode_command)
dialogue_group.add_command(certify_command)


@dialogue_group.command("fingerprint")
@click.argument("slug")
def fingerprint_command(slug: str) -> None:
    """Print the current desk key's fingerprint and key id, to publish elsewhere.

    Submitters compare the fingerprint on the session page with the one the EU Delegation or
    the EEAS publishes through another channel; a mismatch means the page is not ours.
    """
    with operator_transaction(DialogueDetailsError) as session:
        desk_key = current_desk_key(session, dialogue_by_slug(session, slug))
        if desk_key is None:
            raise OperatorError(f"the dialogue {slug!r} has no current desk key")
        fingerprint, key_id = crypto.fingerprint(desk_key.public_key), desk_key.key_id.hex()
    click.echo(f"Dialogue:    {slug}")
    click.echo(f"Fingerprint: {fingerprint}")
    click.echo(f"Key id:      {key_id}")


@click.group("session")
def session_group() -> None:
    """Schedule sessions, open and close their consultation, and move them on."""


@session_group.command("create")
@click.argument("slug")
@click.option("--date", "date", required=True, type=IsoDate(), help="Day of the session.")
@click.option("--place", required=True, type=enum_choice(SessionPlace))
@click.option("--opens", type=IsoMoment(), help=f"Consultation opens: {MOMENT_HELP}.")
@click.option("--closes", type=IsoMoment(), help=f"Consultation closes: {MOMENT_HELP}.")
def create_session_command(
    slug: str, date: dt.date, place: str, opens: dt.datetime | None, closes: dt.datetime | None
) -> None:
    """Schedule a planned session of the dialogue SLUG, with its window if it is known."""
    with operator_transaction(DialogueDetailsError) as session:
        created = schedule_session(
            session,
            dialogue_by_slug(session, slug),
            date=date,
            place=SessionPlace(place),
            state=SessionState.PLANNED,
            consultation_opens_at=opens,
            consultation_closes_at=closes,
        )
        session_id = created.id
    click.echo(f"Session {session_id} of {slug} scheduled for {date.isoformat()} ({place}).")


@session_group.command("list")
@click.argument("slug")
def list_sessions_command(slug: str) -> None:
    """The sessions of the dialogue SLUG with their window (UTC) and whether input is accepted."""
    now = utc_now()
    with operator_transaction(DialogueDetailsError) as session:
        found = dialogue_by_slug(session, slug)
        rows = [
            (
                str(item.id),
                item.date.isoformat(),
                str(item.place),
                str(item.state),
                _optional_moment(item.consultation_opens_at),
                _optional_moment(item.consultation_closes_at),
                "yes" if consultation_accepts_submissions(item, now) else "no",
            )
            for item in found.sessions
        ]
    _print_table(("id", "date", "place", "state", "opens", "closes", "accepting"), rows)


@session_group.command("open")
@click.argument("session_id", metavar="ID", type=int)
@click.option("--closes", type=IsoMoment(), help=f"Set or move the close: {MOMENT_HELP}.")
def open_command(session_id: int, closes: dt.datetime | None) -> None:
    """Open the consultation of session ID (from now, unless an opening was announced)."""
    with operator_transaction(DialogueDetailsError) as session:
        found = session_by_id(session, session_id)
        open_consultation(session, found, now=utc_now(), closes_at=closes)
        opens_text = _optional_moment(found.consultation_opens_at)
        closes_text = _optional_moment(found.consultation_closes_at)
    click.echo(f"Consultation of session {session_id} is open from {opens_text} to {closes_text}.")


@session_group.command("close")
@click.argument("session_id", metavar="ID", type=int)
def close_command(session_id: int) -> None:
    """Close the consultation of session ID now."""
    with operator_transaction(DialogueDetailsError) as session:
        close_consultation(session, session_by_id(session, session_id))
    click.echo(f"Consultation of session {session_id} is closed.")


@session_group.command("advance")
@click.argument("session_id", metavar="ID", type=int)
@click.option(
    "--to",
    "target",
    required=True,
    type=click.Choice(sorted(stage.value for stage in LATER_STAGES)),
    help="The next stage after the consultation.",
)
def advance_command(session_id: int, target: str) -> None:
    """Move session ID on to held, debriefed or follow_up (from the session's day on, UTC)."""
    with operator_transaction(DialogueDetailsError) as session:
        advance_session(
            session,
            session_by_id(session, session_id),
            SessionState(target),
            today=utc_now().date(),
        )
    click.echo(f"Session {session_id} is now {target}.")


def _optional_moment(moment: dt.datetime | None) -> str:
    return "-" if moment is None else iso_utc(moment)


def _print_table(headings: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [max(len(cell) for cell in column) for column in zip(headings, *rows, strict=True)]
    for row in (headings, *rows):
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]))
