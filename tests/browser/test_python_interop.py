"""What the browser encrypts, the server opens, and the other way round.

Each test runs the browser module in Chromium and the ``crypto`` package in this process on the
same data: envelopes in both directions, a multi-chunk attachment, codename secrets, key ids and
fingerprints, and codename normalisation for every Unicode character.
"""

import io
import re
import secrets
import sys
import unicodedata
from typing import Any

import pytest

import crypto

pytestmark = pytest.mark.browser

CONTEXT = "dialogue 3 / submission"
CHUNK_SIZE = 65536


def seal_in_chromium(page: Any, plaintext: bytes | str, public_keys: list[bytes]) -> bytes:
    """Seal ``plaintext`` (bytes, or a string the module encodes as UTF-8) in the page."""
    envelope_hex = page.evaluate(
        """async ([plaintext, isText, keys, context]) => toHex(await parley.sealEnvelope(
          isText ? plaintext : fromHex(plaintext), keys.map(fromHex), context,
        ))""",
        [
            plaintext if isinstance(plaintext, str) else plaintext.hex(),
            isinstance(plaintext, str),
            [key.hex() for key in public_keys],
            CONTEXT,
        ],
    )
    return bytes.fromhex(envelope_hex)


def open_in_chromium(page: Any, envelope: bytes, private_key: bytes, context: str) -> str:
    """Open an envelope in the page: the plaintext as hex, or the name of the error thrown."""
    return page.evaluate(
        """async ([envelope, key, context]) => {
          try {
            return toHex(await parley.openEnvelope(fromHex(envelope), fromHex(key), context));
          } catch (error) {
            return error.name;
          }
        }""",
        [envelope.hex(), private_key.hex(), context],
    )


def test_envelopes_sealed_in_chromium_open_in_python(crypto_page: Any) -> None:
    recipients = [crypto.generate_private_key() for _ in range(3)]
    public_keys = [crypto.public_key_bytes(key) for key in recipients]
    plaintexts = [b"", b"Hello, desk.", secrets.token_bytes(70_000)]
    for plaintext in plaintexts:
        envelope = seal_in_chromium(crypto_page, plaintext, public_keys)
        info = crypto.inspect_envelope(envelope)
        assert info.context_digest == crypto.context_digest(CONTEXT)
        assert info.key_ids == tuple(crypto.key_id(key) for key in public_keys)
        for key in recipients:
            assert crypto.open_envelope(envelope, key, CONTEXT) == plaintext
        with pytest.raises(crypto.DecryptionError):
            crypto.open_envelope(envelope, recipients[0], "dialogue 4 / submission")


def test_text_sealed_in_chromium_is_utf8_in_python(crypto_page: Any) -> None:
    recipient = crypto.generate_private_key()
    text = "Défenseure des droits — правозащитница — 人权捍卫者 ✊"
    envelope = seal_in_chromium(crypto_page, text, [crypto.public_key_bytes(recipient)])
    assert crypto.open_envelope(envelope, recipient, CONTEXT).decode("utf-8") == text


def test_envelopes_sealed_in_python_open_in_chromium(crypto_page: Any) -> None:
    recipients = [crypto.generate_private_key() for _ in range(2)]
    outsider = crypto.private_key_bytes(crypto.generate_private_key())
    plaintext = "Réponse de la délégation".encode() + secrets.token_bytes(3000)
    envelope = crypto.seal_envelope(plaintext, [key.public_key() for key in recipients], CONTEXT)
    for key in recipients:
        raw_key = crypto.private_key_bytes(key)
        assert open_in_chromium(crypto_page, envelope, raw_key, CONTEXT) == plaintext.hex()
    first_key = crypto.private_key_bytes(recipients[0])
    assert open_in_chromium(crypto_page, envelope, first_key, "other") == "DecryptionError"
    assert open_in_chromium(crypto_page, envelope, outsider, CONTEXT) == "DecryptionError"


def test_key_ids_and_fingerprints_agree(crypto_page: Any) -> None:
    public_keys = [crypto.public_key_bytes(crypto.generate_private_key()) for _ in range(5)]
    computed = crypto_page.evaluate(
        """async (keys) => Promise.all(keys.map(async (key) => [
          toHex(await parley.keyId(fromHex(key))), await parley.fingerprint(fromHex(key)),
        ]))""",
        [key.hex() for key in public_keys],
    )
    assert computed == [[crypto.key_id(key).hex(), crypto.fingerprint(key)] for key in public_keys]


def test_attachment_encrypted_in_chromium_decrypts_in_python(crypto_page: Any) -> None:
    key = crypto.new_file_key()
    for size in (200_000, 2 * CHUNK_SIZE, 0):
        plaintext = secrets.token_bytes(size)
        ciphertext_hex = crypto_page.evaluate(
            """async ([plaintext, key]) => toHex(
              await parley.encryptBlob(new Blob([fromHex(plaintext)]), fromHex(key)),
            )""",
            [plaintext.hex(), key.hex()],
        )
        ciphertext = bytes.fromhex(ciphertext_hex)
        assert len(ciphertext) == crypto.encrypted_size(size)
        decrypted = io.BytesIO()
        assert crypto.decrypt_file(io.BytesIO(ciphertext), decrypted, key) == size
        assert decrypted.getvalue() == plaintext


def test_attachment_encrypted_chunk_by_chunk_in_chromium_decrypts_in_python(
    crypto_page: Any,
) -> None:
    key = crypto.new_file_key()
    plaintext = secrets.token_bytes(3 * CHUNK_SIZE + 1234)
    ciphertext_hex = crypto_page.evaluate(
        """async ([plaintext, key, chunkSize]) => {
          const bytes = fromHex(plaintext);
          const encryptor = parley.createStreamEncryptor(fromHex(key));
          const parts = [encryptor.header];
          for (let start = 0; start < bytes.length; start += chunkSize) {
            const piece = bytes.subarray(start, start + chunkSize);
            parts.push(await encryptor.encryptChunk(piece, start + chunkSize >= bytes.length));
          }
          return parts.map(toHex).join('');
        }""",
        [plaintext.hex(), key.hex(), CHUNK_SIZE],
    )
    decrypted = io.BytesIO()
    crypto.decrypt_file(io.BytesIO(bytes.fromhex(ciphertext_hex)), decrypted, key)
    assert decrypted.getvalue() == plaintext


def test_attachment_encrypted_in_python_decrypts_in_chromium(crypto_page: Any) -> None:
    key = crypto.new_file_key()
    plaintext = secrets.token_bytes(150_000)
    ciphertext = io.BytesIO()
    crypto.encrypt_file(io.BytesIO(plaintext), ciphertext, key)
    decrypted_hex = crypto_page.evaluate(
        "async ([data, key]) => toHex(await parley.decryptStream(fromHex(data), fromHex(key)))",
        [ciphertext.getvalue().hex(), key.hex()],
    )
    assert bytes.fromhex(decrypted_hex) == plaintext


def typed_variants(codename: str) -> list[str]:
    """The codename as stored, and as a submitter might type it back."""
    words = codename.split(" ")
    return [codename, f"  {'. '.join(words).upper()}\t"]


def test_codename_secrets_derived_in_chromium_equal_python(crypto_page: Any) -> None:
    typed = [
        variant
        for language in crypto.LANGUAGES
        for variant in typed_variants(crypto.generate_codename(language))
    ]
    derived = crypto_page.evaluate(
        """async (codenames) => {
          const results = [];
          for (const codename of codenames) {
            const secrets = await parley.deriveCodenameSecrets(codename);
            results.push({
              canonical: parley.normaliseCodename(codename),
              loginSecret: toHex(secrets.loginSecret),
              keySeed: toHex(secrets.keySeed),
              publicKey: toHex(secrets.publicKey),
            });
          }
          return results;
        }""",
        typed,
    )
    assert len(derived) == 2 * len(crypto.LANGUAGES)
    for codename, result in zip(typed, derived, strict=True):
        expected = crypto.derive_codename_secrets(codename)
        assert result == {
            "canonical": crypto.normalise_codename(codename),
            "loginSecret": expected.login_secret.hex(),
            "keySeed": expected.key_seed.hex(),
            "publicKey": expected.public_key_bytes().hex(),
        }, codename


SEVEN_WORDS = "one two three four five six seven"
BATCH_SIZE = 20_000


def canonical_by_specification(text: str) -> str | None:
    """The canonical form the specification defines, or ``None`` if it is not eight words.

    NFKD, full case folding, dotless i (U+0131) to i, U+0307 COMBINING DOT ABOVE deleted, split on
    runs of whitespace (``str.isspace``), hyphens or dots.
    """
    folded = unicodedata.normalize("NFKD", text).casefold().replace("\u0131", "i")
    folded = folded.replace("\u0307", "")
    words = [word for word in re.split(r"[\s\-.]+", folded) if word]
    return " ".join(words) if len(words) == 8 else None


def assigned_characters() -> list[str]:
    """Every character this Python's Unicode database assigns (surrogates excluded)."""
    return [
        character
        for character in map(chr, range(sys.maxunicode + 1))
        if unicodedata.category(character) not in {"Cn", "Cs"}
    ]


def test_codename_normalisation_matches_for_every_character(crypto_page: Any) -> None:
    """Case folding, NFKD and separators agree with Python for each assigned character.

    Each character is typed inside the eighth word (``x<c>y``): a separator there makes nine words,
    anything else must fold and decompose exactly as Python does.
    """
    texts = [f"{SEVEN_WORDS} x{character}y" for character in assigned_characters()]
    mismatches = []
    for start in range(0, len(texts), BATCH_SIZE):
        batch = texts[start : start + BATCH_SIZE]
        from_chromium = crypto_page.evaluate(
            """(texts) => texts.map((text) => {
              try { return parley.normaliseCodename(text); } catch (error) {
                if (error instanceof parley.CodenameError) return null;
                throw error;
              }
            })""",
            batch,
        )
        mismatches += [
            (f"U+{ord(text[-2]):04X}", got, expected)
            for text, got in zip(batch, from_chromium, strict=True)
            if got != (expected := canonical_by_specification(text))
        ]
    assert len(texts) > 250_000
    assert mismatches == []
