"""Sealed ingest through ``portal serve`` against a bare Flask + SQLAlchemy insert of the same body.

Both servers run at once, in one process group each, pinned to the same core (``bench.servers``),
with the portal's gunicorn settings and default worker count; the bare one is
``bench.bare_ingest``. The client (this process, on another core) first opens the portal's
agenda-input form once per submission and seals a body for it (``bench.sealed_bodies``). After a
warm-up of each, it sends the bodies in rounds taken in turns: a round to one server, then the
same bodies to the other, the order swapped each round, so that both meet the same load from
the rest of a shared machine. Printed per server, from its fastest round by server CPU: requests
per second and server CPU time per stored submission; then the ratios of the two. Both store to
SQLite files in a temporary folder, and to PostgreSQL too when a server URL is given (as for
``bench.queue_pages``). Run with ``python -m bench`` or ``python -m bench.ingest``.
"""

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.bare_ingest import create_table
from bench.demo_instance import demo_instance
from bench.queue_pages import POSTGRES_VARIABLES, postgres_database, postgres_server_url
from bench.sealed_bodies import SealedBody, open_session_form, sealed_body
from bench.servers import Browser, RunningServer, client_cores, running_server
from portal.settings import load_settings

ROUNDS = 5
PER_ROUND = 60
WARM_UP = 20


@dataclass(frozen=True)
class Round:
    """One round's figures for one server."""

    rate: float  # stored submissions per second
    cpu_ms: float  # server CPU time per stored submission


def _bodies(server: RunningServer, form_path: str, count: int) -> tuple[Browser, list[SealedBody]]:
    """``count`` sealed bodies, each for a form page this browser opened (one issued id each)."""
    browser = Browser(server.port)
    bodies = []
    for _ in range(count):
        status, page = browser.request("GET", form_path)
        if status != 200:
            raise RuntimeError(f"the form answered {status}: the benchmark is broken")
        bodies.append(sealed_body(page.decode()))
    return browser, bodies


def _send(server: RunningServer, browser: Browser, bodies: list[SealedBody]) -> Round:
    """Send every body, one after another."""
    cpu_before, started = server.cpu_seconds(), time.perf_counter()
    for sealed in bodies:
        status, answer = browser.request(
            "POST",
            "/sealed-submissions",
            body=json.dumps(sealed.body),
            headers={"Content-Type": "application/json", "X-CSRFToken": sealed.csrf_token},
        )
        if status != 200:
            raise RuntimeError(f"a submission was refused ({status} {answer!r}): benchmark broken")
    seconds = time.perf_counter() - started
    cpu_ms = (server.cpu_seconds() - cpu_before) * 1000 / len(bodies)
    return Round(len(bodies) / seconds, cpu_ms)


def _rounds_in_turns(
    portal: tuple[RunningServer, Browser],
    bare: tuple[RunningServer, Browser],
    bodies: list[SealedBody],
) -> tuple[list[Round], list[Round]]:
    """The warm-up, then :data:`ROUNDS` rounds of each server taken in turns."""
    _send(*portal, bodies[:WARM_UP])
    _send(*bare, bodies[:WARM_UP])
    portal_rounds, bare_rounds = [], []
    for number in range(ROUNDS):
        start = WARM_UP + number * PER_ROUND
        these = bodies[start : start + PER_ROUND]
        if number % 2:
            bare_rounds.append(_send(*bare, these))
            portal_rounds.append(_send(*portal, these))
        else:
            portal_rounds.append(_send(*portal, these))
            bare_rounds.append(_send(*bare, these))
    return portal_rounds, bare_rounds


def measure(backend: str, folder: Path, database_url: str | None, bare_url: str) -> None:
    environment = demo_instance(folder, database_url)
    form_path = open_session_form(load_settings(environment).database_url, "agenda-input")
    create_table(bare_url)
    bare_environment = {**environment, "BENCH_BARE_DATABASE_URL": bare_url}
    with (
        running_server([sys.executable, "-m", "portal", "serve"], environment) as portal,
        running_server([sys.executable, "-m", "bench.bare_ingest"], bare_environment) as bare,
    ):
        browser, bodies = _bodies(portal, form_path, WARM_UP + ROUNDS * PER_ROUND)
        bare_browser = Browser(bare.port)
        portal_rounds, bare_rounds = _rounds_in_turns(
            (portal, browser), (bare, bare_browser), bodies
        )
        browser.close()
        bare_browser.close()
    portal_best = min(portal_rounds, key=lambda found: found.cpu_ms)
    bare_best = min(bare_rounds, key=lambda found: found.cpu_ms)
    print(
        f"sealed ingest, {backend}, agenda inputs from new submitters, one client,"
        f" fastest of {ROUNDS} rounds of {PER_ROUND} taken in turns:"
    )
    for name, best, rounds in (
        ("portal serve   ", portal_best, portal_rounds),
        ("bare Flask+SQLA", bare_best, bare_rounds),
    ):
        spread = ", ".join(f"{found.cpu_ms:.2f}" for found in rounds)
        print(
            f"  {name} {best.rate:7.0f} submissions/s, {best.cpu_ms:5.2f} ms server CPU each"
            f" (rounds: {spread})"
        )
    print(
        f"  ratio portal/bare: {portal_best.rate / bare_best.rate:.2f}x by throughput,"
        f" {bare_best.cpu_ms / portal_best.cpu_ms:.2f}x by server CPU"
    )


def main() -> None:
    os.sched_setaffinity(0, client_cores())
    with tempfile.TemporaryDirectory() as folder:
        measure("SQLite", Path(folder), None, f"sqlite:///{Path(folder) / 'bare.db'}")
    server_url = postgres_server_url()
    if server_url is None:
        names = " nor ".join(POSTGRES_VARIABLES)
        print(f"sealed ingest, PostgreSQL: skipped (neither {names} is set)")
        return
    with (
        tempfile.TemporaryDirectory() as folder,
        postgres_database(server_url) as portal_url,
        postgres_database(server_url) as bare_url,
    ):
        measure("PostgreSQL", Path(folder), portal_url, bare_url)


if __name__ == "__main__":
    main()
