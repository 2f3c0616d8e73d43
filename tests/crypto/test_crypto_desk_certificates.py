"""Desk key certificates and the chain from the recovery signing key to the newest desk key."""

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crypto.derived_keys import desk_signing_seed, recovery_signing_seed
from crypto.desk_certificates import (
    DeskKeyCertificate,
    certify_desk_key,
    verify_desk_key_certificate,
    verify_desk_key_chain,
    verify_desk_key_chain_from,
)
from crypto.errors import CryptoError, DecryptionError
from crypto.keys import generate_private_key, public_key_bytes
from crypto.signing import signing_public_key
from tests.vectors.vector_files import load_vectors

CHAINS = load_vectors("provenance-v1.json")["desk_key_chains"]
ANCHORED = load_vectors("signed-items-v1.json")["anchored_desk_key_chains"]
TRUSTED = bytes.fromhex(CHAINS["trusted_signing_key"])


def certificate(case: dict) -> DeskKeyCertificate:
    return DeskKeyCertificate(
        case["generation"],
        bytes.fromhex(case["desk_public_key"]),
        bytes.fromhex(case["signing_public_key"]),
        bytes.fromhex(case["signature"]),
    )


def certified_message(slug: str, case: dict) -> bytes:
    """docs/FORMATS.md, "Desk key certificate v1"."""
    return (
        b"parley desk key certificate v1\x00"
        + len(slug.encode()).to_bytes(4, "big")
        + slug.encode()
        + case["generation"].to_bytes(4, "big")
        + bytes.fromhex(case["desk_public_key"])
        + bytes.fromhex(case["signing_public_key"])
    )


@pytest.mark.parametrize("chain", CHAINS["valid"], ids=lambda chain: chain["description"])
def test_valid_chains_give_their_newest_desk_key(chain):
    certificates = [certificate(case) for case in chain["certificates"]]
    assert verify_desk_key_chain(TRUSTED, CHAINS["slug"], certificates) == certificates[-1]


def test_each_certificate_of_the_chain_is_its_signers_signature_of_the_definition():
    signers = {"recovery": TRUSTED}
    for case in CHAINS["valid"][0]["certificates"]:
        signer = Ed25519PublicKey.from_public_bytes(signers[case["signer"]])
        signer.verify(bytes.fromhex(case["signature"]), certified_message(CHAINS["slug"], case))
        signers[f"desk {case['generation']}"] = bytes.fromhex(case["signing_public_key"])
        verify_desk_key_certificate(signers[case["signer"]], CHAINS["slug"], certificate(case))
    assert len(signers) == 4


def test_the_three_link_chain_is_signed_by_recovery_then_desk_1_then_desk_2():
    chain = CHAINS["valid"][0]["certificates"]
    assert [case["signer"] for case in chain] == ["recovery", "desk 1", "desk 2"]
    assert [case["generation"] for case in chain] == [1, 2, 3]


@pytest.mark.parametrize("chain", CHAINS["broken"], ids=lambda chain: chain["description"])
def test_broken_chains_are_refused(chain):
    certificates = [certificate(case) for case in chain["certificates"]]
    with pytest.raises(DecryptionError):
        verify_desk_key_chain(TRUSTED, chain["slug"], certificates)


def test_another_trusted_key_refuses_every_valid_chain():
    other = signing_public_key(bytes(32))
    for chain in CHAINS["valid"]:
        with pytest.raises(DecryptionError):
            verify_desk_key_chain(
                other, CHAINS["slug"], [certificate(c) for c in chain["certificates"]]
            )


def test_certify_then_verify_with_derived_keys():
    recovery_seed = recovery_signing_seed(generate_private_key())
    desk = generate_private_key()
    desk_signing = signing_public_key(desk_signing_seed(desk))
    made = certify_desk_key(recovery_seed, "ruritania", 1, public_key_bytes(desk), desk_signing)
    trusted = signing_public_key(recovery_seed)
    verify_desk_key_certificate(trusted, "ruritania", made)
    assert verify_desk_key_chain(trusted, "ruritania", [made]) == made
    with pytest.raises(DecryptionError):
        verify_desk_key_certificate(trusted, "ruritania-2", made)
    with pytest.raises(DecryptionError):
        verify_desk_key_certificate(desk_signing, "ruritania", made)


@pytest.mark.parametrize(
    ("generation", "desk_key", "signing_key"),
    [(0, 32, 32), (2**32, 32, 32), (1, 31, 32), (1, 32, 33)],
    ids=["generation 0", "generation 2^32", "short desk key", "long signing key"],
)
def test_out_of_range_fields_are_refused(generation, desk_key, signing_key):
    seed = hashlib.sha256(b"signer").digest()
    with pytest.raises(CryptoError) as raised:
        certify_desk_key(seed, "dialogue", generation, bytes(desk_key), bytes(signing_key))
    assert not isinstance(raised.value, DecryptionError)
    stored = DeskKeyCertificate(generation, bytes(desk_key), bytes(signing_key), bytes(64))
    with pytest.raises(DecryptionError):
        verify_desk_key_certificate(signing_public_key(seed), "dialogue", stored)


@pytest.mark.parametrize("case", ANCHORED["cases"], ids=lambda case: case["description"])
def test_a_chain_anchored_at_the_desk_key_a_submission_names(case: dict) -> None:
    """From the key a submitter trusts, each later desk key certified by the one before it or
    by the recovery signing key the submission names; an unnamed recovery key's signature does
    not count, nor a gap, nor another anchor."""
    certificates = [certificate(item) for item in case["certificates"]]
    anchor = bytes.fromhex(case["anchor_signing_key"])
    recovery = case["recovery_signing_key"]

    def walk() -> list[DeskKeyCertificate]:
        return verify_desk_key_chain_from(
            anchor,
            case["anchor_generation"],
            ANCHORED["slug"],
            certificates,
            None if recovery is None else bytes.fromhex(recovery),
        )

    if case["valid"]:
        assert walk() == certificates
    else:
        with pytest.raises(DecryptionError):
            walk()
