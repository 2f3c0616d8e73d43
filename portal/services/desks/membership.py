"""Who sits on a desk and who holds its keys: the rules of adding, granting, removing, rotating.

A dialogue's desk is its list of members (``DeskMembership``) and the grants of its desk keys
(``DeskKeyGrant``: each desk key's private half sealed to one member's personal key, or to the
recovery key). The two are distinct on purpose:

- an **administrator** may put a content-role account on a desk (:func:`assign_member`). That
  makes a membership and nothing else: the administrator cannot open a desk key by role, so they
  cannot hand one out, and the new member reads nothing until someone who holds the key grants it;
- a **member who holds the key** grants it (:func:`grant_member`), in their own session, the only
  place where their personal key, and so the desk key, can be opened, and only after typing the
  short form of the recipient's key fingerprint as its owner read it to them over another channel
  (``portal.services.staff.fingerprints``): a key swapped into the database is refused, and the
  key confirmed is recorded on the membership (``portal.services.desks.confirmations``). The
  grant seals *every*
  desk key of the dialogue the granter can open, current and retired, so that the new member
  reads old submissions as well as new ones. The same call gives the key to a member who awaits
  it (added by an administrator, or reset since: a reset makes a new personal key, and grants
  sealed to the old one no longer open);
- the **recovery key** (from the command line, ``portal desk grant``) can do what a member does,
  because every desk key is granted to it when it is made.

Removing a member (:func:`remove_member`) deletes their membership and every grant they held of
this dialogue's desk keys; it ends nothing else (their sessions and other desks stay). Only
someone who can open the current desk key may remove a member who holds it, so that an
administrator (or anyone off the key) cannot strip a desk of its readers. Removing the last member
who can open it needs the recovery key and an explicit confirmation: afterwards only the recovery
key opens the desk's submissions (and grants the key again). On the web that last holder is the
only one who could act, and there is no second holder to agree, so the web refuses it.

Rotating (:func:`rotate_desk_key`) is one action: a new desk key (granted to the recovery key),
the old one retired, and the new one granted to every member who could open the old one and
whose present personal key is the one confirmed for them; the others (key changed since, or
never confirmed) are named in the outcome and wait for a grant with a confirmation. New
submissions go to the new key (``current_desk_key`` picks the newest one not retired); old
submissions stay readable through the grants of the old key, which are kept.

A dialogue in offline review keeps no desk-key private half that the server can open
(``portal.services.desks.review_mode``): there, members are listed but no grant is ever sealed to a
personal key, and rotation is refused (the switch to offline review makes its own new key).

Every function works in the caller's transaction and records its audit events; the caller
commits. The web pages (``portal.blueprints.desk`` and ``portal.blueprints.admin``) and the
``portal desk`` commands only call what is here; the pages offer an assignment, a grant or a
removal only where the rule here would allow it (:func:`may_sit_on_a_desk`,
:func:`can_grant_member`, :func:`removal_refusal`), so that no button leads to a refusal.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

import crypto
from portal.models import (
    DeskKey,
    DeskKeyGrant,
    DeskMembership,
    Dialogue,
    EmergencyAccess,
    IdentityKey,
    IdentityKeyGrant,
    RecoveryKey,
    ReviewMode,
    StaffUser,
    Submission,
    utc_now,
)
from portal.services.audit.trail import AuditAction, record_event
from portal.services.desks.confirmations import (
    KeyConfirmation,
    confirmation_of,
    record_confirmation,
)
from portal.services.desks.identity_keys import (
    create_identity_key,
    delete_name_grants,
    grant_identity_key,
    identity_key_of,
    open_identity_key_grant,
    recovery_grant,
    staff_grant,
)
from portal.services.desks.keys import (
    create_desk_key,
    current_desk_key,
    grant_desk_access,
    open_desk_key_grant,
)
from portal.services.desks.need_to_know import (
    CONTENT_ROLES,
    DeskKeyUnavailableError,
    NotOnDeskError,
    open_desk_key,
)
from portal.services.staff.fingerprints import matches_short_fingerprint
from portal.services.staff.web_sessions import SignedInStaff
from portal.translatable import translatable


class DeskActionError(ValueError):
    """A desk change that cannot be made; the message says why, in words for the person."""


class LastKeyHolderError(DeskActionError):
    """Removing this member would leave nobody but the recovery key able to open the desk key."""


class NotKeyHolderError(DeskActionError):
    """Someone who cannot open the current desk key tried to remove a member who can."""


class FingerprintMismatchError(DeskActionError):
    """The fingerprint typed for a grant is not that of the recipient's present key."""


class KeyHolder(Protocol):
    """Whoever is acting on a desk and which desk keys they can open."""

    @property
    def actor(self) -> StaffUser | None:
        """The staff member acting, for the audit trail; ``None`` for the recovery key."""

    def open(self, session: Session, desk_key: DeskKey) -> crypto.PrivateKey | None:
        """The desk key's private half if this holder can open it, else ``None``."""

    def open_identity(
        self, session: Session, identity_key: IdentityKey
    ) -> crypto.PrivateKey | None:
        """The identity key's private half if this holder can open it, else ``None``."""


@dataclass(frozen=True)
class MemberKeys:
    """A signed-in desk member acting in their own session, with their own grants."""

    signed_in: SignedInStaff

    @property
    def actor(self) -> StaffUser:
        return self.signed_in.user

    def open(self, session: Session, desk_key: DeskKey) -> crypto.PrivateKey | None:
        try:
            return open_desk_key(session, self.signed_in, desk_key)
        except (NotOnDeskError, DeskKeyUnavailableError):
            return None

    def open_identity(
        self, session: Session, identity_key: IdentityKey
    ) -> crypto.PrivateKey | None:
        grant = staff_grant(session, identity_key, self.signed_in.user)
        return None if grant is None else _opened(grant, self.signed_in.personal_key())


@dataclass(frozen=True)
class RecoveryKeys:
    """The operator with the instance recovery key (from the command line)."""

    recovery_private_key: crypto.PrivateKey

    @property
    def actor(self) -> None:
        return None

    def open(self, session: Session, desk_key: DeskKey) -> crypto.PrivateKey | None:
        public_key = crypto.public_key_bytes(self.recovery_private_key)
        grant = session.scalars(
            select(DeskKeyGrant)
            .join(RecoveryKey, RecoveryKey.id == DeskKeyGrant.recovery_key_id)
            .where(DeskKeyGrant.desk_key_id == desk_key.id, RecoveryKey.public_key == public_key)
        ).first()
        if grant is None:
            return None
        try:
            return open_desk_key_grant(grant, self.recovery_private_key)
        except crypto.DecryptionError:
            return None

    def open_identity(
        self, session: Session, identity_key: IdentityKey
    ) -> crypto.PrivateKey | None:
        public_key = crypto.public_key_bytes(self.recovery_private_key)
        grant = recovery_grant(session, identity_key, public_key)
        return None if grant is None else _opened(grant, self.recovery_private_key)


@dataclass(frozen=True)
class WithoutKeys:
    """An operator at the command line without the recovery key: opens no desk key."""

    @property
    def actor(self) -> None:
        return None

    def open(self, session: Session, desk_key: DeskKey) -> None:
        return None

    def open_identity(self, session: Session, identity_key: IdentityKey) -> None:
        return None


@dataclass(frozen=True)
class DeskMember:
    """One member of a desk as the desk and administration pages list them."""

    user: StaffUser
    membership: DeskMembership
    holds_current_key: bool
    confirmation: KeyConfirmation
    offline_review: bool = False

    @property
    def key_changed(self) -> bool:
        """Their personal key is not the one a granter confirmed: confirm it again."""
        return self.confirmation is KeyConfirmation.CHANGED

    @property
    def awaiting_key(self) -> bool:
        """On the desk but unable to open the current desk key (see :func:`awaits_key_grant`)."""
        return awaits_key_grant(self.holds_current_key, offline_review=self.offline_review)


@dataclass(frozen=True)
class MemberDesk:
    """One desk a staff member sits on, as their account and the administration pages show it."""

    dialogue: Dialogue
    awaiting_key: bool


@dataclass(frozen=True)
class GrantOutcome:
    """What :func:`grant_member` did."""

    member: StaffUser
    membership_created: bool
    keys_granted: int


@dataclass(frozen=True)
class RotationOutcome:
    """What :func:`rotate_desk_key` did."""

    old_key: DeskKey
    new_key: DeskKey
    granted_to: tuple[StaffUser, ...]
    not_confirmed: tuple[StaffUser, ...]


@dataclass(frozen=True)
class EmergencyAccessRecord:
    """One emergency access on a desk's submission, as shown to the desk."""

    access: EmergencyAccess
    submission_public_id: str


# --- reading a desk ----------------------------------------------------------------------------


def desk_keys(session: Session, dialogue: Dialogue) -> list[DeskKey]:
    """Every desk key the dialogue has had, newest first."""
    return list(
        session.scalars(
            select(DeskKey)
            .where(DeskKey.dialogue_id == dialogue.id)
            .order_by(DeskKey.created_at.desc(), DeskKey.id.desc())
        )
    )


def grant_opens_for(grant: DeskKeyGrant, user: StaffUser) -> bool:
    """Whether ``grant`` is sealed to ``user``'s present personal key.

    A grant made before an administrator's reset is sealed to the old personal key, which no
    longer exists: it names the old key's id and will never open again.
    """
    try:
        key_ids = crypto.inspect_envelope(grant.envelope).key_ids
    except crypto.DecryptionError:
        return False
    return crypto.key_id(user.personal_public_key) in key_ids


def holds_key(session: Session, user: StaffUser, desk_key: DeskKey) -> bool:
    """Whether ``user`` holds a grant of ``desk_key`` that opens with their present key."""
    grant = _member_grant(session, desk_key, user)
    return grant is not None and grant_opens_for(grant, user)


def desk_members(session: Session, dialogue: Dialogue, *, at_rest_key: bytes) -> list[DeskMember]:
    """The desk's members by name, each with whether they can open the current desk key and
    whether their present personal key is the one confirmed for them."""
    current = current_desk_key(session, dialogue)
    holders: dict[int, DeskKeyGrant] = {}
    if current is not None:
        holders = {
            grant.recipient_staff_user_id: grant
            for grant in session.scalars(
                select(DeskKeyGrant).where(
                    DeskKeyGrant.desk_key_id == current.id,
                    DeskKeyGrant.recipient_staff_user_id.is_not(None),
                )
            )
            if grant.recipient_staff_user_id is not None
        }
    rows = session.execute(
        select(DeskMembership, StaffUser)
        .join(StaffUser, StaffUser.id == DeskMembership.staff_user_id)
        .where(DeskMembership.dialogue_id == dialogue.id)
        .order_by(StaffUser.display_name, StaffUser.id)
    ).all()
    members = []
    for membership, user in rows:
        grant = holders.get(user.id)
        members.append(
            DeskMember(
                user=user,
                membership=membership,
                holds_current_key=grant is not None and grant_opens_for(grant, user),
                confirmation=confirmation_of(membership, user, at_rest_key=at_rest_key),
                offline_review=dialogue.review_mode is ReviewMode.OFFLINE,
            )
        )
    return members


def awaits_key_grant(holds_current_key: bool, *, offline_review: bool) -> bool:
    """Whether a desk member waits for a member to grant them the current desk key.

    The one rule every page shows: a member who cannot open the current desk key awaits a grant,
    except in offline review, where no member holds the key on the server by design (and none
    can be granted), so nobody waits for one.
    """
    return not holds_current_key and not offline_review


def member_desks(session: Session, users: Iterable[StaffUser]) -> dict[int, list[MemberDesk]]:
    """Each user's desks by slug, each saying whether they await its key (one rule for all)."""
    user_ids = [user.id for user in users]
    if not user_ids:
        return {}
    by_user: dict[int, list[MemberDesk]] = {user_id: [] for user_id in user_ids}
    rows = session.execute(
        select(DeskMembership, Dialogue)
        .join(Dialogue, Dialogue.id == DeskMembership.dialogue_id)
        .where(DeskMembership.staff_user_id.in_(user_ids))
        .order_by(Dialogue.slug)
    ).all()
    current_keys: dict[int, DeskKey | None] = {}
    for membership, dialogue in rows:
        if dialogue.id not in current_keys:
            current_keys[dialogue.id] = current_desk_key(session, dialogue)
        current = current_keys[dialogue.id]
        user = membership.staff_user
        holds = current is not None and holds_key(session, user, current)
        offline = dialogue.review_mode is ReviewMode.OFFLINE
        by_user[user.id].append(
            MemberDesk(dialogue, awaits_key_grant(holds, offline_review=offline))
        )
    return by_user


def awaiting_desks(
    session: Session, users: Iterable[StaffUser]
) -> dict[int, list[tuple[str, bool]]]:
    """For the administration pages: each user's desks as ``(slug, awaiting key)``, by slug."""
    return {
        user_id: [(desk.dialogue.slug, desk.awaiting_key) for desk in desks]
        for user_id, desks in member_desks(session, users).items()
    }


def desk_sizes(session: Session) -> dict[int, int]:
    """How many members sit on each dialogue's desk, by dialogue id (desks without any left out)."""
    return dict(
        session.execute(
            select(DeskMembership.dialogue_id, func.count()).group_by(DeskMembership.dialogue_id)
        ).all()
    )


def candidates_for_grant(session: Session, dialogue: Dialogue) -> list[StaffUser]:
    """Active content-role accounts not yet on the desk, by name: whom a member may add."""
    members = select(DeskMembership.staff_user_id).where(DeskMembership.dialogue_id == dialogue.id)
    return list(
        session.scalars(
            select(StaffUser)
            .where(
                StaffUser.active.is_(True),
                StaffUser.role.in_(sorted(CONTENT_ROLES)),
                StaffUser.id.not_in(members),
            )
            .order_by(StaffUser.display_name, StaffUser.id)
        )
    )


def emergency_accesses(
    session: Session, dialogue: Dialogue, *, limit: int = 100
) -> list[EmergencyAccessRecord]:
    """The emergency accesses taken on the desk's submissions, newest first."""
    rows = session.execute(
        select(EmergencyAccess, Submission.public_id)
        .join(Submission, Submission.id == EmergencyAccess.submission_id)
        .where(Submission.dialogue_id == dialogue.id)
        .order_by(EmergencyAccess.granted_at.desc(), EmergencyAccess.id.desc())
        .limit(limit)
    ).all()
    return [EmergencyAccessRecord(access, public_id) for access, public_id in rows]


def membership_of(session: Session, dialogue: Dialogue, user: StaffUser) -> DeskMembership | None:
    return session.scalars(
        select(DeskMembership).where(
            DeskMembership.dialogue_id == dialogue.id, DeskMembership.staff_user_id == user.id
        )
    ).first()


# --- changing a desk ---------------------------------------------------------------------------


def assign_member(
    session: Session, dialogue: Dialogue, user: StaffUser, *, actor: StaffUser | None
) -> DeskMembership:
    """Put ``user`` on the desk without any key: an administrator's assignment.

    The new member sees the desk but reads nothing until a member who holds the desk key grants
    it to them (:func:`grant_member`).
    """
    _require_content_member(user)
    if membership_of(session, dialogue, user) is not None:
        raise DeskActionError(
            translatable(
                "%(name)s is already on the desk of %(dialogue)s",
                name=user.display_name,
                dialogue=dialogue.slug,
            )
        )
    membership = DeskMembership(dialogue=dialogue, staff_user=user, granted_by_id=_id(actor))
    session.add(membership)
    session.flush()
    _record_member_added(session, membership, user, actor, keys_granted=0, without_actor="operator")
    return membership


def grant_member(
    session: Session,
    dialogue: Dialogue,
    member: StaffUser,
    *,
    keys: KeyHolder,
    typed_fingerprint: str,
    at_rest_key: bytes,
    shown_fingerprint: str | None = None,
) -> GrantOutcome:
    """Give ``member`` every desk key of ``dialogue`` that ``keys`` can open.

    Puts them on the desk if they are not on it yet. The holder must be able to open the current
    desk key: a grant that left the newest submissions unreadable would only mislead. Nothing is
    sealed unless ``typed_fingerprint`` is the short form of the member's present personal key
    (:class:`FingerprintMismatchError`) and, when the page showed a fingerprint
    (``shown_fingerprint``), the key is still the one shown. The key is then recorded as
    confirmed for the membership, and the confirmation audited with its fingerprint. A grant the
    member already holds and can open is kept; one sealed to a personal key they no longer have
    (made before a reset) is replaced. A member who holds every key but whose key was never
    confirmed (or changed) is only confirmed.
    """
    current, current_private = _open_for_grant(session, dialogue, member, keys)
    present_key = bytes(member.personal_public_key)
    if shown_fingerprint is not None and shown_fingerprint != crypto.fingerprint(present_key):
        raise FingerprintMismatchError(
            translatable(
                "%(name)s's key changed since the page was shown; confirm it again with them; "
                "nothing was granted",
                name=member.display_name,
            )
        )
    if not matches_short_fingerprint(present_key, typed_fingerprint):
        raise FingerprintMismatchError(
            translatable(
                "the digits typed are not the fingerprint of %(name)s's key; nothing was "
                "granted. Ask them to read the 30 digits on their account page again",
                name=member.display_name,
            )
        )
    membership = membership_of(session, dialogue, member)
    created = membership is None
    if membership is None:
        membership = DeskMembership(
            dialogue=dialogue, staff_user=member, granted_by_id=_id(keys.actor)
        )
        session.add(membership)
        session.flush()
    earlier = confirmation_of(membership, member, at_rest_key=at_rest_key)
    granted = 0
    for desk_key in desk_keys(session, dialogue):
        private_key = current_private if desk_key.id == current.id else keys.open(session, desk_key)
        if private_key is None:
            continue
        existing = _member_grant(session, desk_key, member)
        if existing is not None:
            if grant_opens_for(existing, member):
                continue
            session.delete(existing)
            session.flush()
        grant_desk_access(
            session,
            desk_key=desk_key,
            desk_private_key=private_key,
            member=member,
            granted_by=keys.actor,
        )
        granted += 1
    identity_granted = _grant_identity_keys(session, dialogue, member, keys)
    if not created and granted + identity_granted == 0 and earlier is KeyConfirmation.CONFIRMED:
        raise DeskActionError(
            translatable("%(name)s already holds every key you can grant", name=member.display_name)
        )
    if created:
        _record_member_added(
            session,
            membership,
            member,
            keys.actor,
            keys_granted=granted,
            without_actor="recovery_key",
        )
    record_confirmation(membership, member, at_rest_key=at_rest_key, now=utc_now())
    session.flush()
    record_event(
        session,
        action=AuditAction.DESK_MEMBER_KEY_CONFIRMED,
        object_type="desk_membership",
        object_id=membership.id,
        actor=keys.actor,
        dialogue=dialogue,
        details={
            "staff_user_id": member.id,
            "fingerprint": crypto.fingerprint(present_key),
            "keys_granted": granted,
            **_by(keys.actor, "recovery_key"),
        },
    )
    return GrantOutcome(member=member, membership_created=created, keys_granted=granted)


def check_grantable(
    session: Session, dialogue: Dialogue, member: StaffUser, *, keys: KeyHolder
) -> None:
    """Refuse (:class:`DeskActionError`) what :func:`grant_member` would refuse before it looks
    at a fingerprint, so that a page asks for one only when the grant could go ahead."""
    _open_for_grant(session, dialogue, member, keys)


def removal_refusal(
    session: Session,
    dialogue: Dialogue,
    member: StaffUser,
    *,
    keys: KeyHolder,
    confirm_last_key_holder: bool = False,
) -> DeskActionError | None:
    """Why :func:`remove_member` would refuse to take ``member`` off the desk, or ``None``.

    The removal's rule, kept apart so that a page offers the button only where the removal would
    go ahead (:func:`can_remove_member`) and the refusal and the offer never disagree."""
    if membership_of(session, dialogue, member) is None:
        return DeskActionError(
            translatable(
                "%(name)s is not on the desk of %(dialogue)s",
                name=member.display_name,
                dialogue=dialogue.slug,
            )
        )
    current = current_desk_key(session, dialogue)
    if current is None or not holds_key(session, member, current):
        return None
    if keys.open(session, current) is None:
        return NotKeyHolderError(
            translatable(
                "%(name)s holds the current desk key of %(dialogue)s; only someone who holds it "
                "can take them off the desk",
                name=member.display_name,
                dialogue=dialogue.slug,
            )
        )
    by_recovery_key = keys.actor is None and confirm_last_key_holder
    if not by_recovery_key and not _another_active_holder(session, dialogue, current, member):
        return LastKeyHolderError(
            translatable(
                "%(name)s is the last member who can open the current desk key of %(dialogue)s; "
                "after removing them only the recovery key opens its submissions",
                name=member.display_name,
                dialogue=dialogue.slug,
            )
        )
    return None


def can_remove_member(
    session: Session, dialogue: Dialogue, member: StaffUser, *, keys: KeyHolder
) -> bool:
    """Whether ``keys`` may take ``member`` off the desk: what a page asks before it offers to."""
    return removal_refusal(session, dialogue, member, keys=keys) is None


def can_grant_member(
    session: Session, dialogue: Dialogue, member: StaffUser, *, keys: KeyHolder
) -> bool:
    """Whether ``keys`` could grant the desk key to ``member`` (:func:`check_grantable`): what
    the desk page asks before it offers to."""
    try:
        check_grantable(session, dialogue, member, keys=keys)
    except DeskActionError:
        return False
    return True


def remove_member(
    session: Session,
    dialogue: Dialogue,
    member: StaffUser,
    *,
    keys: KeyHolder,
    confirm_last_key_holder: bool = False,
) -> int:
    """Take ``member`` off the desk and delete every grant they held of its desk keys.

    Returns the number of grants deleted. A member who holds the current desk key is removed
    only by someone ``keys`` lets open it (:class:`NotKeyHolderError`). The last member able to
    open it is removed only with the recovery key and ``confirm_last_key_holder``
    (:class:`LastKeyHolderError`): after that, only the recovery key opens the desk's submissions.
    """
    refusal = removal_refusal(
        session, dialogue, member, keys=keys, confirm_last_key_holder=confirm_last_key_holder
    )
    if refusal is not None:
        raise refusal
    membership = membership_of(session, dialogue, member)
    actor = keys.actor
    key_ids = select(DeskKey.id).where(DeskKey.dialogue_id == dialogue.id)
    result = session.execute(
        delete(DeskKeyGrant).where(
            DeskKeyGrant.recipient_staff_user_id == member.id,
            DeskKeyGrant.desk_key_id.in_(key_ids),
        )
    )
    grants_deleted = result.rowcount or 0
    delete_name_grants(session, dialogue, member)
    membership_id = membership.id
    session.delete(membership)
    session.flush()
    record_event(
        session,
        action=AuditAction.DESK_MEMBER_REMOVED,
        object_type="desk_membership",
        object_id=membership_id,
        actor=actor,
        dialogue=dialogue,
        details={
            "staff_user_id": member.id,
            "grants_deleted": grants_deleted,
            **_by(actor, "recovery_key" if isinstance(keys, RecoveryKeys) else "operator"),
        },
    )
    return grants_deleted


def rotate_desk_key(
    session: Session,
    dialogue: Dialogue,
    *,
    keys: KeyHolder,
    at_rest_key: bytes,
    now: dt.datetime | None = None,
) -> RotationOutcome:
    """Replace the dialogue's desk key in one step (see the module docstring).

    The holder must be able to open the current desk key: the rotation is a desk decision, and
    the cryptography is what says who sits on the desk. The new key goes only to holders whose
    present personal key is the one confirmed for them; the others are named in the outcome.
    """
    if dialogue.review_mode is ReviewMode.OFFLINE:
        raise DeskActionError(
            translatable(
                "%(dialogue)s is reviewed offline: switch it back to online review before "
                "rotating its desk key",
                dialogue=dialogue.slug,
            )
        )
    old_key = current_desk_key(session, dialogue)
    if old_key is None:
        raise _no_current_key(dialogue)
    old_private = keys.open(session, old_key)
    if old_private is None:
        raise DeskActionError(
            translatable(
                "you cannot open the current desk key of this dialogue, so you cannot rotate it"
            )
        )
    recovery_key = _recovery_key_of(session, old_key)
    eligible = [
        member
        for member in desk_members(session, dialogue, at_rest_key=at_rest_key)
        if member.holds_current_key and member.user.active and member.user.role in CONTENT_ROLES
    ]
    holders = [m.user for m in eligible if m.confirmation is KeyConfirmation.CONFIRMED]
    not_confirmed = [m.user for m in eligible if m.confirmation is not KeyConfirmation.CONFIRMED]
    new_key, new_private = create_desk_key(
        session,
        dialogue,
        recovery_key,
        actor=keys.actor,
        certified_by=crypto.desk_signing_seed(old_private),
    )
    identity_key, identity_private = create_identity_key(
        session, new_key, recovery_key, actor=keys.actor
    )
    old_key.retired_at = now or utc_now()
    session.flush()
    for user in holders:
        grant_desk_access(
            session,
            desk_key=new_key,
            desk_private_key=new_private,
            member=user,
            granted_by=keys.actor,
        )
        grant_identity_key(session, identity_key, identity_private, user, granted_by=keys.actor)
    record_event(
        session,
        action=AuditAction.DESK_KEY_ROTATED,
        object_type="desk_key",
        object_id=new_key.id,
        actor=keys.actor,
        dialogue=dialogue,
        details={
            "old_key_id": old_key.key_id.hex(),
            "new_key_id": new_key.key_id.hex(),
            "granted_to": [user.id for user in holders],
            "not_confirmed": [user.id for user in not_confirmed],
            **_by(keys.actor, "recovery_key"),
        },
    )
    return RotationOutcome(
        old_key=old_key,
        new_key=new_key,
        granted_to=tuple(holders),
        not_confirmed=tuple(not_confirmed),
    )


# --- helpers -----------------------------------------------------------------------------------


def _open_for_grant(
    session: Session, dialogue: Dialogue, member: StaffUser, keys: KeyHolder
) -> tuple[DeskKey, crypto.PrivateKey]:
    """The current desk key and its private half, if ``keys`` may grant it to ``member``."""
    _require_content_member(member)
    if dialogue.review_mode is ReviewMode.OFFLINE:
        raise DeskActionError(
            translatable(
                "%(dialogue)s is reviewed offline: its desk key is never granted on the server",
                dialogue=dialogue.slug,
            )
        )
    current = current_desk_key(session, dialogue)
    if current is None:
        raise _no_current_key(dialogue)
    current_private = keys.open(session, current)
    if current_private is None:
        raise DeskActionError(
            translatable(
                "you cannot open the current desk key of this dialogue, so you cannot grant it; "
                "ask a member who holds it"
            )
        )
    return current, current_private


def _grant_identity_keys(
    session: Session, dialogue: Dialogue, member: StaffUser, keys: KeyHolder
) -> int:
    """Seal to ``member`` (if a triage officer) every identity key of the dialogue that ``keys``
    can open and whose desk key the member now holds; returns how many were sealed."""
    granted = 0
    for desk_key in desk_keys(session, dialogue):
        identity_key = identity_key_of(session, desk_key)
        if identity_key is None or not holds_key(session, member, desk_key):
            continue
        private_key = keys.open_identity(session, identity_key)
        if private_key is None:
            continue
        if grant_identity_key(session, identity_key, private_key, member, granted_by=keys.actor):
            granted += 1
    return granted


def _opened(grant: IdentityKeyGrant, private_key: crypto.PrivateKey) -> crypto.PrivateKey | None:
    try:
        return open_identity_key_grant(grant, private_key)
    except crypto.DecryptionError:
        return None


def _no_current_key(dialogue: Dialogue) -> DeskActionError:
    return DeskActionError(
        translatable("%(dialogue)s has no current desk key", dialogue=dialogue.slug)
    )


def may_sit_on_a_desk(user: StaffUser) -> bool:
    """Whether ``user`` can be put on a desk at all: an active account in a role that reads
    submissions. Pages ask it before they offer an assignment; the services refuse the rest."""
    return user.active and user.role in CONTENT_ROLES


def _require_content_member(user: StaffUser) -> None:
    if may_sit_on_a_desk(user):
        return
    if not user.active:
        raise DeskActionError(
            translatable("%(name)s's account is deactivated", name=user.display_name)
        )
    raise DeskActionError(
        translatable(
            "%(name)s's role never reads submissions, so they sit on no desk",
            name=user.display_name,
        )
    )


def _another_active_holder(
    session: Session, dialogue: Dialogue, current: DeskKey, member: StaffUser
) -> bool:
    """Whether an active member other than ``member`` can open ``current``."""
    others = session.scalars(
        select(StaffUser)
        .join(DeskMembership, DeskMembership.staff_user_id == StaffUser.id)
        .where(
            DeskMembership.dialogue_id == dialogue.id,
            StaffUser.id != member.id,
            StaffUser.active.is_(True),
        )
    )
    return any(holds_key(session, user, current) for user in others)


def _member_grant(session: Session, desk_key: DeskKey, user: StaffUser) -> DeskKeyGrant | None:
    return session.scalars(
        select(DeskKeyGrant).where(
            DeskKeyGrant.desk_key_id == desk_key.id,
            DeskKeyGrant.recipient_staff_user_id == user.id,
        )
    ).first()


def _recovery_key_of(session: Session, desk_key: DeskKey) -> RecoveryKey:
    """The recovery key the old desk key was granted to (else the instance's first one)."""
    recovery_key = session.scalars(
        select(RecoveryKey)
        .join(DeskKeyGrant, DeskKeyGrant.recovery_key_id == RecoveryKey.id)
        .where(DeskKeyGrant.desk_key_id == desk_key.id)
        .order_by(RecoveryKey.id)
    ).first()
    if recovery_key is None:
        recovery_key = session.scalars(select(RecoveryKey).order_by(RecoveryKey.id)).first()
    if recovery_key is None:
        raise DeskActionError(
            translatable("this instance has no recovery key; run `portal init` first")
        )
    return recovery_key


def _record_member_added(
    session: Session,
    membership: DeskMembership,
    user: StaffUser,
    actor: StaffUser | None,
    *,
    keys_granted: int,
    without_actor: str,
) -> None:
    record_event(
        session,
        action=AuditAction.DESK_MEMBER_ADDED,
        object_type="desk_membership",
        object_id=membership.id,
        actor=actor,
        dialogue=membership.dialogue,
        details={
            "staff_user_id": user.id,
            "keys_granted": keys_granted,
            **_by(actor, without_actor),
        },
    )


def _by(actor: StaffUser | None, without_actor: str) -> dict[str, str]:
    """Who acted, when no staff member did: the recovery key, or an operator's command."""
    return {"by": without_actor} if actor is None else {}


def _id(user: StaffUser | None) -> int | None:
    return None if user is None else user.id
