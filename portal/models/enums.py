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
