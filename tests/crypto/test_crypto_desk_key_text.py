"""The desk key text form written at the switch to offline review (``crypto.keys``)."""

import pytest

from crypto.errors import CryptoError, RecoveryKeyError
from crypto.keys import (
    DESK_KEY_PREFIX,
    DeskKeyTextError,
    export_desk_key,
    export_recovery_key,
    generate_private_key,
    import_desk_key,
    import_recovery_key,
    load_private_key,
    private_key_bytes,
)

# Known answer: the private key 00 01 02 ... 1f.
VECTOR_RAW = bytes(range(32))
VECTOR_TEXT = "parley-desk-key-v1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8:630dcd29"


def test_known_answer() -> None:
    assert export_desk_key(load_private_key(VECTOR_RAW)) == VECTOR_TEXT
    assert private_key_bytes(import_desk_key(f"  {VECTOR_TEXT}\n")) == VECTOR_RAW


def test_round_trip() -> None:
    key = generate_private_key()
    text = export_desk_key(key)
    assert text.startswith(DESK_KEY_PREFIX)
    assert private_key_bytes(import_desk_key(text)) == private_key_bytes(key)


def test_a_desk_key_and_a_recovery_key_are_never_taken_for_each_other() -> None:
    key = generate_private_key()
    with pytest.raises(DeskKeyTextError, match="starts with"):
        import_desk_key(export_recovery_key(key))
    with pytest.raises(RecoveryKeyError, match="starts with"):
        import_recovery_key(export_desk_key(key))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (VECTOR_TEXT[:-1] + "8", "checksum"),
        (VECTOR_TEXT.replace("AAEC", "AAED"), "checksum"),
        (VECTOR_TEXT[:-9] + "X:630dcd29", "43 base64url"),
        (VECTOR_TEXT.replace("Hh8:", "Hh9:"), "canonical"),
        (DESK_KEY_PREFIX + "short:630dcd29", "43 base64url"),
        ("", "starts with"),
    ],
)
def test_mistyped_text_is_refused_without_repeating_it(text: str, reason: str) -> None:
    with pytest.raises(DeskKeyTextError) as refused:
        import_desk_key(text)
    assert isinstance(refused.value, CryptoError) and isinstance(refused.value, ValueError)
    message = str(refused.value)
    assert not text or text[len(DESK_KEY_PREFIX) :][:20] not in message
    assert reason in message
