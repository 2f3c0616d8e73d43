"""A per-process cap on concurrent expensive work: the Argon2 derivations of staff sign-in.

:class:`WorkGate` is a bounded semaphore around each slow derivation a request makes (staff
sign-in, enrolment, passphrase change). It is per worker process: with ``W`` worker processes at
most ``W x (slots + reserved_slots)`` derivations of 64 MiB run at once. A request that cannot get
a slot within ``wait_seconds`` is answered "busy, try again in a moment" (:class:`BusyError`, 503)
instead of queueing, so a flood of sign-ins cannot exhaust the server's memory.

``reserved_slots`` are held back for sign-ins the caller trusts more than a stranger's (staff on a
device that signed in before, ``portal.services.staff.sign_in``): a flood of strangers takes every
shared slot but none of these, so it cannot keep those people waiting. Such work also takes a
shared slot when one is free.

The rate of expensive work across all workers is a separate limit, kept in the database as a
leaky bucket (``portal.services.leaky_bucket``); this gate only bounds what runs at once here.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from portal.settings import DEFAULT_ARGON2_SLOTS, DEFAULT_ARGON2_WAIT_SECONDS

# How long a busy answer asks the client to wait before trying again.
BUSY_RETRY_SECONDS = 1


class BusyError(Exception):
    """No slot for the expensive work right now; nothing was tried. The message can be shown."""

    def __init__(self, retry_after: int = BUSY_RETRY_SECONDS) -> None:
        super().__init__("The portal is busy. Please try again in a moment.")
        self.retry_after = retry_after


class WorkGate:
    """A per-process cap on concurrent derivations (see the module docstring)."""

    def __init__(
        self,
        slots: int = DEFAULT_ARGON2_SLOTS,
        wait_seconds: float = DEFAULT_ARGON2_WAIT_SECONDS,
        reserved_slots: int = 0,
    ) -> None:
        if slots < 1 or reserved_slots < 0:
            raise ValueError("a work gate needs at least one shared slot")
        self.slots = slots
        self.wait_seconds = wait_seconds
        self._shared = threading.BoundedSemaphore(slots)
        self._reserved = threading.BoundedSemaphore(reserved_slots) if reserved_slots else None

    @contextmanager
    def slot(self, *, reserved: bool = False) -> Iterator[None]:
        """Hold one slot for the block; ``BusyError`` if none frees up in time.

        ``reserved`` work takes a reserved slot, or a shared one that is free right now, and
        otherwise waits for a reserved one; other work waits for a shared one.
        """
        semaphore = self._acquire(reserved)
        try:
            yield
        finally:
            semaphore.release()

    def _acquire(self, reserved: bool) -> threading.BoundedSemaphore:
        if reserved and self._reserved is not None:
            for free in (self._reserved, self._shared):
                if free.acquire(blocking=False):
                    return free
            waited_for = self._reserved
        else:
            waited_for = self._shared
        if not waited_for.acquire(timeout=self.wait_seconds):
            raise BusyError()
        return waited_for
