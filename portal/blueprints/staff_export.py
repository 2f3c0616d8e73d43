"""Encrypted bundles of a dialogue's submissions for offline review (under ``/staff``)."""

from flask import Blueprint

blueprint = Blueprint("staff_export", __name__, url_prefix="/staff")
