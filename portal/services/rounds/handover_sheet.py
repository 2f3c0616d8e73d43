"""The handover list as one reader sees it: the list page, the panel on a case, and the sheet
that is printed and exported for the meeting.

The list page and the case panel are plaintext metadata (which case, its kind and state, who
proposed and approved it, where each entry stands): nothing is opened. The sheet opens each case
still on the list for the reader (``reading.open_submission_for_staff``, which records one read
per case, and one reading of its names when they open), so a printed or exported list costs one
read per case per view, on record like every other read.

A name is on the sheet only when both say yes: the round allows the handover list for that
person (``round_consent``) *and* the reader can open the case's names (the identity
compartment, ``staff.identities``). Otherwise the person stays "Person N", and a reader for whom
the names are sealed is told so, with the triage officers who can name them on the case.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DialogueSession,
    HandoverEntry,
    StaffUser,
    Submission,
)
from portal.services.audit.trail import AuditAction, record_session_event
from portal.services.desks import need_to_know
from portal.services.desks.identity_keys import staff_grant
from portal.services.rounds import handover, round_consent
from portal.services.staff import triage
from portal.services.staff.reading import ReadRefusedError, open_submission_for_staff
from portal.services.staff.web_sessions import SignedInStaff
from portal.translatable import translatable


@dataclass(frozen=True)
class ListedEntry:
    entry: HandoverEntry
    standing: handover.EntryStanding


@dataclass(frozen=True)
class HandoverList:
    """A session's list on one day, by where each entry stands."""

    dialogue_session: DialogueSession
    proposed: list[ListedEntry]
    approved: list[ListedEntry]
    left: list[ListedEntry]
    frozen_by: StaffUser | None

    @property
    def frozen(self) -> bool:
        return self.dialogue_session.handover_frozen_at is not None


@dataclass(frozen=True)
class PersonOnSheet:
    """A person the round allows on the list; the others are left off the sheet altogether."""

    number: int  # "Person 1" is 1
    name: str | None  # only when the reader opens the names (and no change is unverified)


@dataclass(frozen=True)
class CaseOnSheet:
    number: int  # its place on the sheet, never the submitter's reference
    entry: HandoverEntry
    persons: tuple[PersonOnSheet, ...]
    opened: bool  # the reader could open the case at all
    names_sealed: bool  # the case's names are sealed for this reader
    name_givers: tuple[StaffUser, ...]  # triage officers who can name the reader on the case


@dataclass(frozen=True)
class CasePanel:
    """The handover part of a case's page: its entries and the lists it may be proposed for."""

    entries: list[ListedEntry]
    choices: list[tuple[DialogueSession, str | None]]  # each session with why not, or None


def handover_list(
    session: Session, dialogue_session: DialogueSession, *, today: dt.date
) -> HandoverList:
    listed = [
        ListedEntry(entry, handover.entry_standing(entry, today))
        for entry in handover.session_entries(session, dialogue_session)
    ]
    return HandoverList(
        dialogue_session,
        proposed=[item for item in listed if item.standing.standing is handover.Standing.PROPOSED],
        approved=[item for item in listed if item.standing.standing is handover.Standing.APPROVED],
        left=[item for item in listed if item.standing.standing is handover.Standing.LEFT],
        frozen_by=(
            None
            if dialogue_session.handover_frozen_by_id is None
            else session.get(StaffUser, dialogue_session.handover_frozen_by_id)
        ),
    )


def case_panel(
    session: Session, submission: Submission, opened: Any, *, today: dt.date
) -> CasePanel:
    """What the case page shows and offers about the handover list (``opened``: the case as
    the page opened it)."""
    entries = [
        ListedEntry(entry, handover.entry_standing(entry, today))
        for entry in submission.handover_entries
    ]
    if any(item.standing.in_force for item in entries):
        return CasePanel(entries, [])  # one list at a time: nothing more to propose
    choices = [
        (
            candidate,
            handover.proposal_refusal(session, submission, opened, candidate, today=today),
        )
        for candidate in handover.sessions_to_propose_for(submission)
    ]
    return CasePanel(entries, choices)


def sheet(
    session: Session,
    signed_in: SignedInStaff,
    listed: HandoverList,
    *,
    now: dt.datetime,
) -> list[CaseOnSheet]:
    """The cases on the list as ``signed_in`` may print them, each opened once (and audited)."""
    return [
        _case_on_sheet(session, signed_in, listed.dialogue_session, number, item.entry, now=now)
        for number, item in enumerate(listed.approved, start=1)
    ]


def record_export(
    session: Session, actor: StaffUser, listed: HandoverList, *, now: dt.datetime
) -> None:
    """Refuse the export of a list that is not frozen; record the export of a frozen one."""
    if not listed.frozen:
        raise handover.HandoverRefusedError(
            translatable("freeze the handover list before exporting it")
        )
    record_session_event(
        session,
        AuditAction.HANDOVER_EXPORTED,
        actor,
        listed.dialogue_session,
        cases=[item.entry.submission_id for item in listed.approved],
    )


def _case_on_sheet(
    session: Session,
    signed_in: SignedInStaff,
    dialogue_session: DialogueSession,
    number: int,
    entry: HandoverEntry,
    *,
    now: dt.datetime,
) -> CaseOnSheet:
    submission = entry.submission
    givers = tuple(_name_givers(session, submission))
    try:
        opened = open_submission_for_staff(session, signed_in, submission, now=now)
    except (ReadRefusedError, crypto.DecryptionError):
        return CaseOnSheet(number, entry, (), False, True, givers)
    readable = opened.names.readable
    # An unverified consent change may be a withdrawal: no name while one is there.
    trusted = all(change.usable for change in opened.consent_changes)
    payload_persons = opened.payload.get("persons", [])
    persons = tuple(
        PersonOnSheet(
            person.index + 1, _name(payload_persons, person.index) if readable and trusted else None
        )
        for person in round_consent.persons_in_round(session, opened, submission, dialogue_session)
        if person.may_be_handed_over
    )
    return CaseOnSheet(number, entry, persons, True, not readable, givers)


def _name(persons: Sequence[Any], index: int) -> str | None:
    person = persons[index] if index < len(persons) else None
    name = person.get("name") if isinstance(person, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def _name_givers(session: Session, submission: Submission) -> list[StaffUser]:
    """The desk's triage officers who hold the key to the case's names, so can name a member on
    it (``identities.name_members``)."""
    identity = submission.identity
    return [
        member
        for member in triage.key_holders(session, submission)
        if member.role in need_to_know.TRIAGE_ROLES
        and (identity is None or staff_grant(session, identity.identity_key, member) is not None)
    ]
