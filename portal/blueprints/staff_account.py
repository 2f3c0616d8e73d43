"""Staff sign-in, first-sign-in enrolment and each person's own account (under ``/staff``)."""

from flask import Blueprint

blueprint = Blueprint("staff_account", __name__, url_prefix="/staff")
