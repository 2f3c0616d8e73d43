"""One unit of work per request, the web's counterpart of the CLI's ``operator_transaction``.

A view that changes anything does it inside ``with unit_of_work() as database:``. The block's
changes are committed when it ends normally and rolled back when it raises, so a refusal can
never leave half of a change stored. A refusal that must itself be recorded (a failed sign-in
that counts towards a limit) is caught inside the block and answered after it, once committed.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from portal.db import request_session


def reading() -> Session:
    """The request's session, for views that only read (nothing they do is ever committed)."""
    return request_session()


@contextmanager
def unit_of_work() -> Iterator[Session]:
    """The request's session; committed if the block succeeds, rolled back if it raises."""
    database = request_session()
    try:
        yield database
    except BaseException:
        database.rollback()
        raise
    database.commit()


def discard_changes() -> None:
    """Roll back whatever the request has changed so far (before answering with a refusal)."""
    request_session().rollback()
