"""How a notice is headed wherever it is shown: the submitter's inbox on both paths and the
desk's own thread.

The words are made here once, with ``{date}`` where the session's date goes: the page without
JavaScript fills it in with :func:`notice_heading`, and the inbox page hands the same words to
``static/js/inbox.mjs`` (``data-notice-words``), so that translations stay on the server.
"""

import datetime as dt
from collections.abc import Mapping

from flask_babel import gettext as _

from portal.models import MessagePurpose
from portal.services.submissions.notice_format import Notice
from portal.timefmt import long_date


def notice_heading_words() -> dict[str, str]:
    """The headings of the notice purposes, for both paths."""
    return {
        "debrief": _("Debrief of the session on %(date)s", date="{date}"),
        "debrief_undated": _("Debrief of a session"),
        "progress": _("Progress on the roadmap"),
        "new": _("New"),
    }


def notice_heading(notice: Notice, session_dates: Mapping[int, dt.date]) -> str:
    """What ``notice`` is, in words: the debrief of which session, or progress on the roadmap.
    ``session_dates`` are the dialogue's (``notices.notice_session_dates``)."""
    words = notice_heading_words()
    if notice.purpose is MessagePurpose.PROGRESS:
        return words["progress"]
    date = None if notice.session_id is None else session_dates.get(notice.session_id)
    if date is None:
        return words["debrief_undated"]
    return words["debrief"].replace("{date}", long_date(date))
