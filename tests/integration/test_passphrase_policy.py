"""The staff passphrase policy: length, strength (zxcvbn) and personal details, each refusal with a
reason a person can act on."""

import pytest

from portal.services.staff.passphrase_policy import (
    MAX_PASSPHRASE_LENGTH,
    MIN_PASSPHRASE_LENGTH,
    PassphraseRefusedError,
    PersonalDetails,
    check_passphrase,
    passphrase_problem,
)

MARIA = PersonalDetails(email="maria.rossi@eeas.europa.eu", display_name="Maria Rossi")


@pytest.mark.parametrize(
    "passphrase",
    [
        "correct horse battery staple",
        "granite lantern osmosis quietly",
        "Ünïcödé tëxt wörks wéll töö",
        "7 pelicans under a violet bridge",
    ],
)
def test_long_unusual_passphrases_are_accepted(passphrase: str) -> None:
    check_passphrase(passphrase, MARIA)
    assert passphrase_problem(passphrase, MARIA) is None


def test_a_short_passphrase_says_how_long_it_must_be() -> None:
    problem = passphrase_problem("Xq7!vR2#", MARIA)

    assert problem is not None
    assert f"at least {MIN_PASSPHRASE_LENGTH} characters" in problem
    assert "has 8" in problem


def test_length_is_counted_after_unicode_normalisation() -> None:
    decomposed = "e\u0301" * 11  # eleven é, each typed as two code points
    problem = passphrase_problem(decomposed)

    assert problem is not None and "has 11" in problem


def test_an_absurdly_long_passphrase_is_refused() -> None:
    with pytest.raises(PassphraseRefusedError, match=str(MAX_PASSPHRASE_LENGTH)):
        check_passphrase("word " * 400)


@pytest.mark.parametrize(
    ("passphrase", "reason"),
    [
        ("password1234", "very common password"),
        ("aaaaaaaaaaaaaaaa", "Repeats"),
        ("qwertyuiopasdf", "too easy to guess"),
        ("abcdefghijklmn", "too easy to guess"),
    ],
)
def test_guessable_passphrases_are_refused_with_a_reason(passphrase: str, reason: str) -> None:
    with pytest.raises(PassphraseRefusedError) as refused:
        check_passphrase(passphrase, MARIA)

    message = str(refused.value)
    assert "too easy to guess" in message
    assert reason in message
    assert message.endswith(".")


@pytest.mark.parametrize(
    "passphrase",
    [
        "my address maria.rossi@eeas.europa.eu",
        "MARIA.ROSSI forever and ever",
        "tortellini for rossi always",
        "maria likes quiet violet harbours",
    ],
)
def test_the_persons_name_and_address_are_refused(passphrase: str) -> None:
    problem = passphrase_problem(passphrase, MARIA)

    assert problem is not None and "your name or your e-mail address" in problem


def test_short_name_parts_do_not_block_ordinary_words() -> None:
    person = PersonalDetails(email="li@example.org", display_name="Li Wu")

    assert passphrase_problem("lilac willow quarry tempest", person) is None


def test_without_personal_details_only_strength_and_length_count() -> None:
    assert passphrase_problem("maria rossi quarry tempest") is None
