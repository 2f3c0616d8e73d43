"""Login password hashes."""

import unicodedata

import pytest
from argon2 import PasswordHasher

from crypto.errors import CryptoError
from crypto.passwords import hash_password, password_needs_rehash, verify_password

PASSWORD = "a long staff passphrase"
HASH = hash_password(PASSWORD)


def test_hash_uses_the_rfc_9106_low_memory_profile():
    assert HASH.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert hash_password(PASSWORD) != HASH


def test_right_password_verifies():
    assert verify_password(HASH, PASSWORD) is True


@pytest.mark.parametrize("attempt", ["", "a long staff passphrasE", PASSWORD + " "])
def test_wrong_password_does_not_verify(attempt):
    assert verify_password(HASH, attempt) is False


def test_unreadable_stored_hash_does_not_verify():
    assert verify_password("not a hash", PASSWORD) is False
    assert verify_password(HASH[:-5], PASSWORD) is False


def test_needs_rehash_only_for_weaker_parameters():
    weaker = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert verify_password(weaker, PASSWORD) is True
    assert password_needs_rehash(weaker) is True
    assert password_needs_rehash(HASH) is False


def test_needs_rehash_refuses_an_unreadable_hash():
    with pytest.raises(CryptoError):
        password_needs_rehash("not a hash")


def test_composed_and_decomposed_accents_are_the_same_password():
    composed = "contraseña segura número uno"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    assert verify_password(hash_password(composed), decomposed)
