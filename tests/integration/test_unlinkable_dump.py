"""Acceptance 2 of issue 9: from a copy of the database, the storage folder and the logs (without
secrets.json or a cookie), no value links two submissions of one submitter.

Two submitters do the same things on the same day, in the same dialogue, session and kind, so
that whatever is meant to be shared (dialogue, session, kind, state, the day, the desk key, the
staff member who wrote) is shared by both. Each sends three cases: the first without JavaScript
under a new codename, with a file; the second with JavaScript under that codename, with a file;
the third without JavaScript under it again. The desk writes to the first two; each submitter
adds further information to the first, answers the desk on the first two, changes a consent on
the second and deletes the third (which leaves a tombstone).

Then, holding only what a seized server gives, every row of every table is read by reflection
and attached to the submission it belongs to: the submission's row or tombstone, every row that
points at it (``submission_id``), its uploads (``submission_public_id``) and the audit events that
name it. Each of a submitter's submissions thus has a set of values: every bytes or text value,
and every other value with its column's name (a primary key, which names the row itself, and the
audit chain's links, which order every event after the one before it, aside).
The test demands that whatever two submissions of one submitter share, a submission of the other
submitter has too, so that it is shared by the kind of submission, not by the person. The storage
folder holds only files named by attachment rows, and the logs name none of the submissions.
"""

import io
import itertools
import logging
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, select
from sqlalchemy.pool import NullPool

from portal import create_app
from portal.instance import InstanceFolder
from portal.models import SubmissionKind
from tests.conftest import DemoInstance
from tests.integration.forms_client import codename_in, open_form, open_session_url, post_form
from tests.integration.test_forms_pages import CASE_FIELDS
from tests.integration.test_forms_sealed import post_sealed, seal_in_browser
from tests.integration.test_forms_sealed_attachments import _attach, _upload
from tests.integration.test_inbox_pages import _post, _signed_in
from tests.integration.test_key_material_dump import reseal
from tests.integration.test_messages_pages import _desk_post, _staff_client
from tests.staff_sessions_support import demo_credentials

Value = tuple[str, Any]
# The audit chain's order: each event names the hash of the one before it, whoever caused either,
# like its sequence number (a primary key). That order, and the time of each event, remain what
# can tell that two events happened one after the other (SECURITY.md, "Submissions do not name
# their submitter", "What still links").
CHAIN_ORDER = {("audit_events", "hash"), ("audit_events", "prev_hash")}


def _send_three(app: Flask) -> tuple[str, list[str]]:
    """One submitter's three cases (module docstring); their codename and public ids."""
    url = open_session_url(app, "individual-case")
    with app.test_client() as client:
        form = open_form(client, url)
        file = (io.BytesIO(b"a scanned court order\n" * 300), "order.txt")
        status, page = post_form(client, form, {**CASE_FIELDS, "attachments": [file]})
        assert status == 200
        codename = codename_in(page)
        public_ids = [form.hidden["public_id"]]
    with app.test_client() as client:
        sent = seal_in_browser(client, url, SubmissionKind.INDIVIDUAL_CASE, codename=codename)
        reseal(sent, {**sent.payload, "contact_through_portal": True})
        _attach(sent, _upload(client, sent, b"a photo of the cell\n" * 200), "cell.jpg")
        assert post_sealed(client, sent)[0] == 200
        public_ids.append(sent.form.hidden["public_id"])
    with app.test_client() as client:
        form = open_form(client, url)
        existing = {"codename_choice": "existing", "codename": codename}
        assert post_form(client, form, {**CASE_FIELDS, **existing})[0] == 200
        public_ids.append(form.hidden["public_id"])
    return codename, public_ids


def _act_in_the_inbox(client: FlaskClient, public_ids: list[str]) -> None:
    first, second, third = public_ids
    for public_id, action, data in (
        (first, "further-information", {"text": "He was moved to another prison."}),
        (first, "messages", {"text": "Yes, you may write to me here."}),
        (second, "messages", {"text": "The photo was taken last month."}),
        (
            second,
            "consent",
            {
                "person": "0",
                "level": "internal_only",
                "given_by": "family",
                "risks_explained": "yes",
            },
        ),
        (third, "delete", {"understood": "yes"}),
    ):
        page = f"/inbox/{public_id}"
        status, body = _post(client, page, f"{page}/{action}", data)
        assert status == 302, (action, body)


def _rows(database_url: str) -> Iterator[tuple[str, set[str], dict[str, Any]]]:
    """Every row of every table: its table, its primary key's columns and its values."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        metadata = MetaData()
        metadata.reflect(bind=engine)
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                primary_key = {column.name for column in table.primary_key.columns}
                for row in connection.execute(select(table)).mappings():
                    yield table.name, primary_key, dict(row)
    finally:
        engine.dispose()


def _leaves(column: str, value: Any) -> Iterator[Value]:
    """``value``'s scalars, JSON walked, each keyed by its column (bytes and text also bare)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(f"{column}.{key}", item)
    elif isinstance(value, list | tuple):
        yield column, repr(value)
        for item in value:
            yield from _leaves(column, item)
    else:
        if isinstance(value, memoryview | bytearray):
            value = bytes(value)
        yield column, value
        if isinstance(value, bytes | str):
            yield "any column", value


def _values_by_submission(database_url: str) -> dict[str, set[Value]]:
    """The values of the dump that belong to each submission (module docstring)."""
    rows = list(_rows(database_url))
    public_id_of = {row["id"]: row["public_id"] for table, _, row in rows if table == "submissions"}
    message_submission = {
        row["id"]: row["submission_id"] for table, _, row in rows if table == "desk_messages"
    }
    values: dict[str, set[Value]] = defaultdict(set)
    for table, primary_key, row in rows:
        if table in ("submissions", "deleted_submissions"):
            owner = row["public_id"]
        elif "submission_id" in row:
            owner = public_id_of.get(row["submission_id"])
        elif "submission_public_id" in row:
            owner = row["submission_public_id"]
        elif table == "audit_events":
            owner = _audited_submission(row, public_id_of, message_submission)
            # An object id means something only with its type (a message's id is not a
            # submission's); compared bare, ids of different things would look shared.
            row = {**row, "object_id": f"{row['object_type']} {row['object_id']}"}
        else:
            continue
        for column, value in row.items():
            if column not in primary_key and (table, column) not in CHAIN_ORDER:
                values[owner].update(_leaves(column, value))
    return values


def _audited_submission(
    event: dict[str, Any], public_id_of: dict[int, str], message_submission: dict[int, int]
) -> str | None:
    details = event["details"] or {}
    if "submission_id" in details:
        return public_id_of.get(details["submission_id"])
    if event["object_type"] == "submission":
        return public_id_of.get(int(event["object_id"]))
    if event["object_type"] == "desk_message":
        return public_id_of.get(message_submission.get(int(event["object_id"])))
    return None


def links(values: dict[str, set[Value]], mine: list[str], theirs: list[str]) -> list[Value]:
    """Values two of ``mine`` share that none of ``theirs`` has."""
    shared_with_others = set().union(*(values[public_id] for public_id in theirs))
    found = set()
    for one, other in itertools.combinations(mine, 2):
        found |= (values[one] & values[other]) - shared_with_others
    return sorted(found, key=repr)


@pytest.fixture(scope="module")
def app(writable_demo_instance: DemoInstance) -> Flask:
    return create_app(writable_demo_instance.settings)


def test_no_value_of_a_dump_links_two_submissions_of_one_submitter(
    app: Flask, writable_demo_instance: DemoInstance, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    officer = demo_credentials(writable_demo_instance.credentials_file)["triage_officer"]
    desk = _staff_client(app, officer)
    submitters = {}
    for name in ("first", "second"):
        codename, public_ids = _send_three(app)
        for public_id in public_ids[:2]:
            assert _desk_post(desk, public_id, "Can we contact the family?")[0] == 302
        _act_in_the_inbox(_signed_in(app, codename), public_ids)
        submitters[name] = public_ids

    settings = writable_demo_instance.settings
    values = _values_by_submission(settings.database_url)
    first, second = submitters["first"], submitters["second"]
    assert links(values, first, second) == []
    assert links(values, second, first) == []
    # Every submission left rows of many kinds behind: the comparison had something to compare.
    for public_ids in (first, second):
        deleted_columns = {column for column, _ in values[public_ids[2]]}
        assert {"deleted_on", "owner_tag"} <= deleted_columns
        for public_id in public_ids[:2]:
            columns = {column for column, _ in values[public_id]}
            assert {"envelope", "keys_envelope", "written_by", "action", "owner_tag"} <= columns

    storage = InstanceFolder(settings.instance_dir).storage_dir
    stored_names = {path.name for path in Path(storage).rglob("*") if path.is_file()}
    attachment_names = {
        value
        for public_id in first + second
        for column, value in values[public_id]
        if column == "storage_name"
    }
    assert stored_names == attachment_names and len(stored_names) == 4
    logged = caplog.text
    assert not any(public_id in logged for public_id in first + second)
