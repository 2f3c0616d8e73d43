"""Every label of the crypto package and every context label: distinct, none a prefix of another.

A hash, key, tag or signature made under one label must never stand for one made under another.
Labels are followed by a zero byte, a ``|`` or nothing at all (HKDF ``info``), so only labels
that are pairwise distinct and prefix-free keep every use apart whatever follows them. The scan
reads the literals of ``crypto/`` and of ``portal/services/contexts.py`` (the envelope contexts
and box purposes), so a new label is checked the moment it is written (docs/FORMATS.md,
"Versioning").
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABEL = re.compile(r"parley [a-z][a-z -]* v[0-9]+")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def labels_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    labels = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docstrings:
            value = node.value
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            if isinstance(text, str) and (match := LABEL.match(text)):
                labels.append(match.group(0))
    return labels


def all_labels() -> list[str]:
    """Every label literal, once per place it is written."""
    paths = [*sorted((ROOT / "crypto").glob("*.py")), ROOT / "portal/services/contexts.py"]
    return [label for path in paths for label in labels_in(path)]


def test_the_scan_finds_the_labels_of_every_use():
    labels = all_labels()
    assert {
        "parley key id v1",
        "parley signing key id v1",
        "parley signed item v1",
        "parley submission key v1",
        "parley submission signing key v1",
        "parley owner tag key v1",
        "parley owner tag v1",
        "parley desk signing key v1",
        "parley staff signing key v1",
        "parley recovery signing key v1",
        "parley desk key certificate v1",
        "parley submission v1",
        "parley desk key grant v1",
        "parley codename retype check v1",
    } <= set(labels)


def test_each_label_is_written_once_and_none_is_a_prefix_of_another():
    labels = all_labels()
    assert len(labels) == len(set(labels)) > 20
    for label in labels:
        assert [other for other in labels if other.startswith(label)] == [label]
