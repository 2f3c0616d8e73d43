"""The data model: SQLAlchemy 2 typed models over one shared metadata.

Importing this package registers every table on ``Base.metadata``, which migrations and the
schema comparison test rely on.
"""

from portal.models.audit import AuditEvent
from portal.models.base import Base, utc_now
from portal.models.dialogue import Dialogue, DialogueSession
from portal.models.enums import (
    AgendaItemStatus,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    DeclineReason,
    DeskTextPurpose,
    DialogueKind,
    DialogueStatus,
    HandoverLeaving,
    HowRaised,
    MessageAuthor,
    NotRaisedReason,
    NotTakenUpReason,
    PartnerKind,
    RecommendationOutcome,
    ReviewMode,
    RiskLevel,
    SessionPlace,
    SessionState,
    StaffRole,
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.models.identity import (
    CompartmentGrant,
    IdentityKey,
    IdentityKeyGrant,
    SubmissionIdentity,
)
from portal.models.keys import DeskKey, DeskKeyGrant, RecoveryKey
from portal.models.rounds import (
    CaseOutcome,
    ConsentRequest,
    DeskText,
    HandoverEntry,
    RecommendationResponse,
)
from portal.models.staff import DeskMembership, StaffResetNotice, StaffResetRequest, StaffUser
from portal.models.staff_session import StaffSession
from portal.models.submission import (
    Attachment,
    ConsentChange,
    DeletedSubmission,
    FurtherInformation,
    Submission,
    Submitter,
)
from portal.models.submitter_session import SubmitterSession
from portal.models.throttle import SignInThrottle
from portal.models.triage import (
    AgendaItem,
    AgendaLink,
    DeskMessage,
    EmergencyAccess,
    NamedMember,
    TriageNote,
)
from portal.models.upload import Upload

__all__ = [
    "AgendaItem",
    "AgendaItemStatus",
    "AgendaLink",
    "AgendaPriority",
    "AgendaState",
    "AgendaTheme",
    "Attachment",
    "AuditEvent",
    "Base",
    "CaseOutcome",
    "CompartmentGrant",
    "ConsentChange",
    "ConsentRequest",
    "DeclineReason",
    "DeletedSubmission",
    "DeskKey",
    "DeskKeyGrant",
    "DeskMembership",
    "DeskMessage",
    "DeskText",
    "DeskTextPurpose",
    "Dialogue",
    "DialogueKind",
    "DialogueSession",
    "DialogueStatus",
    "EmergencyAccess",
    "FurtherInformation",
    "HandoverEntry",
    "HandoverLeaving",
    "HowRaised",
    "IdentityKey",
    "IdentityKeyGrant",
    "MessageAuthor",
    "NamedMember",
    "NotRaisedReason",
    "NotTakenUpReason",
    "PartnerKind",
    "RecommendationOutcome",
    "RecommendationResponse",
    "RecoveryKey",
    "ReviewMode",
    "RiskLevel",
    "SessionPlace",
    "SessionState",
    "SignInThrottle",
    "StaffResetNotice",
    "StaffResetRequest",
    "StaffRole",
    "StaffSession",
    "StaffUser",
    "Submission",
    "SubmissionIdentity",
    "SubmissionKind",
    "SubmissionState",
    "Submitter",
    "SubmitterSession",
    "Topic",
    "TriageNote",
    "Upload",
    "utc_now",
]
