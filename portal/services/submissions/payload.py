"""What a submitter writes: the JSON inside a submission envelope, and its validation.

The plaintext of every submission envelope is UTF-8 JSON, one object, produced by the browser
(JavaScript path) or by the server from the posted form (no-JavaScript path); so are consent
changes and further information. Their members and limits are specified in docs/FORMATS.md,
"Envelope plaintexts"; this module is the server's validator of them, mirrored rule for rule by
``static/js/sealed-submission.mjs``.

The fields of each kind, their limits and their vocabularies are declared once in
``portal.services.submissions.kinds``; the summary above is for readers of the stored format.
Limits and vocabularies are re-exported here for the modules that read them with the payload.

Consent is recorded only together with the statement that the risks were explained to whoever
gave it, so ``risks_explained`` must be ``true``. Persons are addressed later (a consent change)
by their position in ``persons``, never by name, so a change names nobody.

Plaintext the server keeps beside the envelope (``RoutingMetadata`` and the submission's own
columns), and why; nothing else, and never a name or free text:

- dialogue, session (none for a reprisal report), kind: where the submission goes and which
  form it is; the URL of the form already says so.
- state and the day it was received (not the time, so it cannot be matched to a network log):
  the triage queue and the inbox show them.
- topic tags from the fixed ``Topic`` vocabulary: to route a submission to agenda items and to
  count input per theme without decrypting anything.
- ``urgent`` (reprisal reports only): an urgent reprisal must jump the queue and show in the
  content-free staff digest before anyone has opened it.
- the existence and day of a consent change (a row, see ``ConsentChange``): a case must leave the
  handover list at once, before a desk member has read what changed.

The women-HRD and gender-risk flags, the sharing and contact choices and every consent level stay
inside the envelope: they describe people, and they are read by the desk when it opens the case.
On the JavaScript path the browser sends the routing metadata beside the envelope; the server
checks its vocabulary but cannot check it against the sealed content, and the desk sees the truth
when it opens the envelope.
"""

import enum
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from portal.models import SubmissionKind, Topic
from portal.services.submissions.kinds import (
    LONG_TEXT_LIMIT,
    MAX_PERSONS,
    MAX_RECOMMENDATIONS,
    SHORT_TEXT_LIMIT,
    ConsentGiver,
    ConsentLevel,
    Field,
    FieldType,
    Repeated,
    Urgency,
    declaration,
)

__all__ = [
    "LONG_TEXT_LIMIT",
    "MAX_PERSONS",
    "MAX_RECOMMENDATIONS",
    "SHORT_TEXT_LIMIT",
    "ConsentGiver",
    "ConsentLevel",
    "PayloadError",
    "RoutingMetadata",
    "Urgency",
    "decode_payload",
    "encode_payload",
    "parse_routing_metadata",
    "routing_metadata",
    "validate_consent_change",
    "validate_further_information",
    "validate_submission",
]

SUBMISSION_FORMAT = "parley-submission-v1"
CONSENT_CHANGE_FORMAT = "parley-consent-change-v1"
FURTHER_INFORMATION_FORMAT = "parley-further-information-v1"

_Choice = TypeVar("_Choice", bound=enum.StrEnum)


class PayloadError(ValueError):
    """A payload that fails validation; ``errors`` maps each field path to what is wrong.

    Paths are the JSON keys joined with dots, list positions included (``persons.0.name``), so a
    form can put each message next to its field. Messages never repeat what was typed.
    """

    def __init__(self, errors: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{path}: {message}" for path, message in errors.items()))
        self.errors = dict(errors)


@dataclass(frozen=True)
class RoutingMetadata:
    """The plaintext kept beside a submission envelope (see the module docstring)."""

    topic_tags: tuple[Topic, ...]
    urgent: bool


class _Checker:
    """Collects per-field errors while reading a JSON object, so all are reported at once."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, message)

    def text(
        self, data: Mapping[str, Any], path: str, key: str, *, required: bool, limit: int
    ) -> str:
        value = data.get(key, "")
        field = _join(path, key)
        if not isinstance(value, str):
            self.fail(field, "must be text")
            return ""
        value = value.strip()
        if required and not value:
            self.fail(field, "is required")
        elif len(value) > limit:
            self.fail(field, f"must be at most {limit} characters")
        return value

    def flag(self, data: Mapping[str, Any], path: str, key: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.fail(_join(path, key), "must be true or false")
            return False
        return value

    def choice(
        self, data: Mapping[str, Any], path: str, key: str, kind: type[_Choice]
    ) -> _Choice | None:
        value = data.get(key)
        try:
            return kind(value)
        except ValueError:
            self.fail(_join(path, key), f"must be one of: {', '.join(member for member in kind)}")
            return None

    def items(
        self, data: Mapping[str, Any], key: str, *, minimum: int, maximum: int
    ) -> list[tuple[str, Mapping[str, Any]]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.fail(key, "must be a list")
            return []
        if len(value) < minimum:
            self.fail(key, f"needs at least {minimum}")
        if len(value) > maximum:
            self.fail(key, f"may hold at most {maximum}")
        rows = []
        for position, item in enumerate(value[:maximum]):
            if isinstance(item, Mapping):
                rows.append((f"{key}.{position}", item))
            else:
                self.fail(f"{key}.{position}", "must be an object")
        return rows


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _check_topics(checker: _Checker, data: Mapping[str, Any], *, required: bool) -> list[str]:
    value = data.get("topics", [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        checker.fail("topics", "must be a list of agenda themes")
        return []
    unknown = [item for item in value if item not in Topic.__members__.values()]
    if unknown:
        checker.fail("topics", "holds a theme that is not on the list of agenda themes")
    elif required and not value:
        checker.fail("topics", "choose at least one agenda theme")
    return sorted(set(value) - set(unknown))


def _check_consent(checker: _Checker, data: Mapping[str, Any], path: str) -> dict[str, Any]:
    consent = data.get("consent")
    if not isinstance(consent, Mapping):
        checker.fail(path, "say what the person agreed to, and who agreed")
        return {}
    level = checker.choice(consent, path, "level", ConsentLevel)
    given_by = checker.choice(consent, path, "given_by", ConsentGiver)
    if consent.get("risks_explained") is not True:
        checker.fail(
            _join(path, "risks_explained"),
            "consent counts only once the risks were explained to whoever gave it",
        )
    return {"level": level, "given_by": given_by, "risks_explained": True}


def _check_field(checker: _Checker, data: Mapping[str, Any], path: str, field: Field) -> Any:
    """The normalised value of one declared field of ``data`` (an object at ``path``)."""
    match field.type:
        case FieldType.SHORT_TEXT | FieldType.LONG_TEXT:
            return checker.text(data, path, field.name, required=field.required, limit=field.limit)
        case FieldType.CHOICE:
            return checker.choice(data, path, field.name, field.vocabulary)
        case FieldType.FLAG:
            return checker.flag(data, path, field.name)
        case FieldType.TOPICS:
            return _check_topics(checker, data, required=field.required)
        case FieldType.CONSENT:
            return _check_consent(checker, data, _join(path, field.name))


def _check_list(checker: _Checker, data: Mapping[str, Any], repeated: Repeated) -> list[dict]:
    rows = checker.items(data, repeated.name, minimum=repeated.minimum, maximum=repeated.maximum)
    return [
        {field.name: _check_field(checker, row, path, field) for field in repeated.fields}
        for path, row in rows
    ]


def validate_submission(data: Mapping[str, Any], kind: SubmissionKind) -> dict[str, Any]:
    """The normalised payload of a ``kind`` submission, or ``PayloadError`` listing every fault.

    The fields and their rules are those of ``kinds.declaration(kind)``, in its payload order.

    ``format`` and ``kind`` are filled in here, so a form only supplies what the person typed.
    Text is stripped of surrounding white space; topics are sorted and de-duplicated.
    """
    checker = _Checker()
    payload: dict[str, Any] = {"format": SUBMISSION_FORMAT, "kind": str(kind)}
    for field in declaration(kind).payload_fields:
        if isinstance(field, Repeated):
            payload[field.name] = _check_list(checker, data, field)
        else:
            payload[field.name] = _check_field(checker, data, "", field)
    if checker.errors:
        raise PayloadError(checker.errors)
    return payload


def validate_consent_change(data: Mapping[str, Any], person_count: int) -> dict[str, Any]:
    """A consent change for person ``data["person"]`` of ``person_count``, normalised.

    ``round``, when present, is the session whose request to confirm consent again this change
    answers (``portal.services.rounds.round_consent``): the confirmation is sealed and signed
    with the consent it confirms, so nobody but the submitter can make or move it.
    """
    checker = _Checker()
    person = data.get("person")
    if isinstance(person, bool) or not isinstance(person, int) or not 0 <= person < person_count:
        checker.fail("person", "choose one of the people named in this submission")
    consent = _check_consent(checker, data, "consent")
    confirmed_round = data.get("round")
    if confirmed_round is not None and (
        isinstance(confirmed_round, bool)
        or not isinstance(confirmed_round, int)
        or not 0 < confirmed_round < 2**31
    ):
        checker.fail("round", "the round of a confirmation is a session number")
    if checker.errors:
        raise PayloadError(checker.errors)
    change = {"format": CONSENT_CHANGE_FORMAT, "person": person, "consent": consent}
    if confirmed_round is not None:
        change["round"] = confirmed_round
    return change


def validate_further_information(data: Mapping[str, Any]) -> dict[str, Any]:
    """Further information for a submission: one required text."""
    checker = _Checker()
    text = checker.text(data, "", "text", required=True, limit=LONG_TEXT_LIMIT)
    if checker.errors:
        raise PayloadError(checker.errors)
    return {"format": FURTHER_INFORMATION_FORMAT, "text": text}


def routing_metadata(payload: Mapping[str, Any]) -> RoutingMetadata:
    """The plaintext routing metadata of a validated submission payload."""
    return RoutingMetadata(
        topic_tags=tuple(Topic(topic) for topic in payload["topics"]),
        urgent=payload.get("urgency") == Urgency.URGENT,
    )


def parse_routing_metadata(topics: Sequence[str], *, urgent: bool) -> RoutingMetadata:
    """The routing metadata a browser sends beside its envelope, checked against the vocabulary."""
    checker = _Checker()
    tags = _check_topics(checker, {"topics": list(topics)}, required=False)
    if checker.errors:
        raise PayloadError(checker.errors)
    return RoutingMetadata(topic_tags=tuple(Topic(tag) for tag in tags), urgent=urgent)


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """The bytes that go into an envelope: compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_payload(plaintext: bytes) -> dict[str, Any]:
    """A payload read back from an envelope this portal or its browser module sealed."""
    return json.loads(plaintext.decode("utf-8"))
