"""The readable names of stored values: each vocabulary's values get their own words.

Stored vocabularies are string enums, so two vocabularies that share a value compare equal and
would collapse into one key of a table keyed by value. That once made a submitter's consent "may
go on the list handed over at the session" read back as "handed over on the list", a thing that
had not happened.
"""

from collections.abc import Iterator

import pytest
from flask import Flask
from flask_babel import Babel, force_locale

from portal import labels, models
from portal.services.submissions import kinds


@pytest.fixture(scope="module")
def english() -> Iterator[Flask]:
    app = Flask(__name__)
    Babel(app)
    with app.app_context(), force_locale("en"):
        yield app


def test_each_vocabulary_has_a_complete_table_of_its_own() -> None:
    for tables in (labels._LABELS, labels._CHOICE_LABELS):
        for vocabulary, table in tables.items():
            assert all(type(member) is vocabulary for member in table), vocabulary.__name__
    for vocabulary, table in labels._LABELS.items():
        assert set(table) == set(vocabulary), f"{vocabulary.__name__} misses a label"


def test_a_consent_level_reads_back_as_what_was_agreed(english: Flask) -> None:
    del english
    assert str(labels.label(kinds.ConsentLevel.HANDOVER_LIST)) == (
        "May go on the list handed over at the session"
    )
    assert str(labels.label(models.HowRaised.HANDOVER_LIST)) == "Handed over on the list"
    assert str(labels.choice_label(models.HowRaised.HANDOVER_LIST)) == "Handed over on the list"
    assert str(labels.choice_label(kinds.ConsentLevel.HANDOVER_LIST)).startswith(
        "The name may also go on the written list"
    )


def test_a_plain_value_has_one_name() -> None:
    """A plain string is named through the vocabularies that use the same words wherever they
    repeat a value; any that would give a repeated value other words is named only as a member."""
    words: dict[str, tuple[object, ...]] = {}
    for vocabulary, table in labels._LABELS.items():
        if vocabulary in labels._NAMED_ONLY_AS_MEMBERS:
            continue
        for member, name in table.items():
            assert words.setdefault(member.value, name._args) == name._args, member.value


def test_a_consent_level_read_back_from_a_payload_keeps_its_meaning(english: Flask) -> None:
    del english
    assert str(labels.consent_level_label("handover_list")) == (
        "May go on the list handed over at the session"
    )
    assert str(labels.label("handover_list")) == "Handed over on the list"
