"""The text limits templates show (``maxlength``, "at most N characters"), by name.

Each number is the service constant that enforces the limit, so a template never repeats a
number that could drift from the check behind it; templates read ``text_limits.long_text``.
"""

import crypto
from portal.models.followup import MAX_ROADMAP_TEXT, MAX_ROADMAP_TITLE
from portal.models.staff import MAX_DISPLAY_NAME_LENGTH, MAX_EMAIL_LENGTH
from portal.models.triage import MAX_AGENDA_TITLE, MAX_GENDER_DIMENSION, MAX_JUSTIFICATION
from portal.services.contexts import PUBLIC_ID_LENGTH
from portal.services.staff.fingerprints import SHORT_FINGERPRINT_TYPED_MAX_LENGTH
from portal.services.submissions.kinds import LONG_TEXT_LIMIT, SHORT_TEXT_LIMIT

TEXT_LIMITS: dict[str, int] = {
    "short_text": SHORT_TEXT_LIMIT,
    "long_text": LONG_TEXT_LIMIT,
    "agenda_title": MAX_AGENDA_TITLE,
    "gender_dimension": MAX_GENDER_DIMENSION,
    "justification": MAX_JUSTIFICATION,
    "roadmap_title": MAX_ROADMAP_TITLE,
    "roadmap_text": MAX_ROADMAP_TEXT,
    "public_id": PUBLIC_ID_LENGTH,
    "staff_email": MAX_EMAIL_LENGTH,
    "display_name": MAX_DISPLAY_NAME_LENGTH,
    "totp_code": crypto.TOTP_TYPED_CODE_MAX_LENGTH,
    "key_fingerprint": SHORT_FINGERPRINT_TYPED_MAX_LENGTH,
}
