"""The ``portal`` command (also ``python -m portal``).

Operator mistakes (a bad setting, an instance that already exists, a database out of reach) end
with one line on standard error and a non-zero exit status, never a traceback: 2 for settings
and usage, 1 for everything else.
"""

from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import make_url

from portal import schema
from portal.app import check_instance_ready
from portal.cli.audit import audit_group
from portal.cli.bundles import decrypt_command, export_command
from portal.cli.desks import desk_group
from portal.cli.dialogues import dialogue_group, session_group
from portal.cli.digests import digest_group
from portal.cli.recovery import recovery_group
from portal.cli.staff import staff_group
from portal.db import Database
from portal.errors import OperatorError
from portal.instance import InstanceFolder
from portal.server import serve as run_server
from portal.services.demo import DemoAccount
from portal.services.setup import InitOutcome, InitRequest, initialise_instance
from portal.settings import (
    DEFAULT_THREADS,
    DEFAULT_WORKERS,
    MAX_THREADS,
    MAX_WORKERS,
    THREADS_VARIABLE,
    WORKERS_VARIABLE,
    Settings,
    load_settings,
)


class _OperatorFailure(click.ClickException):
    """Carries an ``OperatorError`` to click, which prints it as one line."""

    def __init__(self, error: OperatorError) -> None:
        super().__init__(str(error))
        self.exit_code = error.exit_code


class _OneLineUsageError(click.ClickException):
    """A usage mistake told in one line, with where to read the command's help."""

    exit_code = 2

    def __init__(self, error: click.UsageError) -> None:
        command = error.ctx.command_path if error.ctx is not None else "portal"
        super().__init__(f"{error.format_message()} (see `{command} --help`)")


class _PortalGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OperatorError as error:
            raise _OperatorFailure(error) from None
        except click.UsageError as error:
            raise _OneLineUsageError(error) from None


@click.group(cls=_PortalGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Parley, the secure consultation portal for the EU's human-rights dialogues.

    Configuration comes from environment variables: PORTAL_INSTANCE_DIR (default ./instance),
    PORTAL_DATABASE_URL (default SQLite in the instance folder), PORTAL_COOKIE_SECURE (default
    true), PORTAL_ONION_ADDRESS (default none), PORTAL_WORKERS and PORTAL_THREADS (default 2
    and 32), the mail server of staff digests PORTAL_SMTP_* (default none: nothing is e-mailed).
    """


@main.command()
@click.option("--demo", is_flag=True, help="Also create fictional demo dialogues and accounts.")
@click.option(
    "--credentials-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --demo: write the demo accounts to this JSON file instead of printing them.",
)
@click.option(
    "--force", is_flag=True, help="Replace an existing instance, destroying all of its data."
)
def init(demo: bool, credentials_out: Path | None, force: bool) -> None:
    """Set up a new instance: folder, secrets, database and recovery key."""
    if credentials_out is not None and not demo:
        raise click.UsageError("--credentials-out needs --demo")
    settings = load_settings()
    outcome = initialise_instance(
        settings, InitRequest(demo=demo, force=force, credentials_out=credentials_out)
    )
    _report_init(settings, outcome, credentials_out)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    help=f"Worker processes (default: {WORKERS_VARIABLE}, else {DEFAULT_WORKERS}).",
)
@click.option(
    "--threads",
    type=click.IntRange(1, MAX_THREADS),
    help=f"Request threads per worker (default: {THREADS_VARIABLE}, else {DEFAULT_THREADS}).",
)
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the portal with gunicorn until interrupted."""
    settings = load_settings()
    settings = replace(
        settings,
        workers=settings.workers if workers is None else workers,
        threads=settings.threads if threads is None else threads,
    )
    database = Database(settings.database_url)
    try:
        check_instance_ready(settings, database)
    finally:
        database.dispose()
    run_server(settings, host=host, port=port)


main.add_command(dialogue_group)
main.add_command(session_group)
main.add_command(staff_group)
main.add_command(audit_group)
main.add_command(desk_group)
main.add_command(recovery_group)
main.add_command(digest_group)
main.add_command(export_command)
main.add_command(decrypt_command)


@main.command()
def migrate() -> None:
    """Bring the database schema up to this release (safe to run again)."""
    settings = load_settings()
    # Refuse a database whose instance folder is missing: it is probably not the one meant.
    InstanceFolder(settings.instance_dir).load_secrets()
    database = Database(settings.database_url)
    try:
        if schema.database_state(database).revision is None:
            raise OperatorError("the database has no Parley schema; run `portal init` first")
    finally:
        database.dispose()
    schema.upgrade_to_head(settings.database_url)
    click.echo(f"Database schema is at revision {schema.head_revision()}, the newest.")


def _report_init(settings: Settings, outcome: InitOutcome, credentials_out: Path | None) -> None:
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    click.echo(f"Parley instance created in {settings.instance_dir}")
    click.echo(f"Database: {database}")
    click.echo()
    click.echo("RECOVERY KEY. It is shown this once and stored nowhere:")
    click.echo()
    click.echo(f"    {outcome.recovery_key_text}")
    click.echo()
    click.echo(f"Fingerprint: {outcome.recovery_key_fingerprint}")
    click.echo(
        "Write it down or print it now and keep it offline, in a safe. It opens every "
        "dialogue's desk key: whoever holds it can read everything, and without it the data of a "
        "desk whose members have all lost their passphrases is lost for good."
    )
    if not outcome.demo_accounts:
        return
    click.echo()
    if credentials_out is not None:
        click.echo(f"Demo accounts written to {credentials_out} (readable by you only).")
        return
    click.echo("Demo accounts (fictional; for trying Parley out only):")
    for account in outcome.demo_accounts:
        _print_account(account)


def _print_account(account: DemoAccount) -> None:
    dialogues = ", ".join(account.dialogues) or "none"
    click.echo()
    click.echo(f"  {account.role}: {account.email}")
    click.echo(f"    password:    {account.password}")
    click.echo(f"    TOTP secret: {account.totp_secret}")
    click.echo(f"    desks:       {dialogues}")
