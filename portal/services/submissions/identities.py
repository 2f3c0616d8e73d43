"""Who a submission names, split from what it says: the identities envelope's plaintext.

The fields of a person marked ``identifying`` in the kind's declaration (today a person's name)
are taken out of the submission payload and sealed apart, under ``contexts.identities_context``,
to the dialogue's identity key and the submission's own key (docs/FORMATS.md, "Identity
compartment"). What stays in the submission envelope is each person's position and consent, so
every desk member who reads the case reads "Person 1", "Person 2" and what each agreed to, and
the handover gate still sees every consent.

The plaintext is ``{"format": "parley-identities-v1", "<list>": [{"<field>": value}, ...]}``,
one object per item of each list that has identifying fields, in the order of the submission's
list. The browser module mirrors :func:`split_identities` (``static/js/identities.mjs``).
Submissions stored before this format keep their names inside the submission envelope and are
read as they were.
"""

import copy
from collections.abc import Mapping
from typing import Any

from portal.models import SubmissionKind
from portal.services.submissions.kinds import Repeated, declaration

IDENTITIES_FORMAT = "parley-identities-v1"


def _identifying(kind: SubmissionKind) -> dict[str, tuple[str, ...]]:
    """Each list of ``kind`` with identifying fields, and those fields' names."""
    found = {}
    for item in declaration(kind).payload_fields:
        if isinstance(item, Repeated):
            names = tuple(field.name for field in item.fields if field.identifying)
            if names:
                found[item.name] = names
    return found


def carries_identities(kind: SubmissionKind) -> bool:
    """Whether a ``kind`` submission has an identities envelope (when its desk has an identity
    key): the kinds whose declaration has an identifying field."""
    return bool(_identifying(kind))


def split_identities(
    payload: Mapping[str, Any], kind: SubmissionKind
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The payload without identifying fields, and the identities plaintext holding them."""
    remaining = copy.deepcopy(dict(payload))
    identities: dict[str, Any] = {"format": IDENTITIES_FORMAT}
    for list_name, fields in _identifying(kind).items():
        items = remaining.get(list_name, [])
        identities[list_name] = [{name: item.pop(name, "") for name in fields} for item in items]
    return remaining, identities


def merge_identities(
    payload: Mapping[str, Any], identities: Mapping[str, Any], kind: SubmissionKind
) -> dict[str, Any]:
    """``payload`` with the identifying fields of ``identities`` put back, item by item.

    Only declared identifying fields of declared lists are taken, as text; an item that the
    identities do not cover keeps no name (the page shows its number), so a mismatch between
    the two envelopes can hide a name but never put one in another field.
    """
    merged = copy.deepcopy(dict(payload))
    if identities.get("format") != IDENTITIES_FORMAT:
        return merged
    for list_name, fields in _identifying(kind).items():
        sent = identities.get(list_name)
        if not isinstance(sent, list):
            continue
        for item, names in zip(merged.get(list_name, []), sent, strict=False):
            if isinstance(item, dict) and isinstance(names, Mapping):
                item.update(
                    (name, names[name]) for name in fields if isinstance(names.get(name), str)
                )
    return merged
