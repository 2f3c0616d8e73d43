"""What people read for each refusal of a field (the names of choices are in ``portal.labels``).

The payload keeps stable identifiers and ``payload.PayloadError`` speaks in short English phrases
meant for developers and logs; a person filling in a form reads the translatable sentences here
instead, chosen by the field a refusal concerns, so that a new language never needs the service
layer to change and no message ever repeats what was typed.
"""

import re

from flask_babel import LazyString, lazy_gettext

_TOO_LONG = re.compile(r"must be at most (\d+) characters")
_TOO_MANY = re.compile(r"may hold at most (\d+)")
_CHOICE_MESSAGES: dict[str, LazyString] = {
    "level": lazy_gettext("Choose how far the EU may go with this person's name."),
    "given_by": lazy_gettext("Choose who gave consent."),
    "urgency": lazy_gettext("Choose how urgent this is."),
    "topic": lazy_gettext("Choose the agenda theme of this recommendation."),
}
_LIST_MINIMUM_MESSAGES: dict[str, LazyString] = {
    "persons": lazy_gettext("Name at least one person."),
    "recommendations": lazy_gettext("Write at least one recommendation."),
}


_FILL_IN = lazy_gettext("Fill this in.")
_RISKS_NOT_EXPLAINED = lazy_gettext(
    "Consent counts only once the risks were explained to whoever gave it: confirm that they were."
)
_NO_TOPIC = lazy_gettext("Choose at least one agenda theme from the list.")
_CHECK_FIELD = lazy_gettext("Check this field.")


def _too_long(limit: str) -> LazyString:
    return lazy_gettext("This is too long: at most %(limit)s characters.", limit=limit)


def _too_many(limit: str) -> LazyString:
    return lazy_gettext("There are too many rows: at most %(limit)s.", limit=limit)


def field_message(path: str, message: str) -> LazyString:
    """The sentence a person reads beside the field at ``path`` that the payload refused."""
    last = path.rsplit(".", 1)[-1]
    if message == "is required":
        return _FILL_IN
    if match := _TOO_LONG.fullmatch(message):
        return _too_long(match[1])
    if match := _TOO_MANY.fullmatch(message):
        return _too_many(match[1])
    if message.startswith("needs at least") and last in _LIST_MINIMUM_MESSAGES:
        return _LIST_MINIMUM_MESSAGES[last]
    if message.startswith("must be one of") and last in _CHOICE_MESSAGES:
        return _CHOICE_MESSAGES[last]
    if last == "risks_explained":
        return _RISKS_NOT_EXPLAINED
    if last == "topics":
        return _NO_TOPIC
    return _CHECK_FIELD


def consent_messages() -> dict[str, LazyString]:
    """The refusal of each part of a consent field, by key, for the inbox's consent form (the
    same sentences the case form shows beside the same question)."""
    return {
        "level": _CHOICE_MESSAGES["level"],
        "given_by": _CHOICE_MESSAGES["given_by"],
        "risks_explained": _RISKS_NOT_EXPLAINED,
    }


def browser_messages() -> dict[str, str]:
    """The sentences of :func:`field_message` for the form's script, which checks the form in
    the browser because the server cannot read a sealed submission; ``{limit}`` stands for the
    number the script fills in."""
    return {
        "required": str(_FILL_IN),
        "too_long": str(_too_long("{limit}")),
        "too_many": str(_too_many("{limit}")),
        "risks_explained": str(_RISKS_NOT_EXPLAINED),
        "topics": str(_NO_TOPIC),
        "other": str(_CHECK_FIELD),
        **{f"minimum.{key}": str(text) for key, text in _LIST_MINIMUM_MESSAGES.items()},
        **{f"choice.{key}": str(text) for key, text in _CHOICE_MESSAGES.items()},
    }


def size_text(size: int) -> LazyString:
    """A number of bytes as people read it: whole megabytes, or kilobytes below one megabyte."""
    if size >= 1024 * 1024:
        return lazy_gettext("%(number)s MB", number=size // (1024 * 1024))
    return lazy_gettext("%(number)s KB", number=-(-size // 1024))
