"""The page's language rides in the URL (``?lang=``), is carried on by every address the portal
builds, falls back to Accept-Language without it and to English for a value it does not offer,
and is stored nowhere (portal/i18n.py)."""

import base64
import datetime as dt
import html as html_text
import re
from collections.abc import Iterator

import pytest
from babel.support import Translations
from flask import Flask, render_template_string, url_for
from flask.testing import FlaskClient
from markupsafe import Markup

import crypto
from crypto.codename import wordlist
from portal import create_app, timefmt
from portal.locales import DEFAULT_LOCALE, LANGUAGES, TRANSLATIONS_DIR
from tests.conftest import DemoInstance, csrf_token_for
from tests.integration.forms_client import open_form, open_session_url, post_form
from tests.integration.test_forms_pages import CASE_FIELDS

EVERY_LANGUAGE = tuple(LANGUAGES)
HTML_TAG = re.compile(r'<html lang="([^"]+)" dir="([^"]+)">')
SWITCH_LINK = re.compile(
    r'<li><a href="([^"]+)" lang="(\w+)" hreflang="\2" dir="\w+"( aria-current)?'
)
ADDRESS = re.compile(r'(?:href|action|src|data-[\w-]+-url)="(/[^"]*)"')


@pytest.fixture(scope="module")
def app(writable_demo_instance: DemoInstance) -> Iterator[Flask]:
    """The demo portal offering all eight languages, whichever the instance offers by default."""
    portal = create_app(writable_demo_instance.settings)
    portal.config["PORTAL_LANGUAGES"] = EVERY_LANGUAGE
    yield portal


def _language_and_direction(html: str) -> tuple[str, str]:
    match = HTML_TAG.search(html)
    assert match is not None
    return match.group(1), match.group(2)


def test_the_url_names_the_language_and_arabic_is_written_right_to_left(app: Flask) -> None:
    client = app.test_client()
    pages = {code: client.get(f"/?lang={code}").get_data(as_text=True) for code in EVERY_LANGUAGE}
    assert _language_and_direction(pages["ar"]) == ("ar", "rtl")
    assert _language_and_direction(pages["fr"]) == ("fr", "ltr")
    assert {_language_and_direction(html)[0] for html in pages.values()} == set(EVERY_LANGUAGE)


def test_without_the_parameter_accept_language_decides_and_an_unknown_value_gets_english(
    app: Flask,
) -> None:
    client = app.test_client()
    french = client.get("/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert _language_and_direction(french.get_data(as_text=True)) == ("fr", "ltr")
    for unknown in ("xx", "", "../etc", "ar;q=1", "AR"):
        answer = client.get(f"/?lang={unknown}", headers={"Accept-Language": "fr"})
        assert answer.status_code == 200
        assert _language_and_direction(answer.get_data(as_text=True)) == ("en", "ltr")


def test_every_address_of_a_page_in_a_chosen_language_carries_it_but_static_files(
    app: Flask,
) -> None:
    html = (
        app.test_client().get("/dialogues/valdoria/reprisal-report?lang=tr").get_data(as_text=True)
    )
    addresses = ADDRESS.findall(html)
    static = [address for address in addresses if address.startswith("/static/")]
    pages = [address for address in addresses if not address.startswith("/static/")]
    assert static and pages
    assert all("lang=" not in address for address in static)
    # The switch's links name their own language; every other address keeps Turkish.
    switch = {url for url, _, _ in SWITCH_LINK.findall(html)}
    assert all("lang=tr" in address for address in pages if address not in switch), pages


def test_a_page_reached_without_choosing_builds_addresses_without_a_language(app: Flask) -> None:
    html = app.test_client().get("/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    switch = [url for url, _, _ in SWITCH_LINK.findall(html)]
    assert len(switch) == len(EVERY_LANGUAGE)
    assert [address for address in ADDRESS.findall(html) if "lang=" in address] == switch


def test_a_redirect_after_a_form_keeps_the_language(app: Flask) -> None:
    with app.test_client() as client:
        token = csrf_token_for(client)
        answer = client.post("/inbox/sign-out?lang=ar", data={"csrf_token": token})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/inbox/sign-in?signed_out=1&lang=ar"


def test_addresses_built_in_a_request_keep_the_language_the_caller_does_not_override(
    app: Flask,
) -> None:
    with app.test_request_context("/?lang=zh"):
        assert url_for("public.index") == "/?lang=zh"
        assert url_for("public.index", lang="fr") == "/?lang=fr"
        assert url_for("static", filename="css/parley.css") == "/static/css/parley.css"
    with app.test_request_context("/?lang=xx"):
        assert url_for("public.index") == "/"


def test_the_switch_offers_this_page_in_each_language_named_in_itself(app: Flask) -> None:
    html = app.test_client().get("/dialogues/valdoria?lang=es&x=1").get_data(as_text=True)
    links = SWITCH_LINK.findall(html)
    assert [code for _, code, _ in links] == list(EVERY_LANGUAGE)
    assert [code for _, code, current in links if current] == ["es"]
    for url, code, _ in links:
        assert html_text.unescape(url) == f"/dialogues/valdoria?lang={code}&x=1"
    for language in LANGUAGES.values():
        assert f">{language.self_name}</a>" in html


def test_a_page_answering_a_form_switches_to_the_same_address_or_the_front_page(
    app: Flask,
) -> None:
    """Following a link can only ask for a page: the switch of a page that answered a POST
    links to the address's own page where it has one, else to the front page."""
    with app.test_client() as client:
        token = csrf_token_for(client)
        refused = client.post(
            "/inbox/sign-in?lang=fr", data={"csrf_token": token, "codename": "wrong words"}
        )
        expired = client.post("/codename-check?lang=fr", data={"csrf_token": token})
    assert refused.status_code == 200 or refused.status_code >= 400
    assert [url for url, _, _ in SWITCH_LINK.findall(refused.get_data(as_text=True))] == [
        f"/inbox/sign-in?lang={code}" for code in EVERY_LANGUAGE
    ]
    assert expired.status_code == 400
    assert [url for url, _, _ in SWITCH_LINK.findall(expired.get_data(as_text=True))] == [
        f"/?lang={code}" for code in EVERY_LANGUAGE
    ]


def test_choosing_a_language_stores_nothing(app: Flask) -> None:
    client = app.test_client()
    for code in EVERY_LANGUAGE:
        answer = client.get(f"/?lang={code}")
        assert answer.headers.getlist("Set-Cookie") == []
    assert client.get_cookie("session") is None


def test_one_language_offered_shows_no_switch(writable_demo_instance: DemoInstance) -> None:
    english_only = create_app(writable_demo_instance.settings)
    english_only.config["PORTAL_LANGUAGES"] = (DEFAULT_LOCALE,)
    html = english_only.test_client().get("/").get_data(as_text=True)
    assert 'class="language-switch"' not in html


CODENAME_LIST = re.compile(
    r'<ol class="codename" id="codename" [^>]*data-lang="(\w+)" dir="ltr">(.*?)</ol>', re.S
)
CODENAME_WORD = re.compile(r'<li lang="(\w+)">([^<]+)</li>')
NO_LIST_HERE = (
    "There is no codename word list in this language yet, so your codename is made of English "
    "words: any keyboard with Latin letters can type them. You can sign in with it from a page "
    "in any language."
)


def _in(code: str, message: str) -> str:
    """``message`` as the catalogue of ``code`` has it (itself until it is translated)."""
    return Translations.load(str(TRANSLATIONS_DIR), [code]).gettext(message)


def _new_codename_on(client: FlaskClient, app: Flask, code: str) -> tuple[str, str, str]:
    """Send a case without JavaScript from a page in ``code``: the codename page's words, the
    list they are marked as, and the page."""
    form = open_form(client, f"{open_session_url(app, 'individual-case')}?lang={code}")
    status, html = post_form(client, form, CASE_FIELDS)
    assert status == 200
    match = CODENAME_LIST.search(html)
    assert match is not None
    words = CODENAME_WORD.findall(match.group(2))
    assert {language for language, _ in words} == {match.group(1)}
    return " ".join(word for _, word in words), match.group(1), html


def test_a_language_without_a_word_list_gets_english_words_and_says_why(app: Flask) -> None:
    client = app.test_client()
    french, french_list, french_page = _new_codename_on(client, app, "fr")
    assert french_list == "fr" and 'class="hint codename-language"' not in french_page
    assert set(crypto.normalise_codename(french).split()) <= set(wordlist("fr"))
    for code in ("ar", "zh"):
        codename, word_list, page = _new_codename_on(client, app, code)
        assert word_list == "en" and html_text.escape(_in(code, NO_LIST_HERE)) in page
        assert set(crypto.normalise_codename(codename).split()) <= set(wordlist("en"))


def test_a_codename_made_on_a_french_page_signs_in_from_an_arabic_page_on_both_paths(
    app: Flask,
) -> None:
    codename, _, _ = _new_codename_on(app.test_client(), app, "fr")
    without_script = app.test_client()
    token = csrf_token_for(without_script)
    answer = without_script.post(
        "/inbox/sign-in?lang=ar", data={"csrf_token": token, "codename": codename}
    )
    assert (answer.status_code, answer.headers["Location"]) == (302, "/inbox?lang=ar")

    with_script = app.test_client()
    secrets = crypto.derive_codename_secrets(codename)
    body = {
        "login_secret": base64.b64encode(secrets.login_secret).decode(),
        "owner_tag_key": base64.b64encode(crypto.owner_tag_key(secrets.key_seed)).decode(),
    }
    answer = with_script.post(
        "/inbox/sign-in/login-secret?lang=ar",
        json=body,
        headers={"X-CSRFToken": csrf_token_for(with_script)},
    )
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["next"] == "/inbox?lang=ar"


def test_a_moment_is_written_in_the_page_language_with_its_date_once(app: Flask) -> None:
    evening = dt.datetime(2026, 12, 19, 23, 30, tzinfo=dt.UTC)
    morning = dt.datetime(2026, 12, 19, 10, 0, tzinfo=dt.UTC)
    with app.test_request_context("/?lang=fr"):
        assert timefmt.in_utc(morning) == "19 déc. 2026, 10:00"
        assert timefmt.in_brussels_beside_utc(morning) == "11:00"
        assert timefmt.in_brussels_beside_utc(evening) == "20 déc. 2026, 00:30"
    with app.test_request_context("/?lang=ar"):
        joined = _in("ar", "%(date)s, %(time)s") % {
            "date": "19\u200f/12\u200f/2026",
            "time": "10:00",
        }
        assert timefmt.in_utc(morning) == joined


def test_a_list_is_joined_as_the_page_language_joins_one(app: Flask) -> None:
    names = ["Amina", "Bo", "<Chen>"]
    expected = {
        "en": "Amina, Bo, and &lt;Chen&gt;",
        "ar": "Amina وBo و&lt;Chen&gt;",
        "zh": "Amina、Bo和&lt;Chen&gt;",
        "fr": "Amina, Bo et &lt;Chen&gt;",
    }
    for code, joined in expected.items():
        with app.test_request_context(f"/?lang={code}"):
            assert render_template_string("{{ names|listed }}", names=names) == joined
    link = Markup('<a href="/x">X</a>')
    with app.test_request_context("/?lang=zh"):
        assert render_template_string("{{ items|listed }}", items=[link, "Y"]) == (
            '<a href="/x">X</a>和Y'
        )
        plain = app.jinja_env.from_string(
            "{% autoescape false %}{{ names|listed }}{% endautoescape %}"
        )
        assert plain.render(names=names) == "Amina、Bo和<Chen>"
