"""``portal export``, ``portal decrypt`` and ``portal dialogue review-mode``: offline review.

``portal export SLUG --out FILE [--session ID]`` writes a bundle (``portal.services.bundles``)
to FILE, created new with mode 0600; the audit event is committed only once the file is
written, and the file is removed if anything fails.

``portal decrypt FILE --out DIR`` reads the recovery key or a desk key from standard input (a
hidden prompt on a terminal) and decrypts the bundle into DIR. It touches neither the instance
folder, the database nor the settings, so it runs on an offline machine with only Parley
installed.

``portal dialogue review-mode SLUG offline --desk-key-out FILE`` and ``... online`` (recovery
key on standard input) switch the review mode (``portal.services.desks.review_mode``). Going
offline, the order is: FILE is created (exclusively, mode 0600, empty) before the transaction, so
that a bad path is refused before anything changes; the switch is made and flushed; the new desk
key's text is written to FILE and synced to disk; then the transaction commits. If anything fails up
to and including the commit, FILE is removed and nothing is stored; so the key is on disk whenever
the switch is committed, and a key whose switch was not committed never stays behind (a crash
between writing and committing could leave such a file, naming a key the server never used).
"""

import os
import sys
from pathlib import Path
from typing import BinaryIO

import click

import crypto
from crypto.keys import export_desk_key
from portal.cli.support import operator_context, read_recovery_key
from portal.errors import OperatorError
from portal.instance import InstanceFolder
from portal.models import utc_now
from portal.services.bundles.export import write_bundle
from portal.services.bundles.manifest import BundleError
from portal.services.bundles.offline import decrypt_bundle, read_offline_key
from portal.services.desks.recovery_certificates import (
    RecoveryCertificationError,
    instance_recovery_signing_seed,
)
from portal.services.desks.review_mode import ReviewModeError, switch_to_offline, switch_to_online
from portal.services.dialogues.dialogue_sessions import UnknownDialogueError, dialogue_by_slug
from portal.settings import load_settings
from portal.storage import EncryptedStorage


@click.command("export")
@click.argument("slug")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The bundle file to create (must not exist).",
)
@click.option("--session", "session_id", type=int, help="Only the submissions of this session.")
def export_command(slug: str, out: Path, session_id: int | None) -> None:
    """Export the encrypted bundle of the dialogue SLUG, for `portal decrypt` offline."""
    settings = load_settings()
    storage = EncryptedStorage(InstanceFolder(settings.instance_dir).storage_dir)
    handle = _create_private(out)
    done = False
    try:
        with handle, operator_context(BundleError, UnknownDialogueError) as (session, _secrets):
            summary = write_bundle(
                session,
                storage,
                dialogue_by_slug(session, slug),
                handle,
                today=utc_now().date(),
                session_id=session_id,
            )
            handle.flush()
            os.fsync(handle.fileno())
        done = True
    finally:
        if not done:
            out.unlink(missing_ok=True)
    click.echo(
        f"Bundle of {summary.dialogue} written to {out}: {summary.submissions} submissions, "
        f"{summary.attachments} attachments, {summary.desk_keys} desk keys."
    )
    click.echo("It holds only ciphertext; open it offline with `portal decrypt`.")


@click.command("decrypt")
@click.argument("bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder to write (must not exist, or be empty); made readable by you only.",
)
def decrypt_command(bundle: Path, out: Path) -> None:
    """Decrypt BUNDLE with the recovery key or a desk key read from standard input.

    Needs no instance, database or settings: run it on an offline machine. Items sealed to a
    desk key you did not give are skipped and listed in skipped.json; anything that fails to
    open stops the run and leaves no output folder.
    """
    try:
        key = read_offline_key(_secret_from_stdin("Recovery key or desk key"))
        summary = decrypt_bundle(bundle, out, key)
    except BundleError as error:
        raise OperatorError(str(error)) from None
    if summary.briefing:
        click.echo(f"Decrypted the briefing pack into {out} (open briefing.html to read it).")
        return
    click.echo(
        f"Decrypted {summary.submissions} submissions and {summary.attachments} attachments "
        f"into {out}."
    )
    if summary.skipped:
        click.echo(
            f"{summary.skipped} items are sealed to a desk key you did not give and were "
            "skipped (see skipped.json); the recovery key opens them.",
            err=True,
        )


@click.command("review-mode")
@click.argument("slug")
@click.argument("mode", type=click.Choice(["online", "offline"]))
@click.option(
    "--desk-key-out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="offline: the file to create with the new desk key, for the offline machine.",
)
@click.option(
    "--certify",
    is_flag=True,
    help="offline: read the recovery key from standard input and certify the new desk key.",
)
def review_mode_command(slug: str, mode: str, desk_key_out: Path | None, certify: bool) -> None:
    """Switch the dialogue SLUG to offline review (no desk key on the server) or back online.

    offline needs --desk-key-out FILE (and, with --certify, reads the recovery key from standard
    input); online reads the recovery key from standard input and grants the desk keys again to
    every desk member whose key was confirmed.
    """
    if mode == "offline":
        if desk_key_out is None:
            raise click.UsageError("offline needs --desk-key-out FILE")
        _switch_offline(slug, desk_key_out, read_recovery_key() if certify else None)
        return
    if desk_key_out is not None or certify:
        raise click.UsageError("--desk-key-out and --certify go with offline only")
    text = _secret_from_stdin("Recovery key")
    try:
        recovery_private_key = crypto.import_recovery_key(text)
    except ValueError as error:
        raise OperatorError(str(error)) from None
    with operator_context(ReviewModeError, UnknownDialogueError) as (session, secrets):
        outcome = switch_to_online(
            session,
            dialogue_by_slug(session, slug),
            recovery_private_key,
            at_rest_key=secrets.at_rest_key,
        )
        waiting = [user.email for user in outcome.not_confirmed]
    click.echo(
        f"Dialogue {slug} is in online review: {outcome.desk_keys} desk keys granted again to "
        f"{len(outcome.members)} desk members ({outcome.grants_made} grants)."
    )
    if waiting:
        click.echo(
            f"Not granted, key changed or never confirmed: {', '.join(waiting)}. Grant each "
            "with `portal desk grant SLUG EMAIL --fingerprint DIGITS` after they read you theirs."
        )


def _switch_offline(
    slug: str, desk_key_out: Path, recovery_private_key: crypto.PrivateKey | None
) -> None:
    refusals = (ReviewModeError, UnknownDialogueError, RecoveryCertificationError)
    handle = _create_private(desk_key_out)
    done = False
    try:
        with handle, operator_context(*refusals) as (session, _secrets):
            outcome = switch_to_offline(
                session,
                dialogue_by_slug(session, slug),
                recovery_signing_seed=None
                if recovery_private_key is None
                else instance_recovery_signing_seed(session, recovery_private_key),
            )
            session.flush()
            handle.write((export_desk_key(outcome.new_private_key) + "\n").encode("ascii"))
            handle.flush()
            os.fsync(handle.fileno())
            new_key_id = outcome.new_key.key_id.hex()
            deleted = outcome.staff_grants_deleted
        done = True
    finally:
        if not done:
            desk_key_out.unlink(missing_ok=True)
    click.echo(f"Dialogue {slug} is in offline review.")
    click.echo(f"New desk key {new_key_id} written to {desk_key_out} (readable by you only).")
    if recovery_private_key is None:
        click.echo(f"Certify it with the recovery key: `portal dialogue certify {slug}`.")
    else:
        click.echo("The new desk key is certified with the recovery key.")
    click.echo(
        f"{deleted} staff grants deleted: no desk key of {slug} opens on the server any more. "
        "Carry the key file to the offline machine and delete it here."
    )


def _create_private(path: Path) -> BinaryIO:
    """Create ``path`` new, mode 0600, for writing; an ``OperatorError`` if it cannot be."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise OperatorError(f"{path} already exists; choose a new file") from None
    except OSError as error:
        raise OperatorError(f"{path} cannot be created: {error.strerror}") from None
    return os.fdopen(descriptor, "wb")


def _secret_from_stdin(prompt: str) -> str:
    """One line from standard input, or a hidden prompt when it is a terminal."""
    stream = sys.stdin
    if stream.isatty():
        return click.prompt(prompt, hide_input=True)
    line = stream.readline()
    if not line.strip():
        raise OperatorError(f"give the {prompt.lower()} on standard input")
    return line
