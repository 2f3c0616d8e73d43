"""Operators manage dialogues and sessions with ``portal dialogue`` and ``portal session``.

The happy paths run the command line end to end; every refusal is checked to be one line on
standard error, a non-zero exit and an unchanged database. The stage rules are checked as a
table written out here (not derived from the code under test), and the "accepting submissions"
rule at the edges of its window.
"""

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    AuditEvent,
    DeskKey,
    DeskKeyGrant,
    Dialogue,
    DialogueKind,
    DialogueSession,
    DialogueStatus,
    PartnerKind,
    RecoveryKey,
    SessionPlace,
    SessionState,
)
from portal.services.audit.trail import verify_audit_chain
from portal.services.dialogues.catalogue import create_dialogue, schedule_session
from portal.services.dialogues.dialogue_sessions import (
    SessionChangeRefusedError,
    advance_session,
    close_consultation,
    consultation_accepts_submissions,
    dialogue_accepts_reprisal_reports,
    open_consultation,
)
from tests.conftest import PlainInstance, run_portal

S = SessionState
# Written out by hand: the code's table is what this checks.
EXPECTED_ALLOWED = {
    (S.PLANNED, S.CONSULTATION_OPEN),
    (S.PLANNED, S.CONSULTATION_CLOSED),
    (S.CONSULTATION_OPEN, S.CONSULTATION_CLOSED),
    (S.CONSULTATION_CLOSED, S.CONSULTATION_OPEN),
    (S.CONSULTATION_CLOSED, S.HELD),
    (S.HELD, S.DEBRIEFED),
    (S.DEBRIEFED, S.FOLLOW_UP),
}
NOW = dt.datetime(2031, 5, 4, 12, 0, tzinfo=dt.UTC)


def _portal(instance: PlainInstance, *arguments: str) -> Any:
    return run_portal(instance.environment, *arguments)


def _end_of(day: dt.date) -> dt.datetime:
    """The latest close a consultation for a session on ``day`` may have: midnight after it."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def _ok(instance: PlainInstance, *arguments: str) -> str:
    result = _portal(instance, *arguments)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return str(result.stdout)


@pytest.fixture
def db(plain_instance: PlainInstance) -> Iterator[Session]:
    """A session on the instance's database, for reading what the commands stored."""
    engine = create_engine(plain_instance.settings.database_url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def _snapshot(db: Session) -> tuple[object, ...]:
    """Every row count the commands could change, and every mutable field."""
    db.expire_all()
    counts = tuple(
        db.scalar(select(func.count()).select_from(model))
        for model in (Dialogue, DialogueSession, DeskKey, DeskKeyGrant, AuditEvent)
    )
    dialogues = tuple(db.execute(select(Dialogue.slug, Dialogue.status).order_by(Dialogue.id)))
    sessions = tuple(
        db.execute(
            select(
                DialogueSession.id,
                DialogueSession.state,
                DialogueSession.consultation_opens_at,
                DialogueSession.consultation_closes_at,
            ).order_by(DialogueSession.id)
        )
    )
    return counts, dialogues, sessions


def _session_ids(db: Session, slug: str) -> list[int]:
    db.expire_all()
    return list(
        db.scalars(
            select(DialogueSession.id)
            .join(Dialogue)
            .where(Dialogue.slug == slug)
            .order_by(DialogueSession.id)
        )
    )


def _create(instance: PlainInstance, slug: str, *extra: str) -> str:
    return _ok(
        instance,
        "dialogue",
        "create",
        "--slug",
        slug,
        "--partner",
        f"Partner {slug}",
        "--partner-kind",
        "country",
        "--kind",
        "formal",
        *extra,
    )


def test_dialogue_create_list_and_fingerprint(plain_instance: PlainInstance, db: Session) -> None:
    output = _create(plain_instance, "ostland", "--review-mode", "offline")

    dialogue = db.scalars(select(Dialogue).where(Dialogue.slug == "ostland")).one()
    (desk_key,) = db.scalars(select(DeskKey).where(DeskKey.dialogue_id == dialogue.id))
    recovery = db.scalars(select(RecoveryKey)).one()
    assert (dialogue.status, str(dialogue.review_mode)) == (DialogueStatus.ACTIVE, "offline")
    assert [grant.recovery_key_id for grant in desk_key.grants] == [recovery.id]
    assert crypto.fingerprint(desk_key.public_key) in output
    assert "ostland" in _ok(plain_instance, "dialogue", "list")

    printed = _ok(plain_instance, "dialogue", "fingerprint", "ostland")

    assert f"Fingerprint: {crypto.fingerprint(desk_key.public_key)}" in printed
    assert f"Key id:      {desk_key.key_id.hex()}" in printed
    assert verify_audit_chain(db).intact


def test_session_lifecycle_through_the_command_line(
    plain_instance: PlainInstance, db: Session
) -> None:
    # Held only from its date on: the session is today, its consultation closes tonight.
    today = dt.datetime.now(dt.UTC).date()
    _create(plain_instance, "westmark")
    _ok(
        plain_instance,
        "session",
        "create",
        "westmark",
        "--date",
        today.isoformat(),
        "--place",
        "video",
    )
    (session_id,) = _session_ids(db, "westmark")
    closes = _end_of(today)
    events_before = db.scalar(select(func.count()).select_from(AuditEvent))

    opened = _ok(plain_instance, "session", "open", str(session_id), "--closes", closes.isoformat())
    listing = _ok(plain_instance, "session", "list", "westmark")

    assert "is open from" in opened
    row = next(line for line in listing.splitlines() if line.startswith(str(session_id)))
    assert "consultation_open" in row and row.rstrip().endswith("yes")
    stored = db.get_one(DialogueSession, session_id)
    assert stored.consultation_closes_at == closes

    _ok(plain_instance, "session", "close", str(session_id))
    for stage in ("held", "debriefed", "follow_up"):
        assert stage in _ok(plain_instance, "session", "advance", str(session_id), "--to", stage)

    db.expire_all()
    assert db.get_one(DialogueSession, session_id).state is SessionState.FOLLOW_UP
    changes = list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.sequence > events_before)
            .order_by(AuditEvent.sequence)
        )
    )
    assert [(event.details["from"], event.details["to"]) for event in changes] == [
        ("planned", "consultation_open"),
        ("consultation_open", "consultation_closed"),
        ("consultation_closed", "held"),
        ("held", "debriefed"),
        ("debriefed", "follow_up"),
    ]
    assert {event.action for event in changes} == {"session.state_changed"}
    assert verify_audit_chain(db).intact


def test_a_session_is_recorded_as_held_only_from_its_date(
    plain_instance: PlainInstance, db: Session
) -> None:
    next_year = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=365)
    opens = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    _create(plain_instance, "suedmark")
    _ok(
        plain_instance,
        *("session", "create", "suedmark", "--date", next_year.isoformat(), "--place", "video"),
        *("--opens", opens.isoformat(), "--closes", (opens + dt.timedelta(days=9)).isoformat()),
    )
    (session_id,) = _session_ids(db, "suedmark")
    _ok(plain_instance, "session", "open", str(session_id))
    _ok(plain_instance, "session", "close", str(session_id))
    before = _snapshot(db)

    for stage in ("held", "debriefed"):
        result = _portal(plain_instance, "session", "advance", str(session_id), "--to", stage)

        assert result.exit_code == 1 and result.stdout == ""
        assert result.stderr.strip() == (
            f"Error: session {session_id} takes place on {next_year.isoformat()}; it can be "
            f'recorded as "{stage}" only on or after that day '
            f"(today is {dt.datetime.now(dt.UTC).date().isoformat()}, UTC)"
        )
        assert _snapshot(db) == before


def test_freeze_closes_open_consultations_and_unfreeze_reopens_nothing(
    plain_instance: PlainInstance, db: Session
) -> None:
    _create(plain_instance, "nordheim")
    opens = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    closes = opens + dt.timedelta(days=10)
    _ok(
        plain_instance,
        "session",
        "create",
        "nordheim",
        "--date",
        "2031-10-01",
        "--place",
        "brussels",
        "--opens",
        opens.isoformat(),
        "--closes",
        closes.isoformat(),
    )
    (session_id,) = _session_ids(db, "nordheim")
    _ok(plain_instance, "session", "open", str(session_id))

    frozen = _ok(plain_instance, "dialogue", "freeze", "nordheim")

    assert f"session {session_id}" in frozen
    db.expire_all()
    dialogue = db.scalars(select(Dialogue).where(Dialogue.slug == "nordheim")).one()
    assert dialogue.status is DialogueStatus.FROZEN
    assert db.get_one(DialogueSession, session_id).state is SessionState.CONSULTATION_CLOSED

    _ok(plain_instance, "dialogue", "unfreeze", "nordheim")

    db.expire_all()
    assert db.get_one(Dialogue, dialogue.id).status is DialogueStatus.ACTIVE
    assert db.get_one(DialogueSession, session_id).state is SessionState.CONSULTATION_CLOSED


@pytest.fixture
def refusal_setup(plain_instance: PlainInstance, db: Session) -> dict[str, str]:
    """A dialogue with a planned session, a session at its last stage and a planned session
    whose window has passed, and a frozen dialogue with a closed session; made once per
    module, their ids for the refusal cases."""
    if db.scalar(select(Dialogue.id).where(Dialogue.slug == "refusals")) is None:
        _create(plain_instance, "refusals")
        _create(plain_instance, "refusals-frozen")
        for slug in ("refusals", "refusals-frozen"):
            _ok(
                plain_instance,
                "session",
                "create",
                slug,
                "--date",
                "2031-11-01",
                "--place",
                "brussels",
                "--opens",
                "2031-10-01T08:00Z",
                "--closes",
                "2031-10-20T16:00+02:00",
            )
        today = dt.datetime.now(dt.UTC).date()
        _ok(plain_instance, *NEW_SESSION, "--date", today.isoformat())
        planned, last = _session_ids(db, "refusals")
        (frozen_session,) = _session_ids(db, "refusals-frozen")
        _ok(plain_instance, "session", "open", str(frozen_session))
        _ok(plain_instance, "dialogue", "freeze", "refusals-frozen")
        _ok(plain_instance, "session", "open", str(last), "--closes", _end_of(today).isoformat())
        _ok(plain_instance, "session", "close", str(last))
        for stage in ("held", "debriefed", "follow_up"):
            _ok(plain_instance, "session", "advance", str(last), "--to", stage)
        _ok(
            plain_instance,
            *("session", "create", "refusals", "--date", "2020-02-01", "--place", "video"),
            *("--opens", "2020-01-01T08:00Z", "--closes", "2020-01-10T16:00Z"),
        )
    planned, last, past = _session_ids(db, "refusals")
    (frozen_session,) = _session_ids(db, "refusals-frozen")
    return {
        "planned": str(planned),
        "frozen": str(frozen_session),
        "last": str(last),
        "past": str(past),
    }


CREATE = ("dialogue", "create", "--partner-kind", "country", "--kind", "formal")
NEW_SESSION = ("session", "create", "refusals", "--place", "video")
REFUSALS = [
    # (arguments with {planned}/{frozen}/{last} placeholders, exit status, words in the error)
    ((*CREATE, "--slug", "refusals", "--partner", "Again"), 1, "already exists"),
    ((*CREATE, "--slug", "Bad Slug", "--partner", "X"), 1, "short name"),
    ((*CREATE, "--slug", "blank-partner", "--partner", "  "), 1, "partner name"),
    ((*CREATE, "--slug", "long", "--partner", "x" * 201), 1, "at most 200"),
    (
        (
            "dialogue",
            "create",
            "--slug",
            "x",
            "--partner",
            "X",
            "--partner-kind",
            "moon",
            "--kind",
            "formal",
        ),
        2,
        "--partner-kind",
    ),
    (
        (
            "dialogue",
            "create",
            "--slug",
            "x",
            "--partner",
            "X",
            "--partner-kind",
            "country",
            "--kind",
            "formal",
            "--review-mode",
            "paper",
        ),
        2,
        "--review-mode",
    ),
    (("dialogue", "freeze", "no-such-dialogue"), 1, "no dialogue named"),
    (("dialogue", "freeze", "refusals-frozen"), 1, "already frozen"),
    (("dialogue", "unfreeze", "refusals"), 1, "not frozen"),
    (("dialogue", "fingerprint", "no-such-dialogue"), 1, "no dialogue named"),
    (
        ("session", "create", "no-such-dialogue", "--date", "2031-01-01", "--place", "video"),
        1,
        "no dialogue named",
    ),
    ((*NEW_SESSION, "--date", "2031-02-30"), 2, "YYYY-MM-DD"),
    ((*NEW_SESSION, "--date", "next week"), 2, "YYYY-MM-DD"),
    (("session", "create", "refusals", "--date", "2031-01-01", "--place", "moon"), 2, "--place"),
    (
        (
            *NEW_SESSION,
            "--date",
            "2031-01-01",
            "--opens",
            "2031-01-01T08:00",
            "--closes",
            "2031-01-02T08:00Z",
        ),
        2,
        "no offset",
    ),
    (
        (*NEW_SESSION, "--date", "2031-01-01", "--opens", "soon", "--closes", "2031-01-02T08:00Z"),
        2,
        "ISO 8601",
    ),
    (
        (
            *NEW_SESSION,
            "--date",
            "2031-01-01",
            "--opens",
            "2031-01-02T08:00Z",
            "--closes",
            "2031-01-02T09:00+02:00",
        ),
        1,
        "open before it closes",
    ),
    ((*NEW_SESSION, "--date", "2031-01-01", "--opens", "2031-01-02T08:00Z"), 1, "both"),
    (("session", "open", "999999"), 1, "no session number 999999"),
    (("session", "open", "seven"), 2, "ID"),
    (("session", "open", "{frozen}"), 1, "frozen"),
    (("session", "open", "{planned}", "--closes", "2001-01-01T00:00Z"), 1, "open before"),
    (("session", "open", "{last}"), 1, 'cannot go from "follow_up"'),
    (("session", "open", "{past}"), 1, "already passed"),
    (("session", "close", "{last}"), 1, 'cannot go from "follow_up" to "consultation_closed"'),
    (("session", "advance", "{past}", "--to", "held"), 1, 'cannot go from "planned" to "held"'),
    (("session", "advance", "{planned}", "--to", "held"), 1, '"held" only on or after'),
    (("session", "advance", "{planned}", "--to", "debriefed"), 1, '"debriefed" only on or after'),
    (
        ("session", "open", "{planned}", "--closes", "2031-11-02T00:00:01Z"),
        1,
        "by the end of the session's day",
    ),
    (("session", "advance", "{planned}", "--to", "consultation_open"), 2, "--to"),
    (("session", "list", "no-such-dialogue"), 1, "no dialogue named"),
]


@pytest.mark.parametrize(("arguments", "status", "words"), REFUSALS)
def test_refusals_are_one_line_and_change_nothing(
    plain_instance: PlainInstance,
    db: Session,
    refusal_setup: dict[str, str],
    arguments: tuple[str, ...],
    status: int,
    words: str,
) -> None:
    before = _snapshot(db)

    result = _portal(plain_instance, *(part.format(**refusal_setup) for part in arguments))

    assert result.exit_code == status
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert words in lines[0]
    assert _snapshot(db) == before


def test_help_says_how_moments_are_written(plain_instance: PlainInstance) -> None:
    output = " ".join(_ok(plain_instance, "session", "create", "--help").split())

    assert "with an explicit offset" in output and "or UTC" in output


@pytest.fixture
def rolled_back(plain_instance: PlainInstance) -> Iterator[Session]:
    """A session on the instance whose changes are all rolled back."""
    engine = create_engine(plain_instance.settings.database_url)
    try:
        with Session(engine) as session:
            try:
                yield session
            finally:
                session.rollback()
    finally:
        engine.dispose()


def _session_in(session: Session, state: SessionState, slug: str) -> DialogueSession:
    recovery = session.scalars(select(RecoveryKey)).one()
    dialogue = create_dialogue(
        session,
        slug=slug,
        partner="Transitions",
        partner_kind=PartnerKind.COUNTRY,
        kind=DialogueKind.INFORMAL,
        recovery_key=recovery,
    ).dialogue
    return schedule_session(
        session,
        dialogue,
        date=NOW.date(),
        place=SessionPlace.VIDEO,
        state=state,
        consultation_opens_at=NOW - dt.timedelta(days=1),
        consultation_closes_at=NOW + dt.timedelta(hours=6),
    )


def _change(session: Session, dialogue_session: DialogueSession, target: SessionState) -> None:
    if target is SessionState.CONSULTATION_OPEN:
        open_consultation(session, dialogue_session, now=NOW)
    elif target is SessionState.CONSULTATION_CLOSED:
        close_consultation(session, dialogue_session)
    else:
        advance_session(session, dialogue_session, target, today=NOW.date())


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_transition_table(
    rolled_back: Session, current: SessionState, target: SessionState
) -> None:
    dialogue_session = _session_in(rolled_back, current, f"t-{current}-{target}".replace("_", "-"))
    events_before = rolled_back.scalar(select(func.count()).select_from(AuditEvent))

    if target is SessionState.PLANNED or (current, target) not in EXPECTED_ALLOWED:
        with pytest.raises(SessionChangeRefusedError):
            _change(rolled_back, dialogue_session, target)
        assert dialogue_session.state is current
        assert rolled_back.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    else:
        _change(rolled_back, dialogue_session, target)
        assert dialogue_session.state is target
        assert rolled_back.scalar(select(func.count()).select_from(AuditEvent)) == (
            events_before + 1
        )


def _window_session(state: SessionState, status: DialogueStatus) -> DialogueSession:
    return DialogueSession(
        dialogue=Dialogue(status=status),
        state=state,
        consultation_opens_at=NOW,
        consultation_closes_at=NOW + dt.timedelta(days=7),
    )


@pytest.mark.parametrize(
    ("moment", "accepts"),
    [
        (NOW - dt.timedelta(microseconds=1), False),
        (NOW, True),
        (NOW + dt.timedelta(days=7) - dt.timedelta(microseconds=1), True),
        (NOW + dt.timedelta(days=7), False),
    ],
)
def test_open_rule_at_the_window_edges(moment: dt.datetime, accepts: bool) -> None:
    dialogue_session = _window_session(SessionState.CONSULTATION_OPEN, DialogueStatus.ACTIVE)

    assert consultation_accepts_submissions(dialogue_session, moment) is accepts


@pytest.mark.parametrize("state", [state for state in S if state is not S.CONSULTATION_OPEN])
def test_open_rule_needs_the_open_stage(state: SessionState) -> None:
    dialogue_session = _window_session(state, DialogueStatus.ACTIVE)

    assert not consultation_accepts_submissions(dialogue_session, NOW)


def test_open_rule_refuses_a_frozen_dialogue_and_a_missing_window() -> None:
    frozen = _window_session(SessionState.CONSULTATION_OPEN, DialogueStatus.FROZEN)
    no_window = DialogueSession(
        dialogue=Dialogue(status=DialogueStatus.ACTIVE), state=SessionState.CONSULTATION_OPEN
    )

    assert not consultation_accepts_submissions(frozen, NOW)
    assert not consultation_accepts_submissions(no_window, NOW)
    assert not dialogue_accepts_reprisal_reports(frozen.dialogue)
    assert dialogue_accepts_reprisal_reports(Dialogue(status=DialogueStatus.ACTIVE))
