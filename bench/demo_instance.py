"""A throw-away demo instance for the benchmarks that run the real portal.

``portal init --demo`` in a folder of the benchmark's own, on SQLite there or on a PostgreSQL
database the benchmark made (``queue_pages.postgres_database``), with cookies that work over
plain HTTP: the benchmarks talk to the server on the loopback without TLS. A ``PORTAL_DATABASE_URL``
of the calling shell is left out, so that a benchmark never writes to a real instance's database.
"""

import os
import subprocess
import sys
from pathlib import Path


def demo_instance(folder: Path, database_url: str | None = None) -> dict[str, str]:
    """Make a demo instance in ``folder`` (``instance/``, with the staff credentials in
    ``credentials.json``); return the environment that ``portal`` commands use to reach it."""
    environment = {
        **os.environ,
        "PORTAL_INSTANCE_DIR": str(folder / "instance"),
        "PORTAL_COOKIE_SECURE": "false",
    }
    environment.pop("PORTAL_DATABASE_URL", None)
    if database_url is not None:
        environment["PORTAL_DATABASE_URL"] = database_url
    subprocess.run(  # noqa: S603 - this interpreter, our own arguments
        [
            *(sys.executable, "-m", "portal", "init", "--demo"),
            *("--credentials-out", str(folder / "credentials.json")),
        ],
        env=environment,
        check=True,
        capture_output=True,
    )
    return environment
