"""Pseudo-localisation: every string a page shows comes from the catalogue.

A pseudo catalogue is made from the template at test time: each message stretched by about 40%
(translations run longer than English) and wrapped in ⟦ ⟧, its ``%(name)s`` placeholders and HTML
left intact. The portal then offers it as one more language, and every page the integration
fixtures reach is rendered in it: the public pages, the inbox signed in with a codename, and
every staff page (the authorization matrix's routes, and the pages linked from them) signed in
in each role. Whatever visible text is left once the marked spans are taken out must be data: a
value stored in the database or typed into a form, a number, a date's month or day name, the
word the language joins a list with ("kaj"), a codename word, a language's own name in the
switch. Anything else is an unmarked string.
"""

import io
import json
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import JSON, Enum, String, select

from crypto.codename import display_wordlist
from portal.locales import LANGUAGES, SUPPORTED_LOCALES, TRANSLATIONS_DIR
from portal.models import SubmissionKind
from portal.models.base import Base
from portal.web.instance import web_instance
from tests.conftest import send_to_valdoria
from tests.integration.forms_client import open_form, open_session_url, post_form
from tests.integration.test_authorization_matrix import (
    CASES,
    REQUESTERS,
    World,
    _form,
    world,  # noqa: F401 - the fixture, used by name
)
from tests.integration.test_forms_pages import CASE_FIELDS

# A language no catalogue of the portal is for, so that every string shown has come through
# the pseudo catalogue; Babel knows its dates and numbers.
PSEUDO = "eo"
OPEN, CLOSE = "⟦", "⟧"
STRETCH = 0.4
MARKED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
TAG_OR_PLACEHOLDER = re.compile(r"<[^>]*>|%\(\w+\)[sd]|%%")
# Attributes a person reads or hears; values of data-* attributes that hold a module's sentences.
READ_ATTRIBUTES = frozenset({"title", "aria-label", "placeholder", "alt"})
MESSAGE_ATTRIBUTES = frozenset({"data-messages", "data-value-labels", "data-notice-words"})
PAGES_PER_ENDPOINT = 2
JSON_PUNCTUATION = re.compile(r'[{}\[\]",:]')
SHORT_ID = 8
# Punctuation around a word: ASCII, guillemets, the stretch dot, em and en dashes.
WORD_EDGES = ".,:;()[]!?'\"«»·\u2014\u2013-/"
INBOX_FORM = {
    "topics": ["detention_and_fair_trial"],
    "persons": [
        {
            "name": "Pseudo Example-Person",
            "consent": {"level": "raise_by_name", "given_by": "family", "risks_explained": True},
        }
    ],
    "place": "Eastern district",
    "situation": "Held at the border crossing",
    "relation_to_person": "colleague",
    "contact_through_portal": True,
}


def pseudo_message(text: str) -> str:
    """``text`` stretched and marked, its tags and placeholders untouched."""
    visible = TAG_OR_PLACEHOLDER.sub("", text)
    return f"{OPEN}{text}{'·' * math.ceil(len(visible) * STRETCH)}{CLOSE}"


def write_pseudo_catalogue(folder: Path) -> None:
    with (TRANSLATIONS_DIR / "messages.pot").open("rb") as source:
        template = read_po(source)
    catalogue = Catalog(locale=PSEUDO)
    for message in template:
        if not message.id:
            continue
        if message.pluralizable:
            forms = tuple(pseudo_message(form) for form in message.id)
            string: str | tuple[str, ...] = (forms[0],) + (forms[1],) * (catalogue.num_plurals - 1)
        else:
            string = pseudo_message(message.id)
        catalogue.add(message.id, string, context=message.context, flags=message.flags)
    target = folder / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    (target / "messages.mo").write_bytes(buffer.getvalue())


class _ReadText(HTMLParser):
    """The text of a page in reading order, and the texts of attributes read aloud."""

    def __init__(self) -> None:
        super().__init__()
        self.body: list[str] = []
        self.attributes: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_script = tag in ("script", "style")
        for name, value in attrs:
            if value and name in READ_ATTRIBUTES:
                self.attributes.append(value)
            elif value and name in MESSAGE_ATTRIBUTES:
                self.attributes.extend(_json_strings(value))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if not self._in_script:
            self.body.append(data)


def _json_strings(value: str) -> list[str]:
    found: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list):
            for inner in item:
                walk(inner)

    walk(json.loads(value))
    return found


def unmarked_words(text: str) -> list[str]:
    """The words of ``text`` outside every marked span (marked spans may nest)."""
    previous = None
    while previous != text:
        previous, text = text, MARKED.sub(" ", text)
    return [word.strip(WORD_EDGES) for word in text.split()]


def _data_words(portal_world: World) -> set[str]:
    """Every word stored in the database's text and JSON columns (the audit log's details among
    them; enumerations aside: a stored enumeration value shown as is would be an unmarked label),
    and the words typed into the fixtures' forms."""
    words: set[str] = set()
    with portal_world.database.session() as session:
        for table in Base.metadata.sorted_tables:
            columns = [
                column
                for column in table.columns
                if isinstance(column.type, String | JSON) and not isinstance(column.type, Enum)
            ]
            if columns:
                for row in session.execute(select(*columns)):
                    for value in row:
                        text = JSON_PUNCTUATION.sub(" ", json.dumps(value, ensure_ascii=False))
                        # The audit log shows a recorded true or false as it is: yes or no.
                        text = text.replace("true", "yes").replace("false", "no")
                        words.update(unmarked_words(text))
    for form in (_form(marker) for marker in portal_world.markers.values()):
        words.update(unmarked_words(repr(form)))
        words.update(form["situation"].split())
    words.update(unmarked_words(repr(INBOX_FORM)))
    words.update(unmarked_words(repr(CASE_FIELDS)))
    return words


# The audit log names its events by their stable codes ("agenda_item.created"), as ids; a key's
# fingerprint is shown in groups of hexadecimal digits.
EVENT_CODE = re.compile(r"^[a-z_]+\.[a-z_]+$")
FINGERPRINT_GROUP = re.compile(r"^[0-9A-F]{4}$")


def _is_part_of_an_id(word: str, data: set[str]) -> bool:
    """Pages name a submission by a few characters of its public id, sometimes in groups."""
    return len(word) >= SHORT_ID - 2 and any(
        word in value for value in data if len(value) >= 2 * SHORT_ID and " " not in value
    )


def _allowed(word: str, data: set[str], calendar: set[str]) -> bool:
    return (
        not word
        or EVENT_CODE.match(word) is not None
        or FINGERPRINT_GROUP.match(word) is not None
        or any(character.isdigit() for character in word)
        or not any(character.isalpha() for character in word)
        or word in data
        or word.lower() in calendar
        or _is_part_of_an_id(word, data)
    )


def _calendar_words() -> set[str]:
    locale = Locale.parse(PSEUDO)
    words: set[str] = {"utc"}
    for names in (locale.months, locale.days):
        for context in names.values():
            for width in context.values():
                words.update(str(name).lower().strip(".") for name in width.values())
    words.update(str(period).lower() for period in locale.periods.values())
    for pattern in locale.list_patterns["standard"].values():
        words.update(word.lower() for word in re.findall(r"[^\W\d_]+", pattern))
    return words


@pytest.fixture(scope="module")
def pseudo_world(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:  # noqa: F811
    folder = tmp_path_factory.mktemp("pseudo-translations")
    write_pseudo_catalogue(folder)
    world.app.extensions["babel"].translation_directories.append(str(folder))
    world.app.config["PORTAL_LANGUAGES"] = (*SUPPORTED_LOCALES, PSEUDO)
    yield world


def _endpoint(app: Flask, path: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method="GET")
    except Exception:
        return None
    return endpoint


LINK = re.compile(r'href="(/[^"#]*)')


def _crawl(app: Flask, client: FlaskClient, seeds: list[str]) -> dict[str, str]:
    """Pages reached from ``seeds`` by following the portal's own links, at most a few per
    route; every address carries the pseudo language by itself after the first."""
    pages: dict[str, str] = {}
    per_endpoint: dict[str, int] = defaultdict(int)
    queue = [f"{seed}{'&' if '?' in seed else '?'}lang={PSEUDO}" for seed in seeds]
    while queue:
        url = queue.pop(0).replace("&amp;", "&")
        path = urlsplit(url).path
        endpoint = _endpoint(app, path)
        if url in pages or endpoint in (None, "static", "quick_exit.leave"):
            continue
        if per_endpoint[endpoint] >= PAGES_PER_ENDPOINT:
            continue
        per_endpoint[endpoint] += 1
        response = client.get(url)
        # A redirect's body is Werkzeug's, which no browser shows.
        if response.mimetype != "text/html" or 300 <= response.status_code < 400:
            continue
        pages[url] = response.get_data(as_text=True)
        queue.extend(link for link in LINK.findall(pages[url]) if f"lang={PSEUDO}" in link)
    return pages


def _problems(pages: dict[str, str], data: set[str]) -> list[str]:
    calendar = _calendar_words()
    self_names = {language.self_name for language in LANGUAGES.values()}
    found = []
    for url, html in pages.items():
        reader = _ReadText()
        reader.feed(html)
        texts = [" ".join(reader.body), *reader.attributes]
        for text in texts:
            for name in self_names:
                text = text.replace(name, " ")
            stray = [word for word in unmarked_words(text) if not _allowed(word, data, calendar)]
            if stray:
                found.append(f"{url}: {' '.join(dict.fromkeys(stray))}")
    return found


def _answers_to_forms(app: Flask) -> dict[str, str]:
    """The pages a person meets by posting: each session form, sent (the new codename's page),
    sent empty (the errors), a codename that opens nothing, an address that does not exist."""
    client = app.test_client()
    in_pseudo = f"?lang={PSEUDO}"
    pages = {}
    for kind in ("agenda-input", "individual-case", "seminar-recommendations"):
        url = open_session_url(app, kind) + in_pseudo
        pages[url] = client.get(url).get_data(as_text=True)
    case_form = open_session_url(app, "individual-case") + in_pseudo
    pages["sent"] = post_form(client, open_form(client, case_form), CASE_FIELDS)[1]
    pages["sent empty"] = post_form(client, open_form(client, case_form), {})[1]
    refused = client.post(f"/inbox/sign-in{in_pseudo}", data={"codename": "no such words"})
    pages["sign-in refused"] = refused.get_data(as_text=True)
    pages["not found"] = client.get(f"/no-such-page{in_pseudo}").get_data(as_text=True)
    return pages


def _inbox_client(portal_world: World) -> tuple[FlaskClient, str]:
    sent = send_to_valdoria(
        web_instance(portal_world.app).settings, SubmissionKind.INDIVIDUAL_CASE, INBOX_FORM
    )
    client = portal_world.app.test_client()
    response = client.post("/inbox/sign-in", data={"codename": sent.codename})
    assert response.status_code == 302
    return client, sent.public_id


def test_the_pseudo_catalogue_marks_and_stretches_keeping_placeholders_and_tags() -> None:
    assert pseudo_message("Sent on %(day)s") == "⟦Sent on %(day)s····⟧"
    assert pseudo_message("<strong>Open</strong>") == "⟦<strong>Open</strong>··⟧"
    assert unmarked_words("⟦a ⟦b⟧ c⟧ Valdoria ⟦d⟧ 12") == ["Valdoria", "12"]


def test_every_page_shows_only_catalogued_strings_and_data(pseudo_world: World) -> None:
    app = pseudo_world.app
    inbox, public_id = _inbox_client(pseudo_world)
    pages = _crawl(app, app.test_client(), ["/", "/inbox/sign-in"]) | _answers_to_forms(app)
    pages |= _crawl(app, inbox, ["/inbox", f"/inbox/{public_id}"])
    pages |= _crawl(app, app.test_client(), ["/staff/sign-in"])
    for requester in REQUESTERS:
        if requester[1] == "named" or requester[0] == "administrator":
            seeds = [case.url(pseudo_world, requester) for case in CASES if case.method == "GET"]
            pages |= _crawl(app, pseudo_world.client(requester), ["/staff/", *seeds])
    assert len(pages) > 50
    data = _data_words(pseudo_world) | set(display_wordlist("en"))
    problems = _problems(pages, data)
    assert problems == [], "\n".join(problems)
