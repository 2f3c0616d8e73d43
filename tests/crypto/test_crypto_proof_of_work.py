"""Proof of work: the shared vectors, the zero-bit count, and what a proof is not."""

import pytest

from crypto import CryptoError
from crypto.proof_of_work import MAX_NONCE, leading_zero_bits, proof_holds, work_digest
from tests.vectors.vector_files import load_vectors

CASES = load_vectors("proof-of-work-v1.json")["cases"]


@pytest.mark.parametrize("case", CASES, ids=[case["description"] for case in CASES])
def test_the_vector_nonce_is_the_smallest_that_holds(case: dict) -> None:
    challenge, bound = bytes.fromhex(case["challenge"]), bytes.fromhex(case["bound"])
    difficulty, nonce = case["difficulty"], case["nonce"]

    assert work_digest(challenge, bound, nonce).hex() == case["digest"]
    assert proof_holds(challenge, bound, nonce, difficulty)
    assert not any(proof_holds(challenge, bound, smaller, difficulty) for smaller in range(nonce))


def test_a_proof_serves_only_its_own_login_secret_and_challenge() -> None:
    case = CASES[-1]
    challenge, bound = bytes.fromhex(case["challenge"]), bytes.fromhex(case["bound"])
    nonce, difficulty = case["nonce"], case["difficulty"]

    assert not proof_holds(challenge, bytes(32), nonce, difficulty)
    assert not proof_holds(challenge[:-1] + b"\x00", bound, nonce, difficulty)


def test_leading_zero_bits_counts_across_bytes() -> None:
    assert leading_zero_bits(bytes([0x80])) == 0
    assert leading_zero_bits(bytes([0x00, 0x01])) == 15
    assert leading_zero_bits(bytes(4)) == 32


def test_nonces_and_difficulties_out_of_range_are_refused() -> None:
    with pytest.raises(CryptoError):
        work_digest(b"c", b"b", -1)
    with pytest.raises(CryptoError):
        work_digest(b"c", b"b", MAX_NONCE + 1)
    with pytest.raises(CryptoError):
        proof_holds(b"c", b"b", 0, 33)
