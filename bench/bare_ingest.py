"""The baseline of the ingest benchmark: a bare Flask app that stores the same request body.

``POST /sealed-submissions`` parses the JSON the portal's form sends, decodes the envelope and
inserts it with its public id into one table with one SQLAlchemy Core statement, and answers
``{"ok": true}``: no checks, no other rows, nothing the portal must do besides. It is served by
the portal's own gunicorn setup (``portal.server.PortalServer``, with the workers and threads
``portal serve`` defaults to), so that the two servers differ only in the application.
Run as ``python -m bench.bare_ingest --host H --port P`` with ``BENCH_BARE_DATABASE_URL`` set,
after :func:`create_table`.
"""

import argparse
import base64
import os

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, create_engine

from portal.server import PortalServer
from portal.settings import load_settings

metadata = MetaData()
stored = Table(
    "stored",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("public_id", String(64), unique=True, nullable=False),
    Column("envelope", LargeBinary, nullable=False),
)


def create_table(database_url: str) -> None:
    """Make the one table, before the server starts: its workers would race to make it."""
    engine = create_engine(database_url)
    metadata.create_all(engine)
    engine.dispose()


def bare_app(database_url: str) -> Flask:
    engine = create_engine(database_url)
    app = Flask(__name__)

    @app.post("/sealed-submissions")
    def receive() -> ResponseReturnValue:
        body = request.get_json()
        row = {"public_id": body["public_id"], "envelope": base64.b64decode(body["envelope"])}
        with engine.begin() as connection:
            connection.execute(stored.insert(), row)
        return jsonify(ok=True)

    return app


# The portal's own hooks: its housekeeping in each worker and the sweep of its storage folder.
# The bare app has neither a portal database nor storage, and its workers would fail to boot.
PORTAL_HOOKS = ("post_worker_init", "when_ready")


class BareServer(PortalServer):
    """The portal's gunicorn configuration, less the portal's own hooks, serving :func:`bare_app`
    instead."""

    def load_config(self) -> None:
        for key, value in self._options.items():
            if key not in PORTAL_HOOKS:
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return bare_app(os.environ["BENCH_BARE_DATABASE_URL"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    # The settings give the worker processes and threads ``portal serve`` defaults to.
    BareServer(load_settings(), host=arguments.host, port=arguments.port).run()


if __name__ == "__main__":
    main()
