"""The forms of the roadmap pages: a result, an action, a change of state, a link.

Each class declares the fields a page posts and checks that closed-list values are on their list
and numbers are numbers; the rules behind them (lengths, which result or session, what may be
linked, who may) stay in ``portal.services.rounds.roadmap``, which gives its own refusals.
"""

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, IntegerField, StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, NumberRange, Optional

from portal.blueprints.sessions_forms import DayField
from portal.models import ActionOwner, ActionState
from portal.numbers import LARGEST_ID
from portal.services.rounds.roadmap import ActionDraft, ResultDraft

CHOOSE_OWNER = _l("Say who carries out the action.")
CHOOSE_STATE = _l("Choose where the action stands.")
DUE_MESSAGE = _l("Give the day the action is due as YYYY-MM-DD.")


def _text(value: str | None) -> str:
    return value or ""


def _row_id(message: Any) -> list[Any]:
    return [InputRequired(message), NumberRange(min=1, max=LARGEST_ID, message=message)]


class ResultForm(FlaskForm):
    """An operational result: what is to be achieved and how progress is measured."""

    title = StringField(filters=[_text])
    measure = TextAreaField(filters=[_text])

    def draft(self) -> ResultDraft:
        return ResultDraft(title=self.title.data, measure=self.measure.data)


class ActionForm(FlaskForm):
    """An action: what, who, by when, and optionally under which result and from which
    session (ids of this dialogue's, checked by the service)."""

    title = StringField(filters=[_text])
    owner = StringField(
        validators=[
            InputRequired(CHOOSE_OWNER),
            AnyOf([owner.value for owner in ActionOwner], CHOOSE_OWNER),
        ]
    )
    due_on = DayField(validators=[InputRequired(DUE_MESSAGE)], message=DUE_MESSAGE)
    result = IntegerField(validators=[Optional(), NumberRange(min=1, max=LARGEST_ID)])
    session = IntegerField(validators=[Optional(), NumberRange(min=1, max=LARGEST_ID)])

    def draft(self) -> ActionDraft:
        """The action for the service (call after a successful ``validate``)."""
        return ActionDraft(
            title=self.title.data,
            owner=ActionOwner(self.owner.data),
            due_on=self.due_on.data,
            result_id=self.result.data,
            session_id=self.session.data,
        )


class PickedField(Field):
    """Every value posted under the field's name (checkboxes), stripped; none is an empty
    list."""

    data: list[str]

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = [value.strip() for value in valuelist if value.strip()]

    def _value(self) -> str:
        return ""


class StateForm(FlaskForm):
    """A change of state with an optional progress note, and the contributors (by submission
    public id) the desk chose to send a progress notice to."""

    state = StringField(
        validators=[
            InputRequired(CHOOSE_STATE),
            AnyOf([state.value for state in ActionState], CHOOSE_STATE),
        ]
    )
    note = TextAreaField(filters=[_text])
    notify = PickedField(default=list)


class ItemLinkForm(FlaskForm):
    item = IntegerField(validators=_row_id(_l("Choose the agenda item.")))


class CaseLinkForm(FlaskForm):
    case = StringField(
        filters=[lambda value: (value or "").strip()],
        validators=[InputRequired(_l("Give the case's reference."))],
    )


class RecommendationLinkForm(FlaskForm):
    submission = StringField(
        filters=[lambda value: (value or "").strip()],
        validators=[InputRequired(_l("Give the seminar submission's reference."))],
    )
    number = IntegerField(validators=_row_id(_l("Give the recommendation's number.")))
