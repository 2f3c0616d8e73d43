"""The identity compartment of a case: who reads the names of the persons it is about.

Every desk member who may read a case reads its persons as "Person 1", "Person 2" with their
consent (``submissions.identities``). The names open, by cryptography and not only by this code,
for:

- the desk's **triage officers**, through their grant of the dialogue's identity key
  (``desks.identity_keys``), which the names were sealed to at arrival;
- the members a triage officer **names on the case** (:func:`name_members`): during that officer's
  request, whose session holds their personal key and so the identity key, the names are re-sealed
  to a fresh key of this case alone (the compartment key) and its private half is sealed to each
  named member's personal key. Naming again makes a new compartment key and new grants, so a
  member taken off the list loses the key as well as the row;
- a member given **emergency access** to the names (:func:`grant_emergency_names`): only a holder
  of the identity key can seal the compartment key to someone, so a triage officer gives it, with
  a written reason that the desk sees (an ``EmergencyAccess`` row) and an audit event; the grant
  is honoured for :data:`need_to_know.EMERGENCY_ACCESS_LIFETIME` and dropped at the next naming.

A row naming a member that no holder sealed (a database writer's) opens nothing: the grant's
envelope must open with the member's personal key under a context bound to the case, the
compartment key and the account, and hold the key whose public half the case records.

Submissions stored before the compartment keep their names in the submission envelope
(:attr:`NamesState.IN_SUBMISSION`): they are shown as before to everyone who reads the case.
"""

import datetime as dt
import enum
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    CompartmentGrant,
    EmergencyAccess,
    ReviewMode,
    StaffUser,
    Submission,
    SubmissionIdentity,
)
from portal.services.audit.trail import AuditAction, record_submission_event
from portal.services.contexts import (
    SubmissionAddress,
    compartment_context,
    compartment_copy_context,
    compartment_grant_context,
)
from portal.services.desks import need_to_know
from portal.services.desks.identity_keys import open_identity_key_grant, staff_grant
from portal.services.staff.staff_signatures import (
    StaffSignature,
    sign_as_staff,
    staff_signature_holds,
)
from portal.services.staff.triage import (
    TriageRefusedError,
    key_holders,
    record_emergency_access,
    require_triage,
)
from portal.services.staff.web_sessions import SignedInStaff
from portal.services.submissions.payload import decode_payload
from portal.services.submissions.provenance import Provenance, identities_provenance
from portal.translatable import translatable


class NamesState(enum.StrEnum):
    """Whether a reader of a case reads the names of its persons."""

    IN_SUBMISSION = "in_submission"  # stored before the compartment: names in the envelope
    OPEN = "open"  # this reader holds the identity key or a grant of the compartment
    SEALED = "sealed"  # sealed apart, and this reader is neither
    UNVERIFIED = "unverified"  # the identities envelope fails its signature: never shown

    @property
    def readable(self) -> bool:
        """Whether this reader reads the names: every page, print and export asks this."""
        return self in (NamesState.IN_SUBMISSION, NamesState.OPEN)


@dataclass(frozen=True)
class OpenedNames:
    """What :func:`names_for` found: the state, and the identities plaintext when open."""

    state: NamesState
    identities: dict[str, Any] | None = None


def names_for(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    submission_key: bytes | None,
    *,
    now: dt.datetime,
) -> OpenedNames:
    """The identities of ``submission`` if ``signed_in`` may open them; nothing is recorded.

    The caller has already checked that the person may read the case (``reading``) and opened
    it: ``submission_key`` is the signing key its sealed content names (``None`` before
    signatures), which the identities envelope must be signed by (``UNVERIFIED`` otherwise).
    """
    identity: SubmissionIdentity | None = submission.identity
    if identity is None:
        return OpenedNames(NamesState.IN_SUBMISSION)
    try:
        plaintext = _open_with_identity_key(session, signed_in, identity, submission_key)
        if plaintext is None:
            plaintext = _open_with_compartment(session, signed_in, identity, now=now)
    except _UnverifiedIdentitiesError:
        return OpenedNames(NamesState.UNVERIFIED)
    if plaintext is None:
        return OpenedNames(NamesState.SEALED)
    return OpenedNames(NamesState.OPEN, decode_payload(plaintext))


def holds_names_grant(
    session: Session, user: StaffUser, submission: Submission, *, now: dt.datetime
) -> bool:
    """Whether ``user`` holds a grant that opens the names of ``submission`` (or the names are in
    its submission envelope): the web export carries a case's identities envelope only then.
    Grants are not opened here, so this is what the rows say, for a choice that hands out no key
    (the identities envelope in a bundle opens only with the recovery key)."""
    identity = submission.identity
    if identity is None:
        return True
    if user.role in need_to_know.TRIAGE_ROLES and staff_grant(session, identity.identity_key, user):
        return True
    return any(
        grant.staff_user_id == user.id and _in_force(grant, now) for grant in identity.grants
    )


def name_readers(submission: Submission, *, now: dt.datetime) -> list[CompartmentGrant]:
    """The grants of the case's compartment in force: who is named on it, and who has emergency
    access that has not ended."""
    identity = submission.identity
    if identity is None:
        return []
    return [grant for grant in identity.grants if _in_force(grant, now)]


def name_members(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    member_ids: Sequence[int],
    *,
    now: dt.datetime,
) -> list[int]:
    """Name the members who read the case's names (module docstring); returns their ids.

    Refuses (``TriageForbiddenError``/``TriageRefusedError``) unless ``signed_in`` is a triage
    officer who may read the case and holds the identity key, and every member named holds the
    desk key the case is sealed to. Naming nobody leaves the names to the triage officers.
    """
    actor = signed_in.user
    require_triage(session, actor, submission, now=now)
    identity = _compartmented(submission)
    named = sorted(set(member_ids))
    eligible = {user.id: user for user in key_holders(session, submission)}
    if not set(named) <= set(eligible):
        raise TriageRefusedError(
            translatable("name only desk members who hold the desk key of this submission")
        )
    kept = [
        (grant.staff_user, grant.expires_at)
        for grant in identity.grants
        if _still_emergency(grant, now)
        and grant.staff_user_id in eligible
        and grant.staff_user_id not in named
    ]
    readers = [(eligible[user_id], None) for user_id in named] + kept
    _reseal(session, signed_in, submission, identity, readers)
    record_submission_event(
        session, AuditAction.SUBMISSION_NAME_READERS_SET, actor, submission, members=named
    )
    return named


def grant_emergency_names(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    member_id: int,
    justification: str,
    *,
    now: dt.datetime,
) -> EmergencyAccess:
    """Give one desk member the case's names for a while, with a written reason (module
    docstring): the compartment key is sealed to them, and the access shown to the desk."""
    actor = signed_in.user
    require_triage(session, actor, submission, now=now)
    identity = _compartmented(submission)
    member = {user.id: user for user in key_holders(session, submission)}.get(member_id)
    if member is None:
        raise TriageRefusedError(
            translatable("give access only to a desk member who holds the desk key")
        )
    if any(grant.staff_user_id == member.id for grant in identity.grants):
        raise TriageRefusedError(
            translatable("%(name)s already reads the names of this case", name=member.display_name)
        )

    access = record_emergency_access(session, submission, member, justification, now=now)
    readers = [
        (grant.staff_user, grant.expires_at) for grant in identity.grants if _in_force(grant, now)
    ]
    _reseal(session, signed_in, submission, identity, [*readers, (member, access.expires_at)])
    record_submission_event(
        session,
        AuditAction.NAMES_EMERGENCY_ACCESS,
        actor,
        submission,
        member=member.id,
        emergency_access=access.id,
        expires_at=access.expires_at.astimezone(dt.UTC).isoformat(),
    )
    return access


def record_names_read(session: Session, actor: StaffUser, submission: Submission) -> None:
    """Audit that ``actor`` read the names of ``submission`` (the event names no one)."""
    record_submission_event(session, AuditAction.NAMES_READ, actor, submission)


# --- helpers -----------------------------------------------------------------------------------


def _compartmented(submission: Submission) -> SubmissionIdentity:
    if submission.dialogue.review_mode is ReviewMode.OFFLINE:
        raise TriageRefusedError(
            translatable("this dialogue is reviewed offline: its names open only there")
        )
    identity = submission.identity
    if identity is None:
        raise TriageRefusedError(
            translatable(
                "this submission was stored before names were sealed apart: every member who reads "
                "it reads its names"
            )
        )
    return identity


def _holder_plaintext(
    session: Session, signed_in: SignedInStaff, identity: SubmissionIdentity
) -> bytes:
    """The names a holder of the identity key re-seals to a compartment: checked against the
    signing key the submission's row names (a writer who swaps it makes the submission itself
    unverified, so that nobody reads the case, copied names or not)."""
    mirror = identity.submission.signing_public_key
    try:
        plaintext = _open_with_identity_key(
            session, signed_in, identity, None if mirror is None else bytes(mirror)
        )
    except _UnverifiedIdentitiesError:
        raise TriageRefusedError(
            translatable("the names of this case could not be verified, so they are not passed on")
        ) from None
    if plaintext is None:
        raise TriageRefusedError(
            translatable(
                "you do not hold this dialogue's identity key, so you cannot open the names to "
                "anyone; ask a triage officer who holds it"
            )
        )
    return plaintext


class _UnverifiedIdentitiesError(crypto.DecryptionError):
    """The identities envelope fails its signature: it is never opened for use."""


def _open_with_identity_key(
    session: Session,
    signed_in: SignedInStaff,
    identity: SubmissionIdentity,
    submission_key: bytes | None,
) -> bytes | None:
    grant = staff_grant(session, identity.identity_key, signed_in.user)
    if grant is None or signed_in.user.role not in need_to_know.TRIAGE_ROLES:
        return None
    address = SubmissionAddress.of(identity.submission)
    signature = None if identity.signature is None else bytes(identity.signature)
    provenance, context = identities_provenance(
        submission_key, address, identity.envelope, signature
    )
    if provenance is Provenance.UNVERIFIED:
        raise _UnverifiedIdentitiesError("the identities envelope does not verify")
    try:
        key = open_identity_key_grant(grant, signed_in.personal_key())
        return crypto.open_envelope(identity.envelope, key, context)
    except crypto.DecryptionError:
        return None


def _open_with_compartment(
    session: Session, signed_in: SignedInStaff, identity: SubmissionIdentity, *, now: dt.datetime
) -> bytes | None:
    if identity.compartment_public_key is None or identity.compartment_envelope is None:
        return None
    grant = session.scalars(
        select(CompartmentGrant).where(
            CompartmentGrant.submission_identity_id == identity.id,
            CompartmentGrant.staff_user_id == signed_in.user.id,
        )
    ).first()
    if grant is None or not _in_force(grant, now):
        return None
    address = SubmissionAddress.of(identity.submission)
    key_id = crypto.key_id(identity.compartment_public_key)
    context = _compartment_copy_context(session, signed_in, identity)
    try:
        raw = crypto.open_envelope(
            grant.envelope,
            signed_in.personal_key(),
            compartment_grant_context(address, key_id, signed_in.user.id),
        )
        key = crypto.load_private_key(raw)
        if crypto.public_key_bytes(key) != identity.compartment_public_key:
            return None
        return crypto.open_envelope(identity.compartment_envelope, key, context)
    except crypto.DecryptionError:
        return None


def _still_emergency(grant: CompartmentGrant, now: dt.datetime) -> bool:
    return grant.expires_at is not None and grant.expires_at > now


def _in_force(grant: CompartmentGrant, now: dt.datetime) -> bool:
    """A member named on the case, or an emergency access that has not ended."""
    return grant.expires_at is None or grant.expires_at > now


def _reseal(
    session: Session,
    signed_in: SignedInStaff,
    submission: Submission,
    identity: SubmissionIdentity,
    readers: Sequence[tuple[StaffUser, dt.datetime | None]],
) -> None:
    """Replace the case's compartment: a fresh key, the names sealed to it, and a grant to each
    reader (a member named, or with emergency access until a time). Only a holder of the
    identity key can do this: the names come from the identities envelope, and the compartment
    key of before is held by nobody but its grantees."""
    plaintext = _holder_plaintext(session, signed_in, identity)
    try:
        desk_private_key = need_to_know.open_desk_key(session, signed_in, submission.desk_key)
    except (need_to_know.NotOnDeskError, need_to_know.DeskKeyUnavailableError):
        raise TriageRefusedError(
            translatable(
                "you hold no grant of the desk key this case is sealed to, so you cannot sign the "
                "copy of its names"
            )
        ) from None
    for grant in list(identity.grants):
        session.delete(grant)
    session.flush()
    session.expire(identity, ["grants"])
    compartment_key = _new_compartment(
        identity, submission, plaintext, signed_in=signed_in, desk_private_key=desk_private_key
    )
    for user, expires_at in readers:
        _grant(session, identity, submission, compartment_key, user, signed_in.user, expires_at)
    session.flush()
    session.expire(identity, ["grants"])


def _new_compartment(
    identity: SubmissionIdentity,
    submission: Submission,
    plaintext: bytes,
    *,
    signed_in: SignedInStaff,
    desk_private_key: crypto.PrivateKey,
) -> crypto.PrivateKey:
    """A fresh compartment key for the case, the names sealed to it and signed by the officer
    who copies them (``staff_signatures``, certified by the case's desk key); the old one is
    dropped."""
    key = crypto.generate_private_key()
    public_key = crypto.public_key_bytes(key)
    context = _compartment_context(identity, submission, public_key, signed_in.user.id)
    identity.compartment_public_key = public_key
    identity.compartment_envelope = crypto.seal_envelope(plaintext, [public_key], context)
    signed = sign_as_staff(
        signed_in.personal_key(),
        desk_private_key,
        slug=submission.dialogue.slug,
        account=signed_in.user.id,
        context=context,
        envelope=identity.compartment_envelope,
    )
    identity.compartment_signed_by_id = signed_in.user.id
    identity.compartment_signature = signed.signature
    identity.compartment_signing_key = signed.signing_key
    identity.compartment_certificate = signed.certificate
    return key


def _compartment_context(
    identity: SubmissionIdentity, submission: Submission, public_key: bytes, author_id: int
) -> str:
    return compartment_copy_context(
        SubmissionAddress.of(submission),
        crypto.key_id(public_key),
        hashlib.sha256(identity.envelope).digest(),
        author_id,
    )


def _compartment_copy_context(
    session: Session, signed_in: SignedInStaff, identity: SubmissionIdentity
) -> str:
    """The context the case's compartment copy opens under, once the rule holds: signed by the
    account named as its maker, certified by the case's desk key (which a named member holds),
    over a copy of the identities envelope as stored. A copy made before revision 0011 is
    unsigned and opens under its v1 context only beside names sent before signatures.
    ``_UnverifiedIdentitiesError`` otherwise."""
    submission = identity.submission
    public_key = bytes(identity.compartment_public_key or b"")
    address = SubmissionAddress.of(submission)
    fields = (
        identity.compartment_signed_by_id,
        identity.compartment_signature,
        identity.compartment_signing_key,
        identity.compartment_certificate,
    )
    if all(value is None for value in fields) and identity.signature is None:
        return compartment_context(address, crypto.key_id(public_key))
    author_id, signature, signing_key, certificate = fields
    if author_id is None or signature is None or signing_key is None or certificate is None:
        raise _UnverifiedIdentitiesError("the compartment copy is not signed")
    try:
        desk_private_key = need_to_know.open_desk_key(session, signed_in, submission.desk_key)
    except (need_to_know.NotOnDeskError, need_to_know.DeskKeyUnavailableError):
        raise _UnverifiedIdentitiesError("the copy's signer cannot be checked here") from None
    context = _compartment_context(identity, submission, public_key, author_id)
    holds = staff_signature_holds(
        StaffSignature(bytes(signature), bytes(signing_key), bytes(certificate)),
        desk_private_key,
        slug=submission.dialogue.slug,
        account=author_id,
        context=context,
        envelope=bytes(identity.compartment_envelope or b""),
    )
    if not holds:
        raise _UnverifiedIdentitiesError("the compartment copy does not verify")
    return context


def _grant(
    session: Session,
    identity: SubmissionIdentity,
    submission: Submission,
    compartment_key: crypto.PrivateKey,
    member: StaffUser,
    actor: StaffUser,
    expires_at: dt.datetime | None,
) -> None:
    address = SubmissionAddress.of(submission)
    public_key = crypto.public_key_bytes(compartment_key)
    context = compartment_grant_context(address, crypto.key_id(public_key), member.id)
    session.add(
        CompartmentGrant(
            identity=identity,
            staff_user_id=member.id,
            granted_by_id=actor.id,
            envelope=crypto.seal_envelope(
                crypto.private_key_bytes(compartment_key), [member.personal_public_key], context
            ),
            expires_at=expires_at,
        )
    )
