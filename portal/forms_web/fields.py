"""Reading a posted form into a submission payload, by the kind's declaration.

The fields each form asks for are declared once in ``portal.services.submissions.kinds``; the
template walks the same declaration, so what is shown and what is read cannot drift apart.

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

from flask_babel import LazyString, gettext, lazy_gettext
from werkzeug.datastructures import MultiDict

from portal.models import SubmissionKind
from portal.services.submissions.kinds import (
    Field,
    FieldType,
    KindDeclaration,
    Repeated,
    as_json,
    declaration,
)

FLAG_VALUE = "yes"

GROUP_TITLES: dict[str, LazyString] = {
    "attachments": lazy_gettext("Files"),
    "codename": lazy_gettext("Your codename"),
}


@dataclass
class ReadForm:
    """A posted (or blank) form: what was typed, the rows shown, and the errors to show.

    ``errors`` maps HTML field names to the message shown beside that field.
    """

    spec: KindDeclaration
    values: MultiDict[str, str] = field(default_factory=MultiDict)
    errors: dict[str, LazyString] = field(default_factory=dict)
    _row_of_item: dict[str, list[int]] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def checked(self, name: str, value: str = FLAG_VALUE) -> bool:
        return value in self.values.getlist(name)

    def rows(self, row_list: Repeated) -> range:
        """The rows to show: as many as were shown last time, at least the initial number."""
        try:
            shown = int(self.values.get(row_list.rows_field, ""))
        except ValueError:
            shown = row_list.shown_rows
        return range(max(row_list.shown_rows, min(shown, row_list.maximum)))

    def add_rows(self) -> None:
        """Show more empty rows in every list, up to each list's maximum."""
        for row_list in self.spec.lists:
            grown = min(len(self.rows(row_list)) + row_list.added_rows, row_list.maximum)
            self.values.setlist(row_list.rows_field, [str(grown)])

    def payload_input(self) -> dict[str, Any]:
        """What the person typed, shaped as ``payload.validate_submission`` reads it."""
        data: dict[str, Any] = {}
        for item in self.spec.payload_fields:
            if isinstance(item, Repeated):
                data[item.name] = self._items(item)
            else:
                data[item.name] = self._read(item, "")
        return data

    def title_of(self, name: str) -> str:
        """What a field is called in the summary of errors at the top of the form."""
        parts = name.split(".")
        found = self.spec.find(parts[0])
        if isinstance(found, Repeated) and len(parts) > 1:
            return gettext(found.item_label, number=int(parts[1]) + 1)
        if found is not None:
            return gettext(found.label)
        return str(GROUP_TITLES.get(name, lazy_gettext("This form")))

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

    def _items(self, row_list: Repeated) -> list[dict[str, Any]]:
        items, rows = [], []
        for row in self.rows(row_list):
            prefix = f"{row_list.name}.{row}."
            if any(self.value(name).strip() for name in self.values if name.startswith(prefix)):
                items.append({field.name: self._read(field, prefix) for field in row_list.fields})
                rows.append(row)
        self._row_of_item[row_list.name] = rows
        return items

    def _read(self, field: Field, prefix: str) -> Any:
        """The typed value of one declared field, its HTML name being ``prefix`` + its name."""
        name = prefix + field.name
        match field.type:
            case FieldType.FLAG:
                return self.checked(name)
            case FieldType.TOPICS:
                return self.values.getlist(name)
            case FieldType.CONSENT:
                return {
                    "level": self.value(name + ".level"),
                    "given_by": self.value(name + ".given_by"),
                    "risks_explained": self.checked(name + ".risks_explained"),
                }
        return self.value(name)


def kind_json(kind: SubmissionKind | str) -> dict[str, Any]:
    """The declaration of ``kind`` as the pages hand it to their scripts, in the reader's
    language: the form checks by it, the inbox reads a sealed submission back by it."""
    return as_json(declaration(kind), gettext)


def html_id(name: str) -> str:
    """The element id of a field (or of the fieldset of a group of choices)."""
    return "field-" + name.replace(".", "-")
