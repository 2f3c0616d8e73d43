"""Translation set-up: every visible string is marked, English is the default.

The page's language is carried in the URL, as the query parameter ``lang``, and nowhere else: no
cookie, no session value, nothing in the browser's storage. A visitor who picks a language with
the switch gets a URL that names it, and every address the portal then builds with ``url_for``
(links, form actions, redirects after a form, the addresses the scripts read from the page)
carries it on by itself, so the choice lasts exactly as long as the visitor follows the portal's
own links. Without the parameter the browser's Accept-Language decides; Tor Browser always says
``en-US``, which is why the switch exists. A value that names no offered language gets English.

The languages offered are the application's ``PORTAL_LANGUAGES`` (``SUPPORTED_LOCALES`` unless a
test offers others). Strings are extracted with ``make catalogues`` (see the Makefile).
"""

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from babel.lists import format_list
from flask import Flask, current_app, has_request_context, request, url_for
from flask_babel import Babel, get_locale, gettext
from jinja2 import pass_eval_context
from jinja2.nodes import EvalContext
from markupsafe import Markup, escape

import crypto
from portal.labels import label
from portal.locales import (
    DEFAULT_LOCALE,
    LANGUAGES,
    SUPPORTED_LOCALES,
    TRANSLATIONS_DIR,
    Language,
    text_direction,
)
from portal.timefmt import in_utc, long_date
from portal.translatable import TranslatableText

LANGUAGE_PARAMETER = "lang"
OFFERED_LANGUAGES_CONFIG = "PORTAL_LANGUAGES"
# Built by Flask for files, not pages: a language in their address would only split the cache.
_ENDPOINTS_WITHOUT_LANGUAGE = frozenset({"static"})
# Where an application keeps the addresses :func:`page_address` built, and how many it keeps.
_PAGE_ADDRESSES = "parley.page_addresses"
_MOST_PAGE_ADDRESSES = 256


@dataclass(frozen=True)
class LanguageLink:
    """One entry of the language switch: the language and this page's address in it."""

    language: Language
    url: str
    current: bool


def offered_languages() -> tuple[str, ...]:
    """The codes of the languages this application offers, the default first."""
    return tuple(current_app.config[OFFERED_LANGUAGES_CONFIG])


def chosen_language() -> str | None:
    """The language the URL names, if it names one that is offered; otherwise ``None``.

    An address without a query string names none: its parameters are not parsed to find that
    out, which most requests (the scripts' posts, the pages reached by plain links) would do
    only to build an address afterwards."""
    if not has_request_context() or not request.query_string:
        return None
    value = request.args.get(LANGUAGE_PARAMETER)
    return value if value in offered_languages() else None


def select_locale() -> str:
    """The language the URL names; else, when the URL names none, the best supported match for
    the visitor's Accept-Language; else (and for a value naming no offered language) English."""
    chosen = chosen_language()
    if chosen is not None:
        return chosen
    if LANGUAGE_PARAMETER in request.args:
        return DEFAULT_LOCALE
    return request.accept_languages.best_match(offered_languages()) or DEFAULT_LOCALE


def _carry_language(endpoint: str, values: dict[str, Any]) -> None:
    """``url_defaults`` hook: the language chosen in this request's URL goes into every address
    built for a page, unless the caller names a language itself."""
    if endpoint in _ENDPOINTS_WITHOUT_LANGUAGE:
        return
    chosen = chosen_language()
    if chosen is not None:
        values.setdefault(LANGUAGE_PARAMETER, chosen)


def page_address(endpoint: str) -> str:
    """``url_for(endpoint)`` for a page whose address takes no values, built once for each
    prefix the application is served under and language chosen, and remembered by the
    application: the address depends on nothing else, since the language is the only value the
    portal adds to an address (:func:`_carry_language`), and Flask's ``url_for`` would walk
    the whole of its address building again for an answer that is always the same."""
    prefix = request.environ.get("SCRIPT_NAME", "")
    key = (endpoint, prefix, chosen_language())
    addresses: dict[tuple[str, str, str | None], str] = current_app.extensions[_PAGE_ADDRESSES]
    address = addresses.get(key)
    if address is None:
        address = url_for(endpoint)
        # The prefix is the server's, but a host may let its clients choose one: a bound on the
        # entries kept leaves any others built each time, as before.
        if len(addresses) < _MOST_PAGE_ADDRESSES:
            addresses[key] = address
    return address


def language_links() -> list[LanguageLink]:
    """The switch: this page in each offered language, in the order they are offered.

    A page reached by a form (a POST whose address takes no GET) switches to the front page
    instead, since following a link can only ask for a page."""
    current = page_locale()
    return [
        LanguageLink(LANGUAGES[code], _this_page_in(code), code == current)
        for code in offered_languages()
        if code in LANGUAGES
    ]


def _this_page_in(code: str) -> str:
    arguments = request.args.to_dict(flat=False)
    arguments[LANGUAGE_PARAMETER] = [code]
    adapter = current_app.url_map.bind_to_environ(request.environ)
    if request.url_rule is not None and not adapter.test(request.path, method="GET"):
        return url_for("public.index", lang=code)
    path = quote(request.script_root + request.path)
    return f"{path}?{urlencode(arguments, doseq=True)}"


def refusal_text(error: BaseException) -> str:
    """The message of a service's refusal in the page's language: its sentence, when the service
    marked it (``portal.translatable``), translated with its values; otherwise as it was written.
    """
    message = error.args[0] if error.args else None
    if isinstance(message, TranslatableText):
        return translated(message)
    return str(error)


def translated(text: TranslatableText) -> str:
    """A marked sentence in the page's language. Its values are made readable there too: a marked
    sentence among them is translated in turn, a stored value (a state, a stage) reads as its
    name (``portal.labels``) rather than as the identifier the database keeps, and a day or a
    moment is written as the page's language writes dates (a moment in UTC, as it says)."""
    return gettext(
        text.message_id, **{name: _readable(value) for name, value in text.values.items()}
    )


def _readable(value: Any) -> Any:
    if isinstance(value, TranslatableText):
        return translated(value)
    if isinstance(value, enum.Enum):
        return str(label(value))
    if isinstance(value, dt.datetime):
        return gettext("%(time)s UTC", time=in_utc(value))
    if isinstance(value, dt.date):
        return long_date(value)
    return value


def codename_language() -> str:
    """The word list a new codename is drawn from: the page's language where it has one, else
    English, whose words any keyboard with Latin letters types (Arabic and Chinese have none;
    the codename page says so). Signing in needs no language: a codename's words tell their
    list (``crypto.normalise_codename``)."""
    language = get_locale().language if get_locale() is not None else DEFAULT_LOCALE
    return language if language in crypto.LANGUAGES else DEFAULT_LOCALE


def page_locale() -> str:
    """The page's language as a BCP 47 tag, the form ``<html lang>`` expects."""
    return str(get_locale()).replace("_", "-")


@pass_eval_context
def listed(context: EvalContext, items: Iterable[object]) -> str:
    """Items people read, joined as the page's language joins a list: "A, B, and C", "A、B和C",
    "A وB وC" (the CLDR patterns Babel holds), so no template glues an English comma between
    them. On an HTML page each item is escaped unless it is markup already (a link); the
    patterns themselves carry only words and punctuation. A plain-text page gets plain text."""
    if not context.autoescape:
        return format_list([str(item) for item in items], locale=get_locale())
    joined = format_list([escape(item) for item in items], locale=get_locale())
    return Markup(joined)  # noqa: S704 (each item escaped; CLDR patterns hold no markup)


def init_app(app: Flask) -> None:
    """Install Flask-Babel, carry the chosen language in every address, and give templates the
    page's language, its direction, the switch and the ``listed`` filter."""
    app.config.setdefault(OFFERED_LANGUAGES_CONFIG, SUPPORTED_LOCALES)
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LOCALE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    Babel(app, locale_selector=select_locale)
    app.url_defaults(_carry_language)
    app.extensions[_PAGE_ADDRESSES] = {}
    app.add_template_filter(listed)
    app.context_processor(
        lambda: {
            "current_locale": page_locale(),
            "text_direction": text_direction(str(get_locale())),
            "language_links": language_links,
            "codename_language": codename_language,
        }
    )
