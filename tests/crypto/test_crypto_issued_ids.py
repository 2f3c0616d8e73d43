"""Issued ids: recognised for their period under their key, and nothing else."""

import base64
import hashlib
import hmac
import re
import struct

import pytest

from crypto.codename import derive_subkey
from crypto.errors import CryptoError
from crypto.issued_ids import id_issued_in, issue_id, issued_id_key

KEY = issued_id_key(bytes(range(32)))
PERIOD = 491_000


def test_an_id_has_the_shape_of_every_public_id_and_is_fresh_each_time() -> None:
    ids = {issue_id(KEY, PERIOD) for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{22}", text) for text in ids)


def test_an_id_is_recognised_for_its_period_and_key_only() -> None:
    text = issue_id(KEY, PERIOD)
    assert id_issued_in(KEY, text, PERIOD)
    assert not id_issued_in(KEY, text, PERIOD + 1)
    assert not id_issued_in(KEY, text, PERIOD - 1)
    assert not id_issued_in(issued_id_key(bytes(32)), text, PERIOD)


def test_the_tag_is_the_specified_hmac() -> None:
    """docs/FORMATS.md, "Issued submission ids": key, label, nonce, period, truncation."""
    instance_key = bytes(range(32))
    key = derive_subkey(instance_key, b"parley issued id key v1")
    assert issued_id_key(instance_key) == key
    nonce = bytes.fromhex("0001020304050607")
    message = b"parley issued id v1\x00" + nonce + struct.pack(">Q", PERIOD)
    tag = hmac.new(key, message, hashlib.sha256).digest()[:8]
    text = base64.urlsafe_b64encode(nonce + tag).rstrip(b"=").decode()
    assert id_issued_in(KEY, text, PERIOD)


def test_a_changed_id_is_refused() -> None:
    text = issue_id(KEY, PERIOD)
    for position in range(len(text)):
        for replacement in "A_-z9":
            changed = text[:position] + replacement + text[position + 1 :]
            if changed != text:
                assert not id_issued_in(KEY, changed, PERIOD), (position, replacement)


def test_another_spelling_of_the_same_bytes_is_refused() -> None:
    """The last character carries 2 bits; the 4 unused bits make other spellings of one id."""
    text = issue_id(KEY, PERIOD)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(text[-1])
    respelled = text[:-1] + alphabet[last | 0b0001]
    assert respelled != text
    assert base64.urlsafe_b64decode(respelled + "==") == base64.urlsafe_b64decode(text + "==")
    assert not id_issued_in(KEY, respelled, PERIOD)


@pytest.mark.parametrize("text", ["", "A" * 21, "A" * 23, "A" * 21 + "!", "é" * 22, "A" * 22])
def test_malformed_or_self_chosen_text_is_refused(text: str) -> None:
    assert not id_issued_in(KEY, text, PERIOD)


def test_wrong_key_sizes_and_periods_are_refused() -> None:
    with pytest.raises(CryptoError):
        issued_id_key(bytes(31))
    with pytest.raises(CryptoError):
        issue_id(bytes(16), PERIOD)
    with pytest.raises(CryptoError):
        issue_id(KEY, -1)
    with pytest.raises(CryptoError):
        issue_id(KEY, 2**64)
