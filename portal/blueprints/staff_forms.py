"""The forms of the staff pages: sign-in and account, desks, triage, messages, briefing and
export.

Each class declares the fields a page posts, under the names its template uses, so that a view
reads typed values instead of picking through ``request.form``. The forms parse and check
choices; the rules behind the values (passphrase policy, lengths of notes and justifications,
who may do what) stay in the services, which give the refusals their words. CSRF is checked for
every post by the application's ``CSRFProtect`` and again by each form.

A view builds a triage form only after it has checked that the person may act, so that someone
who may not is answered 403 whatever they post, never a form error.
"""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    IntegerField,
    PasswordField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import AnyOf, InputRequired, Length, NumberRange, Optional

from portal.models import DeclineReason, RiskLevel
from portal.numbers import LARGEST_ID, whole_number
from portal.services.submissions.payload import LONG_TEXT_LIMIT


def _stripped(value: str | None) -> str:
    return (value or "").strip()


class SignInForm(FlaskForm):
    """E-mail, passphrase and authenticator code; any mistake gets the one generic refusal."""

    email = StringField()
    passphrase = PasswordField()
    code = StringField()


class NewPassphraseForm(FlaskForm):
    """A new passphrase typed twice (first sign-in)."""

    new_passphrase = PasswordField()
    confirm_passphrase = PasswordField()


class ChangePassphraseForm(NewPassphraseForm):
    """The current passphrase, then a new one typed twice (the account page)."""

    current_passphrase = PasswordField()


class TotpCodeForm(FlaskForm):
    """The code the authenticator app shows for the pending secret."""

    code = StringField()


class DigestForm(FlaskForm):
    """The person's own daily digest switched ``on`` or ``off``."""

    digest = StringField(validators=[InputRequired(), AnyOf(["on", "off"])])


class GrantForm(FlaskForm):
    """The colleague to grant the desk key to: picked from the list, or typed as an e-mail.

    ``fingerprint`` is absent on the first post (the page then asks for it) and holds the digits
    the colleague read out on the second; ``shown_fingerprint`` is the fingerprint the page
    showed, so that a key changed in between is refused.
    """

    staff_user_id = IntegerField(validators=[Optional(), NumberRange(min=1, max=LARGEST_ID)])
    email = StringField(filters=[_stripped])
    fingerprint = StringField()
    shown_fingerprint = StringField(filters=[lambda value: value or None])


class JustificationForm(FlaskForm):
    """Emergency access: why the person must read a submission restricted to others."""

    justification = TextAreaField()


class TopicsForm(FlaskForm):
    """The agenda themes of a submission (the service checks them against its list)."""

    topic = SelectMultipleField(validate_choice=False)


class RiskForm(FlaskForm):
    """A risk assessment: level, re-assessment date, gender-specific threat, whether the case
    concerns a woman human-rights defender, named members."""

    level = StringField(
        validators=[
            InputRequired(_l("Choose a risk level.")),
            AnyOf([level.value for level in RiskLevel], _l("Choose a risk level.")),
        ]
    )
    reassess_on = DateField(validators=[Optional()])
    gender_specific = StringField()
    women_hrd = StringField()
    named = SelectMultipleField(validate_choice=False)

    @property
    def named_member_ids(self) -> list[int]:
        """The members named on a high-risk submission (anything not a number is ignored)."""
        return _ids(self.named.data)


class NameReadersForm(FlaskForm):
    """The desk members a triage officer names to read a case's names."""

    named = SelectMultipleField(validate_choice=False)

    @property
    def member_ids(self) -> list[int]:
        """The members named (anything not a number is ignored)."""
        return _ids(self.named.data)


class NamesEmergencyForm(FlaskForm):
    """Emergency access to a case's names, given to one member by a triage officer."""

    member = StringField()
    justification = TextAreaField()

    @property
    def member_id(self) -> int:
        """The member chosen; -1, which is nobody's id, when the value is not a number."""
        number = whole_number(self.member.data or "")
        return -1 if number is None else number


class RiskHoldForm(FlaskForm):
    """``hold`` is "set" to put the submission on a risk hold, anything else to clear it."""

    hold = StringField()


class DeclineForm(FlaskForm):
    """Why the desk declines a submission."""

    reason = StringField(
        validators=[
            InputRequired(_l("Choose why the desk declines it.")),
            AnyOf(
                [reason.value for reason in DeclineReason], _l("Choose why the desk declines it.")
            ),
        ]
    )


class DuplicateForm(FlaskForm):
    """The reference of the submission this one duplicates."""

    original = StringField()


class NoteForm(FlaskForm):
    """A private triage note."""

    text = TextAreaField()


class BriefingPointForm(FlaskForm):
    """The desk's briefing point on an agenda item or a case (Markdown); empty clears it."""

    text = TextAreaField(
        validators=[Length(max=LONG_TEXT_LIMIT, message=_l("The point is too long."))]
    )


class AgendaLinkForm(FlaskForm):
    """The agenda item to link a submission to."""

    agenda_item = IntegerField(
        validators=[
            InputRequired(_l("Choose an agenda item.")),
            NumberRange(min=1, max=LARGEST_ID, message=_l("Choose an agenda item.")),
        ]
    )


class HandoverProposalForm(FlaskForm):
    """The session whose handover list a case is proposed for."""

    session = IntegerField(validators=[InputRequired(), NumberRange(min=1, max=LARGEST_ID)])


class MessageForm(FlaskForm):
    """A message from the desk to a submission's author."""

    text = TextAreaField()


class ExportForm(FlaskForm):
    """One session of the dialogue to export, or nothing for all of them."""

    session = IntegerField(validators=[Optional(), NumberRange(min=1, max=LARGEST_ID)])


def first_error(form: FlaskForm) -> str | None:
    """The first message of the first field that did not validate, if any."""
    for errors in form.errors.values():
        if errors:
            return str(errors[0])
    return None


def _ids(values: list[str] | None) -> list[int]:
    """The whole numbers among ``values`` (see ``portal.numbers``), anything else ignored."""
    numbers = (whole_number(value) for value in values or [])
    return [number for number in numbers if number is not None]
