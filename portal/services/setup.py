"""Setting up an instance: what `portal init` does, in one place.

Order matters for the promise that a refused `init` changes nothing: every reason to refuse is
checked before the first file or table is touched. The recovery key's private half leaves this
module only in the returned outcome, for the command to print once.

`--force` clears only what exists: a schema is downgraded (on SQLite with deleted rows zeroed),
and SQLite side files that outlive their database are removed, because SQLite would replay a
leftover write-ahead log into the new file. The instance folder itself is created (mode 0700)
before the database, so a SQLite file inside it can be made even when the folder was missing.
"""

import json
import os
from dataclasses import dataclass
from pathlib import Path

from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

import crypto
from portal import schema
from portal.db import Database, sqlite_side_files
from portal.errors import OperatorError, first_line
from portal.instance import InstanceFolder, InstanceSecrets
from portal.models import utc_now
from portal.services.audit.trail import AuditAction, record_event
from portal.services.demo import DemoAccount, seed_demo
from portal.services.recovery import create_recovery_key
from portal.settings import Settings


class InstanceExistsError(OperatorError):
    """`portal init` would overwrite an existing instance, database or file."""


@dataclass(frozen=True)
class InitRequest:
    """What the operator asked `portal init` for."""

    demo: bool = False
    force: bool = False
    credentials_out: Path | None = None


@dataclass(frozen=True)
class InitOutcome:
    """What the operator must be told once the instance exists."""

    recovery_key_text: str
    recovery_key_fingerprint: str
    demo_accounts: tuple[DemoAccount, ...]


def initialise_instance(settings: Settings, request: InitRequest) -> InitOutcome:
    """Create the instance folder, the schema, the recovery key and (on request) demo data."""
    folder = InstanceFolder(settings.instance_dir)
    database = Database(settings.database_url)
    try:
        state = _refuse_to_clobber(folder, database, request)
        if request.force:
            _remove_existing_instance(folder, database, state, settings)
        secrets = InstanceSecrets.generate()
        folder.create(secrets)
        schema.upgrade_to_head(settings.database_url)
        if database.sqlite_file is not None:
            database.sqlite_file.chmod(0o600)
        with database.session() as session, session.begin():
            recovery_key, recovery_private_key = create_recovery_key(session)
            record_event(
                session,
                action=AuditAction.INSTANCE_INITIALISED,
                object_type="instance",
                object_id=schema.head_revision(),
                details={"demo": request.demo},
            )
            recovery_signing_seed = crypto.recovery_signing_seed(recovery_private_key)
            accounts = (
                seed_demo(
                    session,
                    recovery_key,
                    secrets.at_rest_key,
                    utc_now(),
                    recovery_signing_seed=recovery_signing_seed,
                )
                if request.demo
                else ()
            )
        folder.record_recovery_signing_key(crypto.signing_public_key(recovery_signing_seed))
    except SQLAlchemyError as error:
        raise OperatorError(f"the database could not be set up: {first_line(error)}") from None
    finally:
        database.dispose()
    if request.credentials_out is not None:
        _write_credentials(request.credentials_out, accounts, replace=request.force)
    return InitOutcome(
        recovery_key_text=crypto.export_recovery_key(recovery_private_key),
        recovery_key_fingerprint=crypto.fingerprint(recovery_key.public_key),
        demo_accounts=accounts,
    )


def _write_credentials(path: Path, accounts: tuple[DemoAccount, ...], *, replace: bool) -> None:
    """Write the demo accounts as a JSON list, readable by the owner only."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    descriptor = os.open(path, flags, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump([account.as_json() for account in accounts], handle, indent=2)
        handle.write("\n")


def _refuse_to_clobber(
    folder: InstanceFolder, database: Database, request: InitRequest
) -> schema.DatabaseState:
    """Raise before any change if something exists that only --force may replace; return what
    the database holds."""
    target = request.credentials_out
    # The instance folder is made before the credentials are written, so it may hold them.
    if (
        target is not None
        and not target.parent.is_dir()
        and target.parent.resolve() != folder.path.resolve()
    ):
        raise OperatorError(f"cannot write {target}: the folder {target.parent} does not exist")
    state = schema.database_state(database)
    if state.has_tables and state.revision is None:
        raise InstanceExistsError(
            "the database already holds tables that are not a Parley schema; use an empty database"
        )
    if request.force:
        return state
    if folder.is_initialised():
        raise InstanceExistsError(
            f"an instance already exists in {folder.path}; nothing was changed "
            "(`portal init --force` replaces it and destroys its data)"
        )
    if state.has_tables:
        raise InstanceExistsError(
            "the database already holds a Parley schema; nothing was changed "
            "(`portal init --force` replaces it and destroys its data)"
        )
    if target is not None and target.exists():
        raise InstanceExistsError(
            f"{target} already exists; nothing was changed (use --force to overwrite it)"
        )
    leftovers = _leftover_side_files(database)
    if leftovers:
        raise InstanceExistsError(
            f"{leftovers[0]} is left over from an earlier database; nothing was changed "
            "(`portal init --force` removes it)"
        )
    return state


def _leftover_side_files(database: Database) -> list[Path]:
    """SQLite side files whose database file is gone."""
    sqlite_file = database.sqlite_file
    if sqlite_file is None or sqlite_file.exists():
        return []
    return sqlite_side_files(sqlite_file)


def _remove_existing_instance(
    folder: InstanceFolder, database: Database, state: schema.DatabaseState, settings: Settings
) -> None:
    if state.revision is not None:
        try:
            schema.downgrade_to_base(settings.database_url)
        except CommandError as error:
            raise OperatorError(
                f"the existing database could not be cleared: {first_line(error)}"
            ) from None
    database.dispose()
    for leftover in _leftover_side_files(database):
        leftover.unlink()
    folder.wipe()
