"""The forms of the agenda pages: an item, a move, a step of the agenda's life, a link removed.

Each class declares the fields a page posts and checks that closed-list values are on their list;
the rules behind them (lengths, which theme needs a topic, who may do what, when) stay in
``portal.services.rounds.agenda``, which gives its own refusals.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Optional

from portal.models import AgendaPriority, AgendaState, AgendaTheme, Topic
from portal.services.rounds.agenda import ItemDraft

CHOOSE_THEME = _l("Choose the item's theme from the list.")
CHOOSE_TOPIC = _l("Choose the specific topic from the list.")
CHOOSE_PRIORITY = _l("Say whose priority the item is.")


def _none_if_empty(value: str | None) -> str | None:
    return value or None


class AgendaItemForm(FlaskForm):
    """An item as written: title, theme (and topic), whose priority, its gender dimension."""

    title = StringField(filters=[lambda value: value or ""])
    theme = StringField(
        validators=[
            InputRequired(CHOOSE_THEME),
            AnyOf([theme.value for theme in AgendaTheme], CHOOSE_THEME),
        ]
    )
    topic = StringField(
        filters=[_none_if_empty],
        validators=[Optional(), AnyOf([topic.value for topic in Topic], CHOOSE_TOPIC)],
    )
    priority = StringField(
        validators=[
            InputRequired(CHOOSE_PRIORITY),
            AnyOf([priority.value for priority in AgendaPriority], CHOOSE_PRIORITY),
        ]
    )
    gender_dimension = TextAreaField(filters=[lambda value: value or ""])

    def draft(self) -> ItemDraft:
        """The item for the service (call after a successful ``validate``)."""
        return ItemDraft(
            title=self.title.data,
            theme=AgendaTheme(self.theme.data),
            topic=Topic(self.topic.data) if self.topic.data else None,
            priority_of=AgendaPriority(self.priority.data),
            gender_dimension=self.gender_dimension.data,
        )


class MoveForm(FlaskForm):
    """``direction`` is "up" or "down"."""

    direction = StringField(validators=[InputRequired(), AnyOf(["up", "down"])])


class AgendaStepForm(FlaskForm):
    """The stage the agenda is to move to."""

    to = StringField(validators=[InputRequired(), AnyOf([state.value for state in AgendaState])])


class UnlinkForm(FlaskForm):
    """``back`` is "submission" when the form was on the submission's page."""

    back = StringField(filters=[lambda value: value or ""])
