"""The forms of the desk's session pages: schedule a session, open, extend and close its
consultation, record it as held.

Moments are typed as a date and a time in UTC (the ``datetime-local`` control, which carries no
zone): the pages say so beside each field and show every stored moment in UTC and in Brussels
time, so the reader can check what they set. The rules behind the values (windows, the session's
day, frozen dialogues) are in ``portal.services.dialogues.dialogue_sessions``, which words the
refusals; these forms only parse.
"""

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, StringField
from wtforms.validators import AnyOf, InputRequired, Optional

from portal.models import SessionPlace

MOMENT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
MOMENT_MESSAGE = _l("Give the date and time (UTC) as YYYY-MM-DD HH:MM.")
DATE_MESSAGE = _l("Give the session's date as YYYY-MM-DD.")


def _typed(valuelist: list[str]) -> str:
    return valuelist[0].strip() if valuelist else ""


class UtcMomentField(Field):
    """A moment typed in a ``datetime-local`` control, read as UTC; empty is ``None``."""

    data: dt.datetime | None

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        typed = _typed(valuelist)
        if not typed:
            return
        for moment_format in MOMENT_FORMATS:
            try:
                self.data = dt.datetime.strptime(typed, moment_format).replace(tzinfo=dt.UTC)
            except ValueError:
                continue
            return
        raise ValueError(MOMENT_MESSAGE)


class DayField(Field):
    """A calendar day typed as ``YYYY-MM-DD``; empty is ``None``. ``message`` says what the day
    is when it is mistyped (the session's date unless told)."""

    data: dt.date | None

    def __init__(self, *args: Any, message: Any = DATE_MESSAGE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.message = message

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        typed = _typed(valuelist)
        if not typed:
            return
        # Exactly YYYY-MM-DD: ``fromisoformat`` alone also takes the compact 20310101.
        try:
            self.data = dt.date.fromisoformat(typed)
        except ValueError:
            raise ValueError(self.message) from None
        if len(typed) != len("YYYY-MM-DD"):
            self.data = None
            raise ValueError(self.message)


class ScheduleForm(FlaskForm):
    """A new session: its day, its place and, if already known, its consultation window."""

    date = DayField(validators=[InputRequired(DATE_MESSAGE)])
    place = StringField(
        validators=[
            InputRequired(_l("Choose where the session takes place.")),
            AnyOf(
                [place.value for place in SessionPlace], _l("Choose where the session takes place.")
            ),
        ]
    )
    opens = UtcMomentField(validators=[Optional()])
    closes = UtcMomentField(validators=[Optional()])


class OpenForm(FlaskForm):
    """Open or reopen the consultation; a new close is needed only when the old one has passed."""

    closes = UtcMomentField(validators=[Optional()])


class ExtendForm(FlaskForm):
    """The later close of an open consultation."""

    closes = UtcMomentField(validators=[InputRequired(MOMENT_MESSAGE)])


class ConfirmForm(FlaskForm):
    """A button with nothing to fill in (close now, record as held): the CSRF token only."""
