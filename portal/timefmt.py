"""Dates and times for people in the EU institutions and in partner countries alike.

Every moment is shown in UTC, which is what is stored and unambiguous wherever the reader is,
and in Brussels time, which is what the EEAS announces deadlines in (and, where JavaScript runs,
in the reader's own zone: static/js/local-time.mjs). The value is written once: the date comes
with the UTC time, and the other zones add only their time, unless the day is another one there.
Formatting follows the reader's locale.
"""

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton
from flask import Flask
from flask_babel import get_locale, gettext

BRUSSELS = ZoneInfo("Europe/Brussels")
_TWENTY_FOUR_HOUR_CLOCK = "Hm"


def in_utc(moment: dt.datetime) -> str:
    """``moment`` as a date and 24-hour time in UTC, in the reader's locale."""
    return _date_and_time(moment, dt.UTC)


def in_brussels(moment: dt.datetime) -> str:
    """``moment`` as a date and 24-hour time in Brussels, in the reader's locale."""
    return _date_and_time(moment, BRUSSELS)


def in_brussels_beside_utc(moment: dt.datetime) -> str:
    """``moment``'s Brussels time, to follow its UTC date and time: the time alone on the same
    day, the date and time when Brussels is already on the next day."""
    local = moment.astimezone(BRUSSELS)
    if local.date() == moment.astimezone(dt.UTC).date():
        return format_skeleton(_TWENTY_FOUR_HOUR_CLOCK, local, tzinfo=BRUSSELS, locale=get_locale())
    return in_brussels(moment)


def _date_and_time(moment: dt.datetime, zone: dt.tzinfo) -> str:
    locale = get_locale()
    local = moment.astimezone(zone)
    return gettext(
        "%(date)s, %(time)s",
        date=format_date(local.date(), format="medium", locale=locale),
        time=format_skeleton(_TWENTY_FOUR_HOUR_CLOCK, local, tzinfo=zone, locale=locale),
    )


def iso_utc(moment: dt.datetime) -> str:
    """Machine-readable form for the ``datetime`` attribute of ``<time>``."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def long_date(day: dt.date) -> str:
    """A calendar date written out in the reader's locale."""
    return format_date(day, format="long", locale=get_locale())


def init_app(app: Flask) -> None:
    """Make the formatters available to templates as filters."""
    app.add_template_filter(in_utc)
    app.add_template_filter(in_brussels)
    app.add_template_filter(in_brussels_beside_utc)
    app.add_template_filter(iso_utc)
    app.add_template_filter(long_date)
