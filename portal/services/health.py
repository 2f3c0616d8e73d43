"""Whether the portal can serve: the one question a load balancer asks, answered without detail."""

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session


def database_answers(session: Session) -> bool:
    """Whether the database answers a trivial query; the reason it does not stays unsaid."""
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return False
    return True
