"""The desk's side of the message thread with a submission's author (under ``/staff``)."""

from flask import Blueprint

blueprint = Blueprint("staff_messages", __name__, url_prefix="/staff")
