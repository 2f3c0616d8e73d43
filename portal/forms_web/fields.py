"""The fields of the four forms, and reading a posted form into a submission payload.

Each HTML field is named by its path in the payload (``situation``, ``persons.2.consent.level``,
``recommendations.0.topic``), so an error from ``payload.PayloadError`` finds its field by name.
Lists (named persons, seminar recommendations) are a fixed number of rows without JavaScript; a
row left empty is not part of the payload, so the payload's list positions are translated back
to the form's row numbers (:meth:`ReadForm.field_of`) before an error is placed.

The number of rows shown travels in a hidden field, so that "add more rows" and a failed
validation come back with every row that was typed in.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask_babel import LazyString, lazy_gettext
from werkzeug.datastructures import MultiDict

from portal.models import SubmissionKind
from portal.services.submissions.payload import (
    LONG_TEXT_LIMIT,
    MAX_PERSONS,
    MAX_RECOMMENDATIONS,
    SHORT_TEXT_LIMIT,
)

FLAG_VALUE = "yes"
PERSON_ROWS_FIELD = "person_rows"
RECOMMENDATION_ROWS_FIELD = "recommendation_rows"


@dataclass(frozen=True)
class TextField:
    """One free-text field of a form."""

    name: str
    label: LazyString
    required: bool
    multiline: bool

    @property
    def limit(self) -> int:
        return LONG_TEXT_LIMIT if self.multiline else SHORT_TEXT_LIMIT


@dataclass(frozen=True)
class RowList:
    """A list of rows (persons, recommendations): how many to show, and how many to add."""

    name: str
    rows_field: str
    initial_rows: int
    added_rows: int
    maximum: int


@dataclass(frozen=True)
class FormSpec:
    """What one kind of form asks for."""

    kind: SubmissionKind
    title: LazyString
    text_fields: tuple[TextField, ...]
    asks_urgency: bool = False
    persons: RowList | None = None
    recommendations: RowList | None = None
    topics_required: bool = False

    @property
    def row_lists(self) -> tuple[RowList, ...]:
        return tuple(rows for rows in (self.persons, self.recommendations) if rows is not None)


PERSONS = RowList("persons", PERSON_ROWS_FIELD, 3, 3, MAX_PERSONS)
RECOMMENDATIONS = RowList("recommendations", RECOMMENDATION_ROWS_FIELD, 5, 5, MAX_RECOMMENDATIONS)

FORMS: dict[SubmissionKind, FormSpec] = {
    SubmissionKind.AGENDA_INPUT: FormSpec(
        SubmissionKind.AGENDA_INPUT,
        lazy_gettext("Agenda input"),
        (
            TextField("situation", lazy_gettext("The situation as you see it"), True, True),
            TextField("recommendations", lazy_gettext("Your recommendations"), False, True),
            TextField(
                "gender_dimension",
                lazy_gettext("The gender dimension: how women and men are affected differently"),
                False,
                True,
            ),
            TextField("sources", lazy_gettext("Your sources"), False, True),
        ),
        topics_required=True,
    ),
    SubmissionKind.INDIVIDUAL_CASE: FormSpec(
        SubmissionKind.INDIVIDUAL_CASE,
        lazy_gettext("Individual case"),
        (
            TextField("situation", lazy_gettext("What happened to them"), True, True),
            TextField("place", lazy_gettext("Where"), False, False),
            TextField("dates", lazy_gettext("When (dates, as precisely as known)"), False, False),
            TextField(
                "relation_to_person",
                lazy_gettext("How you know the person (colleague, relative, lawyer…)"),
                True,
                False,
            ),
            TextField(
                "earlier_referrals",
                lazy_gettext("Earlier referrals to the UN or elsewhere, and what came of them"),
                False,
                True,
            ),
        ),
        persons=PERSONS,
    ),
    SubmissionKind.REPRISAL_REPORT: FormSpec(
        SubmissionKind.REPRISAL_REPORT,
        lazy_gettext("Reprisal report"),
        (
            TextField("what_happened", lazy_gettext("What happened"), True, True),
            TextField("when", lazy_gettext("When"), True, False),
            TextField("by_whom", lazy_gettext("By whom"), False, False),
            TextField(
                "link_to_engagement",
                lazy_gettext("How it is linked to engaging with the EU or the UN"),
                True,
                True,
            ),
        ),
        asks_urgency=True,
        persons=PERSONS,
    ),
    SubmissionKind.SEMINAR_RECOMMENDATIONS: FormSpec(
        SubmissionKind.SEMINAR_RECOMMENDATIONS,
        lazy_gettext("Seminar recommendations"),
        (TextField("seminar", lazy_gettext("The seminar (title, place, date)"), True, False),),
        recommendations=RECOMMENDATIONS,
    ),
}

FLAG_LABELS: dict[str, LazyString] = {
    "women_hrd": lazy_gettext("This concerns a woman human-rights defender"),
    "gender_specific_risk": lazy_gettext(
        "The risk has a gender-specific side (for example sexual violence, or threats to family)"
    ),
    "contact_through_portal": lazy_gettext(
        "The EU Delegation may write to me through my private inbox on this portal"
    ),
    "share_with_member_states": lazy_gettext(
        "What I send may be shared with the EU Member States' embassies"
    ),
}
FLAGS = tuple(FLAG_LABELS)

GROUP_TITLES: dict[str, LazyString] = {
    "topics": lazy_gettext("Agenda themes"),
    "urgency": lazy_gettext("Urgency"),
    "persons": lazy_gettext("Named persons"),
    "recommendations": lazy_gettext("Recommendations"),
    "attachments": lazy_gettext("Files"),
    "codename": lazy_gettext("Your codename"),
    **FLAG_LABELS,
}


@dataclass
class ReadForm:
    """A posted (or blank) form: what was typed, the rows shown, and the errors to show.

    ``errors`` maps HTML field names to the message shown beside that field.
    """

    spec: FormSpec
    values: MultiDict[str, str] = field(default_factory=MultiDict)
    errors: dict[str, LazyString] = field(default_factory=dict)
    _row_of_item: dict[str, list[int]] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str, value: str = FLAG_VALUE) -> bool:
        return value in self.values.getlist(name)

    def rows(self, row_list: RowList) -> range:
        """The rows to show: as many as were shown last time, at least the initial number."""
        try:
            shown = int(self.values.get(row_list.rows_field, ""))
        except ValueError:
            shown = row_list.initial_rows
        return range(max(row_list.initial_rows, min(shown, row_list.maximum)))

    def add_rows(self) -> None:
        """Show more empty rows in every list, up to each list's maximum."""
        for row_list in self.spec.row_lists:
            grown = min(len(self.rows(row_list)) + row_list.added_rows, row_list.maximum)
            self.values.setlist(row_list.rows_field, [str(grown)])

    def payload_input(self) -> dict[str, Any]:
        """What the person typed, shaped as ``payload.validate_submission`` reads it."""
        data: dict[str, Any] = {
            "topics": self.values.getlist("topics"),
            **{flag: self.checked(flag) for flag in FLAGS},
            **{text.name: self.value(text.name) for text in self.spec.text_fields},
        }
        if self.spec.asks_urgency:
            data["urgency"] = self.value("urgency")
        if self.spec.persons is not None:
            data["persons"] = self._items(self.spec.persons, self._person)
        if self.spec.recommendations is not None:
            data["recommendations"] = self._items(self.spec.recommendations, self._recommendation)
        return data

    def title_of(self, name: str) -> LazyString:
        """What a field is called in the summary of errors at the top of the form."""
        parts = name.split(".")
        if parts[0] == "persons" and len(parts) > 1:
            return lazy_gettext("Person %(number)s", number=int(parts[1]) + 1)
        if parts[0] == "recommendations" and len(parts) > 1:
            return lazy_gettext("Recommendation %(number)s", number=int(parts[1]) + 1)
        for text in self.spec.text_fields:
            if text.name == name:
                return text.label
        return GROUP_TITLES.get(name, lazy_gettext("This form"))

    def add_payload_errors(self, errors: Mapping[str, LazyString]) -> None:
        """Place errors from payload paths next to the form fields they concern."""
        for path, message in errors.items():
            self.errors.setdefault(self.field_of(path), message)

    def field_of(self, path: str) -> str:
        """The HTML field name for a payload path, list positions turned into form rows."""
        parts = path.split(".")
        if len(parts) > 1 and parts[0] in self._row_of_item and parts[1].isdigit():
            parts[1] = str(self._row_of_item[parts[0]][int(parts[1])])
        return ".".join(parts)

    def _items(self, row_list: RowList, read_row: Any) -> list[dict[str, Any]]:
        items, rows = [], []
        for row in self.rows(row_list):
            prefix = f"{row_list.name}.{row}."
            if any(self.value(name).strip() for name in self.values if name.startswith(prefix)):
                items.append(read_row(prefix))
                rows.append(row)
        self._row_of_item[row_list.name] = rows
        return items

    def _person(self, prefix: str) -> dict[str, Any]:
        return {
            "name": self.value(prefix + "name"),
            "consent": {
                "level": self.value(prefix + "consent.level"),
                "given_by": self.value(prefix + "consent.given_by"),
                "risks_explained": self.checked(prefix + "consent.risks_explained"),
            },
        }

    def _recommendation(self, prefix: str) -> dict[str, Any]:
        return {
            "text": self.value(prefix + "text"),
            "addressee": self.value(prefix + "addressee"),
            "topic": self.value(prefix + "topic"),
        }


def html_id(name: str) -> str:
    """The element id of a field (or of the fieldset of a group of choices)."""
    return "field-" + name.replace(".", "-")
