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
