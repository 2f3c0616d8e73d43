"""Solving the portal's proof-of-work challenges in tests, as the browser module does."""

import base64
import hashlib
import itertools

from crypto.proof_of_work import proof_holds

# crypto.proof_of_work's label: the prefix is hashed once and copied for each nonce, which makes
# this solver fast enough for the highest difficulty under a loaded test machine.
_LABEL = b"parley proof of work v1\x00"


def solve(challenge: dict, bound: bytes) -> dict:
    """The ``proof`` member answering a challenge as the portal hands it out, for ``bound``."""
    token, difficulty = challenge["token"], challenge["difficulty"]
    box = base64.urlsafe_b64decode(token)
    prefix = hashlib.sha256(_LABEL + box + bound)
    limit = 1 << (256 - difficulty)
    for nonce in itertools.count():
        digest = prefix.copy()
        digest.update(nonce.to_bytes(8, "big"))
        if int.from_bytes(digest.digest(), "big") < limit:
            assert proof_holds(box, bound, nonce, difficulty)
            return {"challenge": token, "nonce": nonce}
    raise AssertionError("unreachable")
