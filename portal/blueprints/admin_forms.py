"""The forms of the administration pages: a new account, activation, desk assignment and a
dialogue's retention.

Each class declares the fields a page posts, under the names its templates use. The forms check
choices (a role, a dialogue) with the words the pages have always shown; the rules about e-mail
addresses, names and desks stay in ``portal.services.staff.accounts`` and
``portal.services.desks.membership``, which give their own refusals.
"""

from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import AnyOf, InputRequired, Optional

from portal.models import Dialogue, StaffRole

# Roles offered in the creation form, in the order people think of them.
ROLE_CHOICES = (
    StaffRole.TRIAGE_OFFICER,
    StaffRole.CO_CHAIR,
    StaffRole.OBSERVER,
    StaffRole.ADMINISTRATOR,
)


def _stripped(value: str | None) -> str:
    return (value or "").strip()


class NewAccountForm(FlaskForm):
    """E-mail, name and role of a new staff account."""

    email = StringField(filters=[_stripped])
    display_name = StringField(filters=[_stripped])
    role = StringField(
        filters=[lambda value: value or ""],
        validators=[
            InputRequired(_l("Choose a role.")),
            AnyOf([role.value for role in ROLE_CHOICES], _l("Choose a role.")),
        ],
    )

    def typed(self) -> dict[str, str]:
        """What was typed, to show again when the account is refused."""
        return {
            "email": self.email.data,
            "display_name": self.display_name.data,
            "role": self.role.data,
        }


class ActiveForm(FlaskForm):
    """``active`` is "yes" to let an account sign in, anything else to deactivate it."""

    active = StringField()

    @property
    def activate(self) -> bool:
        return self.active.data == "yes"


class AssignDeskForm(FlaskForm):
    """The dialogue on whose desk to put an account, chosen among the existing ones."""

    dialogue = StringField(validators=[InputRequired(_l("Choose a dialogue."))])

    def chosen(self, dialogues: Iterable[Dialogue]) -> Dialogue | None:
        """The chosen dialogue among ``dialogues``, or ``None`` (the field then says why)."""
        if not self.validate():
            return None
        for dialogue in dialogues:
            if dialogue.slug == self.dialogue.data:
                return dialogue
        self.dialogue.errors = [_l("Choose a dialogue.")]
        return None


class RetentionForm(FlaskForm):
    """A dialogue's retention period in days (empty: keep) and the notice its desk gets; the
    ranges are checked by ``dialogues.retention``, which words the refusal."""

    days = IntegerField(validators=[Optional()])
    notice_days = IntegerField(validators=[InputRequired(_l("Give the notice in days."))])
