"""Sealed ingest counted in machine instructions: the portal against the bare Flask + SQLAlchemy
insert of the same bodies, under ``valgrind --tool=callgrind``.

CPU time on a shared machine moves by tens of percent from round to round (``bench.ingest``
prints the spread); an instruction count does not, whatever else the machine runs, so a change of
a few percent shows. Each app runs in a process of its own under callgrind, on a demo instance
(``bench.demo_instance``, made by a subprocess that callgrind does not follow): the portal as
``portal serve`` wraps it (``portal.server.served_app``), the bare app as ``bench.bare_ingest``
builds it, both sent sealed agenda inputs from new submitters by Flask's test client. Only the
:data:`COUNTED` requests after the warm-up are counted: callgrind zeroes its counters when the
process calls ``os.getppid`` and writes them out when it calls ``os.getpgrp``, two calls nothing
else in the request makes.
The test client's own work is counted for both apps, and gunicorn's for neither, so the ratio is
not the one ``bench.ingest`` measures through ``portal serve``; it is the one to follow from
change to change. The portal's share spent verifying the submission's Ed25519 signature, which
the bare app does not do, is printed apart (from ``callgrind_annotate``).

On SQLite, and on PostgreSQL too when a server URL is given (as for ``bench.queue_pages``). The
apps run side by side, one process each, and each takes a few minutes. Not part of
``python -m bench``: run with ``python -m bench.ingest_instructions``.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.bare_ingest import bare_app, create_table
from bench.demo_instance import demo_instance
from bench.queue_pages import POSTGRES_VARIABLES, postgres_server_url, scratch_instance
from bench.sealed_bodies import bodies_from_test_client, open_session_form, send_with_test_client
from portal.server import served_app
from portal.settings import load_settings

COUNTED = 50
WARM_UP = 10
APPS = ("portal", "bare")
TOTALS = re.compile(r"^totals:\s+(\d+)", re.MULTILINE)
# OpenSSL's Ed25519 verification, as the OpenSSL inside ``cryptography`` names it: the one
# costliest single check the portal makes of every sealed submission.
SIGNATURE_CHECK = "ossl_ed25519_verify"


def _send_counted(app_name: str, database_url: str | None) -> None:
    """In the process callgrind runs: the warm-up, then the counted requests between the two
    marker calls."""
    with scratch_instance(database_url) as (folder, instance_url):
        settings = load_settings(demo_instance(folder, instance_url))
        form_path = open_session_form(settings.database_url, "agenda-input")
        portal = served_app(settings)
        client = portal.test_client()
        bodies = bodies_from_test_client(client, form_path, WARM_UP + COUNTED)
        if app_name == "bare":
            create_table(settings.database_url)
            client = bare_app(settings.database_url).test_client()
        for sealed in bodies[:WARM_UP]:
            send_with_test_client(client, sealed)
        os.getppid()  # callgrind: zero the counters
        for sealed in bodies[WARM_UP:]:
            send_with_test_client(client, sealed)
        os.getpgrp()  # callgrind: write the counters out


def _counted(folder: Path, app_name: str, server_url: str | None) -> subprocess.Popen[bytes]:
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={folder / app_name}.%p",
        "--zero-before=os_getppid",
        "--dump-before=os_getpgrp",
        sys.executable,
        "-m",
        "bench.ingest_instructions",
        "--app",
        app_name,
    ]
    if server_url is not None:
        command += ["--server", server_url]
    # The same hash seed for both: dictionaries and sets then do the same work in each run.
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.Popen(  # noqa: S603 - valgrind and this interpreter, our own arguments
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _dump(folder: Path, app_name: str) -> Path:
    """The one dump callgrind wrote at the marker, of the counted requests."""
    dumps = list(folder.glob(f"{app_name}.*.1"))
    if len(dumps) != 1:
        raise RuntimeError(f"callgrind wrote {len(dumps)} dumps for {app_name}: benchmark broken")
    return dumps[0]


def _instructions(dump: Path) -> int:
    """The instructions of the counted requests."""
    found = TOTALS.search(dump.read_text(errors="replace"))
    if found is None:
        raise RuntimeError(f"no totals in {dump}: benchmark broken")
    return int(found.group(1))


def _inclusive(dump: Path, function: str) -> int | None:
    """The instructions of the counted requests spent in ``function`` and what it called, as
    ``callgrind_annotate`` reads them; ``None`` when the profile does not name it."""
    command = ["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(dump)]
    annotated = subprocess.run(  # noqa: S603 - valgrind's own tool, our own arguments
        command, capture_output=True, text=True, check=True
    ).stdout
    for line in annotated.splitlines():
        if f":{function} [" in line:
            return int(line.split()[0].replace(",", ""))
    return None


def measure(backend: str, server_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        running = {app_name: _counted(folder, app_name, server_url) for app_name in APPS}
        for app_name, process in running.items():
            _, errors = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(f"{app_name} under callgrind failed:\n{errors.decode()[-2000:]}")
        dumps = {app_name: _dump(folder, app_name) for app_name in APPS}
        per_ingest = {app_name: _instructions(dump) / COUNTED for app_name, dump in dumps.items()}
        checking = _inclusive(dumps["portal"], SIGNATURE_CHECK)
    print(f"sealed ingest in instructions, {backend}, {COUNTED} agenda inputs after {WARM_UP}:")
    print(f"  portal           {per_ingest['portal'] / 1e6:6.2f} M instructions each")
    print(f"  bare Flask+SQLA  {per_ingest['bare'] / 1e6:6.2f} M instructions each")
    print(f"  ratio portal/bare: {per_ingest['bare'] / per_ingest['portal']:.2f}x")
    if checking is None:
        print(f"  the portal's signature check: {SIGNATURE_CHECK} not found in its profile")
        return
    checked = checking / COUNTED
    print(
        f"  of the portal's, its Ed25519 signature check: {checked / 1e6:.2f} M"
        f" ({100 * checked / per_ingest['portal']:.0f}%; the bare app checks none);"
        f" ratio of the rest: {per_ingest['bare'] / (per_ingest['portal'] - checked):.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--app", choices=APPS, help="(inside callgrind) the app to send to")
    parser.add_argument("--server", help="(inside callgrind) the PostgreSQL server URL")
    arguments = parser.parse_args()
    if arguments.app is not None:
        _send_counted(arguments.app, arguments.server)
        return
    if shutil.which("valgrind") is None:
        print("sealed ingest in instructions: skipped (valgrind is not installed)")
        return
    measure("SQLite", None)
    server_url = postgres_server_url()
    if server_url is None:
        names = " nor ".join(POSTGRES_VARIABLES)
        print(f"sealed ingest in instructions, PostgreSQL: skipped (neither {names} is set)")
        return
    measure("PostgreSQL", server_url)


if __name__ == "__main__":
    main()
