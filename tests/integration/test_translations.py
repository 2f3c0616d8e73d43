"""Every string a visitor reads comes from the translation catalogue (or from the data)."""

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import app_database
from portal.locales import LANGUAGES
from portal.models import Dialogue

PROJECT_DIR = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    def handle_data(self, data: str) -> None:
        text = data.strip().strip("()").strip()
        if text:
            self.chunks.append(text)


def _catalogue_fragments() -> set[str]:
    """The literal pieces of every message extracted with babel.cfg, placeholders removed."""
    with (PROJECT_DIR / "babel.cfg").open(encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    fragments: set[str] = set()
    for _, _, message, _, _ in extract_from_dir(str(PROJECT_DIR), method_map, options_map):
        for text in message if isinstance(message, tuple) else (message,):
            fragments.update(piece.strip() for piece in PLACEHOLDER.split(text) if piece.strip())
    return fragments


def _visible_text(html: str) -> list[str]:
    collector = _TextCollector()
    collector.feed(html)
    return collector.chunks


def test_pages_show_only_catalogued_strings_and_data(demo_app: Flask) -> None:
    fragments = _catalogue_fragments()
    with Session(app_database(demo_app).engine) as session:
        dialogues = list(session.scalars(select(Dialogue)))
    # The language switch names each language in itself, from the locale table.
    data = {dialogue.partner for dialogue in dialogues} | {
        language.self_name for language in LANGUAGES.values()
    }
    client = demo_app.test_client()
    pages = ["/", "/no-such-page"] + [f"/dialogues/{d.slug}" for d in dialogues]

    for url in pages:
        for text in _visible_text(client.get(url).get_data(as_text=True)):
            is_data = text in data or any(character.isdigit() for character in text)
            assert is_data or text in fragments, (url, text)
