"""The identities plaintext (docs/FORMATS.md, "Identity compartment"): the server's split and
merge against the vector file the browser's Node test reads too (tests/js/identities.test.mjs)."""

from portal.models import SubmissionKind
from portal.services.submissions import kinds
from portal.services.submissions.identities import (
    IDENTITIES_FORMAT,
    carries_identities,
    merge_identities,
    split_identities,
)
from tests.vectors.vector_files import load_vectors

VECTORS = load_vectors("identities-v1.json")


def test_the_vector_declarations_are_the_kinds_of_today() -> None:
    for kind, declared in VECTORS["declarations"].items():
        assert kinds.as_json(kinds.declaration(kind)) == declared


def test_the_server_splits_and_merges_as_the_vectors_say() -> None:
    for case in VECTORS["cases"]:
        kind = SubmissionKind(case["kind"])
        sealed, identities = split_identities(case["payload"], kind)
        assert (sealed, identities) == (case["sealed_payload"], case["identities"])
        assert identities["format"] == IDENTITIES_FORMAT
        assert merge_identities(sealed, identities, kind) == case["payload"]
    for case in VECTORS["merge_cases"]:
        kind = SubmissionKind(case["kind"])
        merged = merge_identities(case["payload"], case["identities"], kind)
        assert merged == case["merged"], case["description"]


def test_only_kinds_with_persons_carry_identities() -> None:
    assert {kind for kind in SubmissionKind if carries_identities(kind)} == {
        SubmissionKind.INDIVIDUAL_CASE,
        SubmissionKind.REPRISAL_REPORT,
    }
