"""What the JSON sign-in paths share: the worker's challenge gate, the proof a body carries, and
the answer "solve this first" (``portal.services.proof_of_work``).

A body may carry ``"proof": {"challenge": token, "nonce": whole number}``; an answer asking for
one is 429 ``{"error": message, "challenge": {"token": str, "difficulty": bits}}`` with
``Retry-After: 0``: the browser retries as soon as it has solved it.
"""

from flask import current_app, jsonify
from flask.typing import ResponseReturnValue
from flask_babel import gettext

from portal.services.proof_of_work import ChallengeGate, ChallengeRequiredError, Proof
from portal.web.instance import app_secrets

# One gate per application, and so per worker process: it remembers the challenges it accepted.
# Tests may put a gate with another ``ChallengePolicy`` here first.
CHALLENGES_EXTENSION = "parley.sign_in_challenges"


class MalformedProofError(ValueError):
    """A ``proof`` member that is not the object it should be."""


def challenge_gate() -> ChallengeGate:
    """This worker's challenge gate, made on first use."""
    gate = current_app.extensions.get(CHALLENGES_EXTENSION)
    if gate is None:
        gate = current_app.extensions[CHALLENGES_EXTENSION] = ChallengeGate(
            app_secrets().at_rest_key
        )
    return gate


def proof_from(body: dict[str, object]) -> Proof | None:
    """The proof of work a JSON body carries, if any; ``MalformedProofError`` if it is askew."""
    proof = body.get("proof")
    if proof is None:
        return None
    if not isinstance(proof, dict):
        raise MalformedProofError("proof must be an object")
    token, nonce = proof.get("challenge"), proof.get("nonce")
    if not isinstance(token, str) or isinstance(nonce, bool) or not isinstance(nonce, int):
        raise MalformedProofError("proof needs a challenge (text) and a nonce (a whole number)")
    return Proof(token=token, nonce=nonce)


def challenge_answer(required: ChallengeRequiredError) -> ResponseReturnValue:
    """429 with the challenge to solve before trying again."""
    challenge = {"token": required.challenge.token, "difficulty": required.challenge.difficulty}
    message = gettext("Many people are trying to sign in right now. Please try again.")
    return jsonify(error=message, challenge=challenge), 429, {"Retry-After": "0"}
