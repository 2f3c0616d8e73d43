"""Submitter pseudonyms: registration, sign-in by login secret and by codename, the limiter."""

import datetime as dt
import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import crypto
from portal.models import SignInThrottle, Submitter
from portal.services.leaky_bucket import bucket_level, count
from portal.services.submissions.submitters import (
    GLOBAL_BUCKET,
    WORK_BUCKET,
    DerivationBudget,
    RegistrationRefusedError,
    SignInLimit,
    SignInRefusedError,
    register_new_codename,
    register_submitter,
    sign_in,
    sign_in_with_codename,
)
from portal.services.work_gate import BusyError
from tests.conftest import ConsultationWorld
from tests.held_arrivals_support import arrive_together

# Any tag key: these tests are about the login secret; owner tags have their own tests.
TAG_KEY = bytes(32)


def _sign_in(world: ConsultationWorld, login_secret: bytes, **options: Any) -> Submitter:
    return sign_in(world.session, world.pepper, login_secret, owner_tag_key=TAG_KEY, **options)


def _browser_registration(world: ConsultationWorld) -> tuple[Submitter, bytes]:
    """What the JavaScript path does: the browser derives; the server gets secret and key."""
    login_secret = secrets.token_bytes(32)
    public_key = crypto.public_key_bytes(crypto.generate_private_key())
    submitter = register_submitter(
        world.session,
        world.pepper,
        login_secret=login_secret,
        public_key=public_key,
        today=world.now.date(),
    )
    world.session.commit()
    return submitter, login_secret


def test_registration_stores_only_the_keyed_hash_and_the_public_key(
    consultation_world: ConsultationWorld,
) -> None:
    submitter, login_secret = _browser_registration(consultation_world)

    assert submitter.lookup_hash == crypto.lookup_hash(consultation_world.pepper, login_secret)
    assert login_secret not in (submitter.lookup_hash, submitter.public_key)


def test_registration_refuses_malformed_secrets_and_a_second_registration(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    _submitter, login_secret = _browser_registration(world)
    public_key = crypto.public_key_bytes(crypto.generate_private_key())
    today = world.now.date()

    for secret, key in ((b"short", public_key), (secrets.token_bytes(32), b"short")):
        with pytest.raises(RegistrationRefusedError):
            register_submitter(
                world.session, world.pepper, login_secret=secret, public_key=key, today=today
            )
    with pytest.raises(RegistrationRefusedError, match="already registered"):
        register_submitter(
            world.session,
            world.pepper,
            login_secret=login_secret,
            public_key=public_key,
            today=today,
        )


def test_sign_in_finds_the_submitter_by_login_secret_only(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    submitter, login_secret = _browser_registration(world)

    assert _sign_in(world, login_secret, now=world.now) is submitter
    with pytest.raises(SignInRefusedError):
        _sign_in(world, secrets.token_bytes(32), now=world.now)
    with pytest.raises(SignInRefusedError):
        sign_in(
            world.session,
            crypto.new_symmetric_key(),
            login_secret,
            owner_tag_key=TAG_KEY,
            now=world.now,
        )


def test_sign_in_with_a_codename_as_typed_and_one_generic_refusal(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = register_new_codename(world.session, world.pepper, language="en", today=world.now.date())
    world.session.commit()
    retyped = "-".join(new.codename.upper().split())

    submitter, derived = sign_in_with_codename(world.session, world.pepper, retyped, now=world.now)

    assert submitter is new.submitter
    assert derived.public_key_bytes() == submitter.public_key
    wrong = crypto.generate_codename("en")
    malformed = "these are not the words of any codename at all"
    messages = set()
    for attempt in (wrong, malformed):
        with pytest.raises(SignInRefusedError) as refusal:
            sign_in_with_codename(world.session, world.pepper, attempt, now=world.now)
        messages.add(str(refusal.value))
    assert len(messages) == 1


def test_failed_sign_ins_fill_the_gauge_but_lock_nobody_out(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    _submitter, login_secret = _browser_registration(world)
    limit = SignInLimit(capacity=3, leak_per_second=0.1)
    for _ in range(5):
        with pytest.raises(SignInRefusedError):
            _sign_in(world, secrets.token_bytes(32), now=world.now, limit=limit)
        world.session.commit()

    world.session.expunge_all()
    found = _sign_in(world, login_secret, now=world.now, limit=limit)
    assert found.lookup_hash == crypto.lookup_hash(world.pepper, login_secret)
    assert bucket_level(world.session, GLOBAL_BUCKET, limit, world.now) == pytest.approx(3)
    ten_seconds_later = world.now + dt.timedelta(seconds=10)
    assert bucket_level(world.session, GLOBAL_BUCKET, limit, ten_seconds_later) == pytest.approx(2)


def test_a_successful_sign_in_does_not_fill_the_gauge(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    _submitter, login_secret = _browser_registration(world)

    before = bucket_level(world.session, GLOBAL_BUCKET, SignInLimit(), world.now)
    for _ in range(3):
        _sign_in(world, login_secret, now=world.now)

    assert bucket_level(world.session, GLOBAL_BUCKET, SignInLimit(), world.now) == before


def test_a_malformed_codename_is_refused_before_any_work_and_not_counted(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    before = world.session.execute(select(SignInThrottle.name, SignInThrottle.level)).all()
    for malformed in ("seven words only " * 2, "ab " * 8, crypto.generate_codename() + " extra"):
        with pytest.raises(SignInRefusedError):
            sign_in_with_codename(world.session, world.pepper, malformed, now=world.now)

    # A derivation would have taken from the budget, a wrong codename added to the gauge.
    assert world.session.execute(select(SignInThrottle.name, SignInThrottle.level)).all() == before


def test_derivations_take_their_seconds_from_a_budget_that_says_busy_when_spent(
    consultation_world: ConsultationWorld,
) -> None:
    world = consultation_world
    new = register_new_codename(world.session, world.pepper, language="en", today=world.now.date())
    world.session.commit()
    budget = DerivationBudget(capacity=2, leak_per_second=0.5)

    started = time.monotonic()
    with pytest.raises(SignInRefusedError):
        sign_in_with_codename(
            world.session, world.pepper, crypto.generate_codename(), now=world.now, budget=budget
        )
    took = time.monotonic() - started
    assert 0 < bucket_level(world.session, WORK_BUCKET, budget, world.now) <= took
    count(world.session, [(WORK_BUCKET, budget)], world.now, amount=budget.capacity)
    world.session.commit()
    with pytest.raises(BusyError) as busy:
        sign_in_with_codename(
            world.session, world.pepper, new.codename, now=world.now, budget=budget
        )

    assert busy.value.retry_after == 2
    later = world.now + dt.timedelta(seconds=2)
    submitter, _ = sign_in_with_codename(
        world.session, world.pepper, new.codename, now=later, budget=budget
    )
    assert submitter is new.submitter


def test_codenames_arriving_together_start_no_more_derivations_than_the_budget_holds(
    consultation_world: ConsultationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four typed codenames at once, a budget with room for two: each reserves its second before
    deriving, so two derive and two are answered busy, however the threads interleave (the
    derivations are held until every arrival has its answer)."""
    world = consultation_world
    budget = DerivationBudget(capacity=2, leak_per_second=1e-6)

    def attempt(ask_together: Callable[[], object]) -> str:
        with Session(world.session.get_bind()) as session:
            ask_together()
            try:
                sign_in_with_codename(
                    session, world.pepper, crypto.generate_codename(), now=world.now, budget=budget
                )
            except SignInRefusedError:
                session.commit()
                return "refused"
            except BusyError:
                return "busy"
        return "signed in"

    arrivals = arrive_together(monkeypatch, crypto, "derive_codename_secrets", attempt)

    assert arrivals.settled
    assert arrivals.started == 2
    assert sorted(arrivals.outcomes) == ["busy", "busy", "refused", "refused"]
