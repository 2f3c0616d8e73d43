"""What the ``portal`` sub-commands share: one transaction per command, and the parameter types.

Every command that changes the instance runs in :func:`operator_transaction`: a refusal raised
inside it (one of the service's "details" errors, or an ``OperatorError``) is reported as one line
and nothing is committed, so nothing is half-stored.
"""

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.orm import Session

import crypto
from portal.app import check_instance_ready
from portal.db import Database
from portal.errors import OperatorError
from portal.instance import InstanceSecrets
from portal.settings import load_settings


class IsoDate(click.ParamType):
    """A calendar date written ``YYYY-MM-DD``."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date written YYYY-MM-DD", param, ctx)


class IsoMoment(click.ParamType):
    """A moment in ISO 8601 that says its offset from UTC; returned as aware UTC."""

    name = "MOMENT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, dt.datetime):
            return value
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date and time", param, ctx)
        if moment.tzinfo is None:
            self.fail(f"{value!r} has no offset; add Z for UTC or one like +01:00", param, ctx)
        return moment.astimezone(dt.UTC)


def enum_choice(enum_class: type[Any]) -> click.Choice:
    """A click choice of an enumeration's stored values."""
    return click.Choice([member.value for member in enum_class])


@contextmanager
def operator_transaction(*refusals: type[Exception]) -> Iterator[Session]:
    """One transaction on the configured instance, committed only if the block succeeds.

    An exception of one of the ``refusals`` types becomes an ``OperatorError`` (one line, exit
    status 1) after the transaction has been rolled back.
    """
    with operator_context(*refusals) as (session, _secrets):
        yield session


@contextmanager
def operator_context(*refusals: type[Exception]) -> Iterator[tuple[Session, InstanceSecrets]]:
    """Like :func:`operator_transaction`, also handing over the instance secrets."""
    settings = load_settings()
    database = Database(settings.database_url)
    try:
        secrets = check_instance_ready(settings, database)
        with database.session() as session, session.begin():
            yield session, secrets
    except refusals as error:
        raise OperatorError(str(error)) from None
    finally:
        database.dispose()


def read_recovery_key() -> crypto.PrivateKey:
    """The recovery key from standard input: a hidden prompt on a terminal, else one line."""
    stdin = sys.stdin
    if stdin is None:
        raise OperatorError("give the recovery key on standard input")
    if stdin.isatty():
        text = click.prompt("Recovery key", hide_input=True, err=True)
    else:
        text = stdin.readline()
    if not text.strip():
        raise OperatorError("give the recovery key on standard input")
    try:
        return crypto.import_recovery_key(text)
    except crypto.RecoveryKeyError as error:
        raise OperatorError(str(error)) from None
