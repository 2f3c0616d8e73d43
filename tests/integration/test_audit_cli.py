"""``portal audit verify`` and ``portal audit head``: exit codes and the one-line reports.

The untouched demo instance passes; fresh instances (see ``test_audit_chain``) are tampered with
in SQL and the command must name the first broken event as stored, on both databases.
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from portal.models import AuditEvent
from portal.services.audit.trail import AuditAction, describe_event
from tests.conftest import BACKENDS, DemoInstance, run_portal
from tests.integration.test_audit_chain import AuditedInstance, audited_instance

INTACT_LINE = re.compile(r"^audit trail intact: (\d+) events, head (\d+) ([0-9a-f]{64})$")
HEAD_LINE = re.compile(r"^(\d+):([0-9a-f]{64})$")


@pytest.fixture(params=BACKENDS)
def audited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditedInstance]:
    with audited_instance(request.param, tmp_path) as instance:
        yield instance


def _verify(environment: dict[str, str | None], *arguments: str) -> tuple[int, str, str]:
    result = run_portal(environment, "audit", "verify", *arguments)
    return result.exit_code, result.stdout, result.stderr


def _broken_line(audited: AuditedInstance, *arguments: str) -> str:
    """The one line a failing verification prints (on standard error), checking it failed."""
    code, stdout, stderr = _verify(audited.environment, *arguments)
    assert (code, stdout) == (1, ""), stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _head(environment: dict[str, str | None]) -> str:
    result = run_portal(environment, "audit", "head")
    assert result.exit_code == 0, result.output
    assert HEAD_LINE.match(result.stdout.strip()), result.stdout
    return result.stdout.strip()


def test_the_demo_trail_passes_and_shows_its_head(demo_instance: DemoInstance) -> None:
    code, stdout, stderr = _verify(demo_instance.environment)

    assert (code, stderr) == (0, ""), stderr
    match = INTACT_LINE.match(stdout.strip())
    assert match is not None, stdout
    engine = create_engine(demo_instance.settings.database_url, poolclass=NullPool)
    try:
        with Session(engine) as session:
            count = session.scalar(select(func.count()).select_from(AuditEvent))
            last = session.scalars(select(AuditEvent).order_by(AuditEvent.sequence.desc())).first()
            actions = set(session.scalars(select(AuditEvent.action)))
    finally:
        engine.dispose()
    assert count > 10  # the demo makes accounts, dialogues, sessions, desk keys and grants
    assert {str(AuditAction.STAFF_CREATED), str(AuditAction.DESK_KEY_GRANTED)} <= actions
    assert match.groups() == (str(count), str(last.sequence), last.hash.hex())
    head = _head(demo_instance.environment)
    assert head == f"{last.sequence}:{last.hash.hex()}"
    code, stdout, _ = _verify(demo_instance.environment, "--expect-head", head)
    assert code == 0 and INTACT_LINE.match(stdout.strip())


@pytest.mark.parametrize(
    "change",
    [
        {"details": {"step": 99}},
        {"action": str(AuditAction.SUBMISSION_DECLINED)},
        {"actor_staff_user_id": None},
    ],
    ids=["details", "action", "actor"],
)
def test_an_edited_event_fails_naming_it(audited: AuditedInstance, change: dict) -> None:
    victim = audited.last_sequence - 3
    audited.update(victim, **change)
    edited = audited.event(victim)

    line = _broken_line(audited)

    assert line == (
        f"audit trail broken at event {victim}: {describe_event(edited)} was edited: its stored "
        "fields do not match its hash"
    )
    # Named as stored: sequence, action, object and time.
    stored_time = edited.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for part in (f"event {victim} (", edited.action, edited.object_id, stored_time):
        assert part in line


def test_a_removed_event_fails_naming_the_missing_one(audited: AuditedInstance) -> None:
    victim = audited.last_sequence - 4
    audited.delete(victim)

    line = _broken_line(audited)

    assert line == (
        f"audit trail broken at event {victim}: event {victim} is missing "
        f"(next found is {describe_event(audited.event(victim + 1))})"
    )


def test_reordered_events_fail_naming_the_first(audited: AuditedInstance) -> None:
    first = audited.last_sequence - 5
    audited.swap_contents(first, first + 1)

    line = _broken_line(audited)

    assert line.startswith(
        f"audit trail broken at event {first}: {describe_event(audited.event(first))} is out of "
        f"order: it follows event {first + 1} in the chain, not event {first - 1}"
    )


def test_rows_moved_to_each_others_places_fail_naming_the_first(
    audited: AuditedInstance,
) -> None:
    first = audited.last_sequence - 6
    audited.swap_rows(first, first + 2)

    line = _broken_line(audited)

    assert line.startswith(f"audit trail broken at event {first}: event {first} (")
    assert "is out of order" in line


def test_removing_the_last_event_needs_the_kept_head(audited: AuditedInstance) -> None:
    kept = _head(audited.environment)
    sequence = int(kept.split(":")[0])
    audited.delete(sequence)

    # The documented limit: without a kept head the shorter trail passes.
    code, stdout, stderr = _verify(audited.environment)
    assert (code, stderr) == (0, "")
    assert stdout.startswith(f"audit trail intact: {sequence - 1} events, head {sequence - 1} ")

    line = _broken_line(audited, "--expect-head", kept)

    assert line == (
        f"audit trail broken at event {sequence}: the kept head event {sequence} "
        f"({kept.split(':')[1]}) is missing: the trail ends at event {sequence - 1}, so event "
        f"{sequence} was removed"
    )


def test_a_kept_head_still_in_a_longer_trail_passes(audited: AuditedInstance) -> None:
    early = audited.event(2)

    code, stdout, _ = _verify(audited.environment, "--expect-head", f"2:{early.hash.hex()}")

    assert code == 0
    assert stdout.startswith(f"audit trail intact: {audited.last_sequence} events, ")


def test_a_head_that_is_not_in_the_trail_fails(audited: AuditedInstance) -> None:
    line = _broken_line(audited, "--expect-head", f"3:{'ab' * 32}")

    assert line.startswith(f"audit trail broken at event 3: {describe_event(audited.event(3))}")
    assert "is not the kept head" in line


@pytest.mark.parametrize("head", ["12", "x:00", "5:abc", "0:" + "00" * 32])
def test_a_malformed_head_is_a_usage_error(audited: AuditedInstance, head: str) -> None:
    result = run_portal(audited.environment, "audit", "verify", "--expect-head", head)

    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--expect-head" in result.stderr


def test_the_help_tells_the_limit_and_the_remedy(audited: AuditedInstance) -> None:
    for command in (("audit",), ("audit", "verify"), ("audit", "head")):
        # Whitespace dropped: click re-wraps the help and may break a line after a hyphen.
        help_text = "".join(run_portal(audited.environment, *command, "--help").stdout.split())
        assert "--expect-head" in help_text
        assert "removed" in help_text or "Removing" in help_text
