"""Declarative base, constraint naming and the column types shared by every table.

Constraint names come from one naming convention so that a migration written today can refer to
a constraint by name on SQLite and PostgreSQL alike, years from now.

Enumerations are stored as their string values in a VARCHAR with a named CHECK constraint rather
than as PostgreSQL native enums: adding a value later is then an ordinary migration on both
databases, and a row read by hand shows the same word the code uses.
"""

import datetime as dt
import enum
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ENUM_LENGTH = 32


class Base(DeclarativeBase):
    """Base of every model; its metadata is what migrations are compared against."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A point in time, always timezone-aware UTC in Python whatever the database keeps.

    SQLite stores no offset, so values are normalised to UTC on the way in (naive datetimes are
    refused: their meaning is a guess) and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("refusing a naive datetime; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def string_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """Column type storing ``enum_class`` values as strings under a CHECK constraint ``name``."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=ENUM_LENGTH,
        values_callable=_enum_values,
        validate_strings=True,
    )


def _enum_values(enum_class: Any) -> list[str]:
    return [member.value for member in enum_class]


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime (the only kind the models accept)."""
    return dt.datetime.now(dt.UTC)
