"""What tests need to store submissions and files through the services directly.

The web application issues ids under its instance's key and keeps its instance's storage quota
(``portal.web.instance``); a test that calls ``intake.submission_address`` itself issues ids with
:data:`TEST_SUBMISSION_IDS` and passes the same issuer, and one that stages files itself gives
them room under :data:`ROOMY_LIMITS`.
"""

from sqlalchemy.orm import Session

from portal.services.storage_quota import StagingRoom, StorageLimits
from portal.services.submissions.submission_ids import SubmissionIds
from portal.storage import EncryptedStorage

TEST_SUBMISSION_IDS = SubmissionIds(key=bytes(range(32)), lifetime_hours=24)
ROOMY_LIMITS = StorageLimits(quota_bytes=2**40, unclaimed_bytes=2**40)


def staging_room(session: Session, storage: EncryptedStorage) -> StagingRoom:
    """Room for the files ``session``'s transaction stages, far from any quota."""
    return StagingRoom(session, storage, ROOMY_LIMITS)
