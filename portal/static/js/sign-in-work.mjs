/**
 * Posting a sign-in (or a submission that signs in) and doing the proof of work the server may
 * ask for first.
 *
 * While many wrong codenames reach the portal, its JSON sign-in paths answer 429 with a
 * `challenge` (`portal/web/sign_in_work.py`) instead of trying the login secret. This module then
 * solves the challenge for the login secret it is sending (`solveChallenge`), which takes this
 * device a few seconds at most, and posts again with the `proof`. A new challenge in answer to a
 * proof (the old one expired, or the pressure rose) is solved again, a few times at most.
 */
import { solveChallenge } from './parley-crypto.mjs';

const ROUNDS = 4;

/**
 * POST `body` as JSON to `url` with the CSRF token; solve any challenge for `loginSecret`.
 *
 * @returns {Promise<{response: Response, answer: object}>} the last answer and its JSON
 */
export async function postSigningIn(url, csrfToken, body, loginSecret) {
  let sent = body;
  for (let round = 1; ; round += 1) {
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken },
      body: JSON.stringify(sent),
    });
    const answer = await response.json();
    const challenge = response.status === 429 ? answer.challenge : undefined;
    if (challenge === undefined || round === ROUNDS) return { response, answer };
    const nonce = await solveChallenge(challenge.token, loginSecret, challenge.difficulty);
    sent = { ...body, proof: { challenge: challenge.token, nonce } };
  }
}
