"""The forms of a session's debrief page: the general debrief, the desk's words to one
contributor, a reason for no notice, and the bare confirmations (send, undo, debriefed).

They check lengths and closed lists; every rule behind the values is
``portal.services.rounds.debrief``'s, which words its refusals.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length

from portal.models import DebriefWithheldReason
from portal.services.submissions.payload import LONG_TEXT_LIMIT

PREVIEW, SAVE = "preview", "save"
TOO_LONG = _l("The text is too long.")
REASON_MESSAGE = _l("Choose a reason from the list.")


class GeneralDebriefForm(FlaskForm):
    """The session's general debrief (Markdown), to preview as it will read or to save; empty
    clears it."""

    text = TextAreaField(validators=[Length(max=LONG_TEXT_LIMIT, message=TOO_LONG)])
    action = StringField(default=SAVE, validators=[AnyOf([PREVIEW, SAVE])])


class DeskWordsForm(FlaskForm):
    """The desk's own words to one contributor (Markdown); empty clears them."""

    text = TextAreaField(validators=[Length(max=LONG_TEXT_LIMIT, message=TOO_LONG)])


class WithholdForm(FlaskForm):
    """Why a contributor receives no notice: a reason from the closed list."""

    reason = StringField(
        validators=[
            InputRequired(REASON_MESSAGE),
            AnyOf([str(value) for value in DebriefWithheldReason], REASON_MESSAGE),
        ]
    )


class ConfirmForm(FlaskForm):
    """Sending, undoing a reason, recording the session as debriefed: the CSRF token only."""
