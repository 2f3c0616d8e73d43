"""Signing a Flask test client in as a staff member without going through the sign-in page.

Tests of staff pages other than sign-in itself use this, so that each does not pay for a TOTP
step and the page tests stay independent of the sign-in page's details. It does what a real
sign-in does after the checks: unwrap the personal key with the passphrase, open a staff session
and put its ticket in the client's cookie.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

import crypto
from portal.blueprints.staff_access import STAFF_TICKET_ENTRY
from portal.db import app_database
from portal.models import DeskKey, StaffRole, StaffUser, utc_now
from portal.services.desks.keys import grant_desk_access
from portal.services.staff.accounts import create_staff_user
from portal.services.staff.web_sessions import start_staff_session


@dataclass(frozen=True)
class StaffCredentials:
    """One account as the demo credentials file lists it."""

    role: str
    email: str
    password: str
    totp_secret: str
    dialogues: tuple[str, ...]


def demo_credentials(credentials_file: Path) -> dict[str, StaffCredentials]:
    """The demo accounts written by ``portal init --demo --credentials-out``, by role."""
    accounts = json.loads(credentials_file.read_text(encoding="utf-8"))
    return {
        account["role"]: StaffCredentials(
            role=account["role"],
            email=account["email"],
            password=account["password"],
            totp_secret=account["totp_secret"],
            dialogues=tuple(account["dialogues"]),
        )
        for account in accounts
    }


def sign_in_client(app: Flask, client: Any, email: str, passphrase: str) -> None:
    """Open a staff session for the account and keep its ticket in ``client``'s cookie."""
    with app.app_context(), app_database(app).session() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
        personal_key = crypto.unwrap_private_key(user.personal_private_key_wrapped, passphrase)
        ticket = start_staff_session(session, user, personal_key, now=utc_now())
        session.commit()
    with client.session_transaction() as cookie:
        cookie.clear()
        cookie[STAFF_TICKET_ENTRY] = ticket.to_cookie()


def add_test_account(
    session: Any,
    name: str,
    role: StaffRole,
    passphrase: str,
    *,
    at_rest_key: bytes,
    desk: tuple[DeskKey, crypto.PrivateKey] | None = None,
) -> StaffUser:
    """An enrolled account ``name@test.parley.invalid`` beside the demo ones; on the desk of
    ``desk`` (a desk key and its opened private half), holding that key, when one is given."""
    user = create_staff_user(
        session,
        email=f"{name}@test.parley.invalid",
        display_name=name.replace("_", " ").title(),
        role=role,
        passphrase=passphrase,
        at_rest_key=at_rest_key,
        must_change_passphrase=False,
    ).user
    if desk is not None:
        desk_key, desk_private_key = desk
        grant_desk_access(
            session,
            desk_key=desk_key,
            desk_private_key=desk_private_key,
            member=user,
            granted_by=None,
        )
    return user
