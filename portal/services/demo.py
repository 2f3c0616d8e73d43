"""Demo data for `portal init --demo`: fictional dialogues, sessions and one account per role.

Everything is invented: partner names are not real countries or groups and e-mail addresses are
under the reserved ``.invalid`` top-level domain, so a demo instance can never be mistaken for,
or write to, a real one. Dates are set relative to the moment of set-up so that there is always a
consultation open "now" and sessions in every part of the cycle around it.

Demo staff are fully enrolled (second factor set, no forced passphrase change) and hold working
desk key grants, so that each role can sign in and see what it may see at once. The
administrator and the observer sit on no desk: neither role reads content.
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DialogueKind,
    DialogueStatus,
    PartnerKind,
    RecoveryKey,
    SessionPlace,
    SessionState,
    StaffRole,
    utc_now,
)
from portal.services.desks.confirmations import record_confirmation
from portal.services.desks.identity_keys import grant_identity_key
from portal.services.desks.keys import grant_desk_access
from portal.services.desks.membership import membership_of
from portal.services.dialogues.catalogue import NewDialogue, create_dialogue, schedule_session
from portal.services.staff.accounts import create_staff_user

DEMO_EMAIL_DOMAIN = "demo.parley.invalid"
_DEMO_PASSWORD_BYTES = 18


@dataclass(frozen=True)
class DemoAccount:
    """What someone trying the demo needs to sign in as one role."""

    role: str
    email: str
    password: str
    totp_secret: str
    dialogues: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "role": self.role,
            "email": self.email,
            "password": self.password,
            "totp_secret": self.totp_secret,
            "dialogues": list(self.dialogues),
        }


@dataclass(frozen=True)
class _DemoSession:
    """A session placed relative to set-up day; window offsets in days, both or neither."""

    days_from_now: int
    place: SessionPlace
    state: SessionState
    window_days: tuple[int, int] | None


@dataclass(frozen=True)
class _DemoDialogue:
    slug: str
    partner: str
    partner_kind: PartnerKind
    kind: DialogueKind
    status: DialogueStatus
    sessions: tuple[_DemoSession, ...]


@dataclass(frozen=True)
class _DemoStaff:
    role: StaffRole
    local_part: str
    display_name: str
    dialogues: tuple[str, ...]


_DIALOGUES = (
    _DemoDialogue(
        "valdoria",
        "Republic of Valdoria",
        PartnerKind.COUNTRY,
        DialogueKind.FORMAL,
        DialogueStatus.ACTIVE,
        (
            _DemoSession(-320, SessionPlace.PARTNER_COUNTRY, SessionState.FOLLOW_UP, (-420, -350)),
            _DemoSession(45, SessionPlace.BRUSSELS, SessionState.CONSULTATION_OPEN, (-10, 20)),
        ),
    ),
    _DemoDialogue(
        "coral-straits",
        "Coral Straits Community",
        PartnerKind.REGIONAL_GROUP,
        DialogueKind.INFORMAL,
        DialogueStatus.ACTIVE,
        (_DemoSession(120, SessionPlace.VIDEO, SessionState.PLANNED, (30, 90)),),
    ),
    _DemoDialogue(
        "elbaria-local",
        "Kingdom of Elbaria",
        PartnerKind.COUNTRY,
        DialogueKind.LOCAL,
        DialogueStatus.ACTIVE,
        (
            _DemoSession(
                12, SessionPlace.PARTNER_COUNTRY, SessionState.CONSULTATION_CLOSED, (-60, -5)
            ),
        ),
    ),
    _DemoDialogue(
        "northvale",
        "Commonwealth of Northvale",
        PartnerKind.COUNTRY,
        DialogueKind.LIKE_MINDED_CONSULTATION,
        DialogueStatus.ACTIVE,
        (
            _DemoSession(-20, SessionPlace.VIDEO, SessionState.HELD, (-90, -35)),
            _DemoSession(340, SessionPlace.BRUSSELS, SessionState.PLANNED, None),
        ),
    ),
    _DemoDialogue(
        "marenland",
        "Federation of Marenland",
        PartnerKind.COUNTRY,
        DialogueKind.SUB_COMMITTEE,
        DialogueStatus.FROZEN,
        (_DemoSession(-500, SessionPlace.BRUSSELS, SessionState.DEBRIEFED, (-600, -530)),),
    ),
)

_STAFF = (
    _DemoStaff(StaffRole.ADMINISTRATOR, "admin", "Demo Administrator", ()),
    _DemoStaff(
        StaffRole.TRIAGE_OFFICER,
        "triage",
        "Demo Triage Officer",
        ("valdoria", "coral-straits", "elbaria-local"),
    ),
    _DemoStaff(
        StaffRole.CO_CHAIR, "cochair", "Demo Co-chair", ("valdoria", "northvale", "marenland")
    ),
    _DemoStaff(StaffRole.OBSERVER, "observer", "Demo Observer", ()),
)

# Consultation windows open at 08:00 and close at 16:00 UTC on their days.
_WINDOW_OPENS = dt.time(8, 0, tzinfo=dt.UTC)
_WINDOW_CLOSES = dt.time(16, 0, tzinfo=dt.UTC)


def seed_demo(
    session: Session,
    recovery_key: RecoveryKey,
    at_rest_key: bytes,
    now: dt.datetime,
    *,
    recovery_signing_seed: bytes | None = None,
) -> tuple[DemoAccount, ...]:
    """Create the demo dialogues, sessions and staff; return the accounts' credentials. The
    dialogues' first desk keys are certified with ``recovery_signing_seed`` when given."""
    today = now.astimezone(dt.UTC).date()
    created: dict[str, NewDialogue] = {}
    for spec in _DIALOGUES:
        created[spec.slug] = create_dialogue(
            session,
            slug=spec.slug,
            partner=spec.partner,
            partner_kind=spec.partner_kind,
            kind=spec.kind,
            status=spec.status,
            recovery_key=recovery_key,
            recovery_signing_seed=recovery_signing_seed,
        )
        for demo_session in spec.sessions:
            _schedule(session, created[spec.slug], demo_session, today)
    return tuple(_create_staff(session, spec, created, at_rest_key) for spec in _STAFF)


def _schedule(session: Session, new: NewDialogue, spec: _DemoSession, today: dt.date) -> None:
    opens_at = closes_at = None
    if spec.window_days is not None:
        opens_day, closes_day = (today + dt.timedelta(days=days) for days in spec.window_days)
        opens_at = dt.datetime.combine(opens_day, _WINDOW_OPENS)
        closes_at = dt.datetime.combine(closes_day, _WINDOW_CLOSES)
    schedule_session(
        session,
        new.dialogue,
        date=today + dt.timedelta(days=spec.days_from_now),
        place=spec.place,
        state=spec.state,
        consultation_opens_at=opens_at,
        consultation_closes_at=closes_at,
    )


def _create_staff(
    session: Session, spec: _DemoStaff, dialogues: dict[str, NewDialogue], at_rest_key: bytes
) -> DemoAccount:
    password = crypto.random_token(_DEMO_PASSWORD_BYTES)
    new = create_staff_user(
        session,
        email=f"{spec.local_part}@{DEMO_EMAIL_DOMAIN}",
        display_name=spec.display_name,
        role=spec.role,
        passphrase=password,
        at_rest_key=at_rest_key,
        must_change_passphrase=False,
    )
    for slug in spec.dialogues:
        grant_desk_access(
            session,
            desk_key=dialogues[slug].desk_key,
            desk_private_key=dialogues[slug].desk_private_key,
            member=new.user,
            granted_by=None,
        )
        grant_identity_key(
            session,
            dialogues[slug].identity_key,
            dialogues[slug].identity_private_key,
            new.user,
            granted_by=None,
        )
        # The set-up made both keys itself, so this one is confirmed: rotations reach it.
        membership = membership_of(session, dialogues[slug].dialogue, new.user)
        record_confirmation(membership, new.user, at_rest_key=at_rest_key, now=utc_now())
    return DemoAccount(
        role=str(spec.role),
        email=new.user.email,
        password=password,
        totp_secret=crypto.totp_secret_base32(new.totp_secret),
        dialogues=spec.dialogues,
    )
