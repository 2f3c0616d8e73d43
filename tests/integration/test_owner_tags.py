"""Owner tags: each submission and tombstone carries its codename's next tag, and nothing else
says whose it is; rows stored before owner tags are tagged at their submitter's next sign-in."""

import secrets

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import crypto
from portal.models import DeletedSubmission, SignInThrottle, Submission, SubmissionKind, Submitter
from portal.services.contexts import SubmissionAddress, signed_submission_context
from portal.services.leaky_bucket import bucket_level
from portal.services.proof_of_work import ChallengeGate
from portal.services.submissions import owner_tags
from portal.services.submissions.inbox import (
    SubmissionNotFoundError,
    delete_submission,
    list_inbox,
    own_submission,
)
from portal.services.submissions.intake import SubmissionRefusedError
from portal.services.submissions.submitters import (
    GLOBAL_BUCKET,
    BrowserRegistration,
    NewCodename,
    SignInLimit,
    SignInRefusedError,
    browser_registration,
    sign_in_with_codename,
)
from portal.storage import EncryptedStorage
from tests.conftest import ConsultationWorld
from tests.integration.forms_client import (
    codename_in,
    open_form,
    open_session_url,
    post_form,
    row_counts,
)
from tests.integration.test_forms_pages import CASE_FIELDS
from tests.integration.test_forms_sealed import post_sealed, seal_in_browser
from tests.integration.test_submission_services import (
    _address,
    _browser_codename_key,
    _case_form,
    _codename_submitter,
    _identities,
    _own_key,
    _row_counts,
    _sealed,
    _send_plain,
    _tag_key,
    accept_signed,
)


def _send(world: ConsultationWorld, new: NewCodename) -> Submission:
    return _send_plain(world, new, _address(world), _case_form())


def _tags(new: NewCodename, count: int) -> list[bytes]:
    return _tags_of(new.secrets, count)


BUCKETS = SignInThrottle.__tablename__


def _tags_of(codename_key: crypto.CodenameSecrets, count: int) -> list[bytes]:
    return [crypto.owner_tag(_tag_key(codename_key), n) for n in range(count)]


def test_each_submission_takes_the_next_tag_and_its_tombstone_keeps_it(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new, other = _codename_submitter(world), _codename_submitter(world)
    sent = [_send(world, new) for _ in range(3)]
    theirs = _send(world, other)
    world.session.commit()
    assert [(row.owner_tag, row.submitter_id) for row in sent] == [
        (tag, None) for tag in _tags(new, 3)
    ]
    assert theirs.owner_tag == _tags(other, 1)[0]

    delete_submission(
        world.session, EncryptedStorage(world.storage_dir), sent[1], today=world.now.date()
    )
    world.session.commit()
    [tombstone] = world.session.scalars(select(DeletedSubmission)).all()
    assert (tombstone.owner_tag, tombstone.submitter_id) == (_tags(new, 2)[1], None)

    # The walk goes on past the tombstone, and the next submission takes the next tag.
    later = _send(world, new)
    assert later.owner_tag == _tags(new, 4)[3]
    mine = {entry.public_id for entry in list_inbox(world.session, _tag_key(new.secrets))}
    assert mine == {row.public_id for row in [*sent, later]}
    assert own_submission(world.session, _tag_key(new.secrets), later.public_id) is later
    # Another codename's tag key reaches none of them, and theirs is reached by theirs only.
    assert [entry.public_id for entry in list_inbox(world.session, _tag_key(other.secrets))] == [
        theirs.public_id
    ]
    for public_id in (sent[0].public_id, later.public_id):
        with pytest.raises(SubmissionNotFoundError):
            own_submission(world.session, _tag_key(other.secrets), public_id)
    with pytest.raises(SubmissionNotFoundError):
        own_submission(world.session, _tag_key(new.secrets), theirs.public_id)


def test_a_tag_taken_at_the_same_moment_is_looked_for_again_then_refused(
    consultation_world: ConsultationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent send under the same codename took the tag this one's walk found free: the
    send walks again; if the tag it finds is taken every time, it is refused and nothing stays."""
    world = consultation_world
    new = _codename_submitter(world)
    _send(world, new)
    world.session.commit()
    next_free_index = owner_tags.next_free_index
    stale = [0]  # what the walk saw before the other send was stored
    monkeypatch.setattr(
        owner_tags,
        "next_free_index",
        lambda session, key: stale.pop() if stale else next_free_index(session, key),
    )

    assert _send(world, new).owner_tag == _tags(new, 2)[1]
    world.session.commit()
    before = _row_counts(world)
    monkeypatch.setattr(owner_tags, "next_free_index", lambda session, tag_key: 0)

    with pytest.raises(SubmissionRefusedError, match="send this one again"):
        _send(world, new)
    world.session.rollback()

    assert _row_counts(world) == before


def _registration(world: ConsultationWorld) -> tuple[BrowserRegistration, crypto.CodenameSecrets]:
    """A new pseudonym as a browser registers it (no proof of work asked), and what its codename
    would derive to."""
    codename_key = _browser_codename_key()
    registration = browser_registration(
        world.session,
        world.pepper,
        login_secret=codename_key.login_secret,
        public_key=codename_key.public_key_bytes(),
        now=world.now,
        challenges=ChallengeGate(secrets.token_bytes(32)),
        proof=None,
        gauge=0.0,
    )
    return registration, codename_key


def _send_sealed(
    world: ConsultationWorld,
    registration: BrowserRegistration,
    codename_key: crypto.CodenameSecrets,
    tag_key_from: crypto.CodenameSecrets | None = None,
    address: SubmissionAddress | None = None,
) -> Submission:
    """A browser-sealed case from the new pseudonym ``registration``, under the owner tag key of
    ``tag_key_from`` (its own by default), at ``address`` (a new one by default)."""
    address = address or _address(world)
    envelope = _sealed(world, _own_key(codename_key, address), signed_submission_context(address))
    identities = _identities(world, codename_key, address)
    # Only its public key is read: a row object that is never stored.
    unstored = Submitter(public_key=codename_key.public_key_bytes())
    owner_tag_key = _tag_key(tag_key_from or codename_key)
    stored = accept_signed(
        world,
        unstored,
        codename_key,
        address,
        envelope,
        owner_tag_key=owner_tag_key,
        registration=registration,
        **identities,
    ).row
    return world.session.get_one(Submission, stored.id)


def _registered(world: ConsultationWorld, codename_key: crypto.CodenameSecrets) -> bool:
    hashed = crypto.lookup_hash(world.pepper, codename_key.login_secret)
    return world.session.scalar(select(Submitter).filter_by(lookup_hash=hashed)) is not None


def test_a_new_codenames_first_send_takes_tag_zero_without_a_walk(
    consultation_world: ConsultationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new pseudonym is registered by its first submission's insert, which takes its first tag
    without a walk; a key that reaches stored tags all the same (a browser may send any) gets the
    next free tag from the usual walk, the pseudonym registered once, so the hint never changes
    which tag a submission gets."""
    world = consultation_world
    registration, codename_key = _registration(world)
    walked = []
    next_free_index = owner_tags.next_free_index
    monkeypatch.setattr(
        owner_tags,
        "next_free_index",
        lambda session, key: walked.append(key) or next_free_index(session, key),
    )

    first = _send_sealed(world, registration, codename_key)
    assert (first.owner_tag, walked) == (_tags_of(codename_key, 1)[0], [])
    assert _registered(world, codename_key)

    another, another_key = _registration(world)
    second = _send_sealed(world, another, another_key, tag_key_from=codename_key)
    world.session.commit()
    assert second.owner_tag == _tags_of(codename_key, 2)[1]
    assert walked == [_tag_key(codename_key)]
    assert _registered(world, another_key)
    mine = [entry.public_id for entry in list_inbox(world.session, _tag_key(codename_key))]
    assert sorted(mine) == sorted([first.public_id, second.public_id])


def test_a_new_codenames_send_whose_form_id_was_taken_meanwhile_leaves_nothing_stored(
    consultation_world: ConsultationWorld,
) -> None:
    """Another send stored the same form id after this one's read found it free: the insert
    that registers the pseudonym stores no submission, the walk's tries find the id taken too,
    and the refusal leaves nothing once rolled back, the registration included."""
    world = consultation_world
    first, first_key = _registration(world)
    address = _address(world)
    _send_sealed(world, first, first_key, address=address)
    world.session.commit()
    before = _row_counts(world)

    second, second_key = _registration(world)
    with pytest.raises(SubmissionRefusedError, match="send this one again"):
        _send_sealed(world, second, second_key, address=address)
    world.session.rollback()

    assert _row_counts(world) == before
    assert not _registered(world, second_key)


def test_a_new_codename_whose_login_secret_is_taken_stores_nothing_and_is_counted(
    consultation_world: ConsultationWorld,
) -> None:
    """The taken login secret is found by the insert that would store the submission too: it is
    refused as a wrong codename is, counted in the failure gauge, and nothing else is stored."""
    world = consultation_world
    registration, codename_key = _registration(world)
    _send_sealed(world, registration, codename_key)
    world.session.commit()
    before = _row_counts(world)
    level = bucket_level(world.session, GLOBAL_BUCKET, SignInLimit(), world.now)

    with pytest.raises(SignInRefusedError):
        _send_sealed(world, registration, codename_key)
    world.session.commit()

    counted = bucket_level(world.session, GLOBAL_BUCKET, SignInLimit(), world.now)
    assert counted == pytest.approx(level + 1)
    after = _row_counts(world)
    # The gauge's one row may be new; nothing else is.
    assert {name: after[name] for name in before if name != BUCKETS} == {
        name: before[name] for name in before if name != BUCKETS
    }


def test_a_send_that_is_its_transactions_first_write_is_undone_with_it(
    consultation_world: ConsultationWorld,
) -> None:
    """The savepoint a send is inserted in must not open, and so commit, a transaction itself."""
    world = consultation_world
    new = _codename_submitter(world)
    world.session.commit()
    before = _row_counts(world)

    _send(world, new)
    world.session.rollback()

    assert _row_counts(world) == before


def test_rows_stored_before_owner_tags_are_tagged_at_the_next_sign_in(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new, other = _codename_submitter(world), _codename_submitter(world)
    kept, deleted, theirs = _send(world, new), _send(world, new), _send(world, other)
    delete_submission(
        world.session, EncryptedStorage(world.storage_dir), deleted, today=world.now.date()
    )
    tombstone = world.session.scalars(select(DeletedSubmission)).one()
    # As the release before owner tags stored them: naming their submitter, with no tag.
    for row, submitter in (
        (kept, new.submitter),
        (tombstone, new.submitter),
        (theirs, other.submitter),
    ):
        row.owner_tag, row.submitter_id = None, submitter.id
    world.session.commit()
    assert list_inbox(world.session, _tag_key(new.secrets)) == []
    # A submission sent under the codename before the sign-in holds tag 0.
    fresh = _send(world, new)
    world.session.commit()

    sign_in_with_codename(world.session, world.pepper, new.codename, now=world.now)
    world.session.commit()

    assert [(row.owner_tag, row.submitter_id) for row in (fresh, kept, tombstone)] == [
        (tag, None) for tag in _tags(new, 3)
    ]
    mine = {entry.public_id for entry in list_inbox(world.session, _tag_key(new.secrets))}
    assert mine == {fresh.public_id, kept.public_id, deleted.public_id}
    assert (theirs.owner_tag, theirs.submitter_id) == (None, other.submitter.id)


def test_a_tag_taken_at_the_same_moment_is_answered_on_both_form_paths(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The send is refused whole (the form comes back, or the JSON says so), nothing stored."""
    url = open_session_url(app, "individual-case")
    _, page = post_form(client, open_form(client, url), CASE_FIELDS)
    codename = codename_in(page)
    before = row_counts(app)
    monkeypatch.setattr(owner_tags, "next_free_index", lambda session, tag_key: 0)

    existing = {"codename_choice": "existing", "codename": codename}
    status, page = post_form(client, open_form(client, url), {**CASE_FIELDS, **existing})
    assert status == 409 and "could not be sent" in page
    sent = seal_in_browser(client, url, SubmissionKind.INDIVIDUAL_CASE, codename=codename)
    status, answer = post_sealed(client, sent)
    assert status == 400 and "send this one again" in answer["error"]
    assert row_counts(app) == before
