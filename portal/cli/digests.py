"""``portal digest send``: e-mail today's staff digests, for a cron job or a systemd timer.

The rules (who, what, at most daily) are ``portal.services.staff.digests``'; the mail server is
``PORTAL_SMTP_*`` (``portal.settings``). Without a configured server the command refuses with
exit status 2, like any other missing setting. It prints one line of counts; a failed digest is
named by the account's id and the kind of failure only, never by address, and makes the exit
status 1 so that the scheduler reports it, while everyone else's digest has still gone out.
Running it more often than daily is harmless: a second run the same day sends nothing more.
"""

import click

from portal.app import check_instance_ready
from portal.db import Database
from portal.errors import ConfigurationError, OperatorError
from portal.mail import SmtpMailer
from portal.models import utc_now
from portal.services.staff.digests import send_due_digests
from portal.settings import SMTP_HOST_VARIABLE, load_settings


@click.group("digest")
def digest_group() -> None:
    """E-mail staff the content-free digests of what waits for them."""


@digest_group.command("send")
def send_command() -> None:
    """Send the digests due today (UTC) and print how many were sent, skipped and failed."""
    settings = load_settings()
    if settings.smtp is None:
        raise ConfigurationError(
            f"no mail server is configured; set {SMTP_HOST_VARIABLE} and the other "
            "PORTAL_SMTP_* variables (see the README) to send digests"
        )
    database = Database(settings.database_url)
    try:
        check_instance_ready(settings, database)
        run = send_due_digests(database, SmtpMailer(settings.smtp), today=utc_now().date())
    finally:
        database.dispose()
    click.echo(
        f"Digests sent: {run.sent}, skipped: {run.skipped} "
        f"(nothing waiting: {run.nothing_waiting}, already sent today: "
        f"{run.already_sent_today}), failed: {run.failed}."
    )
    for failure in run.failures:
        click.echo(f"Not sent to staff account {failure.staff_user_id}: {failure.reason}", err=True)
    if run.failures:
        raise OperatorError(f"{run.failed} digest(s) could not be sent; the next run tries again")
