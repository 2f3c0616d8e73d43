"""Several requests arriving at once at costly work that a budget limits, the work held back.

A budget is checked before costly work starts (an Argon2 run, a codename's derivation), so
arrivals that come together must each reserve their share first; otherwise all of them would
pass the check before any had spent. To show that whatever the interleaving, the costly function
is replaced by one that records its start and then waits until every arrival is either running
it or has been answered busy: none can finish and free the budget early, so the count of starts
is exactly what the budget let through.
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

HOLD_SECONDS = 60


@dataclass(frozen=True)
class Arrivals:
    """What came of arrivals held at the costly work."""

    started: int  # how many reached the costly work
    outcomes: list[str]  # each arrival's answer, as its attempt named it, in no set order
    settled: bool  # every arrival was running or answered before the work was let go


def arrive_together(
    monkeypatch: pytest.MonkeyPatch,
    owner: object,
    costly: str,
    attempt: Callable[[Callable[[], object]], str],
    *,
    arrivals: int = 4,
) -> Arrivals:
    """Run ``attempt`` in ``arrivals`` threads with ``owner.costly`` held (module docstring).

    ``attempt`` gets a function to call just before it asks for the work, once it has what it
    needs to ask (its database session), so that the arrivals ask at the same moment; it returns
    its outcome's name, ``"busy"`` for an arrival the budget turned away.
    """
    start = threading.Barrier(arrivals)
    changed, release = threading.Condition(), threading.Event()
    started: list[str] = []
    outcomes: list[str] = []
    real = getattr(owner, costly)

    def held(*args: Any) -> Any:
        with changed:
            started.append(costly)
            changed.notify_all()
        release.wait(timeout=HOLD_SECONDS)
        return real(*args)

    monkeypatch.setattr(owner, costly, held)

    def arrive() -> None:
        outcome = attempt(start.wait)
        with changed:
            outcomes.append(outcome)
            changed.notify_all()

    workers = [threading.Thread(target=arrive) for _ in range(arrivals)]
    for worker in workers:
        worker.start()
    with changed:
        settled = changed.wait_for(
            lambda: len(started) + outcomes.count("busy") == arrivals, timeout=HOLD_SECONDS
        )
    release.set()
    for worker in workers:
        worker.join()
    return Arrivals(started=len(started), outcomes=outcomes, settled=settled)
