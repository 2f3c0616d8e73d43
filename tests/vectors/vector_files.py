"""Reading the checked-in vector files from tests."""

import json
from pathlib import Path
from typing import Any

VECTOR_DIR = Path(__file__).resolve().parent


def load_vectors(name: str) -> Any:
    """The parsed content of ``tests/vectors/<name>``."""
    return json.loads((VECTOR_DIR / name).read_text(encoding="utf-8"))


def pattern(length: int) -> bytes:
    """The plaintext named ``{"plaintext_pattern": {"length": N}}``: byte i is i % 251."""
    return bytes(i % 251 for i in range(length))
