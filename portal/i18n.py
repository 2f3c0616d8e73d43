"""Translation set-up: every visible string is marked, English is the default.

The locale is chosen from the browser's Accept-Language header among the languages that have a
catalogue; there is deliberately no language cookie or URL prefix to store, so nothing about a
visitor's choice is kept. Strings are extracted with ``pybabel extract -F babel.cfg``.
"""

from flask import Flask, request
from flask_babel import Babel, get_locale

from portal.locales import DEFAULT_LOCALE, SUPPORTED_LOCALES, TRANSLATIONS_DIR


def select_locale() -> str:
    """The best supported match for the visitor's Accept-Language, else English."""
    return request.accept_languages.best_match(SUPPORTED_LOCALES) or DEFAULT_LOCALE


def init_app(app: Flask) -> None:
    """Install Flask-Babel and expose the chosen locale to templates as a BCP 47 tag, the form
    ``<html lang>`` expects (``pt-BR``, where Babel says ``pt_BR``)."""
    app.config["BABEL_DEFAULT_LOCALE"] = DEFAULT_LOCALE
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    Babel(app, locale_selector=select_locale)
    app.context_processor(lambda: {"current_locale": str(get_locale()).replace("_", "-")})
