"""Checking that a person wrote their new codename down, without the server keeping it.

The page that shows a new codename asks for two of its words, at positions chosen at random.
The server forgets the codename once that page is sent, so the page carries what the check
needs: a token that is a box (``crypto.seal_box``) under the instance's at-rest key holding the
two positions, the canonical form of the two expected words and an expiry. The retyped words are
compared with the words in the box; nothing is stored, and the box is useless without the
at-rest key, which never leaves the instance folder. Two words out of eight say little about the
codename, and only someone holding the page (which shows the whole codename) has the box anyway,
so the comparison needs no constant-time care.
"""

import datetime as dt
import json
import secrets
from dataclasses import dataclass

import crypto
from portal.services.contexts import CODENAME_RETYPE_CHECK_PURPOSE

WORDS_TO_RETYPE = 2
CHECK_LIFETIME = dt.timedelta(hours=2)


class CheckUnreadableError(ValueError):
    """The token is damaged, made by another instance, or older than its lifetime."""


@dataclass(frozen=True)
class RetypeCheck:
    """Which words to retype (counted from 1) and the token that lets the server check them."""

    positions: tuple[int, ...]
    token: str


def new_retype_check(codename: str, at_rest_key: bytes, now: dt.datetime) -> RetypeCheck:
    """A check of :data:`WORDS_TO_RETYPE` words of ``codename`` at random positions."""
    words = crypto.normalise_codename(codename).split(" ")
    chosen = sorted(secrets.SystemRandom().sample(range(len(words)), WORDS_TO_RETYPE))
    positions = tuple(index + 1 for index in chosen)
    record = {
        "positions": positions,
        "words": [words[index] for index in chosen],
        "expires": int((now + CHECK_LIFETIME).timestamp()),
    }
    token = crypto.seal_box_token(
        at_rest_key, json.dumps(record).encode("utf-8"), CODENAME_RETYPE_CHECK_PURPOSE
    )
    return RetypeCheck(positions, token)


def read_retype_check(
    token: str, at_rest_key: bytes, now: dt.datetime
) -> tuple[RetypeCheck, list[str]]:
    """The check a token stands for and the expected words; ``CheckUnreadableError`` if none."""
    try:
        record = json.loads(
            crypto.open_box_token(at_rest_key, token, CODENAME_RETYPE_CHECK_PURPOSE)
        )
    except crypto.DecryptionError:
        raise CheckUnreadableError() from None
    if record["expires"] <= now.timestamp():
        raise CheckUnreadableError()
    return RetypeCheck(tuple(record["positions"]), token), list(record["words"])


def words_match(expected: list[str], typed: list[str]) -> bool:
    """Whether the retyped words are the expected ones, however they were capitalised."""
    return [crypto.normalise_codename_word(word) for word in typed] == expected
