"""The data model: SQLAlchemy 2 typed models over one shared metadata.

Importing this package registers every table on ``Base.metadata``, which migrations and the
schema comparison test rely on.
"""

from portal.models.audit import AuditEvent
from portal.models.base import Base, utc_now
from portal.models.dialogue import Dialogue, DialogueSession
from portal.models.enums import (
    ActionOwner,
    ActionState,
    AgendaItemStatus,
    AgendaPriority,
    AgendaState,
    AgendaTheme,
    DebriefWithheldReason,
    DeclineReason,
    DeskTextPurpose,
    DialogueKind,
    DialogueStatus,
    HandoverLeaving,
    HowRaised,
    MessageAuthor,
    MessagePurpose,
    NotRaisedReason,
    NotTakenUpReason,
    PartnerKind,
    RecommendationOutcome,
    ReviewMode,
    RiskLevel,
    SessionPlace,
    SessionState,
    StaffRole,
    StatementSource,
    SubmissionKind,
    SubmissionState,
    Topic,
)
from portal.models.followup import (
    FollowUpAction,
    FollowUpActionChange,
    FollowUpActionLink,
    FollowUpResult,
)
from portal.models.housekeeping import HousekeepingLease
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
    DebriefWithheld,
    DeskText,
    HandoverEntry,
    RecommendationResponse,
    SessionSummary,
)
from portal.models.staff import DeskMembership, StaffResetNotice, StaffResetRequest, StaffUser
from portal.models.staff_session import StaffSession
from portal.models.storage_ledger import LEDGER_ROW_ID, StorageLedger
from portal.models.submission import (
    Attachment,
    ConsentChange,
    DeletedSubmission,
    FurtherInformation,
    Submission,
    SubmissionTopic,
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
    "LEDGER_ROW_ID",
    "ActionOwner",
    "ActionState",
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
    "DebriefWithheld",
    "DebriefWithheldReason",
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
    "FollowUpAction",
    "FollowUpActionChange",
    "FollowUpActionLink",
    "FollowUpResult",
    "FurtherInformation",
    "HandoverEntry",
    "HandoverLeaving",
    "HousekeepingLease",
    "HowRaised",
    "IdentityKey",
    "IdentityKeyGrant",
    "MessageAuthor",
    "MessagePurpose",
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
    "SessionSummary",
    "SignInThrottle",
    "StaffResetNotice",
    "StaffResetRequest",
    "StaffRole",
    "StaffSession",
    "StaffUser",
    "StatementSource",
    "StorageLedger",
    "Submission",
    "SubmissionIdentity",
    "SubmissionKind",
    "SubmissionState",
    "SubmissionTopic",
    "Submitter",
    "SubmitterSession",
    "Topic",
    "TriageNote",
    "Upload",
    "utc_now",
]
