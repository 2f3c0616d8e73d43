"""Per-submission keys, owner tags and key holders' signing keys, from codename to tag."""

import hashlib
import hmac

import pytest

from crypto.codename import derive_codename_secrets
from crypto.derived_keys import (
    SubmissionKeys,
    derive_submission_keys,
    desk_signing_seed,
    owner_tag,
    owner_tag_key,
    recovery_signing_seed,
    staff_signing_seed,
)
from crypto.errors import CryptoError
from crypto.keys import load_private_key
from crypto.signing import signing_public_key
from tests.vectors.vector_files import load_vectors

VECTORS = load_vectors("provenance-v1.json")
SUBMITTER = VECTORS["submitter"]
CODENAME_CASES = load_vectors("codename-v1.json")["cases"]
DERIVE_HOLDER_SEED = {
    "desk": desk_signing_seed,
    "staff": staff_signing_seed,
    "recovery": recovery_signing_seed,
}


def hkdf(ikm: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 with an empty salt and one 32-byte block, written out (RFC 5869)."""
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_the_submitter_is_a_codename_of_the_codename_vectors():
    (case,) = [case for case in CODENAME_CASES if case["codename"] == SUBMITTER["codename"]]
    assert case["key_seed"] == SUBMITTER["key_seed"]
    assert derive_codename_secrets(SUBMITTER["codename"]).key_seed.hex() == SUBMITTER["key_seed"]


@pytest.mark.parametrize("case", SUBMITTER["submissions"], ids=lambda case: case["public_id"])
def test_submission_keys_vectors(case):
    key_seed = bytes.fromhex(SUBMITTER["key_seed"])
    keys = derive_submission_keys(key_seed, case["public_id"])
    assert keys.key_seed.hex() == case["key_seed"]
    assert keys.signing_seed.hex() == case["signing_seed"]
    assert keys.public_key_bytes().hex() == case["public_key"]
    assert keys.signing_public_key().hex() == case["signing_public_key"]
    info = f"parley submission key v1|{case['public_id']}".encode()
    assert hkdf(key_seed, info).hex() == case["key_seed"]
    info = f"parley submission signing key v1|{case['public_id']}".encode()
    assert hkdf(key_seed, info).hex() == case["signing_seed"]


def test_submissions_of_one_submitter_share_no_key():
    seeds = [SUBMITTER["key_seed"]]
    for case in SUBMITTER["submissions"]:
        seeds += [case["key_seed"], case["signing_seed"], case["public_key"]]
        seeds.append(case["signing_public_key"])
    assert len(set(seeds)) == len(seeds)


def test_owner_tag_vectors():
    tag_key = owner_tag_key(bytes.fromhex(SUBMITTER["key_seed"]))
    assert tag_key.hex() == SUBMITTER["owner_tag_key"]
    assert hkdf(bytes.fromhex(SUBMITTER["key_seed"]), b"parley owner tag key v1") == tag_key
    assert [case["index"] for case in SUBMITTER["owner_tags"]] == [0, 1, 2, 2**32 - 1]
    for case in SUBMITTER["owner_tags"]:
        assert owner_tag(tag_key, case["index"]).hex() == case["tag"]
        message = b"parley owner tag v1\x00" + case["index"].to_bytes(4, "big")
        assert hmac.new(tag_key, message, hashlib.sha256).hexdigest() == case["tag"]


@pytest.mark.parametrize("index", [-1, 2**32])
def test_owner_tag_indices_outside_u32_are_refused(index):
    with pytest.raises(CryptoError):
        owner_tag(bytes(32), index)


def test_owner_tag_key_of_the_wrong_length_is_refused():
    with pytest.raises(CryptoError):
        owner_tag(bytes(31), 0)


@pytest.mark.parametrize(
    "public_id",
    ["", "A" * 21, "A" * 23, "A" * 21 + "=", "A" * 21 + "|", "A" * 21 + "+", "A" * 21 + "\n"],
)
def test_public_ids_of_another_shape_are_refused(public_id):
    with pytest.raises(CryptoError):
        derive_submission_keys(bytes(32), public_id)


@pytest.mark.parametrize("length", [0, 31, 33])
def test_seeds_of_the_wrong_length_are_refused(length):
    with pytest.raises(CryptoError):
        derive_submission_keys(bytes(length), "A" * 22)
    with pytest.raises(CryptoError):
        owner_tag_key(bytes(length))


@pytest.mark.parametrize("case", VECTORS["holder_signing_keys"], ids=lambda case: case["role"])
def test_holder_signing_key_vectors(case):
    private_raw = bytes.fromhex(case["private_key"])
    seed = DERIVE_HOLDER_SEED[case["role"]](load_private_key(private_raw))
    assert seed.hex() == case["signing_seed"]
    assert hkdf(private_raw, f"parley {case['role']} signing key v1".encode()) == seed
    assert signing_public_key(seed).hex() == case["signing_public_key"]


def test_one_private_key_gives_a_different_signing_key_in_each_role():
    private = load_private_key(bytes(range(32)))
    assert len({derive(private) for derive in DERIVE_HOLDER_SEED.values()}) == 3


def test_submission_seeds_do_not_appear_in_repr():
    keys = SubmissionKeys(key_seed=b"\xaa" * 32, signing_seed=b"\xbb" * 32)
    assert "\\xaa" not in repr(keys) and "\\xbb" not in repr(keys)
