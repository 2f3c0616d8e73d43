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
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.services.submissions.payload import ConsentGiver, ConsentLevel, Urgency

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
    SubmissionKind.AGENDA_INPUT: lazy_gettext("Agenda input"),
    SubmissionKind.INDIVIDUAL_CASE: lazy_gettext("Individual case"),
    SubmissionKind.REPRISAL_REPORT: lazy_gettext("Reprisal report"),
    SubmissionKind.SEMINAR_RECOMMENDATIONS: lazy_gettext("Seminar recommendations"),
    SubmissionState.RECEIVED: lazy_gettext("Received"),
    SubmissionState.IN_TRIAGE: lazy_gettext("Being read by the desk"),
    SubmissionState.ACCEPTED: lazy_gettext("Accepted"),
    SubmissionState.DECLINED: lazy_gettext("Declined"),
    SubmissionState.ON_AGENDA: lazy_gettext("On the agenda"),
    SubmissionState.ON_HANDOVER_LIST: lazy_gettext("On the handover list"),
    SubmissionState.RAISED: lazy_gettext("Raised in the session"),
    SubmissionState.DEBRIEFED: lazy_gettext("Debriefed"),
    SubmissionState.WITHDRAWN: lazy_gettext("Withdrawn"),
    Topic.GENERAL_DEVELOPMENTS: lazy_gettext("General developments"),
    Topic.DEATH_PENALTY: lazy_gettext("Death penalty"),
    Topic.TORTURE_AND_ILL_TREATMENT: lazy_gettext("Torture and ill-treatment"),
    Topic.HUMAN_RIGHTS_DEFENDERS: lazy_gettext("Human-rights defenders"),
    Topic.FREEDOM_OF_EXPRESSION: lazy_gettext("Freedom of expression"),
    Topic.FREEDOM_OF_ASSEMBLY_AND_ASSOCIATION: lazy_gettext("Freedom of assembly and association"),
    Topic.FREEDOM_OF_RELIGION_OR_BELIEF: lazy_gettext("Freedom of religion or belief"),
    Topic.WOMEN_AND_GENDER_EQUALITY: lazy_gettext("Women's rights and gender equality"),
    Topic.CHILDREN: lazy_gettext("Rights of the child"),
    Topic.LGBTI: lazy_gettext("Rights of LGBTI persons"),
    Topic.MINORITIES_AND_INDIGENOUS_PEOPLES: lazy_gettext("Minorities and indigenous peoples"),
    Topic.MIGRANTS_AND_REFUGEES: lazy_gettext("Migrants and refugees"),
    Topic.LABOUR_RIGHTS: lazy_gettext("Labour rights"),
    Topic.BUSINESS_AND_HUMAN_RIGHTS: lazy_gettext("Business and human rights"),
    Topic.ECONOMIC_SOCIAL_CULTURAL_RIGHTS: lazy_gettext("Economic, social and cultural rights"),
    Topic.DETENTION_AND_FAIR_TRIAL: lazy_gettext("Detention and fair trial"),
    Topic.MULTILATERAL_ENGAGEMENT: lazy_gettext("Multilateral engagement"),
    Topic.GOOD_GOVERNANCE: lazy_gettext("Good governance"),
    Topic.RULE_OF_LAW: lazy_gettext("Rule of law"),
    Topic.INTERNATIONAL_HUMANITARIAN_LAW: lazy_gettext("International humanitarian law"),
    ConsentLevel.INTERNAL_ONLY: lazy_gettext("EU internal background only (withdraws consent)"),
    ConsentLevel.RAISE_WITHOUT_NAME: lazy_gettext("May be raised without the name"),
    ConsentLevel.RAISE_BY_NAME: lazy_gettext("May be raised by name in the session"),
    ConsentLevel.HANDOVER_LIST: lazy_gettext("May go on the list handed over at the session"),
    ConsentGiver.PERSON: lazy_gettext("The person"),
    ConsentGiver.FAMILY: lazy_gettext("Their family"),
    ConsentGiver.REPRESENTATIVE: lazy_gettext("Their representative"),
    Urgency.STANDARD: lazy_gettext("Standard"),
    Urgency.URGENT: lazy_gettext("Urgent"),
}


def label(value: enum.Enum) -> LazyString:
    """The readable name of a stored value."""
    return _LABELS[value]
