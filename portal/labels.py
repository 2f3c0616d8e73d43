"""Human, translatable names for the stored vocabularies, used by templates via ``|label``.

Stored values are stable identifiers; what people read is here, marked for translation, so a new
language never needs a database change.
"""

import enum

from flask_babel import LazyString, lazy_gettext

from portal.models import (
    DialogueKind,
    DialogueStatus,
    PartnerKind,
    SessionPlace,
    SessionState,
)

_LABELS: dict[enum.Enum, LazyString] = {
    PartnerKind.COUNTRY: lazy_gettext("Country"),
    PartnerKind.REGIONAL_GROUP: lazy_gettext("Regional group"),
    DialogueKind.FORMAL: lazy_gettext("Formal dialogue"),
    DialogueKind.INFORMAL: lazy_gettext("Informal dialogue"),
    DialogueKind.LOCAL: lazy_gettext("Local dialogue"),
    DialogueKind.SUB_COMMITTEE: lazy_gettext("Sub-committee"),
    DialogueKind.LIKE_MINDED_CONSULTATION: lazy_gettext("Like-minded consultation"),
    DialogueStatus.ACTIVE: lazy_gettext("Active"),
    DialogueStatus.FROZEN: lazy_gettext("Frozen"),
    SessionPlace.BRUSSELS: lazy_gettext("Brussels"),
    SessionPlace.PARTNER_COUNTRY: lazy_gettext("In the partner country"),
    SessionPlace.VIDEO: lazy_gettext("Video conference"),
    SessionState.PLANNED: lazy_gettext("Planned"),
    SessionState.CONSULTATION_OPEN: lazy_gettext("Consultation open"),
    SessionState.CONSULTATION_CLOSED: lazy_gettext("Consultation closed"),
    SessionState.HELD: lazy_gettext("Held"),
    SessionState.DEBRIEFED: lazy_gettext("Debriefed"),
    SessionState.FOLLOW_UP: lazy_gettext("Follow-up"),
}


def label(value: enum.Enum) -> LazyString:
    """The readable name of a stored value."""
    return _LABELS[value]
