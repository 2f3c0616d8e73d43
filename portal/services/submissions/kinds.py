"""The fields of each submission kind, declared once.

Every place that knows what a kind asks for reads it here: the server's validation
(``payload.validate_submission``), the form without JavaScript (``templates/forms/form.html``
through ``forms_web.fields``), the browser's checks (``static/js/sealed-submission.mjs``, which
receives :func:`as_json` in the page), and the read-back of the submitter's inbox and of the
desk (``templates/submission_fields.html`` and ``static/js/inbox.mjs``). Adding a field to a
kind is one line here.

A declaration lists fields in payload order: the normalised payload holds the common fields
(:data:`COMMON_FIELDS` with the kind's topic rule), then the kind's own fields, in the order
declared, so the JSON sealed in an envelope keeps its shape. Forms and read-backs show the
kind's own fields first and the common ones after them.

Framework-free, so the services work without a Flask request: wording is plain English marked
with :func:`N_` for the catalogue, and translated where it is shown (``gettext`` in Jinja, or
the ``translate`` argument of :func:`as_json`). Where the submitter and the desk read a field
back, they may read different words: the submitter is addressed as "you", the desk reads about
"the submitter"; both wordings live here, beside the form's.
"""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.models import SubmissionKind, Topic

SHORT_TEXT_LIMIT = 200
LONG_TEXT_LIMIT = 20_000
MAX_PERSONS = 50
MAX_RECOMMENDATIONS = 200


def N_(message: str) -> str:
    """Mark ``message`` for the translation catalogue (Babel extracts ``N_`` by default); it is
    translated where it is shown."""
    return message


class ConsentLevel(enum.StrEnum):
    """How far the EU may go with a named person's case, from least to most exposure."""

    INTERNAL_ONLY = "internal_only"
    RAISE_WITHOUT_NAME = "raise_without_name"
    RAISE_BY_NAME = "raise_by_name"
    HANDOVER_LIST = "handover_list"


class ConsentGiver(enum.StrEnum):
    PERSON = "person"
    FAMILY = "family"
    REPRESENTATIVE = "representative"


class Urgency(enum.StrEnum):
    STANDARD = "standard"
    URGENT = "urgent"


CONSENT_VOCABULARIES: dict[str, type[enum.StrEnum]] = {
    "level": ConsentLevel,
    "given_by": ConsentGiver,
}
"""The choices inside a consent field, by key: fixed by the consent ladder, not per field."""

CONSENT_QUESTIONS: dict[str, str] = {
    "level": N_("How far may the EU go with this name?"),
    "given_by": N_("Who agreed to this?"),
    "risks_explained": N_("The risks of being named were explained to whoever agreed"),
}
"""What a consent field asks, by key: the same words on the form and when consent is changed."""


class FieldType(enum.StrEnum):
    """How a field is typed, checked and shown."""

    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    CHOICE = "choice"  # one value of ``Field.vocabulary``
    FLAG = "flag"  # yes or no
    TOPICS = "topics"  # any number of agenda themes, sorted, each once
    CONSENT = "consent"  # the consent ladder: level, who gave it, risks explained


@dataclass(frozen=True)
class Field:
    """One field: its payload key, type, rule, and the words people read for it.

    ``label`` is the question on the form and ``help`` the hint under it; ``submitter_label``
    and ``desk_label`` are what the inbox and the desk read it back as (the label when empty).
    ``menu`` shows a choice as a drop-down rather than radio buttons (long vocabularies);
    ``default`` is the choice the form starts with. ``identifying`` marks a field of a person
    that says who they are: it is sealed in the identities envelope, apart from the rest
    (``portal.services.submissions.identities``).
    """

    name: str
    type: FieldType
    label: str
    required: bool = False
    help: str = ""
    submitter_label: str = ""
    desk_label: str = ""
    vocabulary: type[enum.StrEnum] | None = None
    menu: bool = False
    default: str = ""
    identifying: bool = False

    @property
    def limit(self) -> int | None:
        """The most characters a text field takes; none for other types."""
        return {FieldType.SHORT_TEXT: SHORT_TEXT_LIMIT, FieldType.LONG_TEXT: LONG_TEXT_LIMIT}.get(
            self.type
        )

    def read_label(self, reader: str) -> str:
        """The words ``reader`` (``"submitter"`` or ``"desk"``) reads beside this field's value."""
        chosen = self.desk_label if reader == "desk" else self.submitter_label
        return chosen or self.label


@dataclass(frozen=True)
class Repeated:
    """A list of items of the same fields (the persons of a case, a seminar's recommendations).

    Without JavaScript the form shows ``shown_rows`` rows, counted in the hidden ``rows_field``,
    and "add more rows" adds ``added_rows``. ``read_back`` says whether the read-back views list
    the items with the content; persons are shown apart, each with their consent.
    """

    name: str
    label: str
    help: str
    item_label: str  # with %(number)s, counted from 1
    fields: tuple[Field, ...]
    minimum: int
    maximum: int
    rows_field: str
    shown_rows: int
    added_rows: int
    read_back: bool

    type = "list"


@dataclass(frozen=True)
class KindDeclaration:
    """What one kind of submission asks for: its common fields, then its own."""

    kind: SubmissionKind
    title: str
    common: tuple[Field, ...]
    fields: tuple[Field | Repeated, ...]

    @property
    def payload_fields(self) -> tuple[Field | Repeated, ...]:
        """Every field in payload order."""
        return self.common + self.fields

    @property
    def shown_fields(self) -> tuple[Field | Repeated, ...]:
        """Every field in the order forms and read-backs show them."""
        return self.fields + self.common

    @property
    def lists(self) -> tuple[Repeated, ...]:
        return tuple(item for item in self.fields if isinstance(item, Repeated))

    def find(self, name: str) -> Field | Repeated | None:
        """The field called ``name`` (a payload key), if the kind has one."""
        return next((item for item in self.payload_fields if item.name == name), None)


def _common(*, topics_required: bool) -> tuple[Field, ...]:
    """The fields every kind carries; agenda input alone must name a theme."""
    return (
        Field(
            "topics",
            FieldType.TOPICS,
            N_("Agenda themes"),
            required=topics_required,
            help=N_(
                "The themes are the only part of what you send that the server keeps readable,"
                " to route it to the right agenda item."
            ),
            desk_label=N_("Themes chosen by the submitter"),
            vocabulary=Topic,
        ),
        Field(
            "contact_through_portal",
            FieldType.FLAG,
            N_("The EU Delegation may write to me through my private inbox on this portal"),
            submitter_label=N_("The EU Delegation may contact you through the portal"),
            desk_label=N_("The desk may contact the submitter through the portal"),
        ),
        Field(
            "share_with_member_states",
            FieldType.FLAG,
            N_("What I send may be shared with the EU Member States' embassies"),
            submitter_label=N_("May be shared with EU Member States"),
        ),
        Field(
            "women_hrd",
            FieldType.FLAG,
            N_("This concerns a woman human-rights defender"),
            submitter_label=N_("Concerns a woman human-rights defender"),
        ),
        Field(
            "gender_specific_risk",
            FieldType.FLAG,
            N_(
                "The risk has a gender-specific side (for example sexual violence, or threats to"
                " family)"
            ),
            submitter_label=N_("The risk has a gender-specific dimension"),
            desk_label=N_("The submitter sees a gender-specific risk"),
        ),
    )


def _persons(*, minimum: int) -> Repeated:
    return Repeated(
        "persons",
        N_("The people this is about"),
        N_(
            "For each person you name, say how far the EU may go with the name, and who agreed to"
            " it. Leave a row empty if you do not need it."
        ),
        N_("Person %(number)s"),
        (
            Field("name", FieldType.SHORT_TEXT, N_("Name"), required=True, identifying=True),
            Field("consent", FieldType.CONSENT, N_("Consent")),
        ),
        minimum=minimum,
        maximum=MAX_PERSONS,
        rows_field="person_rows",
        shown_rows=3,
        added_rows=3,
        read_back=False,
    )


_SITUATION = N_("The situation")

KINDS: dict[SubmissionKind, KindDeclaration] = {
    SubmissionKind.AGENDA_INPUT: KindDeclaration(
        SubmissionKind.AGENDA_INPUT,
        N_("Agenda input"),
        _common(topics_required=True),
        (
            Field(
                "situation",
                FieldType.LONG_TEXT,
                N_("The situation as you see it"),
                required=True,
                submitter_label=_SITUATION,
            ),
            Field(
                "recommendations",
                FieldType.LONG_TEXT,
                N_("Your recommendations"),
                desk_label=N_("Recommendations"),
            ),
            Field(
                "gender_dimension",
                FieldType.LONG_TEXT,
                N_("The gender dimension: how women and men are affected differently"),
                submitter_label=N_("The gender dimension"),
                desk_label=N_("Gender dimension"),
            ),
            Field("sources", FieldType.LONG_TEXT, N_("Your sources"), desk_label=N_("Sources")),
        ),
    ),
    SubmissionKind.INDIVIDUAL_CASE: KindDeclaration(
        SubmissionKind.INDIVIDUAL_CASE,
        N_("Individual case"),
        _common(topics_required=False),
        (
            _persons(minimum=1),
            Field("place", FieldType.SHORT_TEXT, N_("Where"), submitter_label=N_("Place")),
            Field(
                "situation",
                FieldType.LONG_TEXT,
                N_("What happened to them"),
                required=True,
                submitter_label=_SITUATION,
            ),
            Field(
                "dates",
                FieldType.SHORT_TEXT,
                N_("When (dates, as precisely as known)"),
                submitter_label=N_("Dates"),
            ),
            Field(
                "relation_to_person",
                FieldType.SHORT_TEXT,
                N_("How you know the person (colleague, relative, lawyer…)"),
                required=True,
                submitter_label=N_("Your relation to the person"),
                desk_label=N_("Submitter's relation to the person"),
            ),
            Field(
                "earlier_referrals",
                FieldType.LONG_TEXT,
                N_("Earlier referrals to the UN or elsewhere, and what came of them"),
                submitter_label=N_("Earlier referrals to the UN or elsewhere"),
            ),
        ),
    ),
    SubmissionKind.REPRISAL_REPORT: KindDeclaration(
        SubmissionKind.REPRISAL_REPORT,
        N_("Reprisal report"),
        _common(topics_required=False),
        (
            Field("what_happened", FieldType.LONG_TEXT, N_("What happened"), required=True),
            Field("when", FieldType.SHORT_TEXT, N_("When"), required=True),
            Field("by_whom", FieldType.SHORT_TEXT, N_("By whom")),
            Field(
                "link_to_engagement",
                FieldType.LONG_TEXT,
                N_("How it is linked to engaging with the EU or the UN"),
                required=True,
                submitter_label=N_("Link to engagement with the EU or the UN"),
            ),
            Field(
                "urgency",
                FieldType.CHOICE,
                N_("How urgent is it?"),
                submitter_label=N_("Urgency"),
                vocabulary=Urgency,
                default=Urgency.STANDARD,
            ),
            _persons(minimum=0),
        ),
    ),
    SubmissionKind.SEMINAR_RECOMMENDATIONS: KindDeclaration(
        SubmissionKind.SEMINAR_RECOMMENDATIONS,
        N_("Seminar recommendations"),
        _common(topics_required=False),
        (
            Field(
                "seminar",
                FieldType.SHORT_TEXT,
                N_("The seminar (title, place, date)"),
                required=True,
                submitter_label=N_("Seminar"),
            ),
            Repeated(
                "recommendations",
                N_("The seminar's recommendations"),
                N_(
                    "One recommendation per row, with whom it is addressed to and its agenda"
                    " theme. Leave a row empty if you do not need it."
                ),
                N_("Recommendation %(number)s"),
                (
                    Field("text", FieldType.LONG_TEXT, N_("Recommendation"), required=True),
                    Field("addressee", FieldType.SHORT_TEXT, N_("Addressed to"), required=True),
                    Field(
                        "topic",
                        FieldType.CHOICE,
                        N_("Agenda theme"),
                        vocabulary=Topic,
                        menu=True,
                    ),
                ),
                minimum=1,
                maximum=MAX_RECOMMENDATIONS,
                rows_field="recommendation_rows",
                shown_rows=5,
                added_rows=5,
                read_back=True,
            ),
        ),
    ),
}


def declaration(kind: SubmissionKind | str) -> KindDeclaration:
    """The declaration of ``kind``, looked up when asked so that a test may extend the registry."""
    return KINDS[SubmissionKind(kind)]


def _field_json(item: Field | Repeated, translate: Callable[[str], str]) -> dict[str, Any]:
    if isinstance(item, Repeated):
        return {
            "name": item.name,
            "type": item.type,
            "label": translate(item.label),
            "minimum": item.minimum,
            "maximum": item.maximum,
            "rows_field": item.rows_field,
            "added_rows": item.added_rows,
            "read_back": item.read_back,
            "fields": [_field_json(inner, translate) for inner in item.fields],
        }
    return {
        "name": item.name,
        "type": str(item.type),
        "label": translate(item.label),
        "submitter_label": translate(item.read_label("submitter")),
        "desk_label": translate(item.read_label("desk")),
        "required": item.required,
        "limit": item.limit,
        "choices": [str(value) for value in item.vocabulary or ()],
        "identifying": item.identifying,
    }


def as_json(
    declared: KindDeclaration, translate: Callable[[str], str] = lambda text: text
) -> dict[str, Any]:
    """The declaration as the browser receives it in the page (JSON-ready, wording translated).

    ``consent`` vocabularies travel too, since a consent field's choices are fixed by the ladder,
    and so does ``inbox_text_limit``, the limit of what the inbox adds (further information,
    messages), for the inbox page that carries its submission's declaration.
    """
    return {
        "kind": str(declared.kind),
        "common": [_field_json(item, translate) for item in declared.common],
        "fields": [_field_json(item, translate) for item in declared.fields],
        "consent": {
            key: [str(value) for value in vocabulary]
            for key, vocabulary in CONSENT_VOCABULARIES.items()
        },
        "inbox_text_limit": LONG_TEXT_LIMIT,
    }
