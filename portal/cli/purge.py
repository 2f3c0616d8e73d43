"""``portal purge``: the periodic clean-up, run now by the operator, with a report.

It runs exactly what each worker of ``portal serve`` runs every few minutes
(``portal.services.housekeeping``) and prints how many things of each kind it removed and how
many bytes of files it freed: counts only, never an id, a name or a date, so the output can be
kept in a ticket. ``--dry-run`` counts without removing anything.
"""

import click

from portal.app import check_instance_ready
from portal.db import Database
from portal.errors import OperatorError
from portal.instance import InstanceFolder
from portal.models import utc_now
from portal.services.housekeeping.purge import PurgeBusyError, PurgeReport, purge
from portal.settings import load_settings
from portal.storage import EncryptedStorage


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@click.option(
    "--vacuum-full",
    is_flag=True,
    help="On PostgreSQL, VACUUM FULL the tables deleted from (rewrites them; blocks them "
    "meanwhile: for a maintenance window).",
)
def purge_command(dry_run: bool, vacuum_full: bool) -> None:
    """Remove expired uploads, orphaned partial files, ended sessions, drained sign-in limits
    and submissions past their dialogue's retention period, and report how many."""
    settings = load_settings()
    database = Database(settings.database_url)
    try:
        check_instance_ready(settings, database)
        storage = EncryptedStorage(InstanceFolder(settings.instance_dir).storage_dir)
        report = purge(database, storage, clock=utc_now, dry_run=dry_run, vacuum_full=vacuum_full)
    except PurgeBusyError as error:
        raise OperatorError(str(error)) from None
    finally:
        database.dispose()
    if report is not None:  # only a run on schedule may find nothing due
        _print_report(report)


def _print_report(report: PurgeReport) -> None:
    click.echo("Dry run: the clean-up would remove" if report.dry_run else "The clean-up removed")
    width = max(len(kind) for kind in report.removed)
    for kind, tally in report.removed.items():
        click.echo(f"  {kind.ljust(width)}  {tally.items}")
    click.echo(f"  {'bytes of files freed'.ljust(width)}  {report.bytes_freed}")
    if report.vacuumed:
        click.echo(f"Vacuumed {len(report.vacuumed)} tables: {', '.join(report.vacuumed)}.")
