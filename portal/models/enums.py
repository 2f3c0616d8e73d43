"""The closed vocabularies of the data model.

Values are the strings stored in the database; renaming one needs a migration.
"""

import enum


class PartnerKind(enum.StrEnum):
    COUNTRY = "country"
    REGIONAL_GROUP = "regional_group"


class DialogueKind(enum.StrEnum):
    FORMAL = "formal"
    INFORMAL = "informal"
    LOCAL = "local"
    SUB_COMMITTEE = "sub_committee"
    LIKE_MINDED_CONSULTATION = "like_minded_consultation"


class DialogueStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class ReviewMode(enum.StrEnum):
    """Where submissions are decrypted: on the server, or only on an offline machine."""

    ONLINE = "online"
    OFFLINE = "offline"


class SessionPlace(enum.StrEnum):
    BRUSSELS = "brussels"
    PARTNER_COUNTRY = "partner_country"
    VIDEO = "video"


class SessionState(enum.StrEnum):
    """A session's progress, in the order the process runs through it."""

    PLANNED = "planned"
    CONSULTATION_OPEN = "consultation_open"
    CONSULTATION_CLOSED = "consultation_closed"
    HELD = "held"
    DEBRIEFED = "debriefed"
    FOLLOW_UP = "follow_up"


class StaffRole(enum.StrEnum):
    ADMINISTRATOR = "administrator"
    TRIAGE_OFFICER = "triage_officer"
    CO_CHAIR = "co_chair"
    OBSERVER = "observer"


class SubmissionKind(enum.StrEnum):
    AGENDA_INPUT = "agenda_input"
    INDIVIDUAL_CASE = "individual_case"
    REPRISAL_REPORT = "reprisal_report"
    SEMINAR_RECOMMENDATIONS = "seminar_recommendations"


class SubmissionState(enum.StrEnum):
    RECEIVED = "received"
    IN_TRIAGE = "in_triage"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ON_AGENDA = "on_agenda"
    ON_HANDOVER_LIST = "on_handover_list"
    RAISED = "raised"
    DEBRIEFED = "debriefed"
    WITHDRAWN = "withdrawn"


class RiskLevel(enum.StrEnum):
    """The risk to the people a submission concerns, as assessed at triage."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class DeclineReason(enum.StrEnum):
    """Why the desk declined a submission; a closed list so that the reason is never free text."""

    OUTSIDE_DIALOGUE_SCOPE = "outside_dialogue_scope"
    NOT_ENOUGH_INFORMATION = "not_enough_information"
    DUPLICATE = "duplicate"
    CONSENT_DOES_NOT_ALLOW = "consent_does_not_allow"
    RAISED_THROUGH_OTHER_CHANNEL = "raised_through_other_channel"
    OTHER = "other"


class MessageAuthor(enum.StrEnum):
    """Who wrote a message in a submission's thread."""

    DESK = "desk"
    SUBMITTER = "submitter"


class Topic(enum.StrEnum):
    """The agenda themes a submission can be tagged with, kept in plaintext for routing.

    Drawn from the themes the EU guidelines on human-rights dialogues put on an agenda: general
    developments, the partner-specific topics most often chosen, multilateral engagement, and the
    additions the guidelines allow (good governance, rule of law, international humanitarian law).
    Gender equality is a theme of its own so the agenda can be gender-responsive.
    """

    GENERAL_DEVELOPMENTS = "general_developments"
    DEATH_PENALTY = "death_penalty"
    TORTURE_AND_ILL_TREATMENT = "torture_and_ill_treatment"
    HUMAN_RIGHTS_DEFENDERS = "human_rights_defenders"
    FREEDOM_OF_EXPRESSION = "freedom_of_expression"
    FREEDOM_OF_ASSEMBLY_AND_ASSOCIATION = "freedom_of_assembly_and_association"
    FREEDOM_OF_RELIGION_OR_BELIEF = "freedom_of_religion_or_belief"
    WOMEN_AND_GENDER_EQUALITY = "women_and_gender_equality"
    CHILDREN = "children"
    LGBTI = "lgbti"
    MINORITIES_AND_INDIGENOUS_PEOPLES = "minorities_and_indigenous_peoples"
    MIGRANTS_AND_REFUGEES = "migrants_and_refugees"
    LABOUR_RIGHTS = "labour_rights"
    BUSINESS_AND_HUMAN_RIGHTS = "business_and_human_rights"
    ECONOMIC_SOCIAL_CULTURAL_RIGHTS = "economic_social_cultural_rights"
    DETENTION_AND_FAIR_TRIAL = "detention_and_fair_trial"
    MULTILATERAL_ENGAGEMENT = "multilateral_engagement"
    GOOD_GOVERNANCE = "good_governance"
    RULE_OF_LAW = "rule_of_law"
    INTERNATIONAL_HUMANITARIAN_LAW = "international_humanitarian_law"


class AgendaTheme(enum.StrEnum):
    """The standing items of a dialogue's agenda, as the EU guidelines list them.

    ``SPECIFIC_TOPIC`` is the session's in-depth theme, chosen per partner: the item's ``topic``
    says which. ``REPRISALS`` is the standing point under which reprisals against civil society
    for engaging with the dialogue are raised directly with the government.
    """

    GENERAL_DEVELOPMENTS = "general_developments"
    SPECIFIC_TOPIC = "specific_topic"
    MULTILATERAL_ENGAGEMENT = "multilateral_engagement"
    RATIFICATION_AND_IMPLEMENTATION = "ratification_and_implementation"
    UN_COOPERATION = "un_cooperation"
    GOOD_GOVERNANCE_AND_RULE_OF_LAW = "good_governance_and_rule_of_law"
    INTERNATIONAL_HUMANITARIAN_LAW = "international_humanitarian_law"
    REPRISALS = "reprisals"


class AgendaState(enum.StrEnum):
    """An agenda's life: drafted by the desk, shared with observers, agreed with the partner."""

    DRAFT = "draft"
    SHARED = "shared"  # titles and themes visible to observers
    AGREED = "agreed"  # agreed with the partner
    FINAL = "final"


class AgendaItemStatus(enum.StrEnum):
    """Whether a co-chair has taken an item into the agenda or a triage officer proposed it."""

    PROPOSED = "proposed"
    INCLUDED = "included"


class AgendaPriority(enum.StrEnum):
    """Whose priority an agenda item is: the agenda must carry both sides' priorities."""

    EU = "eu"
    PARTNER = "partner"
    BOTH = "both"


class HandoverLeaving(enum.StrEnum):
    """Why a case left a handover list, as far as the co-chairs are told."""

    CONSENT = "consent"
    RISK = "risk"


class HowRaised(enum.StrEnum):
    """How a case or reprisal report was taken up in a held session."""

    DURING_ITEM = "during_item"
    HANDOVER_LIST = "handover_list"
    NOT_RAISED = "not_raised"


class NotRaisedReason(enum.StrEnum):
    """Why a case on the agenda or the list was not raised; a closed list, never free text."""

    CONSENT_DID_NOT_ALLOW = "consent_did_not_allow"
    RISK_TO_THE_PERSON = "risk_to_the_person"
    NO_TIME = "no_time"
    RAISED_THROUGH_OTHER_CHANNEL = "raised_through_other_channel"
    PARTNER_REFUSED_TO_DISCUSS = "partner_refused_to_discuss"
    SITUATION_RESOLVED = "situation_resolved"
    OTHER = "other"


class RecommendationOutcome(enum.StrEnum):
    """What became of one seminar recommendation in a held session."""

    DISCUSSED = "discussed"
    TAKEN_UP = "taken_up"
    NOT_TAKEN_UP = "not_taken_up"


class NotTakenUpReason(enum.StrEnum):
    """Why a seminar recommendation was not taken up; a closed list."""

    OUTSIDE_DIALOGUE_SCOPE = "outside_dialogue_scope"
    ALREADY_ADDRESSED = "already_addressed"
    PARTNER_DECLINED = "partner_declined"
    NOT_FEASIBLE_THIS_ROUND = "not_feasible_this_round"
    OTHER = "other"


class DeskTextPurpose(enum.StrEnum):
    """What a piece of sealed staff prose of a session is for."""

    BRIEFING_POINT = "briefing_point"  # points for an agenda item, drawn from linked inputs
    ITEM_REPLY = "item_reply"  # the partner government's reply under an agenda item
    CASE_REPLY = "case_reply"  # the partner's reply on a case or reprisal report
    RECOMMENDATION_NOTE = "recommendation_note"  # the response to a seminar recommendation
    DEBRIEF_GENERAL = "debrief_general"  # the general debrief of a session, for every contributor
    DEBRIEF_FEEDBACK = "debrief_feedback"  # the desk's own words to one submission's author


class MessagePurpose(enum.StrEnum):
    """What a message in a submission's thread is: a free message, or a notice the desk sends
    to every contributor concerned (a session's debrief, progress on a follow-up action)."""

    MESSAGE = "message"
    DEBRIEF = "debrief"
    PROGRESS = "progress"


class DebriefWithheldReason(enum.StrEnum):
    """Why the desk sends no debrief notice to a contributor of a session; a closed list."""

    RISK_TO_THE_SUBMITTER = "risk_to_the_submitter"
    ANSWERED_WITH_ANOTHER_SUBMISSION = "answered_with_another_submission"
    SUBMISSION_WITHDRAWN = "submission_withdrawn"
    OTHER = "other"


class ActionOwner(enum.StrEnum):
    """Who carries out a follow-up action."""

    EU = "eu"
    PARTNER = "partner"
    DELEGATION = "delegation"


class ActionState(enum.StrEnum):
    """Where a follow-up action stands; "overdue" is not a state but an open action past its
    due day."""

    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class StatementSource(enum.StrEnum):
    """Whose press statement a session's public summary carries."""

    JOINT = "joint"
    EU = "eu"
