"""The envelope contexts, box purposes and hash labels: one home, and no two alike.

A context is only as good as its uniqueness: if two builders could make the same string, an
envelope of one kind would open as the other. ``portal/services/contexts.py`` is the one module
that makes them, so these tests can see them all:

- every builder of the module has sample arguments here (a new builder without them fails), and
  every sample, across builders and across arguments that differ in any one field, is distinct;
- no context of one kind is a prefix of a context of another kind (the browser completes the
  attachment-keys prefix with an upload id, so a prefix must belong to one kind only), and each
  context reads back into its label and its named fields, whose values cannot hold the separator;
- no other module of the product writes a context-like string, and no call that seals or opens
  an envelope or a box passes one built from a literal; the browser's own labels are exactly the
  ``crypto`` package's.

docs/FORMATS.md, "Envelope contexts" and "Box purposes", specifies the strings checked here.
"""

import ast
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from portal.models import Dialogue, DialogueSession, SubmissionKind
from portal.services import contexts
from portal.services.contexts import SubmissionAddress
from portal.services.dialogues.catalogue import SLUG_PATTERN

ROOT = Path(__file__).resolve().parents[2]
CONTEXTS_MODULE = ROOT / "portal" / "services" / "contexts.py"
# A versioned label in the house style: "parley <words> v<N>".
CONTEXT_LIKE = re.compile(r"parley [a-z][a-z -]* v[0-9]+")
# (function, index of its context or purpose argument, keyword of that argument)
SEALING_CALLS = {
    "seal_envelope": (2, "context"),
    "open_envelope": (2, "context"),
    "seal_box": (2, "purpose"),
    "open_box": (2, "purpose"),
    "context_digest": (0, "context"),
}


def _address(
    slug: str = "partnerland",
    session_id: int | None = 3,
    kind: SubmissionKind = SubmissionKind.INDIVIDUAL_CASE,
    public_id: str = "A" * 22,
) -> SubmissionAddress:
    dialogue_session = None if session_id is None else DialogueSession(id=session_id)
    return SubmissionAddress(Dialogue(slug=slug), dialogue_session, kind, public_id)


# Addresses that differ from the first in exactly one field each.
ADDRESSES = [
    _address(),
    _address(slug="partnerland-2"),
    _address(session_id=4),
    _address(session_id=None, kind=SubmissionKind.REPRISAL_REPORT),
    _address(kind=SubmissionKind.REPRISAL_REPORT),
    _address(public_id="B" * 22),
]
IDS = ["C" * 22, "D" * 22]
# Desk text subjects that differ from the first in exactly one field each.
DESK_TEXT_SUBJECTS = [
    contexts.DeskTextSubject("briefing_point", 1),
    contexts.DeskTextSubject("item_reply", 1),
    contexts.DeskTextSubject("briefing_point", 2),
    contexts.DeskTextSubject("briefing_point", 1, "C" * 22),
    contexts.DeskTextSubject("briefing_point", None, "C" * 22),
    contexts.DeskTextSubject("briefing_point", 1, None, 0),
]

# Every builder of the contexts module, with the argument tuples to build it for.
SAMPLES: dict[str, list[tuple[Any, ...]]] = {
    "submission_context": [(a,) for a in ADDRESSES],
    "further_information_context": [(a,) for a in ADDRESSES],
    "consent_change_context": [(a,) for a in ADDRESSES],
    "attachment_keys_context": [(a, i) for a in ADDRESSES for i in IDS],
    "desk_message_context": [(a, i) for a in ADDRESSES for i in IDS],
    "triage_note_context": [(a, n) for a in ADDRESSES for n in (1, 2, 11)],
    "signed_submission_context": [(a,) for a in ADDRESSES],
    "signed_further_information_context": [(a, n) for a in ADDRESSES for n in (1, 2, 11)],
    "signed_consent_change_context": [(a, n) for a in ADDRESSES for n in (1, 2, 11)],
    "signed_attachment_keys_context": [(a, i) for a in ADDRESSES for i in IDS],
    "signed_desk_message_context": [
        (a, i, n, way)
        for a in ADDRESSES
        for i in IDS
        for n in (1, 2, 11)
        for way in contexts.Direction
    ],
    "signed_identities_context": [(a,) for a in ADDRESSES],
    "compartment_copy_context": [
        (a, k, d, n)
        for a in ADDRESSES
        for k in (bytes(16), bytes([1]) * 16)
        for d in (bytes(32), bytes([2]) * 32)
        for n in (1, 12)
    ],
    "signed_triage_note_context": [
        (a, note, author, n)
        for a in ADDRESSES
        for note in (1, 2)
        for author in (1, 12)
        for n in (1, 2)
    ],
    "desk_key_grant_context": [
        (slug, key_id)
        for slug in ("partnerland", "partnerland-2")
        for key_id in (bytes(16), bytes([1]) * 16)
    ],
    "identities_context": [(a,) for a in ADDRESSES],
    "compartment_context": [(a, k) for a in ADDRESSES for k in (bytes(16), bytes([1]) * 16)],
    "identity_key_grant_context": [
        (slug, key_id)
        for slug in ("partnerland", "partnerland-2")
        for key_id in (bytes(16), bytes([1]) * 16)
    ],
    "compartment_grant_context": [
        (a, k, s) for a in ADDRESSES for k in (bytes(16), bytes([1]) * 16) for s in (1, 2, 12)
    ],
    "desk_text_context": [
        (slug, session_id, text_id, subject, author)
        for slug in ("partnerland", "partnerland-2")
        for session_id in (1, 12)
        for text_id in (1, 2)
        for subject in DESK_TEXT_SUBJECTS
        for author in (1, 12)
    ],
    "briefing_bundle_context": [
        (slug, session_id, day, author)
        for slug in ("partnerland", "partnerland-2")
        for session_id in (1, 12)
        for day in ("2026-12-06", "2026-12-07")
        for author in (1, 12)
    ],
    "staff_session_purpose": [(1,), (2,), (12,)],
    "pending_totp_secret_purpose": [(s, r) for s in (1, 2) for r in ("ref-1", "ref-2")],
    "desk_key_confirmation_purpose": [(d, s) for d in (1, 2, 12) for s in (1, 2, 21)],
}
FIXED_PURPOSES = [
    contexts.SUBMITTER_SESSION_PURPOSE,
    contexts.STAFF_TOTP_SECRET_PURPOSE,
    contexts.CODENAME_RETYPE_CHECK_PURPOSE,
    contexts.STAFF_KNOWN_DEVICE_PURPOSE,
    contexts.SIGN_IN_CHALLENGE_PURPOSE,
]
ENVELOPE_BUILDERS = [name for name in SAMPLES if name.endswith("_context")]
PURPOSE_BUILDERS = [name for name in SAMPLES if name.endswith("_purpose")]


def _built(names: list[str]) -> list[tuple[str, str]]:
    return [(name, getattr(contexts, name)(*args)) for name in names for args in SAMPLES[name]]


def _builders() -> set[str]:
    return {
        name
        for name, value in vars(contexts).items()
        if inspect.isfunction(value)
        and value.__module__ == contexts.__name__
        and name.endswith(("_context", "_purpose"))
    }


def test_every_builder_of_the_module_has_samples() -> None:
    assert _builders() == set(SAMPLES), "give the new builder sample arguments in SAMPLES"


def test_every_label_and_fixed_purpose_is_used_by_a_sample() -> None:
    made = [text for _, text in _built(list(SAMPLES))] + FIXED_PURPOSES
    constants = [
        value
        for name, value in vars(contexts).items()
        if name.endswith(("_LABEL", "_PURPOSE")) and isinstance(value, str)
    ]
    for constant in constants:
        assert any(text == constant or text.startswith(f"{constant}|") for text in made), constant


def test_envelope_contexts_are_pairwise_distinct() -> None:
    built = [text for _, text in _built(ENVELOPE_BUILDERS)]
    assert len(set(built)) == len(built)


def test_box_purposes_are_pairwise_distinct_and_hold_no_nul() -> None:
    """A box binds ``purpose || 0x00``: a purpose holding 0x00 could pass for a shorter one."""
    built = [text for _, text in _built(PURPOSE_BUILDERS)] + FIXED_PURPOSES
    assert len(set(built)) == len(built)
    assert all("\x00" not in text for text in built)
    assert contexts.STAFF_SESSION_PURPOSE not in built  # the bare prefix is never a purpose


def test_no_context_of_one_kind_is_a_prefix_of_another_kind() -> None:
    built = _built(ENVELOPE_BUILDERS + PURPOSE_BUILDERS) + [(p, p) for p in FIXED_PURPOSES]
    for kind, text in built:
        for other_kind, other in built:
            if kind != other_kind:
                assert not other.startswith(text), (text, other)


def test_labels_are_distinct_and_none_is_a_prefix_of_another() -> None:
    labels = [v for k, v in vars(contexts).items() if k.endswith("_LABEL") and isinstance(v, str)]
    assert len(labels) == len(set(labels)) == len(ENVELOPE_BUILDERS)
    for label in labels:
        assert all(other == label or not other.startswith(label) for other in labels)


def _fields(context: str) -> list[tuple[str, str]]:
    label, *rest = context.split("|")
    return [(label, ""), *(tuple(field.split(":", 1)) for field in rest)]


@pytest.mark.parametrize("name", ENVELOPE_BUILDERS)
def test_each_context_reads_back_into_its_label_and_named_fields(name: str) -> None:
    """Field values never hold ``|``, so a context is one label and one value per named field:
    two different argument lists can only give two different strings."""
    expected_names = {
        "attachment_keys_context": ["attachment"],
        "desk_message_context": ["message"],
        "triage_note_context": ["note"],
        "signed_submission_context": ["item", "position", "direction"],
        "signed_further_information_context": ["item", "position", "direction"],
        "signed_consent_change_context": ["item", "position", "direction"],
        "signed_attachment_keys_context": ["position", "direction", "attachment"],
        "signed_desk_message_context": ["message", "position", "direction"],
        "signed_triage_note_context": ["note", "author", "position", "direction"],
        "signed_identities_context": ["item", "position", "direction"],
        "compartment_context": ["compartment"],
        "compartment_copy_context": ["compartment", "copy of", "author"],
        "compartment_grant_context": ["compartment", "staff"],
    }
    for args in SAMPLES[name]:
        fields = _fields(getattr(contexts, name)(*args))
        assert fields[0][0].startswith("parley ") and CONTEXT_LIKE.fullmatch(fields[0][0])
        names = [field_name for field_name, _ in fields[1:]]
        if name == "desk_text_context":
            slug, session_id, text_id, subject, author = args
            assert fields[1:] == [
                ("dialogue", slug),
                ("session", str(session_id)),
                ("text", str(text_id)),
                ("purpose", subject.purpose),
                ("item", "none" if subject.agenda_item_id is None else str(subject.agenda_item_id)),
                ("submission", subject.submission_public_id or "none"),
                ("recommendation", str(subject.recommendation_index).replace("None", "none")),
                ("author", str(author)),
                ("direction", str(contexts.Direction.WITHIN_DESK)),
            ]
            continue
        if name == "briefing_bundle_context":
            slug, session_id, day, author = args
            assert fields[1:] == [
                ("dialogue", slug),
                ("session", str(session_id)),
                ("exported", day),
                ("author", str(author)),
                ("direction", str(contexts.Direction.WITHIN_DESK)),
            ]
            continue
        if name in ("desk_key_grant_context", "identity_key_grant_context"):
            assert names == ["dialogue", name.removesuffix("_grant_context").replace("_", " ")]
            assert fields[1][1] == args[0] and fields[2][1] == args[1].hex()
            continue
        address = args[0]
        assert names == ["dialogue", "session", "kind", "submission", *expected_names.get(name, [])]
        session_part = (
            "none" if address.dialogue_session is None else str(address.dialogue_session.id)
        )
        values = [address.dialogue.slug, session_part, str(address.kind), address.public_id]
        assert [value for _, value in fields[1:5]] == values
        named = dict(fields[5:])
        if name.startswith("signed_"):
            assert named["direction"] in set(contexts.Direction)
            position = args[2] if name == "signed_desk_message_context" else args[-1]
            if name in (
                "signed_submission_context",
                "signed_attachment_keys_context",
                "signed_identities_context",
            ):
                position = contexts.SUBMISSION_POSITION
            assert named["position"] == str(position)
            continue
        for field, arg in zip(fields[5:], args[1:], strict=True):
            assert field[1] == (arg.hex() if isinstance(arg, bytes) else str(arg))


def test_no_source_of_a_field_value_can_hold_the_separator() -> None:
    assert not SLUG_PATTERN.fullmatch("a|b")
    assert not contexts.is_public_id("A" * 10 + "|" + "A" * 11)
    assert all("|" not in kind for kind in SubmissionKind)
    assert "|" not in contexts.new_public_id()


def test_the_attachment_prefix_given_to_the_browser_completes_to_the_context() -> None:
    """Pages carry ``attachment_keys_context(address, "")``; the browser appends the upload id."""
    address = _address()
    prefix = contexts.attachment_keys_context(address, "")
    assert prefix + IDS[0] == contexts.attachment_keys_context(address, IDS[0])
    assert prefix.endswith("|attachment:")


# --- the guard: nothing of the kind anywhere else ----------------------------------------------


def _python_sources() -> Iterator[Path]:
    for path in sorted((ROOT / "portal").rglob("*.py")):
        if path != CONTEXTS_MODULE:
            yield path


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _literal_text(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        value = node.value
        return value.decode("latin-1") if isinstance(value, bytes) else value
    return None


def test_no_other_module_writes_a_context_like_string() -> None:
    offenders = []
    for path in _python_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstring_nodes(tree)
        for node in ast.walk(tree):
            text = _literal_text(node)
            if text is not None and id(node) not in docstrings and CONTEXT_LIKE.search(text):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}")
    assert not offenders, "move these into portal/services/contexts.py:\n" + "\n".join(offenders)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _context_argument(call: ast.Call, index: int, keyword: str) -> ast.AST | None:
    for given in call.keywords:
        if given.arg == keyword:
            return given.value
    return call.args[index] if len(call.args) > index else None


def _holds_literal_text(node: ast.AST) -> bool:
    return any(
        isinstance(part, ast.JoinedStr) or _literal_text(part) is not None
        for part in ast.walk(node)
    )


def test_no_envelope_or_box_is_sealed_or_opened_under_a_literal() -> None:
    offenders = []
    calls = 0
    for path in _python_sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or _called_name(node) not in SEALING_CALLS:
                continue
            calls += 1
            argument = _context_argument(node, *SEALING_CALLS[_called_name(node)])
            if argument is None or _holds_literal_text(argument):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert calls > 10, "the scan found the product's sealing calls"
    assert not offenders, "build the context in portal/services/contexts.py:\n" + "\n".join(
        offenders
    )


def _js_labels(path: Path) -> set[str]:
    return set(re.findall(rf"['\"`]({CONTEXT_LIKE.pattern})['\"`]", path.read_text("utf-8")))


def _crypto_labels() -> set[str]:
    labels: set[str] = set()
    for path in (ROOT / "crypto").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = _literal_text(node)
            if text is not None and (match := CONTEXT_LIKE.match(text)):
                labels.add(match.group(0))
    return labels


def test_the_browser_builds_no_context_and_shares_the_crypto_labels() -> None:
    scripts = sorted((ROOT / "portal" / "static" / "js").glob("*.mjs"))
    crypto_module = ROOT / "portal" / "static" / "js" / "parley-crypto.mjs"
    assert crypto_module in scripts
    for script in scripts:
        if script != crypto_module:
            assert not _js_labels(script), f"{script.name} makes a context of its own"
    browser_labels = _js_labels(crypto_module)
    assert browser_labels, "the scan found the browser module's labels"
    assert browser_labels <= _crypto_labels(), browser_labels - _crypto_labels()
