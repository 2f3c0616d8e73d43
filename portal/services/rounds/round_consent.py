"""How far the EU may go with each person named in a case in one round: the one rule behind
every briefing pack, handover list, export and print view.

A person's consent is given per round (DESIGN.md, section 3). For a case that is new in a round,
the consent as it stands (``inbox.consent_history``: as sent, then every change that counted)
applies. A case that was raised, or handed over on an approved list, in an earlier session of
the dialogue is asked again (``ConsentRequest``); until the submitter confirms a person for this
round -- a signed consent change that names the round inside its envelope -- that person is
background only for this round, whatever they allowed before. A confirmation counts only while
no later change replaced it, and the consent it carries is the one that counts: a lower level
sent after a confirmation lowers it at once.

Consent that is not readable (``{}``) allows nothing, not even background: the person is left
out. Levels mean, from least to most:

- ``INTERNAL_ONLY``: EU internal background; never in a briefing's cases, a list or an export;
- ``RAISE_WITHOUT_NAME``: the situation may be raised, the name never leaves the desk;
- ``RAISE_BY_NAME``: the name may be raised in the session;
- ``HANDOVER_LIST``: the name may also go on the list handed to the partner.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from portal.models import (
    CaseOutcome,
    DialogueSession,
    HandoverEntry,
    HowRaised,
    Submission,
)
from portal.services.submissions import inbox  # the module: inbox and handover import us
from portal.services.submissions.payload import ConsentLevel

RAISED_IN_SESSION = frozenset({HowRaised.DURING_ITEM, HowRaised.HANDOVER_LIST})
_ORDER = list(ConsentLevel)


@dataclass(frozen=True)
class PersonInRound:
    """One named person of a case as this round may treat them ("Person ``index + 1``")."""

    index: int
    level: ConsentLevel | None  # what applies this round; None: no readable consent
    awaiting_confirmation: bool  # raised or listed before and not yet confirmed for this round

    @property
    def may_raise(self) -> bool:
        """Whether the person's situation may be raised with the partner at all."""
        return _at_least(self.level, ConsentLevel.RAISE_WITHOUT_NAME)

    @property
    def name_may_be_raised(self) -> bool:
        """Whether the person's name may leave the desk (raised by name, or on the list)."""
        return _at_least(self.level, ConsentLevel.RAISE_BY_NAME)

    @property
    def may_be_handed_over(self) -> bool:
        return _at_least(self.level, ConsentLevel.HANDOVER_LIST)


def persons_in_round(
    session: Session, opened: Any, submission: Submission, dialogue_session: DialogueSession
) -> tuple[PersonInRound, ...]:
    """Every person of ``submission`` as round ``dialogue_session`` may treat them.

    ``opened`` is the submission opened for staff (its payload and checked consent changes);
    nothing here is recorded.
    """
    consents, changes = inbox.consent_history(opened)
    asked_again = was_taken_up_before(session, submission, dialogue_session)
    confirmed: set[int] = set()
    for change in changes:
        # A later change of the same person replaces an earlier confirmation.
        if change.confirms_round == dialogue_session.id:
            confirmed.add(change.person)
        else:
            confirmed.discard(change.person)
    persons = []
    for index, consent in enumerate(consents):
        level = _level(consent)
        awaiting = asked_again and index not in confirmed
        if awaiting and level is not None:
            level = ConsentLevel.INTERNAL_ONLY
        persons.append(PersonInRound(index, level, awaiting))
    return tuple(persons)


def may_go_on_handover_list(persons: Sequence[PersonInRound]) -> bool:
    """A case goes on a list only when it names somebody and everybody it names allows it."""
    return bool(persons) and all(person.may_be_handed_over for person in persons)


def was_taken_up_before(
    session: Session, submission: Submission, dialogue_session: DialogueSession
) -> bool:
    """Whether ``submission`` was raised in, or approved for the handover list of, a session of
    its dialogue held before ``dialogue_session``: then its persons are asked again."""
    earlier = [
        other.id for other in dialogue_session.dialogue.sessions if _before(other, dialogue_session)
    ]
    if not earlier:
        return False
    raised = select(CaseOutcome.id).where(
        CaseOutcome.submission_id == submission.id,
        CaseOutcome.session_id.in_(earlier),
        CaseOutcome.how_raised.in_(RAISED_IN_SESSION),
    )
    listed = select(HandoverEntry.id).where(
        HandoverEntry.submission_id == submission.id,
        HandoverEntry.session_id.in_(earlier),
        HandoverEntry.approved_at.is_not(None),
    )
    return bool(session.scalar(select(exists(raised) | exists(listed))))


def _before(one: DialogueSession, other: DialogueSession) -> bool:
    return (one.date, one.id) < (other.date, other.id)


def _level(consent: dict[str, Any]) -> ConsentLevel | None:
    try:
        return ConsentLevel(consent.get("level"))
    except ValueError:
        return None


def _at_least(level: ConsentLevel | None, floor: ConsentLevel) -> bool:
    return level is not None and _ORDER.index(level) >= _ORDER.index(floor)
