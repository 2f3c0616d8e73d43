"""Write the known-answer vector files that the Python and browser crypto tests both read.

The files in this folder are a contract between the two implementations, so they are produced
ONCE and afterwards only read. Run from the repository root::

    .venv/bin/python -m tests.vectors.make_vectors            # refuses to overwrite
    .venv/bin/python -m tests.vectors.make_vectors --missing  # writes only absent files
    .venv/bin/python -m tests.vectors.make_vectors --force    # rewrite (say why to the team)

Existing files are never overwritten without ``--force``; ``--missing`` adds the file of a new
format and leaves every existing one as it is. Everything that the formats let us fix
is derived from fixed labels (keys, nonce prefixes, the pepper). HPKE's ephemeral key and the
envelope's data key and nonce are random, so envelope vectors are "open this exact envelope" known
answers rather than "seal to these exact bytes". All byte strings are lower-case hex.
"""

import argparse
import hashlib
import itertools
import json
import re
import sys
import unicodedata
from pathlib import Path
from typing import Any

from cryptography_vectors import open_vector_file

from crypto.codename import derive_codename_secrets, lookup_hash, normalise_codename, wordlist
from crypto.derived_keys import (
    derive_submission_keys,
    desk_signing_seed,
    owner_tag,
    owner_tag_key,
    recovery_signing_seed,
    staff_signing_seed,
)
from crypto.desk_certificates import DeskKeyCertificate, certify_desk_key
from crypto.envelope import seal_envelope
from crypto.file_padding import padded_file_size
from crypto.keys import PrivateKey, load_private_key, private_key_bytes, public_key_bytes
from crypto.proof_of_work import proof_holds, work_digest
from crypto.signing import (
    sign_item,
    signing_fingerprint,
    signing_key_id,
    signing_public_key,
)
from crypto.staff_certificates import certify_staff_key
from crypto.stream import StreamEncryptor
from tests.vectors.envelope_forgery import forge_envelope, padded_payload
from tests.vectors.vector_files import VECTOR_DIR, pattern

HPKE_SOURCE = "cryptography_vectors (pyca/cryptography test vectors) HPKE/test-vectors.json"
TOTP_SOURCE = "cryptography_vectors (pyca/cryptography test vectors) twofactor/rfc-6238.txt"
ED25519_SOURCE = (
    "cryptography_vectors (pyca/cryptography test vectors) asymmetric/Ed25519/sign.input:"
    " the entries that are RFC 8032 section 7.1 TEST 1, TEST 2, TEST 3 and TEST 1024"
)
# sign.input's entry i signs a message of i - 1 bytes; these four are RFC 8032's.
RFC8032_MESSAGE_LENGTHS = (0, 1, 2, 1023)
INLINE_CIPHERTEXT_LIMIT = 2048


def fixed_bytes(label: str, size: int = 32) -> bytes:
    """Deterministic test bytes named by a label, so the generator needs no stored randomness."""
    return hashlib.sha256(f"parley test vector: {label}".encode()).digest()[:size]


def fixed_key(label: str) -> PrivateKey:
    return load_private_key(fixed_bytes(f"key {label}"))


def rfc9180_vector() -> dict[str, Any]:
    with open_vector_file("HPKE/test-vectors.json", "r") as source:
        entries = json.load(source)
    (entry,) = [
        e
        for e in entries
        if (e["mode"], e["kem_id"], e["kdf_id"], e["aead_id"]) == (0, 0x20, 0x01, 0x02)
    ]
    return {"source": HPKE_SOURCE, **entry}


def rfc6238_vector() -> dict[str, Any]:
    with open_vector_file("twofactor/rfc-6238.txt", "r") as source:
        text = source.read()
    cases, seeds = [], {}
    for block in text.split("COUNT")[1:]:
        fields = dict(re.findall(r"^(\w+) = (\S+)$", block, re.MULTILINE))
        seeds[fields["MODE"]] = fields["SECRET"].encode("ascii").hex()
        cases.append(
            {"time": int(fields["TIME"]), "algorithm": fields["MODE"], "totp": fields["TOTP"]}
        )
    return {"source": TOTP_SOURCE, "digits": 8, "time_step": 30, "seeds": seeds, "cases": cases}


def envelope_case(
    description: str, keys: list[PrivateKey], context: str, plaintext: bytes
) -> dict[str, Any]:
    envelope = seal_envelope(plaintext, [k.public_key() for k in keys], context)
    return {
        "description": description,
        "recipient_private_keys": [private_key_bytes(k).hex() for k in keys],
        "context": context,
        "plaintext": plaintext.hex(),
        "envelope": envelope.hex(),
    }


def flipped(data: bytes, index: int) -> bytes:
    return data[:index] + bytes([data[index] ^ 0x01]) + data[index + 1 :]


def envelope_vectors() -> dict[str, Any]:
    alice, bob, carol = fixed_key("alice"), fixed_key("bob"), fixed_key("carol")
    outsider = fixed_key("outsider")
    context = "dialogue 1 / submission"
    other_context = "dialogue 2 / submission"
    utf8_text = "Défenseure des droits — правозащитница — 人权捍卫者 ✊".encode()
    cases = [
        envelope_case("empty plaintext", [alice], context, b""),
        envelope_case("short text", [alice], context, b"Hello, desk."),
        envelope_case("UTF-8 text, UTF-8 context", [alice], "dialogue é / note", utf8_text),
        envelope_case("1020 bytes: fills the 1024-byte bucket", [alice], context, pattern(1020)),
        envelope_case("1021 bytes: first of the 2048-byte bucket", [alice], context, pattern(1021)),
        envelope_case("70000 bytes: above 65536, bucket 131072", [alice], context, pattern(70000)),
        envelope_case(
            "3 recipients, each key opens", [alice, bob, carol], context, b"To all three"
        ),
    ]
    base = bytes.fromhex(cases[1]["envelope"])
    payload_offset = 39 + 96 + 12
    alice_pub = alice.public_key()

    def tamper(description: str, envelope: bytes, key: PrivateKey = alice, ctx: str = context):
        return {
            "description": description,
            "private_key": private_key_bytes(key).hex(),
            "context": ctx,
            "envelope": envelope.hex(),
        }

    def forged(description: str, padded: bytes, recipients=(alice_pub,), **header: Any):
        return tamper(
            f"{description} (authenticates)", forge_envelope(recipients, context, padded, **header)
        )

    good_padding = padded_payload(b"forged", 1024)
    tampers = [
        tamper("wrong context", base, ctx=other_context),
        tamper("key that is not a recipient", base, key=outsider),
        tamper("flipped magic byte", flipped(base, 0)),
        tamper("flipped flags byte", flipped(base, 5)),
        tamper("flipped context digest byte", flipped(base, 6)),
        tamper("flipped recipient count byte", flipped(base, 38)),
        tamper("flipped key id byte", flipped(base, 39)),
        tamper("flipped byte in the wrap's enc", flipped(base, 39 + 16)),
        tamper("flipped byte in the wrapped key", flipped(base, 39 + 16 + 40)),
        tamper("flipped payload nonce byte", flipped(base, 39 + 96)),
        tamper("flipped first payload byte", flipped(base, payload_offset)),
        tamper("flipped last byte (payload tag)", flipped(base, len(base) - 1)),
        tamper("truncated by one byte", base[:-1]),
        tamper("truncated to 38 bytes", base[:38]),
        tamper("truncated after the payload nonce", base[:payload_offset]),
        tamper("extended by one zero byte", base + b"\x00"),
        tamper("extended by 16 bytes", base + bytes(16)),
        tamper("version byte set to 2", base[:4] + b"\x02" + base[5:]),
        forged("version 2", good_padding, version=2),
        forged("flags 0x01", good_padding, flags=1),
        forged("magic PRLX", good_padding, magic=b"PRLX"),
        forged("zero recipients", good_padding, recipients=()),
        forged(
            "17 recipients",
            good_padding,
            recipients=(alice_pub, *[fixed_key(f"extra {i}").public_key() for i in range(16)]),
        ),
        forged("same key id twice", good_padding, recipients=(alice_pub, alice_pub)),
        tamper(
            "header names another context, wraps bound to this one (authenticates)",
            forge_envelope([alice_pub], other_context, good_padding, wrap_context=context),
        ),
        forged("non-zero padding byte", padded_payload(b"forged", 1024, padding_byte=1)),
        forged(
            "declared length beyond the padded data",
            padded_payload(b"x", 1024, declared_length=1021),
        ),
        forged("padded size 1500 is not a bucket", padded_payload(b"forged", 1500)),
        forged("padded size 512 is below the smallest bucket", padded_payload(b"forged", 512)),
        forged("padded size 98304 is not a bucket", padded_payload(b"forged", 98304)),
    ]
    return {"format": "Parley envelope v1", "cases": cases, "tamper": tampers}


def stream_case(description: str, length: int) -> dict[str, Any]:
    key = fixed_bytes(f"file key {length}")
    nonce_prefix = fixed_bytes(f"nonce prefix {length}", 7)
    plaintext = pattern(length)
    encryptor = StreamEncryptor(key, nonce_prefix=nonce_prefix)
    ciphertext = encryptor.header + encryptor.update(plaintext) + encryptor.finalize()
    case: dict[str, Any] = {
        "description": description,
        "key": key.hex(),
        "nonce_prefix": nonce_prefix.hex(),
    }
    if length < INLINE_CIPHERTEXT_LIMIT:
        case["plaintext"] = plaintext.hex()
    else:
        case["plaintext_pattern"] = {"length": length}
    case["ciphertext_sha256"] = hashlib.sha256(ciphertext).hexdigest()
    if len(ciphertext) < INLINE_CIPHERTEXT_LIMIT:
        case["ciphertext"] = ciphertext.hex()
    return case


def stream_vectors() -> dict[str, Any]:
    cases = [
        stream_case("empty file: one empty final chunk", 0),
        stream_case("one byte", 1),
        stream_case("one byte short of a chunk", 65535),
        stream_case("exactly one chunk: a single full final chunk", 65536),
        stream_case("one full chunk and a final chunk of one byte", 65537),
        stream_case("three full chunks and a final chunk of 3392 bytes", 200000),
    ]
    return {
        "format": "Parley STREAM v1",
        "chunk_size": 65536,
        "pattern": "byte i = i % 251",
        "cases": cases,
    }


PADDING_SIZES = [
    0, 1, 65535, 65536, 65537, 67584, 67585, 131071, 131072, 131073, 1_000_000,
    2**20 + 1, 10**8, 500 * 2**20, 2**31 + 1, 2**32 + 1, 2**40 + 12345,
]  # fmt: skip


def padded_stream_case(description: str, size: int) -> dict[str, Any]:
    key = fixed_bytes(f"padded file key {size}")
    nonce_prefix = fixed_bytes(f"padded nonce prefix {size}", 7)
    padded = pattern(size) + bytes(padded_file_size(size) - size)
    encryptor = StreamEncryptor(key, nonce_prefix=nonce_prefix)
    ciphertext = encryptor.header + encryptor.update(padded) + encryptor.finalize()
    return {
        "description": description,
        "key": key.hex(),
        "nonce_prefix": nonce_prefix.hex(),
        "size": size,
        "padded_size": len(padded),
        "ciphertext_sha256": hashlib.sha256(ciphertext).hexdigest(),
    }


def padding_tamper(description: str, size: int, recorded: int, nonzero_at: int | None) -> dict:
    return {
        "description": description,
        "size": size,
        "recorded_size": recorded,
        "padded_size": padded_file_size(size),
        "nonzero_at": nonzero_at,
    }


def attachment_padding_vectors() -> dict[str, Any]:
    return {
        "format": "Parley attachment padding, parley-attachment-keys-v2",
        "pattern": "byte i = i % 251, then zero bytes up to padded_size",
        "padded_sizes": [[size, padded_file_size(size)] for size in PADDING_SIZES],
        "cases": [
            padded_stream_case("empty file: one full chunk of zeros", 0),
            padded_stream_case("one byte and 65535 zero bytes", 1),
            padded_stream_case("70000 bytes padded to 71680", 70000),
            padded_stream_case("200000 bytes padded to 200704", 200000),
        ],
        "tamper": [
            padding_tamper("a padding byte is 0x01", 70000, 70000, 71679),
            padding_tamper("the first padding byte is 0x01", 70000, 70000, 70000),
            padding_tamper("recorded size one byte beyond the padded file", 70000, 71681, None),
            padding_tamper("recorded size of a far larger file", 10, 10**6, None),
        ],
    }


def codename_case(description: str, typed: str, pepper: bytes) -> dict[str, Any]:
    secrets_ = derive_codename_secrets(typed)
    return {
        "description": description,
        "codename": typed,
        "canonical": normalise_codename(typed),
        "login_secret": secrets_.login_secret.hex(),
        "key_seed": secrets_.key_seed.hex(),
        "public_key": secrets_.public_key_bytes().hex(),
        "pepper": pepper.hex(),
        "lookup_hash": lookup_hash(pepper, secrets_.login_secret).hex(),
    }


def words(language: str, indices: list[int]) -> list[str]:
    """Words in their composed (NFC) form, as a keyboard would type them."""
    return [unicodedata.normalize("NFC", wordlist(language)[i]) for i in indices]


# The English codename of codename-v1.json's first case, reused by provenance-v1.json.
ENGLISH_CODENAME_INDICES = [0, 2047, 1, 1000, 123, 456, 789, 1500]


def codename_vectors() -> dict[str, Any]:
    pepper = fixed_bytes("pepper")
    en = words("en", ENGLISH_CODENAME_INDICES)
    fr = [w for w in words("fr", list(range(2048))) if w != unicodedata.normalize("NFKD", w)][:4]
    fr += words("fr", [3, 700, 1400, 2000])
    ru = words("ru", [5, 300, 600, 900, 1200, 1500, 1800, 2040])
    ru_with_short_i = [w for w in words("ru", list(range(2048))) if "й" in w][:1]
    cases = [
        codename_case("English, canonical", " ".join(en), pepper),
        codename_case(
            "English, odd case, hyphens, dots, tabs, outer spaces",
            f"  {en[0].upper()}-{en[1].title()}--{en[2]}.{en[3]}\t{en[4]} - {en[5]}"
            f"\n{en[6]}...{en[7]}  ",
            pepper,
        ),
        codename_case(
            "French with accents typed composed (NFC), capitalised",
            " ".join(w.capitalize() for w in fr),
            pepper,
        ),
        codename_case(
            "Russian, upper case, composed letters",
            "-".join(w.upper() for w in ru[:7] + ru_with_short_i),
            pepper,
        ),
        codename_case("Spanish", " ".join(words("es", [10, 20, 30, 40, 50, 60, 70, 80])), pepper),
    ]
    return {"format": "Parley codename v1", "pbkdf2_iterations": 600000, "cases": cases}


def rfc8032_vector() -> dict[str, Any]:
    with open_vector_file("asymmetric/Ed25519/sign.input", "r") as source:
        entries = [line.split(":") for line in source.read().splitlines()]
    cases = []
    for secret, public, message, signed, _ in entries:
        if len(message) // 2 in RFC8032_MESSAGE_LENGTHS:
            signature = signed[:128]
            assert signed == signature + message, "sign.input holds signature || message"
            cases.append(
                {
                    "seed": secret[:64],
                    "public_key": public,
                    "message": message,
                    "signature": signature,
                }
            )
    assert len(cases) == len(RFC8032_MESSAGE_LENGTHS)
    return {"source": ED25519_SOURCE, "cases": cases}


def signing_key_case(seed: bytes) -> dict[str, Any]:
    public = signing_public_key(seed)
    return {
        "seed": seed.hex(),
        "public_key": public.hex(),
        "key_id": signing_key_id(public).hex(),
        "fingerprint": signing_fingerprint(public),
    }


def signed_item_case(description: str, seed: bytes, context: str, envelope: bytes) -> dict:
    return {
        "description": description,
        "seed": seed.hex(),
        "public_key": signing_public_key(seed).hex(),
        "context": context,
        "envelope": envelope.hex(),
        "signature": sign_item(seed, context, envelope).hex(),
    }


def with_s_plus_l(signature: bytes) -> bytes:
    """The same signature with S replaced by S + L, which a strict verifier refuses (RFC 8032
    section 5.1.7: S must be below the group order L)."""
    order = 2**252 + 27742317777372353535851937790883648493
    s = int.from_bytes(signature[32:], "little") + order
    return signature[:32] + s.to_bytes(32, "little")


def rejected_item_cases(good: dict[str, Any], other_seed: bytes) -> list[dict[str, Any]]:
    signature = bytes.fromhex(good["signature"])
    envelope = bytes.fromhex(good["envelope"])

    def rejected(description: str, **changes: str) -> dict[str, Any]:
        fields = {k: good[k] for k in ("public_key", "context", "envelope", "signature")}
        return {"description": description, **fields, **changes}

    return [
        rejected("altered context", context=good["context"].replace("message", "massage")),
        rejected("context one byte longer", context=good["context"] + "0"),
        rejected("altered envelope", envelope=flipped(envelope, len(envelope) // 2).hex()),
        rejected("envelope one byte shorter", envelope=envelope[:-1].hex()),
        rejected("wrong key", public_key=signing_public_key(other_seed).hex()),
        rejected("truncated signature", signature=signature[:63].hex()),
        rejected("signature one byte longer", signature=(signature + b"\x00").hex()),
        rejected("flipped bit in R", signature=flipped(signature, 0).hex()),
        rejected("flipped bit in S", signature=flipped(signature, 40).hex()),
        rejected("S replaced by S + L", signature=with_s_plus_l(signature).hex()),
        rejected("public key of 31 bytes", public_key=good["public_key"][:62]),
    ]


def certificate_case(certificate: DeskKeyCertificate, signer: str) -> dict[str, Any]:
    return {
        "signer": signer,
        "generation": certificate.generation,
        "desk_public_key": certificate.desk_public_key.hex(),
        "signing_public_key": certificate.signing_public_key.hex(),
        "signature": certificate.signature.hex(),
    }


def provenance_vectors() -> dict[str, Any]:
    seeds = [fixed_bytes(f"signing seed {i}") for i in range(3)]
    item_context = "parley desk message v1|dialogue:partnerland|session:3|kind:individual_case"
    item_context += "|submission:AAAAAAAAAAAAAAAAAAAAAA|message:BBBBBBBBBBBBBBBBBBBBBB"
    items = [
        # The signature covers any bytes; the pattern keeps the file reproducible, where a real
        # envelope would carry fresh randomness.
        signed_item_case("300 bytes for an envelope", seeds[0], item_context, pattern(300)),
        signed_item_case("empty envelope, empty context", seeds[1], "", b""),
        signed_item_case("UTF-8 context", seeds[2], "dialogue é / нота", b"\x00" * 100),
    ]
    codename = " ".join(words("en", ENGLISH_CODENAME_INDICES))
    key_seed = derive_codename_secrets(codename).key_seed
    submissions = []
    for public_id in ("AAAAAAAAAAAAAAAAAAAAAA", "zz-_09AZaz-_09AZaz-_09", "Qk1Pc3VibWlzc2lvbjEyMw"):
        keys = derive_submission_keys(key_seed, public_id)
        submissions.append(
            {
                "public_id": public_id,
                "key_seed": keys.key_seed.hex(),
                "public_key": keys.public_key_bytes().hex(),
                "signing_seed": keys.signing_seed.hex(),
                "signing_public_key": keys.signing_public_key().hex(),
            }
        )
    tag_key = owner_tag_key(key_seed)
    holders = []
    for role, derive in (
        ("desk", desk_signing_seed),
        ("staff", staff_signing_seed),
        ("recovery", recovery_signing_seed),
    ):
        private = fixed_key(f"{role} holder")
        seed = derive(private)
        holders.append(
            {
                "role": role,
                "private_key": private_key_bytes(private).hex(),
                "signing_seed": seed.hex(),
                "signing_public_key": signing_public_key(seed).hex(),
            }
        )
    return {
        "format": "Parley provenance v1",
        "signing_keys": [signing_key_case(seed) for seed in seeds],
        "signed_items": items,
        "rejected_items": rejected_item_cases(items[0], seeds[1]),
        "submitter": {
            "codename": codename,
            "key_seed": key_seed.hex(),
            "submissions": submissions,
            "owner_tag_key": tag_key.hex(),
            "owner_tags": [
                {"index": n, "tag": owner_tag(tag_key, n).hex()} for n in (0, 1, 2, 2**32 - 1)
            ],
        },
        "holder_signing_keys": holders,
        "desk_key_chains": desk_key_chain_vectors(),
    }


def staff_certificate_vectors() -> dict[str, Any]:
    """Staff key certificate v1 (docs/FORMATS.md): a desk key certifying staff members' personal
    signing keys, and changed certificates a reader must refuse. Read by Python only: notes are
    read on the server and offline, never in the browser."""
    desk_seed = desk_signing_seed(fixed_key("certifying desk key"))
    slug = "partnerland"
    cases = []
    for account, holder in ((1, "staff member one"), (12, "staff member twelve")):
        staff_key = signing_public_key(staff_signing_seed(fixed_key(holder)))
        cases.append(
            {
                "account": account,
                "staff_signing_key": staff_key.hex(),
                "certificate": certify_staff_key(desk_seed, slug, account, staff_key).hex(),
            }
        )
    good = cases[0]
    return {
        "format": "Parley staff key certificate v1",
        "slug": slug,
        "desk_signing_key": signing_public_key(desk_seed).hex(),
        "certificates": cases,
        "rejected": [
            {"description": "another account", **good, "account": 2},
            {"description": "another dialogue", **good, "slug": "partnerland-2"},
            {
                "description": "another staff key",
                **good,
                "staff_signing_key": cases[1]["staff_signing_key"],
            },
            {
                "description": "signed by the staff key itself",
                **good,
                "certificate": certify_staff_key(
                    staff_signing_seed(fixed_key("staff member one")),
                    slug,
                    1,
                    bytes.fromhex(good["staff_signing_key"]),
                ).hex(),
            },
        ],
    }


def signed_items_vectors() -> dict[str, Any]:
    """Signed items in use: the v2 contexts of one submission, its signatures block, items
    signed or not by either side, and what the reading rule says of each (docs/FORMATS.md,
    "Signed items in use")."""
    from portal.models import Dialogue, DialogueSession, SubmissionKind
    from portal.services import contexts
    from portal.services.submissions.provenance import signatures_block

    public_id = "Qk1Pc3VibWlzc2lvbjEyMw"
    address = contexts.SubmissionAddress(
        Dialogue(slug="partnerland"),
        DialogueSession(id=3),
        SubmissionKind.INDIVIDUAL_CASE,
        public_id,
    )
    codename = " ".join(words("en", ENGLISH_CODENAME_INDICES))
    keys = derive_submission_keys(derive_codename_secrets(codename).key_seed, public_id)
    desk_seed = desk_signing_seed(fixed_key("desk holder"))
    newer_desk_seed = desk_signing_seed(fixed_key("newer desk holder"))
    message_id = "TWVzc2FnZUlkMDAwMDAwMA"
    to_desk, to_submitter = contexts.Direction.TO_DESK, contexts.Direction.TO_SUBMITTER
    built = {
        "submission": contexts.signed_submission_context(address),
        "further information 1": contexts.signed_further_information_context(address, 1),
        "consent change 2": contexts.signed_consent_change_context(address, 2),
        "consent change 3": contexts.signed_consent_change_context(address, 3),
        "further information 2": contexts.signed_further_information_context(address, 2),
        "attachment keys": contexts.signed_attachment_keys_context(address, message_id),
        "reply 4": contexts.signed_desk_message_context(address, message_id, 4, to_desk),
        "desk message 1": contexts.signed_desk_message_context(
            address, message_id, 1, to_submitter
        ),
        "reply 4 the other way": contexts.signed_desk_message_context(
            address, message_id, 4, to_submitter
        ),
        "consent change v1": contexts.consent_change_context(address),
    }
    envelope = pattern(200)

    def item(
        description: str, side: str, context: str, seed: bytes | None, expected: str, **kw: Any
    ) -> dict[str, Any]:
        signed_as = kw.get("signed_as", context)
        signature = None if seed is None else sign_item(seed, built[signed_as], envelope).hex()
        return {
            "description": description,
            "side": side,
            "context": built[context],
            "signature": signature,
            "expected": expected,
        }

    own = keys.signing_seed
    signed_submission = [
        item(
            "further information at its position",
            "submitter",
            "further information 1",
            own,
            "signed",
        ),
        item("consent change at its position", "submitter", "consent change 2", own, "signed"),
        item("attachment keys record", "submitter", "attachment keys", own, "signed"),
        item("reply to the desk", "submitter", "reply 4", own, "signed"),
        item("desk message", "desk", "desk message 1", desk_seed, "signed"),
        item(
            "consent change replayed at a later position",
            "submitter",
            "consent change 3",
            own,
            "unverified",
            signed_as="consent change 2",
        ),
        item(
            "consent change presented as further information",
            "submitter",
            "further information 2",
            own,
            "unverified",
            signed_as="consent change 2",
        ),
        item(
            "reply presented as coming from the desk",
            "submitter",
            "reply 4 the other way",
            own,
            "unverified",
            signed_as="reply 4",
        ),
        item(
            "consent change without a signature",
            "submitter",
            "consent change 2",
            None,
            "unverified",
        ),
        item(
            "consent change signed by the desk key",
            "submitter",
            "consent change 2",
            desk_seed,
            "unverified",
        ),
        item(
            "desk message signed by the submission's key",
            "desk",
            "desk message 1",
            own,
            "unverified",
        ),
        item(
            "desk message signed by a newer desk key",
            "desk",
            "desk message 1",
            newer_desk_seed,
            "unverified",
        ),
    ]
    before_signatures = [
        item(
            "unsigned consent change", "submitter", "consent change v1", None, "before_signatures"
        ),
        item("signed consent change", "submitter", "consent change 2", own, "unverified"),
    ]
    recovery_key = signing_public_key(recovery_signing_seed(fixed_key("recovery holder")))
    block = signatures_block(keys.signing_public_key(), signing_public_key(desk_seed), recovery_key)
    without_recovery = {name: value for name, value in block.items() if name != "recovery_key"}
    chains = anchored_chain_vectors()
    payload = {"format": "parley-submission-v1", "signatures": block}
    return {
        "format": "Parley signed items v1",
        "address": {"dialogue": "partnerland", "session": 3, "kind": "individual_case"},
        "codename": codename,
        "public_id": public_id,
        "message_id": message_id,
        "contexts": built,
        "envelope": envelope.hex(),
        "submission": {
            "payload": payload,
            "context": built["submission"],
            "signature": sign_item(own, built["submission"], envelope).hex(),
            "anchors": {
                "submission": keys.signing_public_key().hex(),
                "desk": signing_public_key(desk_seed).hex(),
                "recovery": recovery_key.hex(),
            },
        },
        "refused_submissions": [
            {
                "description": "names another signing key than the codename gives",
                "payload": {
                    **payload,
                    "signatures": {**block, "submission_key": signing_public_key(desk_seed).hex()},
                },
                "signature": sign_item(desk_seed, built["submission"], envelope).hex(),
            },
            {
                "description": "holds a signatures block but carries no signature",
                "payload": payload,
                "signature": None,
            },
            {
                "description": "signature by the right key over another context",
                "payload": payload,
                "signature": sign_item(own, built["further information 1"], envelope).hex(),
            },
            {
                "description": "a v2 signatures block that does not say which recovery key",
                "payload": {**payload, "signatures": without_recovery},
                "signature": sign_item(own, built["submission"], envelope).hex(),
            },
            {
                "description": "signatures block of an unknown format",
                "payload": {**payload, "signatures": {**block, "format": "parley-signatures-v9"}},
                "signature": sign_item(own, built["submission"], envelope).hex(),
            },
        ],
        "signed_submission_items": signed_submission,
        "before_signatures_items": before_signatures,
        "anchored_desk_key_chains": chains,
        "consent_rule": [
            {"provenance": p, "current": c, "proposed": n, "counts": counts}
            for p, c, n, counts in (
                ("signed", "internal_only", "handover_list", True),
                ("signed", "handover_list", "internal_only", True),
                ("before_signatures", "handover_list", "raise_by_name", True),
                ("before_signatures", "raise_without_name", "raise_without_name", True),
                ("before_signatures", "raise_by_name", "handover_list", False),
                ("before_signatures", None, "internal_only", False),
                ("unverified", "handover_list", "internal_only", False),
            )
        ],
    }


def anchored_chain_vectors() -> dict[str, Any]:
    """Desk keys certified at rotation, each by the one before, walked from the one a
    submission names (``crypto.verify_desk_key_chain_from``)."""
    slug = "partnerland"
    privates = [fixed_key(f"rotated desk key {g}") for g in range(1, 5)]
    seeds = [desk_signing_seed(private) for private in privates]

    def certify(signer_seed: bytes, generation: int) -> dict[str, Any]:
        index = generation - 1
        made = certify_desk_key(
            signer_seed,
            slug,
            generation,
            public_key_bytes(privates[index]),
            signing_public_key(seeds[index]),
        )
        return certificate_case(made, "previous desk key")

    links = {g: certify(seeds[g - 2], g) for g in (2, 3, 4)}
    recovery_seed = recovery_signing_seed(fixed_key("recovery holder"))
    named_recovery = signing_public_key(recovery_seed).hex()
    other_recovery = signing_public_key(
        recovery_signing_seed(fixed_key("another recovery holder"))
    ).hex()
    by_recovery = certify(recovery_seed, 3)
    flipped_link = {**links[3], "signature": flipped(bytes.fromhex(links[3]["signature"]), 5).hex()}

    def case(
        description: str,
        anchor: int,
        certificates: list,
        valid: bool,
        key: int = 0,
        recovery: str | None = None,
    ) -> dict:
        return {
            "description": description,
            "anchor_generation": anchor,
            "anchor_signing_key": signing_public_key(seeds[(key or anchor) - 1]).hex(),
            "recovery_signing_key": recovery,
            "certificates": certificates,
            "valid": valid,
        }

    by_named_recovery = "generation 3 certified by the recovery key the submission names"
    by_other_recovery = "generation 3 certified by a recovery key other than the one named"

    return {
        "slug": slug,
        "cases": [
            case("from generation 2 through 3 and 4", 2, [links[3], links[4]], True),
            case("from generation 1 through 2, 3 and 4", 1, [links[2], links[3], links[4]], True),
            case("nothing after the anchor", 4, [], True),
            case("generation 3 missing", 2, [links[4]], False),
            case("a certificate of the anchor's own generation", 3, [links[3]], False),
            case("generation 3 certified by the recovery key", 2, [by_recovery, links[4]], False),
            case(by_named_recovery, 2, [by_recovery, links[4]], True, recovery=named_recovery),
            case(by_other_recovery, 2, [by_recovery, links[4]], False, recovery=other_recovery),
            case(
                "the named recovery key does not fill a gap",
                2,
                [links[4]],
                False,
                0,
                named_recovery,
            ),
            case("anchored at another key", 2, [links[3], links[4]], False, key=1),
            case("a flipped signature byte", 2, [flipped_link, links[4]], False),
        ],
    }


def desk_key_chain_vectors() -> dict[str, Any]:
    slug = "partnerland"
    recovery = recovery_signing_seed(fixed_key("recovery holder"))
    desks = [fixed_key(f"desk key {generation}") for generation in (1, 2, 3)]
    desk_seeds = [desk_signing_seed(desk) for desk in desks]

    def certify(signer_seed: bytes, generation: int, desk_index: int) -> DeskKeyCertificate:
        desk = desks[desk_index]
        return certify_desk_key(
            signer_seed,
            slug,
            generation,
            public_key_bytes(desk),
            signing_public_key(desk_seeds[desk_index]),
        )

    first = certify(recovery, 1, 0)
    second = certify(desk_seeds[0], 2, 1)
    third = certify(desk_seeds[1], 3, 2)
    third_after_loss = certify(recovery, 3, 2)
    third_by_the_first = certify(desk_seeds[0], 3, 2)
    first_by_a_desk = certify(desk_seeds[1], 1, 0)
    second_as_first = certify(recovery, 2, 1)
    chain = [
        certificate_case(first, "recovery"),
        certificate_case(second, "desk 1"),
        certificate_case(third, "desk 2"),
    ]
    after_loss = [*chain[:2], certificate_case(third_after_loss, "recovery")]
    swapped = dict(chain[1], desk_public_key=chain[2]["desk_public_key"])

    def broken(description: str, certificates: list[dict[str, Any]], **changes: Any) -> dict:
        return {"description": description, "slug": slug, "certificates": certificates, **changes}

    return {
        "slug": slug,
        "trusted_signing_key": signing_public_key(recovery).hex(),
        "valid": [
            {"description": "each key certified by the one before", "certificates": chain},
            {"description": "third key certified by the recovery key", "certificates": after_loss},
            {"description": "first key alone", "certificates": chain[:1]},
        ],
        "broken": [
            broken("no certificate", []),
            broken("another dialogue", chain, slug="partnerland-2"),
            broken("second link missing", [chain[0], chain[2]]),
            broken("first link missing", chain[1:]),
            broken("links reordered", [chain[0], chain[2], chain[1]]),
            broken(
                "recovery-signed third key replayed before the second",
                [chain[0], after_loss[2], chain[1]],
            ),
            broken(
                "third key signed by the first",
                [*chain[:2], certificate_case(third_by_the_first, "desk 1")],
            ),
            broken(
                "first key signed by a desk key",
                [certificate_case(first_by_a_desk, "desk 2"), *chain[1:]],
            ),
            broken("chain starts at generation 2", [certificate_case(second_as_first, "recovery")]),
            broken("desk key replaced in a certificate", [chain[0], swapped, chain[2]]),
            broken(
                "flipped signature byte",
                [chain[0], dict(chain[1], signature=flipped(second.signature, 10).hex()), chain[2]],
            ),
            broken("generation changed", [chain[0], chain[1], dict(chain[2], generation=4)]),
        ],
    }


def write_json(path: Path, content: dict[str, Any]) -> None:
    path.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def proof_of_work_case(description: str, difficulty: int) -> dict[str, Any]:
    """The smallest nonce solving a fixed challenge for a fixed login secret."""
    challenge = fixed_bytes("proof of work challenge") * 2
    bound = fixed_bytes("proof of work login secret")
    nonce = next(
        nonce for nonce in itertools.count() if proof_holds(challenge, bound, nonce, difficulty)
    )
    return {
        "description": description,
        "challenge": challenge.hex(),
        "bound": bound.hex(),
        "difficulty": difficulty,
        "nonce": nonce,
        "digest": work_digest(challenge, bound, nonce).hex(),
    }


def proof_of_work_vectors() -> dict[str, Any]:
    cases = [
        proof_of_work_case("no work asked: nonce 0", 0),
        proof_of_work_case("one byte of zeros", 8),
        proof_of_work_case("twelve bits, the first difficulty asked", 12),
        proof_of_work_case("fifteen bits: the zero run ends inside a byte", 15),
    ]
    return {"format": "Parley proof of work v1", "cases": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="overwrite existing vector files")
    mode.add_argument("--missing", action="store_true", help="write only absent vector files")
    arguments = parser.parse_args()
    generators = {
        "rfc9180-x25519-sha256-aes256gcm.json": rfc9180_vector,
        "envelope-v1.json": envelope_vectors,
        "stream-v1.json": stream_vectors,
        "attachment-padding-v1.json": attachment_padding_vectors,
        "codename-v1.json": codename_vectors,
        "rfc6238.json": rfc6238_vector,
        "rfc8032-ed25519.json": rfc8032_vector,
        "provenance-v1.json": provenance_vectors,
        "signed-items-v1.json": signed_items_vectors,
        "staff-key-certificate-v1.json": staff_certificate_vectors,
        "proof-of-work-v1.json": proof_of_work_vectors,
    }
    existing = [name for name in generators if (VECTOR_DIR / name).exists()]
    if existing and not (arguments.force or arguments.missing):
        sys.exit(
            f"vector files already exist ({', '.join(existing)});"
            " use --missing to add only absent files or --force to rewrite"
        )
    for name, generate in generators.items():
        if not (arguments.missing and name in existing):
            write_json(VECTOR_DIR / name, generate())


if __name__ == "__main__":
    main()
