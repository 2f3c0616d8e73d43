"""Servers for the benchmarks that go through HTTP: started, pinned, measured and stopped.

Each server runs as its own process group, pinned to one core (``os.sched_setaffinity``) so that
two servers compared in one run get the same CPU; the client stays off that core where the
machine has another. Server CPU time and peak memory are read from ``/proc`` for the gunicorn
master and its workers. ``Browser`` is a small HTTP client over ``http.client`` that keeps
cookies, enough to open a form and send it as a browser would.
"""

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

SERVER_CORE = 0
READY_SECONDS = 30


def client_cores() -> set[int]:
    """The cores the client may use: every one but the servers', unless there is only one."""
    cores = os.sched_getaffinity(0)
    return cores - {SERVER_CORE} or cores


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        found += [int(child) for child in text.split()]
    return found


def _tree(pid: int) -> list[int]:
    pids, index = [pid], 0
    while index < len(pids):
        with suppress(FileNotFoundError):
            pids += _children(pids[index])
        index += 1
    return pids


@dataclass
class RunningServer:
    """A server process group on ``port``; figures cover the master and its workers."""

    process: subprocess.Popen[bytes]
    port: int

    def cpu_seconds(self) -> float:
        """CPU time used so far by the threads of the server's processes, to the nanosecond.

        Read from each thread's ``schedstat`` rather than the process's ``stat``, whose clock
        ticks (10 ms) are too coarse for a round of quick requests. A thread's time leaves the
        sum when it exits; gunicorn's masters, workers and request threads live as long as the
        server.
        """
        nanoseconds = 0
        for pid in _tree(self.process.pid):
            with suppress(FileNotFoundError):
                for task in Path(f"/proc/{pid}/task").iterdir():
                    with suppress(FileNotFoundError, ProcessLookupError):
                        nanoseconds += int((task / "schedstat").read_text().split()[0])
        return nanoseconds / 1e9

    def peak_rss_mib(self) -> dict[int, float]:
        """Each of the server's processes and its peak resident memory so far."""
        peaks = {}
        for pid in _tree(self.process.pid):
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except FileNotFoundError:
                continue
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = int(line.split()[1]) / 1024
        return peaks


@contextmanager
def running_server(command: list[str], environment: dict[str, str]) -> Iterator[RunningServer]:
    """Run ``command`` (which must take ``--port``) pinned to :data:`SERVER_CORE` until the block
    ends; wait until it answers."""
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - this interpreter, our own arguments
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {SERVER_CORE}),
    )
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{command} did not start: the benchmark is broken"
                    ) from None
                time.sleep(0.1)
        yield RunningServer(process, port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class Browser:
    """One HTTP/1.1 connection to a server, keeping the cookies it sets."""

    def __init__(self, port: int) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", port, blocksize=256 * 1024)
        self._cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        sent = dict(headers or {})
        if self._cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self._cookies.items())
        self._connection.request(method, path, body=body, headers=sent)
        response = self._connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            self._cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return response.status, data

    def close(self) -> None:
        self._connection.close()
