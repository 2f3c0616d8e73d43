"""The layers keep to their jobs, checked on the source so that a shortcut cannot creep back.

- ``crypto/`` is framework-free: it imports neither the portal, nor Flask, nor SQLAlchemy.
- ``portal/services/`` knows nothing of Flask: the same rules serve the web, the CLI and tests.
- Blueprints build no query and end no transaction: queries live in services, and a view's
  changes are committed or rolled back by ``portal.web.transaction.unit_of_work`` alone.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUERY_BUILDERS = {"select", "insert", "update", "delete", "func", "text", "exists", "union"}
TRANSACTION_CALLS = {"commit", "rollback", "begin", "execute", "scalars", "scalar", "flush"}


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _imported_modules(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", _modules("crypto"), ids=lambda path: path.name)
def test_crypto_imports_no_framework(path: Path) -> None:
    imported = set(_imported_modules(_tree(path)))
    forbidden = {
        name for name in imported if name.split(".")[0] in {"portal", "flask", "sqlalchemy"}
    }
    assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"


@pytest.mark.parametrize(
    "path", _modules("portal/services"), ids=lambda path: str(path.relative_to(ROOT))
)
def test_services_know_nothing_of_flask(path: Path) -> None:
    imported = set(_imported_modules(_tree(path)))
    forbidden = {name for name in imported if name.split(".")[0] in {"flask", "flask_babel"}}
    forbidden |= {name for name in imported if name.startswith(("portal.blueprints", "portal.web"))}
    assert not forbidden, f"{path.relative_to(ROOT)} imports {sorted(forbidden)}"


def _blueprint_offences(path: Path) -> list[str]:
    """Query builders a module imports from SQLAlchemy and session calls it makes."""
    offences = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
            offences += [
                f"imports {alias.name} from {node.module}"
                for alias in node.names
                if alias.name in QUERY_BUILDERS
            ]
        called = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
        if called and node.func.attr in TRANSACTION_CALLS:
            offences.append(f"line {node.lineno} calls .{node.func.attr}()")
    return offences


@pytest.mark.parametrize("path", _modules("portal/blueprints"), ids=lambda path: path.name)
def test_blueprints_build_no_query_and_end_no_transaction(path: Path) -> None:
    offences = _blueprint_offences(path)
    assert not offences, f"{path.relative_to(ROOT)}: " + "; ".join(offences)


def test_the_blueprint_check_sees_what_it_forbids(tmp_path: Path) -> None:
    """Not vacuous: a view that queries and commits is flagged on each count."""
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import select\n"
        "def view(database):\n"
        "    database.scalars(select(1))\n"
        "    database.commit()\n"
    )
    assert _blueprint_offences(bad) == [
        "imports select from sqlalchemy",
        "line 3 calls .scalars()",
        "line 4 calls .commit()",
    ]
