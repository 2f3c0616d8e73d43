"""Run every benchmark in ``bench/`` and print its figures: ``python -m bench`` (``make bench``).

On SQLite always, and on PostgreSQL too when ``PORTAL_BENCH_POSTGRES_URL`` (or
``PORTAL_TEST_POSTGRES_URL``) names a server. Each part says when it starts, with the time
elapsed, since the whole run takes several minutes.
"""

import time

from bench import crypto_costs, ingest, queue_pages, upload_memory

PARTS = (
    ("cryptographic costs and STREAM against raw AES-GCM", crypto_costs.main),
    ("upload memory through portal serve", upload_memory.main),
    ("sealed ingest against a bare Flask + SQLAlchemy insert", ingest.main),
    ("triage queue pages at 1,000 and 100,000 submissions", queue_pages.main),
)


def main() -> None:
    started = time.monotonic()
    for name, run in PARTS:
        print(f"--- {name} ({time.monotonic() - started:.0f} s elapsed)", flush=True)
        run()
    print(f"--- done in {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
