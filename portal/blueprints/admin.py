"""Pages for administrators: accounts, dialogues, key grants and retention (under ``/admin``)."""

from flask import Blueprint

blueprint = Blueprint("admin", __name__, url_prefix="/admin")
