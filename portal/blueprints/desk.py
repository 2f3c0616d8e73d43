"""Desk pages: who sits on a desk, key grants, removal and rotation (under ``/staff/desks``)."""

from flask import Blueprint

blueprint = Blueprint("desk", __name__, url_prefix="/staff/desks")
