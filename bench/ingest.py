"""Sealed ingest through ``portal serve`` against a bare Flask + SQLAlchemy insert of the same body.

Both servers run in one process group each, pinned to the same core (``bench.servers``), with the
portal's gunicorn settings and default worker count; the bare one is ``bench.bare_ingest``. The
client (this process, on another core) first opens the portal's agenda-input form once per
submission and seals a body for it (``bench.sealed_bodies``), then sends the bodies one after
another to each server in turn, a warm-up first. Printed per server: requests per second and
server CPU time per stored submission; then the ratio portal / bare of throughput. Both store to
SQLite files in a temporary folder, and to PostgreSQL too when a server URL is given (as for
``bench.queue_pages``). Run with ``python -m bench`` or ``python -m bench.ingest``.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.bare_ingest import create_table
from bench.demo_instance import demo_instance
from bench.queue_pages import POSTGRES_VARIABLES, postgres_database, postgres_server_url
from bench.sealed_bodies import SealedBody, open_session_form, sealed_body
from bench.servers import Browser, RunningServer, client_cores, running_server
from portal.settings import load_settings

SUBMISSIONS = 300
WARM_UP = 20


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


def _send(server: RunningServer, browser: Browser, bodies: list[SealedBody]) -> tuple[float, float]:
    """Send every body; return (requests per second, server CPU ms per request)."""
    for index, sealed in enumerate(bodies):
        if index == WARM_UP:
            cpu_before, started = server.cpu_seconds(), time.perf_counter()
        status, answer = browser.request(
            "POST",
            "/sealed-submissions",
            body=json.dumps(sealed.body),
            headers={"Content-Type": "application/json", "X-CSRFToken": sealed.csrf_token},
        )
        if status != 200:
            raise RuntimeError(f"a submission was refused ({status} {answer!r}): benchmark broken")
    measured = len(bodies) - WARM_UP
    seconds = time.perf_counter() - started
    return measured / seconds, (server.cpu_seconds() - cpu_before) * 1000 / measured


def measure(backend: str, folder: Path, database_url: str | None, bare_url: str) -> None:
    environment = demo_instance(folder, database_url)
    form_path = open_session_form(load_settings(environment).database_url, "agenda-input")
    with running_server([sys.executable, "-m", "portal", "serve"], environment) as portal:
        browser, bodies = _bodies(portal, form_path, SUBMISSIONS + WARM_UP)
        portal_rate, portal_cpu = _send(portal, browser, bodies)
        browser.close()
    create_table(bare_url)
    bare_environment = {**environment, "BENCH_BARE_DATABASE_URL": bare_url}
    with running_server([sys.executable, "-m", "bench.bare_ingest"], bare_environment) as bare:
        browser = Browser(bare.port)
        bare_rate, bare_cpu = _send(bare, browser, bodies)
        browser.close()
    print(f"sealed ingest, {backend}, {SUBMISSIONS} agenda inputs from new submitters, one client:")
    print(
        f"  portal serve     {portal_rate:7.0f} submissions/s, {portal_cpu:5.2f} ms server CPU each"
    )
    print(f"  bare Flask+SQLA  {bare_rate:7.0f} submissions/s, {bare_cpu:5.2f} ms server CPU each")
    print(
        f"  ratio portal/bare: {portal_rate / bare_rate:.2f}x by throughput,"
        f" {bare_cpu / portal_cpu:.2f}x by server CPU"
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
