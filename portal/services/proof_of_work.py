"""Proof-of-work challenges: what a browser pays to sign in while wrong codenames pour in.

With JavaScript a sign-in costs the server one keyed hash and one index lookup
(``portal.services.submissions.submitters``): cheap enough that a flood of wrong login secrets
need not lock anybody out, and a guessed login secret (256 bits) or a guessed codename behind it
(88 bits, each guess first worth 600 000 PBKDF2 rounds to the guesser) is hopeless at any rate the
server can answer. What a flood can still do is load the server. So, as Tor onion services do,
while the submitters' failure gauge is high the browser paths ask for a proof of work first:

- **Stateless challenge.** A challenge is a box sealed under the instance at-rest key (purpose
  ``parley sign-in challenge v1``, docs/FORMATS.md "Box purposes") holding a random id, its
  difficulty and a coarse expiry (a whole minute, :attr:`ChallengePolicy.lifetime_minutes`
  ahead). The server keeps nothing when it issues one, so asking for challenges costs a flood
  nothing it can pile up.
- **Bound to one guess.** The work is over the challenge and the login secret being tried
  (``crypto.proof_of_work``), so one solution serves one guess; replaying it for the same guess
  is refused too, because each worker process remembers the ids it has accepted until they expire
  (:class:`SpentChallenges`): a solution is spent at most once per worker.
- **Difficulty rises with load.** Below :attr:`ChallengePolicy.calm_failures` recent failures
  nothing is asked (people sign in as before); above, :attr:`ChallengePolicy.first_bits` bits,
  one more bit -- twice the work -- for every further :attr:`ChallengePolicy.failures_per_bit`,
  up to :attr:`ChallengePolicy.max_bits`, which a phone's browser solves in seconds. A challenge
  that was easier than today's difficulty by more than :attr:`ChallengePolicy.grace_bits` is
  answered with a fresh one, so challenges gathered while it was calm are not a stock of cheap
  guesses for later.

What an attacker can still do: with hardware much faster than a phone (a GPU hashes thousands of
times faster than WebCrypto), keep sending solved attempts at ``speed / 2**max_bits`` a second.
Each is a cheap lookup that locks nobody out, and their guesses remain hopeless; the load they
cause is bounded by what they spend, not by what they send. People without JavaScript never see
a challenge: their attempts are bounded by the server's derivation budget instead.
"""

import base64
import binascii
import datetime as dt
import secrets
import threading
from dataclasses import dataclass

import crypto
from portal.services.contexts import SIGN_IN_CHALLENGE_PURPOSE

_ID_SIZE = 16
_SEALED_SIZE = _ID_SIZE + 4 + 1


@dataclass(frozen=True)
class ChallengePolicy:
    """When a challenge is asked and how hard it is (defaults: see the module docstring)."""

    calm_failures: float = 20.0
    first_bits: int = 12
    failures_per_bit: float = 10.0
    max_bits: int = 17
    grace_bits: int = 2
    lifetime_minutes: int = 5

    def difficulty(self, failures: float) -> int:
        """Bits of work asked at a failure gauge level of ``failures``; 0 when calm."""
        if failures < self.calm_failures:
            return 0
        rise = int((failures - self.calm_failures) // self.failures_per_bit)
        return min(self.max_bits, self.first_bits + rise)


@dataclass(frozen=True)
class Challenge:
    """A challenge as the browser gets it: the sealed token (base64url) and its difficulty."""

    token: str
    difficulty: int


@dataclass(frozen=True)
class Proof:
    """What a browser sends back: the challenge's token and the nonce it found."""

    token: str
    nonce: int


class ChallengeRequiredError(Exception):
    """Solve ``challenge`` and try again; nothing was tried."""

    def __init__(self, challenge: Challenge) -> None:
        super().__init__("Many sign-in attempts right now: your browser does some work first.")
        self.challenge = challenge


class SpentChallenges:
    """The ids of challenges this worker process has accepted, until they expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry_by_id: dict[bytes, int] = {}
        self._pruned_minute = -1

    def spend(self, challenge_id: bytes, expires_minute: int, now_minute: int) -> bool:
        """Mark the id spent; ``False`` if it already was. Expired ids are forgotten."""
        with self._lock:
            if now_minute > self._pruned_minute:
                self._expiry_by_id = {
                    spent: expiry
                    for spent, expiry in self._expiry_by_id.items()
                    if expiry >= now_minute
                }
                self._pruned_minute = now_minute
            if challenge_id in self._expiry_by_id:
                return False
            self._expiry_by_id[challenge_id] = expires_minute
            return True


class ChallengeGate:
    """Asks for and checks proofs of work: one per worker process (it holds the spent ids)."""

    def __init__(self, key: bytes, policy: ChallengePolicy = ChallengePolicy()) -> None:
        self._key = key
        self.policy = policy
        self._spent = SpentChallenges()

    def issue(self, difficulty: int, now: dt.datetime) -> Challenge:
        """A fresh challenge of ``difficulty`` bits."""
        expires = _minute(now) + self.policy.lifetime_minutes
        sealed = secrets.token_bytes(_ID_SIZE) + expires.to_bytes(4, "big") + bytes([difficulty])
        box = crypto.seal_box(self._key, sealed, SIGN_IN_CHALLENGE_PURPOSE)
        return Challenge(token=base64.urlsafe_b64encode(box).decode("ascii"), difficulty=difficulty)

    def require(self, failures: float, proof: Proof | None, bound: bytes, now: dt.datetime) -> None:
        """Let the attempt through, or raise ``ChallengeRequiredError`` with a fresh challenge.

        ``failures`` is the failure gauge's level, ``bound`` the login secret being tried.
        """
        difficulty = self.policy.difficulty(failures)
        if difficulty == 0 or self._accepts(proof, bound, difficulty, now):
            return
        raise ChallengeRequiredError(self.issue(difficulty, now))

    def _accepts(
        self, proof: Proof | None, bound: bytes, difficulty: int, now: dt.datetime
    ) -> bool:
        if proof is None:
            return False
        try:
            box = base64.urlsafe_b64decode(proof.token.encode("ascii"))
            sealed = crypto.open_box(self._key, box, SIGN_IN_CHALLENGE_PURPOSE)
        except (UnicodeError, binascii.Error, crypto.DecryptionError):
            return False
        if len(sealed) != _SEALED_SIZE:
            return False
        challenge_id = sealed[:_ID_SIZE]
        expires = int.from_bytes(sealed[_ID_SIZE : _ID_SIZE + 4], "big")
        issued_bits = sealed[-1]
        if _minute(now) > expires or issued_bits < difficulty - self.policy.grace_bits:
            return False
        try:
            solved = crypto.proof_holds(box, bound, proof.nonce, issued_bits)
        except crypto.CryptoError:
            return False
        return solved and self._spent.spend(challenge_id, expires, _minute(now))


def _minute(now: dt.datetime) -> int:
    """Whole minutes since the Unix epoch: the coarse clock of challenge expiry."""
    return int(now.timestamp()) // 60
