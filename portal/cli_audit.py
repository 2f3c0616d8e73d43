"""``portal audit ...``: check the hash-chained audit trail."""

import click


@click.group("audit")
def audit_group() -> None:
    """Verify the audit trail and print its head for safekeeping."""
