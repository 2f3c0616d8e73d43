"""Where a sealed ingest spends its time, measured in this process without HTTP.

``bench.ingest`` measures the whole server; this looks inside one request. It builds the portal
with ``create_app`` on a demo instance (``bench.demo_instance``: SQLite in a temporary folder, or
with ``--postgres`` the PostgreSQL server that ``PORTAL_BENCH_POSTGRES_URL``, or else
``PORTAL_TEST_POSTGRES_URL``, names), prepares sealed agenda inputs from new submitters as
``bench.sealed_bodies`` does, and sends them through Flask's test client. Printed
per stored submission: CPU milliseconds, SQL statements and Python function calls (the one figure
a shared machine does not blur); then the statements of one request in the order they ran, and
the functions that took the most CPU time under ``cProfile``, by their own time and, for the
portal's and Flask's, by the time spent inside them.
Run with ``python -m bench.ingest_profile [--postgres] [--top N]``.
"""

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.demo_instance import demo_instance
from bench.queue_pages import postgres_choice, scratch_instance
from bench.sealed_bodies import bodies_from_test_client, open_session_form, send_with_test_client
from portal.app import create_app
from portal.db import app_database
from portal.settings import load_settings

SUBMISSIONS = 300
WARM_UP = 20
# How many submissions' statements are counted, after the figures that are timed.
LOGGED = 21


@contextmanager
def _statement_log(engine: Any) -> Iterator[list[str]]:
    """Every SQL statement the engine runs inside the block, in order."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def measure(folder: Path, database_url: str | None, top: int) -> None:
    settings = load_settings(demo_instance(folder, database_url))
    form_path = open_session_form(settings.database_url, "agenda-input")
    app = create_app(settings)
    client = app.test_client()
    bodies = bodies_from_test_client(client, form_path, WARM_UP + 2 * SUBMISSIONS + LOGGED)
    for sealed in bodies[:WARM_UP]:
        send_with_test_client(client, sealed)
    timed = bodies[WARM_UP : WARM_UP + SUBMISSIONS]
    profiled = bodies[WARM_UP + SUBMISSIONS : WARM_UP + 2 * SUBMISSIONS]
    logged = bodies[WARM_UP + 2 * SUBMISSIONS :]
    started = time.process_time()
    for sealed in timed:
        send_with_test_client(client, sealed)
    cpu_ms = (time.process_time() - started) * 1000 / len(timed)
    profile = cProfile.Profile(time.process_time)
    profile.enable()
    for sealed in profiled:
        send_with_test_client(client, sealed)
    profile.disable()
    # The statements come last: once an engine has had a listener, SQLAlchemy puts every
    # statement, commit and rollback of it through its event dispatch, which the portal does not
    # pay and the figures above would.
    engine = app_database(app).engine
    with _statement_log(engine) as one_request:
        send_with_test_client(client, logged[0])
    with _statement_log(engine) as all_requests:
        for sealed in logged[1:]:
            send_with_test_client(client, sealed)
    print(f"sealed ingest in process, {engine.dialect.name}, {len(timed)} submissions:")
    print(f"  {cpu_ms:.2f} ms CPU each (test client, no HTTP)")
    print(f"  {len(all_requests) / (len(logged) - 1):.1f} SQL statements each; one request's:")
    for statement in one_request:
        print("    " + " ".join(statement.split())[:150])
    stats = pstats.Stats(profile, stream=sys.stdout)
    # Unlike CPU time on a shared machine, the count of calls is the same from run to run.
    print(f"  {stats.total_calls / len(profiled):.0f} Python function calls each")
    print(f"  top {top} functions by own time (cProfile, {len(profiled)} submissions):")
    stats.sort_stats("tottime").print_stats(top)
    print(f"  top {top} of the portal's own functions and Flask's by time inside them:")
    stats.sort_stats("cumulative").print_stats(r"/(portal|crypto|flask|flask_wtf)/", top)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    parser.add_argument("--top", type=int, default=30, help="how many functions to list")
    arguments = parser.parse_args()
    with scratch_instance(postgres_choice(parser, arguments.postgres)) as (folder, database_url):
        measure(folder, database_url, arguments.top)


if __name__ == "__main__":
    main()
