/**
 * The consent changes the inbox page seals, and which persons it shows as confirmed for a round
 * (the server's side: tests/integration/test_round_consent.py and test_consent_requests.py).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  CONSENT_CHANGE_FORMAT,
  consentChangePayload,
  consentHistory,
  isValidChange,
  roundOf,
} from '../../portal/static/js/consent-change.mjs';
import { BEFORE_SIGNATURES, SIGNED, UNVERIFIED } from '../../portal/static/js/signed-items.mjs';

const LADDER = {
  level: ['internal_only', 'raise_without_name', 'raise_by_name', 'handover_list'],
  given_by: ['person', 'family', 'representative'],
};
const CHOICES = { level: 'raise_by_name', givenBy: 'family', risksExplained: true };

function consent(level) {
  return { level, given_by: 'person', risks_explained: true };
}

function change(person, level, round, provenance = SIGNED) {
  const payload = { format: CONSENT_CHANGE_FORMAT, person, consent: consent(level) };
  if (round !== undefined) payload.round = round;
  return { provenance, payload };
}

const PERSONS = [{ name: 'A', consent: consent('handover_list') }, { name: 'B', consent: consent('handover_list') }];

test('a confirmation seals its round inside; an ordinary change has none', () => {
  assert.deepEqual(consentChangePayload(1, CHOICES, 42), {
    format: CONSENT_CHANGE_FORMAT,
    person: 1,
    consent: { level: 'raise_by_name', given_by: 'family', risks_explained: true },
    round: 42,
  });
  const ordinary = consentChangePayload(0, { ...CHOICES, risksExplained: 'yes' });
  assert.equal('round' in ordinary, false);
  assert.equal(ordinary.consent.risks_explained, false);
});

test('the round of a form is a session number or none', () => {
  assert.equal(roundOf('7'), 7);
  assert.equal(roundOf('2147483647'), 2 ** 31 - 1);
  for (const text of [undefined, null, '', '0', '-1', '1.5', '2147483648', ' 7', '7a', '99999999999']) {
    assert.equal(roundOf(text), null, String(text));
  }
});

test('a change naming something other than a session number is passed over', () => {
  assert.equal(isValidChange(change(0, 'raise_by_name', 3).payload, 2, LADDER), true);
  assert.equal(isValidChange(change(0, 'raise_by_name', null).payload, 2, LADDER), true);
  for (const round of ['3', 0, -2, 1.5, true, 2 ** 31]) {
    assert.equal(isValidChange(change(0, 'raise_by_name', round).payload, 2, LADDER), false, String(round));
  }
});

test('a person is confirmed for the round named, until a later change replaces it', () => {
  const changes = [change(0, 'raise_by_name', 5), change(1, 'handover_list', 4)];
  let history = consentHistory(PERSONS, changes, LADDER, 5);
  assert.deepEqual([...history.confirmed], [0]);
  assert.equal(history.consents[0].level, 'raise_by_name');
  changes.push(change(0, 'raise_without_name'));
  history = consentHistory(PERSONS, changes, LADDER, 5);
  assert.deepEqual([...history.confirmed], []);
  assert.equal(history.consents[0].level, 'raise_without_name');
  assert.deepEqual([...consentHistory(PERSONS, changes, LADDER, null).confirmed], []);
});

test('an unverified confirmation confirms nothing; one before signatures only downwards', () => {
  const unverified = [change(0, 'handover_list', 5, UNVERIFIED)];
  assert.deepEqual([...consentHistory(PERSONS, unverified, LADDER, 5).confirmed], []);
  const persons = [{ name: 'A', consent: consent('raise_by_name') }];
  const higher = [change(0, 'handover_list', 5, BEFORE_SIGNATURES)];
  assert.deepEqual([...consentHistory(persons, higher, LADDER, 5).confirmed], []);
  const lower = [change(0, 'raise_without_name', 5, BEFORE_SIGNATURES)];
  assert.deepEqual([...consentHistory(persons, lower, LADDER, 5).confirmed], [0]);
});
