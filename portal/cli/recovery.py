"""``portal recovery ...`` and ``portal dialogue certify``: the recovery key as a certifier.

Both read the recovery key from standard input, like every command that needs it, and refuse in
one line, storing nothing, when it is not this instance's
(``portal.services.desks.recovery_certificates``).
"""

import click

from portal.cli.support import operator_transaction, read_recovery_key
from portal.instance import InstanceFolder
from portal.services.desks.recovery_certificates import (
    RecoveryCertificationError,
    certify_uncertified_desk_keys,
    instance_recovery_signing_seed,
    recovery_signing_public_key,
)
from portal.services.dialogues.dialogue_sessions import UnknownDialogueError, dialogue_by_slug
from portal.settings import load_settings


@click.group("recovery")
def recovery_group() -> None:
    """The instance recovery key (read from standard input)."""


@recovery_group.command("record-signing-key")
def record_signing_key_command() -> None:
    """Record the recovery signing key in the instance folder, for new submissions to name.

    Instances made by ``portal init`` record it at once; an older instance records it here.
    """
    recovery_private_key = read_recovery_key()
    with operator_transaction(RecoveryCertificationError) as session:
        instance_recovery_signing_seed(session, recovery_private_key)
    signing_key = recovery_signing_public_key(recovery_private_key)
    InstanceFolder(load_settings().instance_dir).record_recovery_signing_key(signing_key)
    click.echo(f"Recovery signing key recorded: {signing_key.hex()}")


@click.command("certify")
@click.argument("slug")
def certify_command(slug: str) -> None:
    """Certify with the recovery key every desk key of SLUG that has no certificate yet."""
    recovery_private_key = read_recovery_key()
    with operator_transaction(RecoveryCertificationError, UnknownDialogueError) as session:
        outcome = certify_uncertified_desk_keys(
            session, dialogue_by_slug(session, slug), recovery_private_key
        )
    listed = ", ".join(str(generation) for generation in outcome.certified) or "none"
    click.echo(f"Desk keys of {slug} certified with the recovery key: {listed}.")
    if outcome.refused:
        refused = ", ".join(str(generation) for generation in outcome.refused)
        click.echo(
            f"Not certified, the recovery key does not open them as stored: {refused}.", err=True
        )
