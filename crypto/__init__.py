"""Parley's cryptography: the only code in the product that calls cryptographic primitives.

Everything a person writes is encrypted before it is stored, to keys the server does not hold
in the clear. This package is the Python implementation of the byte formats specified in
docs/FORMATS.md; the browser module ``portal/static/js/parley-crypto.mjs`` implements the same
formats with WebCrypto, and both are checked against the known-answer vectors in
``tests/vectors/``.

Modules, each naming the section of docs/FORMATS.md it implements:

- ``crypto.hpke`` -- single-shot HPKE (RFC 9180) for Parley's one suite ("HPKE").
- ``crypto.keys`` -- X25519 key pairs, key ids, fingerprints, the recovery and desk key texts
  ("Key ids and fingerprints", "Key texts").
- ``crypto.envelope`` -- envelope v1: submissions, messages, notes and desk-key grants, to up to
  16 recipients, padded to size buckets ("Envelope v1").
- ``crypto.stream`` -- STREAM v1: attachments in 64 KiB chunks, in bounded memory ("STREAM v1").
- ``crypto.passphrase`` -- a private key wrapped under a passphrase with Argon2id
  ("Passphrase-wrapped private key v1").
- ``crypto.symmetric`` -- box v1: small secrets under a symmetric key and a purpose ("Box v1").
- ``crypto.codename`` -- submitter codenames and what they derive to ("Codenames").
- ``crypto.signing`` -- Ed25519 signing keys and signed items ("Signing keys",
  "Signed item v1").
- ``crypto.derived_keys`` -- per-submission keys, owner tags and the signing keys of desk,
  staff and recovery keys ("Per-submission keys and owner tags", "Signing keys of key holders").
- ``crypto.desk_certificates`` -- desk key certificates and their chain
  ("Desk key certificate v1").
- ``crypto.staff_certificates`` -- a desk member's personal signing key, certified by the desk
  key ("Staff key certificate v1").
- ``crypto.passwords`` -- Argon2id login password hashes.
- ``crypto.proof_of_work`` -- the hash puzzle a browser solves to sign in under pressure
  ("Proof of work").
- ``crypto.totp`` -- RFC 6238 one-time codes for the staff second factor ("TOTP").
- ``crypto.audit`` -- the link hash of the tamper-evident audit trail ("Audit chain").
- ``crypto.issued_ids`` -- ids the server issues and recognises without a record of them
  ("Issued submission ids").
- ``crypto.tokens`` -- random tokens and the digests they are stored as
  ("Identifiers and tokens").

Every failure to open, unwrap or parse raises :class:`DecryptionError`; nothing partial is ever
returned (STREAM decryption documents the one exception: output of a file that then fails its
final check must be discarded).
"""

from crypto.audit import AUDIT_GENESIS_HASH, audit_digest
from crypto.codename import (
    CODENAME_BITS,
    CODENAME_WORDS,
    LANGUAGES,
    PBKDF2_ITERATIONS,
    CodenameSecrets,
    derive_codename_secrets,
    generate_codename,
    lookup_hash,
    normalise_codename,
    normalise_codename_word,
)
from crypto.derived_keys import (
    SubmissionKeys,
    derive_submission_keys,
    desk_signing_public_key,
    desk_signing_seed,
    owner_tag,
    owner_tag_key,
    recovery_signing_seed,
    staff_signing_seed,
)
from crypto.desk_certificates import (
    DeskKeyCertificate,
    certify_desk_key,
    verify_desk_key_certificate,
    verify_desk_key_chain,
    verify_desk_key_chain_from,
)
from crypto.envelope import (
    MAX_PLAINTEXT,
    EnvelopeInfo,
    context_digest,
    envelope_size,
    inspect_envelope,
    open_envelope,
    seal_envelope,
)
from crypto.errors import CodenameError, CryptoError, DecryptionError, RecoveryKeyError
from crypto.issued_ids import id_issued_in, issue_id, issued_id_key
from crypto.keys import (
    PrivateKey,
    PublicKey,
    export_recovery_key,
    fingerprint,
    generate_private_key,
    import_recovery_key,
    key_id,
    load_private_key,
    load_public_key,
    private_key_bytes,
    public_key_bytes,
)
from crypto.passphrase import Argon2Params, unwrap_private_key, wrap_private_key
from crypto.passwords import hash_password, password_needs_rehash, verify_password
from crypto.proof_of_work import proof_holds
from crypto.signing import (
    SIGNING_PUBLIC_KEY_SIZE,
    sign_item,
    signing_fingerprint,
    signing_key_id,
    signing_public_key,
    verify_item,
)
from crypto.staff_certificates import certify_staff_key, verify_staff_key_certificate
from crypto.stream import (
    CHUNK_SIZE,
    StreamDecryptor,
    StreamEncryptor,
    decrypt_file,
    decrypted_chunks,
    encrypt_file,
    encrypted_size,
    is_stream_header,
    new_file_key,
    plaintext_size_for,
)
from crypto.symmetric import (
    new_symmetric_key,
    open_box,
    open_box_token,
    seal_box,
    seal_box_token,
)
from crypto.tokens import random_token, token_digest, token_matches
from crypto.totp import (
    TYPED_CODE_MAX_LENGTH as TOTP_TYPED_CODE_MAX_LENGTH,
)
from crypto.totp import (
    new_totp_secret,
    totp_code,
    totp_provisioning_uri,
    totp_secret_base32,
    totp_secret_from_base32,
    verify_totp,
)

__all__ = [
    "AUDIT_GENESIS_HASH",
    "CHUNK_SIZE",
    "CODENAME_BITS",
    "CODENAME_WORDS",
    "LANGUAGES",
    "MAX_PLAINTEXT",
    "PBKDF2_ITERATIONS",
    "SIGNING_PUBLIC_KEY_SIZE",
    "TOTP_TYPED_CODE_MAX_LENGTH",
    "Argon2Params",
    "CodenameError",
    "CodenameSecrets",
    "CryptoError",
    "DecryptionError",
    "DeskKeyCertificate",
    "EnvelopeInfo",
    "PrivateKey",
    "PublicKey",
    "RecoveryKeyError",
    "StreamDecryptor",
    "StreamEncryptor",
    "SubmissionKeys",
    "audit_digest",
    "certify_desk_key",
    "certify_staff_key",
    "context_digest",
    "decrypt_file",
    "decrypted_chunks",
    "derive_codename_secrets",
    "derive_submission_keys",
    "desk_signing_public_key",
    "desk_signing_seed",
    "encrypt_file",
    "encrypted_size",
    "envelope_size",
    "export_recovery_key",
    "fingerprint",
    "generate_codename",
    "generate_private_key",
    "hash_password",
    "id_issued_in",
    "import_recovery_key",
    "inspect_envelope",
    "is_stream_header",
    "issue_id",
    "issued_id_key",
    "key_id",
    "load_private_key",
    "load_public_key",
    "lookup_hash",
    "new_file_key",
    "new_symmetric_key",
    "new_totp_secret",
    "normalise_codename",
    "normalise_codename_word",
    "open_box",
    "open_box_token",
    "open_envelope",
    "owner_tag",
    "owner_tag_key",
    "password_needs_rehash",
    "plaintext_size_for",
    "private_key_bytes",
    "proof_holds",
    "public_key_bytes",
    "random_token",
    "recovery_signing_seed",
    "seal_box",
    "seal_box_token",
    "seal_envelope",
    "sign_item",
    "signing_fingerprint",
    "signing_key_id",
    "signing_public_key",
    "staff_signing_seed",
    "token_digest",
    "token_matches",
    "totp_code",
    "totp_provisioning_uri",
    "totp_secret_base32",
    "totp_secret_from_base32",
    "unwrap_private_key",
    "verify_desk_key_certificate",
    "verify_desk_key_chain",
    "verify_desk_key_chain_from",
    "verify_item",
    "verify_password",
    "verify_staff_key_certificate",
    "verify_totp",
    "wrap_private_key",
]
