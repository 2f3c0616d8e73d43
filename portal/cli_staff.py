"""``portal staff ...``: operators manage staff accounts from the command line."""

import click


@click.group("staff")
def staff_group() -> None:
    """Create, list, reset, deactivate and reactivate staff accounts; grant desks."""
