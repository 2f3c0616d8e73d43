"""Sentences the services write for people, marked for translation without knowing Flask.

A service refuses with an exception whose message a person will read: on a page, or in the JSON
answer a browser module shows. The service layer cannot translate (it serves the CLI too, and
knows nothing of the request's language), so it marks the sentence with :func:`translatable`:
``pybabel extract`` finds it there (babel.cfg), and the text keeps its message id and values, so
that the web layer (``portal.i18n.refusal_text``) renders it in the page's language. Anywhere
else, such as a log line or the CLI, it reads as the plain English it is.
"""

from typing import Any


class TranslatableText(str):
    """English text that remembers the message id and the values it was made from."""

    message_id: str
    values: dict[str, Any]

    def __new__(cls, message_id: str, values: dict[str, Any]) -> "TranslatableText":
        text = super().__new__(cls, message_id % values if values else message_id)
        text.message_id = message_id
        text.values = values
        return text


def translatable(message_id: str, **values: Any) -> TranslatableText:
    """``message_id`` (with ``%(name)s`` placeholders for ``values``), marked for translation."""
    return TranslatableText(message_id, values)
