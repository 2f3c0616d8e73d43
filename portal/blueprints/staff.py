"""Pages for triage officers and co-chairs: queues, triage and debriefs (under ``/staff``)."""

from flask import Blueprint

blueprint = Blueprint("staff", __name__, url_prefix="/staff")
