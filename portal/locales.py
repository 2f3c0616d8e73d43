"""The languages Parley speaks and where their catalogues are, for the web and for e-mail alike.

Kept apart from ``portal.i18n`` (which installs Flask-Babel) so that a service rendering text
outside a request, such as the staff digest, reads the same list without knowing Flask.
"""

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Language:
    """One language as the language switch offers it: its code (the ``lang`` of the URL and the
    catalogue's folder), its name written in itself, and the direction its script runs."""

    code: str
    self_name: str
    direction: str = "ltr"


# Every language the portal has a catalogue for, whether offered yet or not: the switch names each
# in itself, because a person looking for their language may read no other.
LANGUAGES = {
    language.code: language
    for language in (
        Language("en", "English"),
        Language("ar", "العربية", "rtl"),
        Language("zh", "中文"),
        Language("fr", "Français"),
        Language("ru", "Русский"),
        Language("es", "Español"),
        Language("pt", "Português"),
        Language("tr", "Türkçe"),
    )
}
DEFAULT_LOCALE = "en"
# The languages offered to visitors, in the switch's order: every language of the table. An offered
# language must have a complete catalogue in portal/translations/ (tests/integration/
# test_catalogues.py fails on any string it lacks); until then the lacking strings show in English.
SUPPORTED_LOCALES = tuple(LANGUAGES)
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def text_direction(code: str) -> str:
    """``rtl`` or ``ltr`` for ``<html dir>``; a code outside the table is written left to right."""
    language = LANGUAGES.get(code)
    return "ltr" if language is None else language.direction
