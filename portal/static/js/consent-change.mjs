/**
 * Consent changes as the inbox page reads and seals them: `parley-consent-change-v1`
 * (docs/FORMATS.md, "Envelope plaintexts"), with the optional `round` of a confirmation.
 *
 * The server's side of the same rules is `inbox.consent_history` (which changes count) and
 * `rounds.round_consent.persons_in_round` (which persons a round counts as confirmed): a change
 * that names the round confirms its person for that round, and any later change of the same
 * person, for another round or none, replaces the confirmation.
 */
import { changeCounts } from './signed-items.mjs';

export const CONSENT_CHANGE_FORMAT = 'parley-consent-change-v1';

/**
 * The session a form confirms, from its hidden `round` field: a positive integer below 2^31,
 * or `null` for an ordinary change (no field, or anything that is not a session number).
 */
export function roundOf(text) {
  if (typeof text !== 'string' || !/^[0-9]{1,10}$/.test(text)) return null;
  const round = Number(text);
  return isSessionNumber(round) ? round : null;
}

/**
 * The payload one person's consent form is sealed as; `round`, when not `null`, goes inside
 * the envelope, where only the submitter's signature vouches for it.
 */
export function consentChangePayload(person, { level, givenBy, risksExplained }, round = null) {
  const payload = {
    format: CONSENT_CHANGE_FORMAT,
    person,
    consent: { level, given_by: givenBy, risks_explained: risksExplained === true },
  };
  if (round !== null) payload.round = round;
  return payload;
}

function isSessionNumber(round) {
  return Number.isInteger(round) && round > 0 && round < 2 ** 31;
}

/**
 * Whether a consent change names a person of this submission with a valid consent, and, if it
 * names a round, a session number; `ladder` is the declaration's `consent` (the choices of each
 * part of the consent ladder).
 */
export function isValidChange(change, personCount, ladder) {
  const consent = change?.consent;
  return (
    (change?.round === undefined || change.round === null || isSessionNumber(change.round)) &&
    Number.isInteger(change?.person) &&
    change.person >= 0 &&
    change.person < personCount &&
    ladder.level.includes(consent?.level) &&
    ladder.given_by.includes(consent?.given_by) &&
    consent?.risks_explained === true
  );
}

/**
 * Each person's consent as it stands, and the persons confirmed for `round`.
 *
 * A change counts when it is valid and the rule lets it (`changeCounts`: an unverified one
 * never, one sent before signatures only downwards); counted changes apply in order. `changes`
 * are checked items `{provenance, payload}`; `round` is the session of the open request, or
 * `null`.
 */
export function consentHistory(persons, changes, ladder, round = null) {
  const consents = persons.map((person) => person.consent);
  const confirmed = new Set();
  for (const { provenance, payload: change } of changes) {
    if (!isValidChange(change, persons.length, ladder)) continue;
    if (!changeCounts(provenance, consents[change.person], change.consent, ladder.level)) continue;
    consents[change.person] = change.consent;
    if (round !== null && change.round === round) confirmed.add(change.person);
    else confirmed.delete(change.person);
  }
  return { consents, confirmed };
}
