"""TOTP: the RFC 6238 table, Parley's 6-digit profile, the window and the secret's forms."""

import urllib.parse

import pytest

from crypto.errors import CryptoError
from crypto.totp import (
    TYPED_CODE_MAX_LENGTH,
    new_totp_secret,
    rfc6238_code,
    totp_code,
    totp_provisioning_uri,
    totp_secret_base32,
    totp_secret_from_base32,
    verify_totp,
)
from tests.vectors.make_vectors import rfc6238_vector
from tests.vectors.vector_files import load_vectors

TABLE = load_vectors("rfc6238.json")
SECRET = bytes(range(20))
NOW = 1_700_000_000.5
STEP = int(NOW) // 30


def test_checked_in_table_is_the_published_one():
    assert rfc6238_vector() == TABLE
    assert len(TABLE["cases"]) == 18
    assert {case["algorithm"] for case in TABLE["cases"]} == {"SHA1", "SHA256", "SHA512"}


@pytest.mark.parametrize("case", TABLE["cases"], ids=lambda c: f"{c['algorithm']}@{c['time']}")
def test_rfc_6238_table(case):
    seed = bytes.fromhex(TABLE["seeds"][case["algorithm"]])
    code = rfc6238_code(seed, case["time"], digits=8, algorithm=case["algorithm"])
    assert code == case["totp"]


@pytest.mark.parametrize("case", [c for c in TABLE["cases"] if c["algorithm"] == "SHA1"])
def test_six_digit_profile_is_the_table_truncated(case):
    assert totp_code(bytes.fromhex(TABLE["seeds"]["SHA1"]), case["time"]) == case["totp"][-6:]


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_codes_within_one_step_verify_and_return_their_step(offset):
    code = totp_code(SECRET, NOW + 30 * offset)
    assert verify_totp(SECRET, code, NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_codes_outside_the_window_do_not_verify(offset):
    assert verify_totp(SECRET, totp_code(SECRET, NOW + 30 * offset), NOW) is None


def test_window_can_be_narrowed_or_widened():
    late = totp_code(SECRET, NOW - 30)
    assert verify_totp(SECRET, late, NOW, window=0) is None
    assert verify_totp(SECRET, totp_code(SECRET, NOW - 60), NOW, window=2) == STEP - 2


def test_spaces_are_ignored_and_malformed_codes_do_not_verify():
    code = totp_code(SECRET, NOW)
    assert verify_totp(SECRET, f"{code[:3]} {code[3:]}", NOW) == STEP
    for malformed in ["", code[:5], code + "0", "12345a", "١٢٣٤٥٦"]:
        assert verify_totp(SECRET, malformed, NOW) is None


def test_a_typed_code_fits_the_longest_form_a_person_types_and_no_longer():
    code = totp_code(SECRET, NOW)
    spaced = f" {code[:3]} {code[3:]}"
    assert len(spaced) == TYPED_CODE_MAX_LENGTH
    assert verify_totp(SECRET, spaced, NOW) == STEP
    assert verify_totp(SECRET, spaced + " ", NOW) is None


def test_window_does_not_reach_before_the_epoch():
    assert verify_totp(SECRET, totp_code(SECRET, 0), 10) == 0
    assert verify_totp(SECRET, totp_code(SECRET, 30), 10) == 1


def test_wrong_secret_does_not_verify():
    assert verify_totp(new_totp_secret(), totp_code(SECRET, NOW), NOW) is None


def test_secret_and_base32_round_trip():
    secret = new_totp_secret()
    assert len(secret) == 20
    text = totp_secret_base32(secret)
    assert len(text) == 32 and text == text.upper()
    assert totp_secret_from_base32(text) == secret
    spaced = " ".join(text[i : i + 4] for i in range(0, 32, 4)).lower()
    assert totp_secret_from_base32(spaced) == secret
    assert totp_secret_from_base32(totp_secret_base32(secret[:16]) + "======") == secret[:16]


@pytest.mark.parametrize("text", ["not base32!", "ABCDEFGH1"])
def test_invalid_base32_is_refused(text):
    with pytest.raises(CryptoError):
        totp_secret_from_base32(text)


def test_provisioning_uri():
    uri = totp_provisioning_uri(SECRET, "maria@desk.example")
    parsed = urllib.parse.urlparse(uri)
    assert (parsed.scheme, parsed.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(parsed.path) == "/Parley:maria@desk.example"
    query = dict(urllib.parse.parse_qsl(parsed.query))
    assert query == {
        "secret": totp_secret_base32(SECRET),
        "algorithm": "SHA1",
        "digits": "6",
        "period": "30",
        "issuer": "Parley",
    }
