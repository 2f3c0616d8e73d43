"""Human, translatable names for the stored vocabularies: the one table of them.

Stored values are stable identifiers; what people read is here, marked for translation, so a new
language never needs a database change. Templates use ``|label`` (lists, read-backs, the staff
pages) and ``|choice_label`` (a choice offered on a public form).

Most values read the same everywhere. Consent levels, consent givers and urgency have a second,
longer wording in :data:`_CHOICE_LABELS`, for a good reason: a person choosing on a form must
read what each choice will lead to (whether the name reaches the government), while a list or a
read-back needs the short name of what was chosen.
"""

import enum

from flask_babel import LazyString, lazy_gettext

from portal.models import (
    ActionOwner,
    ActionState,
    AgendaItemStatus,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    DebriefWithheldReason,
    DeclineReason,
    DialogueKind,
    DialogueStatus,
    HandoverLeaving,
    HowRaised,
    NotRaisedReason,
    NotTakenUpReason,
    PartnerKind,
    RecommendationOutcome,
    RiskLevel,
    SessionPlace,
    SessionState,
    StatementSource,
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.services.submissions.kinds import ConsentGiver, ConsentLevel, Urgency

# Keyed by vocabulary first: stored values are string enums, so two vocabularies sharing a value
# (a consent level and a way a case was raised are both "handover_list"; agenda themes repeat
# topics) would collapse into one key of a table keyed by value, and one would read the other's
# words.
_LABELS: dict[type[enum.Enum], dict[enum.Enum, LazyString]] = {
    PartnerKind: {
        PartnerKind.COUNTRY: lazy_gettext("Country"),
        PartnerKind.REGIONAL_GROUP: lazy_gettext("Regional group"),
    },
    DialogueKind: {
        DialogueKind.FORMAL: lazy_gettext("Formal dialogue"),
        DialogueKind.INFORMAL: lazy_gettext("Informal dialogue"),
        DialogueKind.LOCAL: lazy_gettext("Local dialogue"),
        DialogueKind.SUB_COMMITTEE: lazy_gettext("Sub-committee"),
        DialogueKind.LIKE_MINDED_CONSULTATION: lazy_gettext("Like-minded consultation"),
    },
    DialogueStatus: {
        DialogueStatus.ACTIVE: lazy_gettext("Active"),
        DialogueStatus.FROZEN: lazy_gettext("Frozen"),
    },
    HandoverLeaving: {
        HandoverLeaving.CONSENT: lazy_gettext("consent"),
        HandoverLeaving.RISK: lazy_gettext("risk"),
    },
    SessionPlace: {
        SessionPlace.BRUSSELS: lazy_gettext("Brussels"),
        SessionPlace.PARTNER_COUNTRY: lazy_gettext("In the partner country"),
        SessionPlace.VIDEO: lazy_gettext("Video conference"),
    },
    SessionState: {
        SessionState.PLANNED: lazy_gettext("Planned"),
        SessionState.CONSULTATION_OPEN: lazy_gettext("Consultation open"),
        SessionState.CONSULTATION_CLOSED: lazy_gettext("Consultation closed"),
        SessionState.HELD: lazy_gettext("Held"),
        SessionState.DEBRIEFED: lazy_gettext("Debriefed"),
        SessionState.FOLLOW_UP: lazy_gettext("Follow-up"),
    },
    SubmissionKind: {
        SubmissionKind.AGENDA_INPUT: lazy_gettext("Agenda input"),
        SubmissionKind.INDIVIDUAL_CASE: lazy_gettext("Individual case"),
        SubmissionKind.REPRISAL_REPORT: lazy_gettext("Reprisal report"),
        SubmissionKind.SEMINAR_RECOMMENDATIONS: lazy_gettext("Seminar recommendations"),
    },
    SubmissionState: {
        SubmissionState.RECEIVED: lazy_gettext("Received"),
        SubmissionState.IN_TRIAGE: lazy_gettext("Being read by the desk"),
        SubmissionState.ACCEPTED: lazy_gettext("Accepted"),
        SubmissionState.DECLINED: lazy_gettext("Declined"),
        SubmissionState.ON_AGENDA: lazy_gettext("On the agenda"),
        SubmissionState.ON_HANDOVER_LIST: lazy_gettext("On the handover list"),
        SubmissionState.RAISED: lazy_gettext("Raised in the session"),
        SubmissionState.DEBRIEFED: lazy_gettext("Debriefed"),
        SubmissionState.WITHDRAWN: lazy_gettext("Withdrawn"),
    },
    Topic: {
        Topic.GENERAL_DEVELOPMENTS: lazy_gettext("General human-rights developments"),
        Topic.DEATH_PENALTY: lazy_gettext("Death penalty"),
        Topic.TORTURE_AND_ILL_TREATMENT: lazy_gettext("Torture and ill-treatment"),
        Topic.HUMAN_RIGHTS_DEFENDERS: lazy_gettext("Human-rights defenders"),
        Topic.FREEDOM_OF_EXPRESSION: lazy_gettext("Freedom of expression"),
        Topic.FREEDOM_OF_ASSEMBLY_AND_ASSOCIATION: lazy_gettext(
            "Freedom of peaceful assembly and association"
        ),
        Topic.FREEDOM_OF_RELIGION_OR_BELIEF: lazy_gettext("Freedom of religion or belief"),
        Topic.WOMEN_AND_GENDER_EQUALITY: lazy_gettext("Women's rights and gender equality"),
        Topic.CHILDREN: lazy_gettext("Rights of the child"),
        Topic.LGBTI: lazy_gettext("Rights of LGBTI persons"),
        Topic.MINORITIES_AND_INDIGENOUS_PEOPLES: lazy_gettext("Minorities and indigenous peoples"),
        Topic.MIGRANTS_AND_REFUGEES: lazy_gettext("Migrants, refugees and displaced people"),
        Topic.LABOUR_RIGHTS: lazy_gettext("Labour rights"),
        Topic.BUSINESS_AND_HUMAN_RIGHTS: lazy_gettext("Business and human rights"),
        Topic.ECONOMIC_SOCIAL_CULTURAL_RIGHTS: lazy_gettext("Economic, social and cultural rights"),
        Topic.DETENTION_AND_FAIR_TRIAL: lazy_gettext("Detention and fair trial"),
        Topic.MULTILATERAL_ENGAGEMENT: lazy_gettext(
            "Multilateral engagement: the UN Human Rights Council and General Assembly, UPR,"
            " special procedures"
        ),
        Topic.GOOD_GOVERNANCE: lazy_gettext("Good governance"),
        Topic.RULE_OF_LAW: lazy_gettext("Rule of law"),
        Topic.INTERNATIONAL_HUMANITARIAN_LAW: lazy_gettext("International humanitarian law"),
    },
    ConsentGiver: {
        ConsentGiver.PERSON: lazy_gettext("The person"),
        ConsentGiver.FAMILY: lazy_gettext("Their family"),
        ConsentGiver.REPRESENTATIVE: lazy_gettext("Their representative"),
    },
    Urgency: {
        Urgency.STANDARD: lazy_gettext("Standard"),
        Urgency.URGENT: lazy_gettext("Urgent"),
    },
    RiskLevel: {
        RiskLevel.LOW: lazy_gettext("Low"),
        RiskLevel.MEDIUM: lazy_gettext("Medium"),
        RiskLevel.HIGH: lazy_gettext("High"),
    },
    DeclineReason: {
        DeclineReason.OUTSIDE_DIALOGUE_SCOPE: lazy_gettext("Outside the dialogue's scope"),
        DeclineReason.NOT_ENOUGH_INFORMATION: lazy_gettext("Not enough information"),
        DeclineReason.DUPLICATE: lazy_gettext("Duplicate of another submission"),
        DeclineReason.CONSENT_DOES_NOT_ALLOW: lazy_gettext("The consent given does not allow it"),
        DeclineReason.RAISED_THROUGH_OTHER_CHANNEL: lazy_gettext("Raised through another channel"),
        DeclineReason.OTHER: lazy_gettext("Other reason"),
    },
    HowRaised: {
        HowRaised.DURING_ITEM: lazy_gettext("Raised during an agenda item"),
        HowRaised.HANDOVER_LIST: lazy_gettext("Handed over on the list"),
        HowRaised.NOT_RAISED: lazy_gettext("Not raised"),
    },
    NotRaisedReason: {
        NotRaisedReason.CONSENT_DID_NOT_ALLOW: lazy_gettext(
            "The consent for the round did not allow it"
        ),
        NotRaisedReason.RISK_TO_THE_PERSON: lazy_gettext("A risk to the person"),
        NotRaisedReason.NO_TIME: lazy_gettext("No time in the session"),
        NotRaisedReason.RAISED_THROUGH_OTHER_CHANNEL: lazy_gettext(
            "Raised through another channel"
        ),
        NotRaisedReason.PARTNER_REFUSED_TO_DISCUSS: lazy_gettext(
            "The partner refused to discuss it"
        ),
        NotRaisedReason.SITUATION_RESOLVED: lazy_gettext("The situation was resolved"),
        NotRaisedReason.OTHER: lazy_gettext("Other reason"),
    },
    RecommendationOutcome: {
        RecommendationOutcome.DISCUSSED: lazy_gettext("Discussed"),
        RecommendationOutcome.TAKEN_UP: lazy_gettext("Taken up"),
        RecommendationOutcome.NOT_TAKEN_UP: lazy_gettext("Not taken up"),
    },
    NotTakenUpReason: {
        NotTakenUpReason.OUTSIDE_DIALOGUE_SCOPE: lazy_gettext("Outside the dialogue's scope"),
        NotTakenUpReason.ALREADY_ADDRESSED: lazy_gettext("Already addressed"),
        NotTakenUpReason.PARTNER_DECLINED: lazy_gettext("The partner declined"),
        NotTakenUpReason.NOT_FEASIBLE_THIS_ROUND: lazy_gettext("Not feasible in this round"),
        NotTakenUpReason.OTHER: lazy_gettext("Other reason"),
    },
    DebriefWithheldReason: {
        DebriefWithheldReason.RISK_TO_THE_SUBMITTER: lazy_gettext(
            "A notice could put the submitter at risk"
        ),
        DebriefWithheldReason.ANSWERED_WITH_ANOTHER_SUBMISSION: lazy_gettext(
            "Answered in the debrief of another of their submissions"
        ),
        DebriefWithheldReason.SUBMISSION_WITHDRAWN: lazy_gettext("The submission was withdrawn"),
        DebriefWithheldReason.OTHER: lazy_gettext("Other reason"),
    },
    AgendaState: {
        AgendaState.DRAFT: lazy_gettext("Draft"),
        AgendaState.SHARED: lazy_gettext("Shared with observers"),
        AgendaState.AGREED: lazy_gettext("Agreed with the partner"),
        AgendaState.FINAL: lazy_gettext("Final"),
    },
    AgendaItemStatus: {
        AgendaItemStatus.PROPOSED: lazy_gettext("Proposed"),
        AgendaItemStatus.INCLUDED: lazy_gettext("Included"),
    },
    AgendaPriority: {
        AgendaPriority.EU: lazy_gettext("EU priority"),
        AgendaPriority.PARTNER: lazy_gettext("Partner's priority"),
        AgendaPriority.BOTH: lazy_gettext("Priority of both sides"),
    },
    ConsentLevel: {
        ConsentLevel.INTERNAL_ONLY: lazy_gettext("EU internal background only"),
        ConsentLevel.RAISE_WITHOUT_NAME: lazy_gettext("May be raised without the name"),
        ConsentLevel.RAISE_BY_NAME: lazy_gettext("May be raised by name in the session"),
        ConsentLevel.HANDOVER_LIST: lazy_gettext("May go on the list handed over at the session"),
    },
    AgendaTheme: {
        AgendaTheme.GENERAL_DEVELOPMENTS: lazy_gettext(
            "General human-rights developments on both sides"
        ),
        AgendaTheme.SPECIFIC_TOPIC: lazy_gettext("Specific topic for in-depth discussion"),
        AgendaTheme.MULTILATERAL_ENGAGEMENT: lazy_gettext("Multilateral engagement"),
        AgendaTheme.RATIFICATION_AND_IMPLEMENTATION: lazy_gettext(
            "Ratification and implementation of human-rights and core labour instruments"
        ),
        AgendaTheme.UN_COOPERATION: lazy_gettext(
            "Cooperation with the UN (Human Rights Council, General Assembly, UPR, special "
            "procedures)"
        ),
        AgendaTheme.GOOD_GOVERNANCE_AND_RULE_OF_LAW: lazy_gettext(
            "Good governance and rule of law"
        ),
        AgendaTheme.INTERNATIONAL_HUMANITARIAN_LAW: lazy_gettext("International humanitarian law"),
        AgendaTheme.REPRISALS: lazy_gettext("Reprisals against civil society"),
    },
    ActionOwner: {
        ActionOwner.EU: lazy_gettext("The EU"),
        ActionOwner.PARTNER: lazy_gettext("The partner government"),
        ActionOwner.DELEGATION: lazy_gettext("The EU Delegation"),
    },
    ActionState: {
        ActionState.PLANNED: lazy_gettext("Planned"),
        ActionState.IN_PROGRESS: lazy_gettext("In progress"),
        ActionState.DONE: lazy_gettext("Done"),
        ActionState.DROPPED: lazy_gettext("Dropped"),
    },
    StatementSource: {
        StatementSource.JOINT: lazy_gettext("Joint press statement"),
        StatementSource.EU: lazy_gettext("EU press statement"),
    },
}


_CHOICE_LABELS: dict[type[enum.Enum], dict[enum.Enum, LazyString]] = {
    ConsentLevel: {
        ConsentLevel.INTERNAL_ONLY: lazy_gettext(
            "Only as background for EU staff: the name is never mentioned to the government"
        ),
        ConsentLevel.RAISE_WITHOUT_NAME: lazy_gettext(
            "The situation may be raised with the government, without the name"
        ),
        ConsentLevel.RAISE_BY_NAME: lazy_gettext(
            "The case may be raised with the government by name during the session"
        ),
        ConsentLevel.HANDOVER_LIST: lazy_gettext(
            "The name may also go on the written list of cases handed to the government"
        ),
    },
    ConsentGiver: {
        ConsentGiver.PERSON: lazy_gettext("The person themselves"),
        ConsentGiver.REPRESENTATIVE: lazy_gettext("Their lawyer or another representative"),
    },
    Urgency: {
        Urgency.STANDARD: lazy_gettext("Not urgent: it can wait for the usual reading"),
        Urgency.URGENT: lazy_gettext("Urgent: someone is in danger now"),
    },
}
"""Keyed by vocabulary first, like :data:`_LABELS`."""


_NAMED_ONLY_AS_MEMBERS = (AgendaTheme, ConsentLevel, ActionOwner, StatementSource)
"""Vocabularies that repeat another's values with other words: a plain string never names one.

A value read back from a sealed payload or a JSON column arrives as a plain string; such a value
of these vocabularies must be turned into its enum first (:func:`consent_level_label`)."""


def _names_of_plain_values() -> dict[str, LazyString]:
    """The name of each value of the other vocabularies; where they repeat a value they use the
    same words (tests/integration/test_labels.py checks it), so the first one serves."""
    names: dict[str, LazyString] = {}
    for vocabulary, table in _LABELS.items():
        if vocabulary not in _NAMED_ONLY_AS_MEMBERS:
            for member, name in table.items():
                names.setdefault(member.value, name)
    return names


_PLAIN_VALUES = _names_of_plain_values()


def label(value: enum.Enum | str) -> LazyString:
    """The readable name of a stored value: by its vocabulary when it is an enum member, else
    by its value among the vocabularies whose values read alike wherever they repeat."""
    if isinstance(value, enum.Enum):
        return _LABELS[type(value)][value]
    return _PLAIN_VALUES[value]


def consent_level_label(value: str) -> LazyString:
    """The short name of a consent level read back from a payload, where it is a plain string
    that another vocabulary's value ("handover_list", a way a case was raised) repeats."""
    return label(ConsentLevel(value))


def choice_label(value: enum.Enum) -> LazyString:
    """What a person reads for ``value`` when choosing it on a form: the longer wording where
    there is one, else the name."""
    longer = _CHOICE_LABELS.get(type(value), {}).get(value)
    return label(value) if longer is None else longer
