"""The forms of a session's record page: held, an agenda item, a case, a recommendation.

They parse and check choices against the closed lists; the rules behind the values (the day,
which item, consent, the handover list, reasons) are in ``portal.services.rounds.record``, which
words the refusals. The words typed (replies, notes) are checked for length there too.
"""

import enum

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Optional, ValidationError

from portal.blueprints.sessions_forms import DayField
from portal.models import (
    HowRaised,
    NotRaisedReason,
    NotTakenUpReason,
    RecommendationOutcome,
    SessionPlace,
)

ITEM_PREFIX = "item-"
"""How the case form names an agenda item among the ways a case was raised: ``item-<id>``."""

HELD_DAY_MESSAGE = _l("Give the day the session was held as YYYY-MM-DD.")
PLACE_MESSAGE = _l("Choose where the session was held.")
DISCUSSED_MESSAGE = _l("Say whether the item was discussed.")
RAISED_MESSAGE = _l("Choose how the case was raised.")
REASON_MESSAGE = _l("Choose a reason from the list.")
OUTCOME_MESSAGE = _l("Choose what became of the recommendation.")


def _empty_is_none(value: str | None) -> str | None:
    return value or None


def _choices(vocabulary: type[enum.StrEnum]) -> list[str]:
    return [str(value) for value in vocabulary]


class HeldForm(FlaskForm):
    """The day and the place the session was held."""

    held_on = DayField(validators=[InputRequired(HELD_DAY_MESSAGE)])
    place = StringField(
        validators=[InputRequired(PLACE_MESSAGE), AnyOf(_choices(SessionPlace), PLACE_MESSAGE)]
    )


class ItemRecordForm(FlaskForm):
    """Whether an agenda item was discussed, and the partner's reply under it."""

    discussed = StringField(
        validators=[InputRequired(DISCUSSED_MESSAGE), AnyOf(["yes", "no"], DISCUSSED_MESSAGE)]
    )
    reply = TextAreaField()


class CaseRecordForm(FlaskForm):
    """How a case was raised (``item-<id>``, the handover list, or not raised with a reason)
    and the partner's reply."""

    raised = StringField(validators=[InputRequired(RAISED_MESSAGE)])
    reason = StringField(
        filters=[_empty_is_none],
        validators=[Optional(), AnyOf(_choices(NotRaisedReason), REASON_MESSAGE)],
    )
    reply = TextAreaField()

    def validate_raised(self, field: StringField) -> None:
        if self.how_and_item is None:
            raise ValidationError(RAISED_MESSAGE)

    @property
    def how_and_item(self) -> tuple[HowRaised, int | None] | None:
        """The way chosen and its agenda item; ``None`` for anything the form never offers."""
        value = self.raised.data or ""
        if value.startswith(ITEM_PREFIX):
            number = value.removeprefix(ITEM_PREFIX)
            if number.isdigit() and len(number) < 19:
                return HowRaised.DURING_ITEM, int(number)
            return None
        if value in (HowRaised.HANDOVER_LIST, HowRaised.NOT_RAISED):
            return HowRaised(value), None
        return None


class RecommendationRecordForm(FlaskForm):
    """What became of a recommendation, why not if it was not taken up, and any words."""

    outcome = StringField(
        validators=[
            InputRequired(OUTCOME_MESSAGE),
            AnyOf(_choices(RecommendationOutcome), OUTCOME_MESSAGE),
        ]
    )
    reason = StringField(
        filters=[_empty_is_none],
        validators=[Optional(), AnyOf(_choices(NotTakenUpReason), REASON_MESSAGE)],
    )
    note = TextAreaField()


class CompleteForm(FlaskForm):
    """Declaring the record complete: the CSRF token only."""
