"""Time to serve triage queue pages at 1,000 and at 100,000 submissions, filter by filter.

A demo instance (made by ``portal init --demo`` in another process) gets submissions in its
``valdoria`` dialogue, inserted in bulk: their envelopes are a few random bytes, since the queue
never opens one. The demo triage officer is signed in and queue pages are served through the
Flask test client, the whole request (session check, queries, template) timed: the first page, a
deep page (about nine tenths down) reached by its keyset cursor, and a page for each filter
value, common and rare, and for filters together. Every case is timed in two such instances, one
holding 1,000 submissions and one 100,000, and the ratio printed: an indexed filter's page costs
about the same at both sizes. The two take turns, a run of one then a run of the other, so that
both meet the same load from whatever else the machine is doing while they run.

A page shows at most 50 rows, and each row shown costs its drawing; a filter that found 6 rows
at 1,000 submissions and 50 at 100,000 would compare different work, and say nothing of how the
lookup scales. So every filter finds more than a page at both sizes: the first thousand
submissions begin with a page and one more of each filter that a thousand drawn at random would
not fill (``FULL_PAGES``: the rare theme, the three filters together, the risk hold, urgent,
and the common theme below the deep cursor), and the rest are drawn. The rare theme stays rare:
on 51 of the first thousand, then on about 1 in 2,000 of the others, so that at 100,000 its
newest page lies scattered through the whole table, and only an index finds it without reading
the rest. The rows each page shows are printed at both sizes.

Beside each page, the queue's own queries are timed alone (``queue_page`` in a fresh session,
no template): they are what the indexes decide.

Each figure is the fastest of several runs, in milliseconds: on a machine others share, the
fastest run is the one least disturbed by their work, and what is compared is the work a page
needs. It runs on SQLite, and on PostgreSQL
too when ``PORTAL_BENCH_POSTGRES_URL`` (or ``PORTAL_TEST_POSTGRES_URL``) names a server, in a
throw-away database created and dropped on that server. Run with ``python -m bench`` or
``python -m bench.queue_pages``.
"""

import argparse
import datetime as dt
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

import crypto
from portal import create_app
from portal.blueprints.staff_access import STAFF_TICKET_ENTRY
from portal.db import app_database
from portal.models import (
    DeskKey,
    Dialogue,
    DialogueSession,
    RiskLevel,
    StaffUser,
    Submission,
    SubmissionKind,
    SubmissionState,
    SubmissionTopic,
    Topic,
    utc_now,
)
from portal.services.staff.triage_queue import PAGE_SIZE, QueueFilters, queue_page
from portal.services.staff.web_sessions import start_staff_session
from portal.settings import load_settings

SIZES = (1_000, 100_000)
BATCH = 5_000
RUNS = 15
DEEP_FRACTION = 0.9
POSTGRES_VARIABLES = ("PORTAL_BENCH_POSTGRES_URL", "PORTAL_TEST_POSTGRES_URL")
COMMON_TOPIC = Topic.HUMAN_RIGHTS_DEFENDERS  # on about a third of the submissions
RARE_TOPIC = Topic.INTERNATIONAL_HUMANITARIAN_LAW  # a page early on, then 1 in 2,000 (docstring)
OTHER_TOPICS = [topic for topic in Topic if topic not in (COMMON_TOPIC, RARE_TOPIC)]
COMBINED = {"kind": SubmissionKind.INDIVIDUAL_CASE, "state": SubmissionState.ACCEPTED}
# What a submission needs to show on the page of each filter that a thousand drawn submissions
# would not fill: the first thousand hold a page and one more of each (module docstring). The
# theme below the deep cursor comes first, the oldest submissions being the ones below it.
FULL_PAGES: tuple[dict[str, Any], ...] = tuple(
    overrides
    for overrides in (
        {"topics": frozenset({COMMON_TOPIC})},
        {"topics": frozenset({RARE_TOPIC})},
        {**COMBINED, "topics": frozenset({COMMON_TOPIC})},
        {"risk_hold": True},
        {"kind": SubmissionKind.REPRISAL_REPORT, "urgent": True},
    )
    for _ in range(PAGE_SIZE + 1)
)


def insert_submissions(
    session: Session,
    dialogue: Dialogue,
    count: int,
    *,
    seed: int = 1,
    matching: tuple[dict[str, Any], ...] = (),
) -> None:
    """Insert ``count`` submissions of ``dialogue`` in bulk, with varied metadata.

    Envelopes, each submission's own key and its owner tag are random bytes: nothing that reads
    the queue may open them or needs to know whose they are. Their themes get their
    ``submission_topics`` rows as intake gives them. The first submissions, one for each entry
    of ``matching``, take that entry's values over the drawn ones (``topics`` are added to the
    drawn themes). The caller commits.
    """
    rng = random.Random(seed)
    desk_key = session.scalars(select(DeskKey).where(DeskKey.dialogue_id == dialogue.id)).first()
    if desk_key is None:
        raise RuntimeError("the dialogue has no desk key: the benchmark is broken")
    sessions = list(
        session.scalars(
            select(DialogueSession.id).where(DialogueSession.dialogue_id == dialogue.id)
        )
    )
    drawing = _Drawing(rng, dialogue.id, desk_key.id, sessions, utc_now().date())
    wanted = list(matching) + [{}] * (count - len(matching))
    for start in range(0, count, BATCH):
        rows = [drawing.row(**overrides) for overrides in wanted[start : start + BATCH]]
        ids = session.scalars(
            insert(Submission).returning(Submission.id, sort_by_parameter_order=True), rows
        )
        topic_rows = [
            {"submission_id": submission_id, "dialogue_id": dialogue.id, "topic": topic}
            for submission_id, row in zip(ids, rows, strict=True)
            for topic in row["topic_tags"]
        ]
        session.execute(insert(SubmissionTopic), topic_rows)


@dataclass(frozen=True)
class _Drawing:
    """Draws submissions' columns for one dialogue from ``rng``: a seed gives the same
    submissions on every run, so that runs compare the same data."""

    rng: random.Random
    dialogue_id: int
    desk_key_id: int
    sessions: list[int]
    today: dt.date

    def row(self, *, topics: frozenset[Topic] = frozenset(), **chosen: Any) -> dict[str, Any]:
        """One submission's columns: drawn, then ``topics`` added and the ``chosen`` ones set."""
        rng = self.rng
        kind = chosen.get("kind", rng.choice(list(SubmissionKind)))
        tags = set(rng.sample(OTHER_TOPICS, rng.randint(0, 3))) | topics
        if rng.random() < 0.33:
            tags.add(COMMON_TOPIC)
        if rng.random() < 0.0005:
            tags.add(RARE_TOPIC)
        risk = rng.choice([None, None, RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH])
        drawn = {
            "public_id": secrets.token_urlsafe(16),
            "dialogue_id": self.dialogue_id,
            "session_id": None
            if kind is SubmissionKind.REPRISAL_REPORT or not self.sessions
            else rng.choice(self.sessions),
            "kind": kind,
            "state": rng.choice(list(SubmissionState)),
            "received_on": self.today,
            "risk_level": risk,
            "risk_reassess_on": None if risk is None else self.today,
            "gender_specific_risk": rng.random() < 0.1,
            "risk_hold": rng.random() < 0.02,
            "desk_key_id": self.desk_key_id,
            "envelope": secrets.token_bytes(48),
            "owner_tag": secrets.token_bytes(32),
            "submitter_public_key": secrets.token_bytes(32),
            "topic_tags": sorted(str(tag) for tag in tags),
            "urgent": kind is SubmissionKind.REPRISAL_REPORT and rng.random() < 0.2,
        }
        return {**drawn, **chosen}


def _sign_in(app: Flask, client: FlaskClient, email: str, passphrase: str) -> None:
    """Open a staff session the way a sign-in does after its checks; keep the ticket."""
    with app.app_context(), app_database(app).session() as session:
        user = session.scalars(select(StaffUser).where(StaffUser.email == email)).one()
        personal_key = crypto.unwrap_private_key(user.personal_private_key_wrapped, passphrase)
        ticket = start_staff_session(session, user, personal_key, now=utc_now())
        session.commit()
    with client.session_transaction() as cookie:
        cookie.clear()
        cookie[STAFF_TICKET_ENTRY] = ticket.to_cookie()


def _fastest_ms(serves: Sequence[Callable[[], Any]]) -> list[float]:
    """The fastest of ``RUNS`` runs of each of ``serves``, in milliseconds, run in turn: each run
    of one is followed by a run of the next, so that all meet the same load from the machine's
    other work, however it changes while they run."""
    for serve in serves:
        serve()  # warm caches and compiled statements once
    timings: list[list[float]] = [[] for _ in serves]
    for _ in range(RUNS):
        for serve, taken in zip(serves, timings, strict=True):
            started = time.perf_counter()
            serve()
            taken.append((time.perf_counter() - started) * 1000)
    return [min(taken) for taken in timings]


def _environment(instance_dir: Path, database_url: str | None) -> dict[str, str]:
    environment = {
        **os.environ,
        "PORTAL_INSTANCE_DIR": str(instance_dir),
        "PORTAL_COOKIE_SECURE": "false",
    }
    environment.pop("PORTAL_DATABASE_URL", None)
    if database_url is not None:
        environment["PORTAL_DATABASE_URL"] = database_url
    return environment


def postgres_server_url() -> str | None:
    """The PostgreSQL server the benchmarks make their databases on: the first of
    ``POSTGRES_VARIABLES`` that is set, or ``None`` when none is."""
    return next((os.environ[name] for name in POSTGRES_VARIABLES if os.environ.get(name)), None)


def postgres_choice(parser: argparse.ArgumentParser, wanted: bool) -> str | None:
    """For a benchmark's ``--postgres`` flag: the server when ``wanted`` (a usage error when no
    variable names one), else ``None``."""
    if not wanted:
        return None
    server_url = postgres_server_url()
    if server_url is None:
        parser.error(f"--postgres needs {' or '.join(POSTGRES_VARIABLES)}")
    return server_url


@contextmanager
def scratch_instance(server_url: str | None) -> Iterator[tuple[Path, str | None]]:
    """A temporary folder for a demo instance, and a database of its own on ``server_url``
    (``None`` without one: the instance keeps SQLite in the folder); both gone afterwards."""
    with (
        tempfile.TemporaryDirectory() as folder,
        nullcontext(None) if server_url is None else postgres_database(server_url) as database_url,
    ):
        yield Path(folder), database_url


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    name = f"parley_bench_{uuid.uuid4().hex[:12]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


def _instance(folder: Path, database_url: str | None) -> tuple[Flask, Path]:
    """A demo instance's app in this process, and its credentials file."""
    instance_dir = folder / "instance"
    credentials_file = folder / "credentials.json"
    environment = _environment(instance_dir, database_url)
    subprocess.run(  # noqa: S603 - this interpreter, our own arguments
        [
            sys.executable,
            "-m",
            "portal",
            "init",
            "--demo",
            "--credentials-out",
            str(credentials_file),
        ],
        env=environment,
        check=True,
        capture_output=True,
    )
    os.environ.update(environment)
    if database_url is None:
        os.environ.pop("PORTAL_DATABASE_URL", None)
    return create_app(load_settings()), credentials_file


def _fill(
    app: Flask, count: int, seed: int, matching: tuple[dict[str, Any], ...]
) -> tuple[float, int, int]:
    """Add ``count`` submissions, the first ones ``matching`` (``insert_submissions``), and
    analyse; return the seconds taken, a cursor about nine tenths down the dialogue, and one of
    its session ids."""
    database = app_database(app)
    started = time.perf_counter()
    with database.session() as session:
        dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria")).one()
        insert_submissions(session, dialogue, count, seed=seed, matching=matching)
        session.commit()
        total = session.scalar(
            select(func.count())
            .select_from(Submission)
            .where(Submission.dialogue_id == dialogue.id)
        )
        deep_cursor = session.scalars(
            select(Submission.id)
            .where(Submission.dialogue_id == dialogue.id)
            .order_by(Submission.id.desc())
            .offset(int(total * DEEP_FRACTION))
            .limit(1)
        ).one()
        session_id = session.scalars(
            select(DialogueSession.id).where(DialogueSession.dialogue_id == dialogue.id)
        ).first()
    with database.engine.connect() as connection:
        connection.execute(text("ANALYZE"))
        connection.commit()
    return time.perf_counter() - started, deep_cursor, session_id


def _cases(deep_cursor: int, session_id: int) -> list[tuple[str, str]]:
    return [
        ("first page", ""),
        ("deep page (cursor 9/10 down)", f"after={deep_cursor}"),
        ("session = one session", f"session={session_id}"),
        ("session = none (reprisal reports)", "session=none"),
        ("kind = individual case", "kind=individual_case"),
        ("state = in triage", "state=in_triage"),
        (f"topic = {COMMON_TOPIC} (~1/3)", f"topic={COMMON_TOPIC}"),
        (f"topic = {RARE_TOPIC} (rare)", f"topic={RARE_TOPIC}"),
        ("risk = high", "risk=high"),
        ("risk = not assessed", "risk=none"),
        ("flag = urgent", "flag=urgent"),
        ("flag = risk hold (~1/50)", "flag=risk_hold"),
        (
            "kind + state + topic",
            f"kind={COMBINED['kind']}&state={COMBINED['state']}&topic={COMMON_TOPIC}",
        ),
        ("topic, deep cursor", f"topic={COMMON_TOPIC}&after={deep_cursor}"),
    ]


@dataclass(frozen=True)
class _Size:
    """One of the instances compared: its app, a signed-in client, and its cases' queries."""

    app: Flask
    client: FlaskClient
    cases: list[tuple[str, str]]


class _PageRequest:
    """A request for one queue page, run for timing, that remembers how many rows it showed."""

    def __init__(self, client: FlaskClient, query: str) -> None:
        self.client, self.query, self.rows = client, query, 0

    def __call__(self) -> None:
        response = self.client.get(f"/staff/dialogues/valdoria/queue?{self.query}")
        if response.status_code != 200:
            raise RuntimeError(
                f"{self.query or 'first page'} answered {response.status_code}: "
                "the benchmark is broken"
            )
        self.rows = response.data.count(b"queue-row")


def _time_pages(sizes: list[_Size]) -> list[list[tuple[float, int]]]:
    """For each case, each size's fastest time and how many rows its page shows."""
    timings = []
    for cases in zip(*(size.cases for size in sizes), strict=True):
        requests = [
            _PageRequest(size.client, query) for size, (_, query) in zip(sizes, cases, strict=True)
        ]
        fastest = _fastest_ms(requests)
        timings.append([(ms, request.rows) for ms, request in zip(fastest, requests, strict=True)])
    return timings


def _time_queries(sizes: list[_Size]) -> list[list[float]]:
    """For each case, each size's fastest time for the queue's own queries alone, each run in a
    fresh session (so that no row comes from the previous run's identity map)."""
    today = utc_now().date()

    def queries(app: Flask, query: str) -> Callable[[], Any]:
        arguments = dict(urllib.parse.parse_qsl(query))
        filters = QueueFilters.from_args(arguments)
        after = int(arguments["after"]) if "after" in arguments else None

        def run() -> None:
            with app.app_context(), app_database(app).session() as session:
                dialogue = session.scalars(select(Dialogue).where(Dialogue.slug == "valdoria"))
                queue_page(session, dialogue.one(), filters, after=after, today=today)

        return run

    return [
        _fastest_ms(
            [queries(size.app, query) for size, (_, query) in zip(sizes, cases, strict=True)]
        )
        for cases in zip(*(size.cases for size in sizes), strict=True)
    ]


def _prepare(backend: str, folder: Path, database_url: str | None, size: int) -> _Size:
    """A demo instance holding ``size`` submissions (the first thousand alike in every one),
    its triage officer signed in."""
    folder.mkdir(parents=True)
    app, credentials_file = _instance(folder, database_url)
    accounts = json.loads(credentials_file.read_text(encoding="utf-8"))
    officer = next(account for account in accounts if account["role"] == "triage_officer")
    client = app.test_client()
    _sign_in(app, client, officer["email"], officer["password"])
    seconds, deep_cursor, session_id = _fill(app, SIZES[0], 1, FULL_PAGES)
    if size > SIZES[0]:
        more, deep_cursor, session_id = _fill(app, size - SIZES[0], 2, ())
        seconds += more
    print(f"  queue pages, {backend}: {size:,} submissions ready ({seconds:.1f} s)", flush=True)
    return _Size(app, client, _cases(deep_cursor, session_id))


def measure(backend: str, folders: list[Path], database_urls: list[str | None]) -> None:
    """Time every case at each size in ``SIZES``, one instance each, and print them side by
    side."""
    sizes = [
        _prepare(backend, folder, url, size)
        for folder, url, size in zip(folders, database_urls, SIZES, strict=True)
    ]
    pages, queries = _time_pages(sizes), _time_queries(sizes)
    small, large = SIZES
    print(
        f"queue pages, {backend}, one dialogue, fastest of {RUNS} runs, sizes in turn"
        f" (page: ms at {small:,} | ms at {large:,} | ratio | rows shown at each;"
        " queries alone: ms at each | ratio):"
    )
    for (name, _), page, query in zip(sizes[0].cases, pages, queries, strict=True):
        (at_small, rows_small), (at_large, rows_large) = page
        query_small, query_large = query
        print(
            f"  {name:<50} {at_small:7.1f} {at_large:7.1f} {at_large / at_small:6.2f}x"
            f"  {rows_small:3d} | {rows_large:3d}"
            f"   {query_small:6.2f} {query_large:6.2f} {query_large / query_small:6.2f}x"
        )
    for size in sizes:
        app_database(size.app).dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", [Path(folder) / str(size) for size in SIZES], [None] * len(SIZES))
    server_url = postgres_server_url()
    if server_url is None:
        print(f"queue pages, PostgreSQL: skipped ({POSTGRES_VARIABLES[0]} is not set)")
        return
    with (
        tempfile.TemporaryDirectory() as folder,
        postgres_database(server_url) as small_url,
        postgres_database(server_url) as large_url,
    ):
        measure("PostgreSQL", [Path(folder) / str(size) for size in SIZES], [small_url, large_url])


if __name__ == "__main__":
    main()
