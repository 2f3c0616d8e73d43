"""Codenames: entropy, word lists, normalisation, errors and the derivation known answers."""

import hashlib
import hmac
import importlib.resources
import itertools
import math
import re
import unicodedata

import pytest

import crypto.codename
from crypto.codename import (
    CODENAME_BITS,
    CODENAME_WORDS,
    LANGUAGES,
    PBKDF2_ITERATIONS,
    WORDLIST_SIZE,
    CodenameSecrets,
    derive_codename_secrets,
    display_wordlist,
    generate_codename,
    lookup_hash,
    normalise_codename,
    wordlist,
)
from crypto.errors import CodenameError, CryptoError
from crypto.keys import load_private_key, public_key_bytes
from tests.vectors.vector_files import load_vectors

VECTORS = load_vectors("codename-v1.json")
EN = wordlist("en")
EIGHT = " ".join(EN[i] for i in (0, 1, 2, 3, 4, 5, 6, 7))
# Turkish words with dotless i (U+0131), as a keyboard types them (NFC); four of them also hold a
# dotted i. The dotless i is the point here, hence the noqa for ruff's look-alike check.
TURKISH = "kıdemli ısıtıcı binbaşı tıbbi bıçak altın açıkgöz sıhhi"  # noqa: RUF001


def shipped_words(language: str) -> list[str]:
    """The words of a list exactly as the file ships them."""
    path = importlib.resources.files("crypto") / "wordlists" / f"{language}.txt"
    return path.read_text("utf-8").split()


def turkish_capitals(text: str) -> str:
    """``text`` in capitals as a Turkish keyboard types them: i becomes İ, dotless i becomes I."""
    return text.replace("i", "\u0130").replace("\u0131", "I").upper()


def test_codename_carries_88_bits():
    assert CODENAME_BITS == 88
    assert CODENAME_WORDS * math.log2(2048) == CODENAME_BITS
    assert PBKDF2_ITERATIONS == 600_000


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_codename_from_any_list_keeps_at_least_88_bits(language):
    """A list that lost words, or gained look-alikes that read the same once typed, would make
    its codenames weaker than the 88 bits the portal promises: counted on canonical forms."""
    distinct = len(set(wordlist(language)))
    assert CODENAME_WORDS * math.log2(distinct) >= CODENAME_BITS == 88


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_list_has_2048_distinct_separator_free_words(language):
    words = wordlist(language)
    assert len(words) == len(set(words)) == 2048
    assert all(w == unicodedata.normalize("NFKD", w).casefold() for w in words)
    assert not any(re.search(r"[\s.-]", w) for w in words)


def test_no_two_words_of_a_shipped_list_share_a_canonical_form():
    """Each word, typed as shipped, in capitals or in Turkish capitals, has one canonical form.

    That form has i for dotless i and no dot above, so dotless or dotted, small or capital, an i
    cannot tell words apart: each list still holds 2048 distinct words compared that way.
    """
    for language in LANGUAGES:
        canonical = []
        for word in shipped_words(language):
            forms = {
                normalise_codename(" ".join([typed] * CODENAME_WORDS))
                for typed in (word, word.upper(), turkish_capitals(word))
            }
            assert len(forms) == 1, (language, word)
            canonical.append(forms.pop().split(" ")[0])
        assert not any("\u0131" in word or "\u0307" in word for word in canonical), language
        assert len(set(canonical)) == WORDLIST_SIZE, language
        assert set(canonical) == set(wordlist(language)), language


def test_english_words_are_identified_by_their_first_four_letters():
    assert len({word[:4] for word in EN}) == 2048


@pytest.mark.parametrize("language", LANGUAGES)
def test_generation_uses_the_language_list_as_spelled_and_normalises(language):
    codename = generate_codename(language)
    words = codename.split(" ")
    assert len(words) == CODENAME_WORDS
    assert set(words) <= set(display_wordlist(language))
    assert set(normalise_codename(codename).split(" ")) <= set(wordlist(language))


def test_turkish_codenames_are_shown_with_their_dotless_i(monkeypatch):
    dotless = [i for i, word in enumerate(display_wordlist("tr")) if "\u0131" in word][:8]
    draws = iter(dotless)
    monkeypatch.setattr(crypto.codename.secrets, "randbelow", lambda bound: next(draws))
    codename = generate_codename("tr")
    assert codename.count("\u0131") >= 8
    assert "\u0131" not in normalise_codename(codename)


def test_generation_draws_each_word_uniformly_with_randbelow(monkeypatch):
    draws = iter([0, 2047, 5, 6, 7, 8, 9, 10])
    bounds = []

    def randbelow(bound: int) -> int:
        bounds.append(bound)
        return next(draws)

    monkeypatch.setattr(crypto.codename.secrets, "randbelow", randbelow)
    assert generate_codename("fr").split(" ") == [
        display_wordlist("fr")[i] for i in (0, 2047, 5, 6, 7, 8, 9, 10)
    ]
    assert bounds == [2048] * 8


def test_generation_refuses_an_unknown_language():
    with pytest.raises(CodenameError):
        generate_codename("de")


@pytest.mark.parametrize(
    "typed",
    [
        EIGHT.upper(),
        EIGHT.replace(" ", "-"),
        EIGHT.replace(" ", "."),
        EIGHT.replace(" ", " \t-.\n "),
        f"  {EIGHT}\n",
        EIGHT.replace(" ", "\u00a0"),
        "".join(chr(ord(c) + 0xFEE0) if c != " " else c for c in EIGHT),
    ],
    ids=["upper", "hyphens", "dots", "mixed runs", "outer space", "no-break spaces", "fullwidth"],
)
def test_normalisation_rules(typed):
    assert normalise_codename(typed) == EIGHT


def test_composed_and_decomposed_accents_are_the_same_codename():
    words = [w for w in wordlist("fr") if w != unicodedata.normalize("NFC", w)][:8]
    composed = " ".join(unicodedata.normalize("NFC", w).upper() for w in words)
    assert normalise_codename(composed) == " ".join(words)
    assert normalise_codename(unicodedata.normalize("NFD", composed)) == " ".join(words)


def test_turkish_codename_in_capitals_is_the_same_codename():
    upper = TURKISH.upper()
    turkish_upper = turkish_capitals(TURKISH)
    assert "I" in upper and "\u0130" not in upper
    assert "I" in turkish_upper and "\u0130" in turkish_upper
    expected = unicodedata.normalize("NFKD", TURKISH).replace("\u0131", "i")
    typed_forms = (TURKISH, upper, turkish_upper)
    assert [normalise_codename(typed) for typed in typed_forms] == [expected] * 3
    assert set(expected.split(" ")) <= set(wordlist("tr"))
    derived = [derive_codename_secrets(typed) for typed in typed_forms]
    assert derived[0].login_secret == derived[1].login_secret == derived[2].login_secret
    assert derived[0].key_seed == derived[1].key_seed == derived[2].key_seed


def test_words_shared_by_two_lists_form_a_valid_codename():
    shared = sorted(set(wordlist("en")) & set(wordlist("fr")))[:8]
    assert len(shared) == 8
    assert normalise_codename(" ".join(shared)) == " ".join(shared)


@pytest.mark.parametrize("count", [0, 1, 7, 9, 16])
def test_wrong_word_count_is_refused(count):
    typed = " ".join(itertools.islice(itertools.cycle(EN), count))
    with pytest.raises(CodenameError, match=f"has {count}"):
        normalise_codename(typed)


def test_unknown_word_is_refused_without_echoing_it():
    typed = EIGHT.replace(EN[3], "zzyzx")
    with pytest.raises(CodenameError, match="word 4 ") as raised:
        normalise_codename(typed)
    assert "zzyzx" not in str(raised.value)


def test_words_from_different_lists_are_refused():
    english_only = [w for w in EN if w not in wordlist("ru")][:4]
    russian = list(wordlist("ru")[:4])
    with pytest.raises(CodenameError, match="different languages"):
        normalise_codename(" ".join(english_only + russian))


def test_codename_error_is_a_value_error():
    assert issubclass(CodenameError, ValueError)


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: case["description"])
def test_derivation_vectors(case):
    assert normalise_codename(case["codename"]) == case["canonical"]
    derived = derive_codename_secrets(case["codename"])
    assert derived.login_secret.hex() == case["login_secret"]
    assert derived.key_seed.hex() == case["key_seed"]
    assert derived.public_key_bytes().hex() == case["public_key"]
    assert public_key_bytes(load_private_key(derived.key_seed)).hex() == case["public_key"]
    pepper = bytes.fromhex(case["pepper"])
    assert lookup_hash(pepper, derived.login_secret).hex() == case["lookup_hash"]


def test_vectors_cover_french_and_russian():
    canonical = " ".join(case["canonical"] for case in VECTORS["cases"])
    assert any(word in wordlist("fr") and word not in EN for word in canonical.split())
    assert any(word in wordlist("ru") for word in canonical.split())


def test_derivation_matches_the_construction_written_in_the_spec():
    case = VECTORS["cases"][0]
    master = hashlib.pbkdf2_hmac(
        "sha256", case["canonical"].encode(), b"parley codename v1", 600_000, 32
    )
    prk = hmac.new(b"", master, hashlib.sha256).digest()

    def expand(info: bytes) -> str:
        return hmac.new(prk, info + b"\x01", hashlib.sha256).hexdigest()

    assert expand(b"parley login secret v1") == case["login_secret"]
    assert expand(b"parley submitter key v1") == case["key_seed"]


def test_lookup_hash_is_hmac_sha256_under_the_pepper():
    pepper, secret = bytes(range(32)), b"\x01" * 32
    assert lookup_hash(pepper, secret) == hmac.new(pepper, secret, hashlib.sha256).digest()
    with pytest.raises(CryptoError):
        lookup_hash(bytes(16), secret)


def test_derived_secrets_do_not_appear_in_repr():
    secrets_ = CodenameSecrets(login_secret=b"\xaa" * 32, key_seed=b"\xbb" * 32)
    assert "aa" not in repr(secrets_) and "\\xaa" not in repr(secrets_)
    assert "\\xbb" not in repr(secrets_)
