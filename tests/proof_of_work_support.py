"""Solving the portal's proof-of-work challenges in tests, as the browser module does."""

import base64
import itertools

from crypto.proof_of_work import leading_zero_bits, work_digest


def solve(challenge: dict, bound: bytes) -> dict:
    """The ``proof`` member answering a challenge as the portal hands it out, for ``bound``."""
    token = challenge["token"]
    box = base64.urlsafe_b64decode(token)
    for nonce in itertools.count():
        if leading_zero_bits(work_digest(box, bound, nonce)) >= challenge["difficulty"]:
            return {"challenge": token, "nonce": nonce}
    raise AssertionError("unreachable")
