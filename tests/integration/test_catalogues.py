"""The translation catalogues keep up with the sources: the template holds every marked string,
each offered language translates all of it (nothing missing, nothing fuzzy, placeholders kept),
and the compiled ``.mo`` files the portal serves are those of the ``.po`` files beside them.

``make catalogues`` repairs the first and the last; the translators, the middle one.
"""

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from portal.locales import DEFAULT_LOCALE, LANGUAGES, SUPPORTED_LOCALES, TRANSLATIONS_DIR

PROJECT_DIR = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
TEMPLATE = TRANSLATIONS_DIR / "messages.pot"
# English is the language of the sources: it has no catalogue of its own.
TRANSLATED_LOCALES = [code for code in SUPPORTED_LOCALES if code != DEFAULT_LOCALE]


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _message_ids(catalogue: Catalog) -> set[tuple[str | None, str]]:
    return {(message.context, str(message.id)) for message in catalogue if message.id}


def extracted_messages() -> set[tuple[str | None, str | tuple[str, ...]]]:
    """What ``pybabel extract -F babel.cfg`` finds in the sources now, as (context, message)
    pairs; a plural message is the tuple of its forms."""
    with (PROJECT_DIR / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    return {
        (context, message if isinstance(message, str) else tuple(message))
        for _, _, message, _, context in extract_from_dir(str(PROJECT_DIR), method_map, options_map)
    }


def _extracted_ids() -> set[tuple[str | None, str]]:
    """The extracted messages as (context, id) pairs, as the template's are compared."""
    return {(context, str(message)) for context, message in extracted_messages()}


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def catalogue_problems(catalogue: Catalog, template: Catalog) -> list[str]:
    """Everything that keeps ``catalogue`` from being complete against ``template``."""
    problems = []
    for message in template:
        if not message.id:
            continue
        translated = catalogue.get(message.id, message.context)
        label = repr(message.id)
        if translated is None:
            problems.append(f"missing: {label}")
        elif translated.fuzzy:
            problems.append(f"fuzzy: {label}")
        elif not all(translated.string if translated.pluralizable else (translated.string,)):
            problems.append(f"untranslated: {label}")
        elif not translated.pluralizable and _placeholders(translated.string) != _placeholders(
            str(message.id)
        ):
            problems.append(f"placeholders differ: {label}")
    for message, errors in catalogue.check():
        problems.extend(f"{error}: {message.id!r}" for error in errors)
    return problems


def test_the_template_holds_exactly_the_marked_strings_of_the_sources() -> None:
    template_ids = _message_ids(_read(TEMPLATE))
    extracted = _extracted_ids()
    assert not extracted - template_ids, "new strings: run `make catalogues`"
    assert not template_ids - extracted, "strings gone from the sources: run `make catalogues`"


@pytest.mark.parametrize("code", TRANSLATED_LOCALES)
def test_each_offered_language_translates_every_string(code: str) -> None:
    catalogue = _read(TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po", code)
    assert catalogue_problems(catalogue, _read(TEMPLATE)) == []


def test_a_catalogue_with_a_gap_a_fuzzy_or_a_lost_placeholder_is_found_wanting() -> None:
    template = Catalog()
    template.add("Sent")
    template.add("Kept")
    template.add("Sent on %(day)s", flags=("python-format",))
    template.add(("%(count)s file", "%(count)s files"), flags=("python-format",))
    catalogue = Catalog(locale="fr")
    catalogue.add("Sent", "Envoyé", flags=("fuzzy",))
    catalogue.add("Sent on %(day)s", "Envoyé le", flags=("python-format",))
    catalogue.add(
        ("%(count)s file", "%(count)s files"),
        ("%(count)s fichier", "", ""),
        flags=("python-format",),
    )
    assert sorted(problem.split(":")[0] for problem in catalogue_problems(catalogue, template)) == [
        "fuzzy",
        "missing",
        "placeholders differ",
        "untranslated",
    ]


def test_every_offered_language_is_in_the_table_with_a_catalogue() -> None:
    assert set(SUPPORTED_LOCALES) <= set(LANGUAGES)
    for code in LANGUAGES:
        if code != DEFAULT_LOCALE:
            assert (TRANSLATIONS_DIR / code / "LC_MESSAGES" / "messages.po").is_file(), code


@pytest.mark.parametrize(
    "po_file", sorted(TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po")), ids=lambda p: p.parts[-3]
)
def test_the_compiled_catalogue_is_that_of_its_po_file(po_file: Path) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _read(po_file, po_file.parts[-3]))
    assert po_file.with_suffix(".mo").read_bytes() == compiled.getvalue(), "run `make catalogues`"
