"""The leaky bucket behind every sign-in limit: level, drain, fill, "may I", clean-up, locking."""

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from portal import schema
from portal.db import Database
from portal.models import SignInThrottle
from portal.services.leaky_bucket import (
    BucketRead,
    LeakyBucket,
    bucket_level,
    count,
    forget_drained,
    locked_bucket,
)

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
LIMIT = LeakyBucket(capacity=3, leak_per_second=0.5)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, otherwise empty database on each backend."""
    schema.upgrade_to_head(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def _row(level: float, updated_at: dt.datetime) -> SignInThrottle:
    return SignInThrottle(name="in-memory", level=level, updated_at=updated_at)


def test_the_level_drains_with_time_and_never_below_empty() -> None:
    row = _row(3.0, NOW)

    assert LIMIT.level_at(row, NOW) == 3.0
    assert LIMIT.level_at(row, NOW + dt.timedelta(seconds=2)) == pytest.approx(2.0)
    assert LIMIT.level_at(row, NOW + dt.timedelta(hours=1)) == 0.0


def test_a_clock_behind_the_last_update_drains_nothing_and_adds_nothing() -> None:
    assert LIMIT.level_at(_row(2.0, NOW), NOW - dt.timedelta(minutes=5)) == 2.0


def test_one_more_failure_fits_until_it_would_overflow_the_capacity() -> None:
    assert LIMIT.fits_one_more(2.0)
    assert not LIMIT.fits_one_more(2.01)
    assert LIMIT.drain_seconds == 6.0


def test_a_bucket_without_a_row_is_empty(database: Database) -> None:
    with database.session() as session:
        assert bucket_level(session, "test-nobody", LIMIT, NOW) == 0.0
        assert session.get(SignInThrottle, "test-nobody") is None


def test_failures_fill_a_bucket_until_it_refuses_and_it_drains_again(database: Database) -> None:
    for _ in range(3):
        with database.session() as session:
            count(session, [("test-fill", LIMIT)], NOW)
            session.commit()

    with database.session() as session:
        assert bucket_level(session, "test-fill", LIMIT, NOW) == pytest.approx(3.0)
        assert not LIMIT.fits_one_more(bucket_level(session, "test-fill", LIMIT, NOW))
        later = NOW + dt.timedelta(seconds=2)
        assert LIMIT.fits_one_more(bucket_level(session, "test-fill", LIMIT, later))


def test_a_bucket_read_as_columns_of_another_read_gives_the_level_read_alone(
    database: Database,
) -> None:
    with database.session() as session:
        count(session, [("test-columns", LIMIT)], NOW, amount=2.0)
        session.commit()
    later = NOW + dt.timedelta(seconds=1)

    with database.session() as session:
        for name in ("test-columns", "test-nobody"):
            read = BucketRead.of(name, LIMIT)
            level, updated_at = session.execute(select(*read.columns)).one()
            assert read.level(level, updated_at, later) == bucket_level(session, name, LIMIT, later)
        assert read.level(level, updated_at, later) == 0.0
        stored = BucketRead.of("test-columns", LIMIT)
        assert stored.level(*session.execute(select(*stored.columns)).one(), later) == 1.5


def test_a_bucket_never_holds_more_than_its_capacity(database: Database) -> None:
    """What overflows is spilled: a gauge that a flood kept full drains in ``drain_seconds``."""
    with database.session() as session:
        for _ in range(5):
            count(session, [("test-spill", LIMIT)], NOW)
        session.commit()

    with database.session() as session:
        assert bucket_level(session, "test-spill", LIMIT, NOW) == pytest.approx(LIMIT.capacity)
        assert LIMIT.retry_after(LIMIT.capacity) == 2
        assert LIMIT.retry_after(0.0) == 1


def test_a_failure_counts_only_once_committed(database: Database) -> None:
    with database.session() as session:
        count(session, [("test-rolled-back", LIMIT)], NOW)
        session.rollback()

    with database.session() as session:
        assert bucket_level(session, "test-rolled-back", LIMIT, NOW) == 0.0


def test_one_failure_counts_in_every_bucket_it_names(database: Database) -> None:
    overall = LeakyBucket(capacity=100, leak_per_second=1)
    with database.session() as session:
        count(session, [("test-narrow", LIMIT), ("test-overall", overall)], NOW)
        session.commit()

    with database.session() as session:
        assert bucket_level(session, "test-narrow", LIMIT, NOW) == 1.0
        assert bucket_level(session, "test-overall", overall, NOW) == 1.0


def test_a_locked_bucket_has_the_leak_applied_and_its_time_never_goes_back(
    database: Database,
) -> None:
    with database.session() as session:
        count(session, [("test-lock", LIMIT)], NOW)
        count(session, [("test-lock", LIMIT)], NOW)
        session.commit()

    with database.session() as session:
        row = locked_bucket(session, "test-lock", LIMIT, NOW + dt.timedelta(seconds=2))
        assert row.level == pytest.approx(1.0)
        assert row.updated_at == NOW + dt.timedelta(seconds=2)
        earlier = locked_bucket(session, "test-lock", LIMIT, NOW)
        assert earlier.updated_at == NOW + dt.timedelta(seconds=2)


def test_only_drained_buckets_of_the_prefix_are_forgotten(database: Database) -> None:
    with database.session() as session:
        count(session, [("test-old:a", LIMIT), ("other-old", LIMIT)], NOW)
        later = NOW + dt.timedelta(seconds=LIMIT.drain_seconds + 1)
        count(session, [("test-old:b", LIMIT)], later)
        session.commit()

        forget_drained(session, "test-old:", LIMIT, later)
        session.commit()

        names = set(session.scalars(select(SignInThrottle.name)))
    assert "test-old:a" not in names
    assert {"test-old:b", "other-old"} <= names


def test_concurrent_failures_on_a_new_bucket_are_all_counted(database: Database) -> None:
    """Every worker creates the missing row at once; none of their failures is lost."""
    threads = 6
    roomy = LeakyBucket(capacity=threads, leak_per_second=0.5)
    ready = threading.Barrier(threads)
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            with database.session() as session:
                ready.wait()
                count(session, [("test-race", roomy)], NOW)
                session.commit()
        except BaseException as error:  # reported by the assertion below
            errors.append(error)

    workers = [threading.Thread(target=fail_once) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    with database.session() as session:
        assert bucket_level(session, "test-race", roomy, NOW) == pytest.approx(threads)
