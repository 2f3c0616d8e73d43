"""What a staff passphrase must be: long enough, hard to guess, and not the person's own name.

A staff passphrase guards two things at once: the login hash and the wrap of the personal key
that opens desk keys. Someone who copies the database can try guesses offline against the wrap
at Argon2's pace, so the passphrase has to resist guessing by itself, not only the online limits.

The rule, checked in this order so the first reason given is the most useful one:

1. at least :data:`MIN_PASSPHRASE_LENGTH` characters (after Unicode normalisation, the way the
   passphrase is hashed);
2. at most :data:`MAX_PASSPHRASE_LENGTH` characters (Argon2 takes any length, but a megabyte of
   "passphrase" is an attack on the server, not a passphrase);
3. it does not contain the person's e-mail address, the part before the ``@``, or their name
   (or a word of it of four letters or more), in any case;
4. zxcvbn's estimate (which knows common passwords, names, keyboard patterns, dates and
   l33t-speak, and is told the person's own details) scores it at least :data:`MIN_ZXCVBN_SCORE`
   of 4: "safely unguessable: moderate protection from offline slow-hash scenario".

A refusal is a :class:`PassphraseRefusedError` whose message is a sentence that can be shown as
it is, saying what was wrong and how to do better (zxcvbn's own suggestion when it has one).
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn import zxcvbn

from portal.translatable import translatable

MIN_PASSPHRASE_LENGTH = 12
MAX_PASSPHRASE_LENGTH = 1024
MIN_ZXCVBN_SCORE = 3
# zxcvbn's running time grows with the length it is given; what lies beyond this many characters
# only adds strength, so the estimate is made on the beginning.
_ZXCVBN_CHARACTERS = 100
_PERSONAL_WORD_MIN = 4


class PassphraseRefusedError(ValueError):
    """A passphrase the policy refuses; the message says why, in a sentence."""


@dataclass(frozen=True)
class PersonalDetails:
    """What a person's passphrase must not contain."""

    email: str = ""
    display_name: str = ""

    def fragments(self) -> tuple[str, ...]:
        """The lower-case pieces of the details that a passphrase may not contain."""
        pieces: list[str] = []
        email = self.email.strip().lower()
        if email:
            pieces.append(email)
            local = email.partition("@")[0]
            pieces.append(local)
            pieces.extend(_words(local))
        name = self.display_name.strip().lower()
        if name:
            pieces.append(name)
            pieces.extend(_words(name))
        return tuple(dict.fromkeys(p for p in pieces if len(p) >= _PERSONAL_WORD_MIN))


def check_passphrase(passphrase: str, personal: PersonalDetails = PersonalDetails()) -> None:
    """Refuse ``passphrase`` with a :class:`PassphraseRefusedError` unless the policy holds."""
    normalised = unicodedata.normalize("NFC", passphrase)
    if len(normalised) < MIN_PASSPHRASE_LENGTH:
        raise PassphraseRefusedError(
            translatable(
                "A passphrase needs at least %(limit)s characters; this one has %(length)s. "
                "Several unrelated words make a long passphrase easy to remember.",
                limit=MIN_PASSPHRASE_LENGTH,
                length=len(normalised),
            )
        )
    if len(normalised) > MAX_PASSPHRASE_LENGTH:
        raise PassphraseRefusedError(
            translatable(
                "A passphrase has at most %(limit)s characters.", limit=MAX_PASSPHRASE_LENGTH
            )
        )

    lowered = normalised.lower()
    for fragment in personal.fragments():
        if fragment in lowered:
            raise PassphraseRefusedError(
                translatable(
                    "A passphrase must not contain your name or your e-mail address: anyone who "
                    "knows you would try them first."
                )
            )
    estimate = zxcvbn(normalised[:_ZXCVBN_CHARACTERS], user_inputs=list(_user_inputs(personal)))
    if estimate["score"] < MIN_ZXCVBN_SCORE:
        feedback = estimate.get("feedback") or {}
        reason = feedback.get("warning") or ""
        suggestions = " ".join(feedback.get("suggestions") or [])
        # zxcvbn's own reason and suggestions come in English only; the sentence around them,
        # and the advice given when zxcvbn has none, are the portal's and translated.
        advice = suggestions or translatable(
            "Add more unrelated words, or make the words less common."
        )
        raise PassphraseRefusedError(
            translatable(
                "This passphrase would be too easy to guess (%(reason)s). %(advice)s",
                reason=reason.rstrip("."),
                advice=advice,
            )
            if reason
            else translatable(
                "This passphrase would be too easy to guess. %(advice)s", advice=advice
            )
        )


def passphrase_problem(
    passphrase: str, personal: PersonalDetails = PersonalDetails()
) -> str | None:
    """The reason ``passphrase`` is refused, or ``None`` when it is accepted."""
    try:
        check_passphrase(passphrase, personal)
    except PassphraseRefusedError as error:
        return str(error)
    return None


def _words(text: str) -> Iterable[str]:
    """The runs of letters and digits in ``text``."""
    word = []
    for character in text:
        if character.isalnum():
            word.append(character)
        elif word:
            yield "".join(word)
            word = []
    if word:
        yield "".join(word)


def _user_inputs(personal: PersonalDetails) -> Iterable[str]:
    email = personal.email.strip().lower()
    if email:
        yield email
        yield from _words(email)
    yield from _words(personal.display_name.strip().lower())
