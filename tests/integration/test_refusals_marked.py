"""Every refusal a page or a JSON answer shows is a marked sentence, checked on the source.

The pages show a service's refusal through ``portal.i18n.refusal_text``, which translates it only
when the service marked it (``portal.translatable``); an f-string or a plain string would reach a
person in English whatever their language. The refusals concerned are found, not listed: each
exception a blueprint catches and hands to ``refusal_text`` (itself, or through one of its own
helpers), with all its subclasses. The
services must raise every one of them with ``translatable(...)``, except in the modules that only
the command line uses (an operator's messages may stay English).
"""

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Read by the offline reader (``portal bundle decrypt``) at an operator's command line only.
COMMAND_LINE_ONLY = {
    "portal/services/bundles/offline.py",
    "portal/services/bundles/manifest.py",
    "portal/services/bundles/briefing_offline.py",
}


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _calls_on(body: list[ast.stmt], name: str, functions: set[str]) -> bool:
    """Whether ``body`` hands the value ``name`` to one of ``functions``."""
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in functions
        and any(isinstance(argument, ast.Name) and argument.id == name for argument in node.args)
        for statement in body
        for node in ast.walk(statement)
    )


def _showing_functions(tree: ast.AST) -> set[str]:
    """``refusal_text`` and the module's own helpers that hand a parameter to it."""
    showing = {"refusal_text"}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
            _calls_on(node.body, parameter.arg, {"refusal_text"}) for parameter in node.args.args
        ):
            showing.add(node.name)
    return showing


def _resolve(module: object, dotted: str) -> type[BaseException]:
    found = module
    for part in dotted.split("."):
        found = getattr(found, part)
    assert isinstance(found, type) and issubclass(found, BaseException), dotted
    return found


def _with_subclasses(classes: set[type[BaseException]]) -> set[type[BaseException]]:
    found, waiting = set(), list(classes)
    while waiting:
        cls = waiting.pop()
        if cls not in found:
            found.add(cls)
            waiting.extend(cls.__subclasses__())
    return found


def shown_refusals() -> set[type[BaseException]]:
    """The exception classes some blueprint hands to ``refusal_text``, with their subclasses."""
    caught: set[type[BaseException]] = set()
    for path in sorted((ROOT / "portal" / "blueprints").glob("*.py")):
        module = importlib.import_module(f"portal.blueprints.{path.stem}")
        tree = _tree(path)
        showing = _showing_functions(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.ExceptHandler) or node.name is None or node.type is None:
                continue
            if not _calls_on(node.body, node.name, showing):
                continue
            types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            caught |= {_resolve(module, ast.unparse(item)) for item in types}
    return _with_subclasses(caught)


def _written_in_english(argument: ast.expr) -> bool:
    """A message given as a literal: a string, an f-string, or a choice between such."""
    if isinstance(argument, ast.IfExp):
        return _written_in_english(argument.body) or _written_in_english(argument.orelse)
    if isinstance(argument, ast.BinOp):
        return _written_in_english(argument.left) or _written_in_english(argument.right)
    return isinstance(argument, ast.JoinedStr) or (
        isinstance(argument, ast.Constant) and isinstance(argument.value, str)
    )


def unmarked_raises(names: set[str]) -> Iterator[str]:
    """Where the services raise one of ``names`` with a literal message, or where one of them
    gives itself a literal message by default (``super().__init__("...")``)."""
    for path in sorted((ROOT / "portal" / "services").rglob("*.py")):
        where = str(path.relative_to(ROOT))
        if where in COMMAND_LINE_ONLY:
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef) and node.name in names:
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, ast.Call)
                        and ast.unparse(inner.func) == "super().__init__"
                        and inner.args
                        and _written_in_english(inner.args[0])
                    ):
                        yield f"{where}:{inner.lineno} {node.name} has an unmarked default message"
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            raised = ast.unparse(node.exc.func).rsplit(".", 1)[-1]
            if raised in names and node.exc.args and _written_in_english(node.exc.args[0]):
                yield f"{where}:{node.lineno} raises {raised} with an unmarked message"


def test_the_refusals_the_pages_show_are_found() -> None:
    names = {cls.__name__ for cls in shown_refusals()}
    # A few that certainly reach a page; if the search stops finding them it has broken.
    assert {"DeskActionError", "LastKeyHolderError", "TriageRefusedError", "BundleError"} <= names


def test_every_refusal_a_page_shows_is_marked_for_translation() -> None:
    offences = list(unmarked_raises({cls.__name__ for cls in shown_refusals()}))
    assert not offences, "\n".join(offences)


@pytest.mark.parametrize(
    "source",
    [
        'raise DeskActionError(f"{name} is not on the desk")',
        'raise DeskActionError("the item is first" if up else "the item is last")',
        'raise DeskActionError("not on the desk")',
    ],
)
def test_an_unmarked_message_is_recognised(source: str, tmp_path: Path) -> None:
    statement = ast.parse(source).body[0]
    assert isinstance(statement, ast.Raise) and isinstance(statement.exc, ast.Call)
    assert _written_in_english(statement.exc.args[0])


def test_a_marked_message_is_not_taken_for_english() -> None:
    statement = ast.parse('raise DeskActionError(translatable("not on the desk"))').body[0]
    assert isinstance(statement, ast.Raise) and isinstance(statement.exc, ast.Call)
    assert not _written_in_english(statement.exc.args[0])
