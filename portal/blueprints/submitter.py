"""Pages for submitters behind their codename: inbox, debriefs and follow-ups (under ``/inbox``)."""

from flask import Blueprint

blueprint = Blueprint("submitter", __name__, url_prefix="/inbox")
