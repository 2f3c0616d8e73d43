"""Submitter codenames: eight random words that are a submitter's only credential.

A submitter never gives a name, an e-mail address or a password. They are shown a codename once,
write it down, and type it again to read replies. Everything else is derived from it: the word
lists, generation, the canonical form, the derivation of the login secret and the submitter's
X25519 key, and the lookup hash are specified in docs/FORMATS.md, "Codenames". The browser module
does exactly the same, so with JavaScript the codename never leaves the submitter's device.

The canonical form lets case, accents typed composed or decomposed, and separators not matter;
its two Turkish rules exist because casefolding alone maps the capital "I" to "i", never to
dotless i, and the Turkish capital "İ" to "i" + U+0307. The server stores only a keyed hash of
the login secret, under a pepper kept outside the database, so a copy of the database alone
cannot be used to test guesses. The codename's 88 bits, not the iteration count, are what resist
guessing; the slow KDF is a margin on top.
"""

import functools
import hashlib
import hmac
import importlib.resources
import re
import secrets
import unicodedata
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from crypto.errors import CodenameError, CryptoError
from crypto.keys import PrivateKey, load_private_key, public_key_bytes

LANGUAGES = ("en", "fr", "es", "it", "pt", "cs", "ru", "tr")
CODENAME_WORDS = 8
WORDLIST_SIZE = 2048
CODENAME_BITS = 88
PBKDF2_ITERATIONS = 600_000
PEPPER_SIZE = 32

_PBKDF2_SALT = b"parley codename v1"
_LOGIN_SECRET_INFO = b"parley login secret v1"
_KEY_SEED_INFO = b"parley submitter key v1"
_SEPARATORS = re.compile(r"[\s\-.]+")
# Applied after NFKD and casefold: dotless i becomes i, and the dot above that Turkish capital
# dotted I leaves behind after decomposition is dropped.
_TURKISH_I = str.maketrans({"\u0131": "i", "\u0307": None})


def _canonical_text(text: str) -> str:
    return unicodedata.normalize("NFKD", text).casefold().translate(_TURKISH_I)


@functools.cache
def display_wordlist(language: str) -> tuple[str, ...]:
    """The 2048 words of one language's list as written (NFC), for showing a new codename."""
    if language not in LANGUAGES:
        raise CodenameError(f"there is no codename word list for language {language!r}")
    path = importlib.resources.files("crypto") / "wordlists" / f"{language}.txt"
    words = tuple(unicodedata.normalize("NFC", line) for line in path.read_text("utf-8").split())
    if len(words) != WORDLIST_SIZE:
        raise CryptoError(f"the {language} word list is damaged: it must hold 2048 words")
    return words


@functools.cache
def wordlist(language: str) -> tuple[str, ...]:
    """The 2048 words of one language's list, in canonical form (see the module docstring)."""
    words = tuple(_canonical_text(word) for word in display_wordlist(language))
    if len(set(words)) != WORDLIST_SIZE:
        raise CryptoError(f"the {language} word list is damaged: it must hold 2048 distinct words")
    return words


@functools.cache
def _languages_by_word() -> dict[str, frozenset[str]]:
    index: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for word in wordlist(language):
            index.setdefault(word, set()).add(language)
    return {word: frozenset(languages) for word, languages in index.items()}


def generate_codename(language: str = "en") -> str:
    """A new random codename from the list of ``language``, spelled as the list spells it.

    This is the form to show the submitter (Turkish keeps its dotless i, French its accents);
    :func:`normalise_codename` turns it, or any way of retyping it, into the canonical form.
    """
    words = display_wordlist(language)
    return " ".join(words[secrets.randbelow(WORDLIST_SIZE)] for _ in range(CODENAME_WORDS))


def normalise_codename(text: str) -> str:
    """The canonical form of a codename as typed, or ``CodenameError`` saying what is wrong.

    Messages name word positions, never the words, so they are safe to log.
    """
    words = [word for word in _SEPARATORS.split(_canonical_text(text)) if word]
    if len(words) != CODENAME_WORDS:
        raise CodenameError(f"a codename has {CODENAME_WORDS} words; this one has {len(words)}")
    languages_by_word = _languages_by_word()
    common_languages = set(LANGUAGES)
    for position, word in enumerate(words, start=1):
        languages = languages_by_word.get(word)
        if languages is None:
            raise CodenameError(f"word {position} of the codename is not in any of our word lists")
        common_languages &= languages
    if not common_languages:
        raise CodenameError("the words of the codename come from different languages' word lists")
    return " ".join(words)


def normalise_codename_word(text: str) -> str:
    """The canonical form of one word of a codename as typed, to compare with the same word of
    :func:`normalise_codename`'s result (a retyped word, checked on its own)."""
    return _canonical_text(text).strip()


@dataclass(frozen=True)
class CodenameSecrets:
    """What a codename derives to. ``repr`` hides both values so they cannot reach a log."""

    login_secret: bytes = field(repr=False)
    key_seed: bytes = field(repr=False)

    def private_key(self) -> PrivateKey:
        """The submitter's X25519 private key."""
        return load_private_key(self.key_seed)

    def public_key_bytes(self) -> bytes:
        """The submitter's X25519 public key, raw 32 bytes."""
        return public_key_bytes(self.private_key())


def derive_subkey(secret: bytes, info: bytes) -> bytes:
    """32 bytes from ``secret`` for the use ``info`` names: HKDF-SHA256 with an empty salt, as
    every Parley derivation from a secret is made (docs/FORMATS.md, "Codenames")."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=info).derive(secret)


def derive_codename_secrets(codename: str) -> CodenameSecrets:
    """Normalise ``codename`` (``CodenameError`` if unusable) and derive its secrets.

    Deliberately slow (PBKDF2 with 600 000 iterations, a few tenths of a second).
    """
    canonical = normalise_codename(codename)
    master = hashlib.pbkdf2_hmac(
        "sha256", canonical.encode("utf-8"), _PBKDF2_SALT, PBKDF2_ITERATIONS, dklen=32
    )
    return CodenameSecrets(
        login_secret=derive_subkey(master, _LOGIN_SECRET_INFO),
        key_seed=derive_subkey(master, _KEY_SEED_INFO),
    )


def lookup_hash(pepper: bytes, login_secret: bytes) -> bytes:
    """The keyed hash under which the server finds a submitter's account (32 bytes)."""
    if len(pepper) != PEPPER_SIZE:
        raise CryptoError(f"the codename pepper is {PEPPER_SIZE} bytes")
    return hmac.digest(pepper, login_secret, "sha256")
