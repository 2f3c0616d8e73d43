"""What the framework costs around a sealed ingest, in this process, against the bare Flask app.

``bench.ingest_profile`` looks inside one portal request; this one separates the view from
everything around it (the WSGI middleware, the request context and the session cookie, the
CSRF check, the ``before_request``, ``after_request`` and teardown hooks), and sets the portal
beside ``bench.bare_ingest.bare_app`` storing the same bodies in the same database. Both apps are
wrapped as ``portal serve`` wraps the portal (``portal.server.served_app``) and sent
requests by Flask's test client, whose own work (building each request) is left out: the CPU time
counted is the time inside the application's WSGI call, and, of it, inside the view function.

The two apps take turns, :data:`ROUNDS` rounds of :data:`PER_ROUND` requests each after a
warm-up, so that a busy moment of a shared machine falls on both; the median round is printed.
Then the Python function calls of one request, inside and outside the view: unlike CPU time,
the same from run to run. Run with ``python -m bench.request_overhead [--postgres]``.
"""

import argparse
import cProfile
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from bench.bare_ingest import bare_app, create_table
from bench.demo_instance import demo_instance
from bench.queue_pages import postgres_choice, scratch_instance
from bench.sealed_bodies import (
    SealedBody,
    bodies_from_test_client,
    open_session_form,
    send_with_test_client,
)
from portal.server import served_app
from portal.settings import load_settings

SEALED_ENDPOINT = "forms_sealed.receive_sealed_submission"
ROUNDS = 7
PER_ROUND = 60
WARM_UP = 30
PROFILED = 100


@dataclass
class Meter:
    """CPU seconds spent inside what it wraps, and optionally a profiler switched on there."""

    cpu: float = 0.0
    profile: cProfile.Profile | None = field(default=None)

    def wrap(self, call: Callable[..., Any]) -> Callable[..., Any]:
        def metered(*args: Any, **kwargs: Any) -> Any:
            if self.profile is not None:
                self.profile.enable()
            started = time.process_time()
            try:
                return call(*args, **kwargs)
            finally:
                self.cpu += time.process_time() - started
                if self.profile is not None:
                    self.profile.disable()

        return metered


@dataclass
class MeteredApp:
    """An app with a meter around its WSGI call and one around its sealed-ingest view."""

    name: str
    app: Flask
    endpoint: str
    whole: Meter = field(default_factory=Meter)
    view: Meter = field(default_factory=Meter)

    def __post_init__(self) -> None:
        self.app.wsgi_app = self.whole.wrap(self.app.wsgi_app)  # type: ignore[method-assign]
        self.app.view_functions[self.endpoint] = self.view.wrap(
            self.app.view_functions[self.endpoint]
        )

    def reset(self) -> None:
        self.whole.cpu = self.view.cpu = 0.0


def _send_all(client: FlaskClient, bodies: Iterable[SealedBody]) -> None:
    for sealed in bodies:
        send_with_test_client(client, sealed)


def _calls(metered: MeteredApp, client: FlaskClient, bodies: list[SealedBody]) -> tuple[int, int]:
    """Function calls per request: the whole WSGI call's, and the view's (two passes, since one
    profiler cannot count both at once)."""
    half = len(bodies) // 2
    counts = []
    for meter, part in ((metered.whole, bodies[:half]), (metered.view, bodies[half:])):
        meter.profile = cProfile.Profile()
        _send_all(client, part)
        counts.append(_total_calls(meter.profile) // len(part))
        meter.profile = None
    return counts[0], counts[1]


def _total_calls(profile: cProfile.Profile) -> int:
    return sum(entry.callcount for entry in profile.getstats())


def measure(folder: Path, database_url: str | None) -> None:
    environment = demo_instance(folder, database_url)
    settings = load_settings(environment)
    form_path = open_session_form(settings.database_url, "agenda-input")
    portal_app = served_app(settings)
    create_table(settings.database_url)
    apps = [
        MeteredApp("portal", portal_app, SEALED_ENDPOINT),
        MeteredApp("bare", bare_app(settings.database_url), "receive"),
    ]
    page_client = portal_app.test_client()
    needed = WARM_UP + ROUNDS * PER_ROUND + PROFILED
    bodies = bodies_from_test_client(page_client, form_path, needed)
    # The portal answers the bodies with the session cookie they were made in; the bare app
    # reads neither, and takes the same bodies again into its own table.
    clients = {"portal": page_client, "bare": apps[1].app.test_client()}
    rounds: dict[str, list[tuple[float, float]]] = {metered.name: [] for metered in apps}
    for metered in apps:
        _send_all(clients[metered.name], bodies[:WARM_UP])
    for index in range(ROUNDS):
        start = WARM_UP + index * PER_ROUND
        for metered in apps if index % 2 == 0 else reversed(apps):
            metered.reset()
            _send_all(clients[metered.name], bodies[start : start + PER_ROUND])
            rounds[metered.name].append(
                (metered.whole.cpu * 1000 / PER_ROUND, metered.view.cpu * 1000 / PER_ROUND)
            )
    profiled = bodies[-PROFILED:]
    dialect = "postgresql" if database_url else "sqlite"
    print(f"sealed ingest in process, {dialect}: {ROUNDS} rounds of {PER_ROUND} in turns")
    print("  app      ms CPU each (median round)   view   around it    calls: whole   view")
    for metered in apps:
        whole = statistics.median(total for total, _ in rounds[metered.name])
        view = statistics.median(inside for _, inside in rounds[metered.name])
        around = statistics.median(total - inside for total, inside in rounds[metered.name])
        whole_calls, view_calls = _calls(metered, clients[metered.name], profiled)
        print(
            f"  {metered.name:8} {whole:26.2f} {view:8.2f} {around:9.2f}"
            f"   {whole_calls:12d} {view_calls:6d}   ({whole_calls - view_calls} around)"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    arguments = parser.parse_args()
    with scratch_instance(postgres_choice(parser, arguments.postgres)) as (folder, database_url):
        measure(folder, database_url)


if __name__ == "__main__":
    main()
