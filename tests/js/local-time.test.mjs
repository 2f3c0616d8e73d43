/** The reader's-time formatting of the local-time module, in fixed zones. */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { formatLocal } from '../../portal/static/js/local-time.mjs';

test('a UTC moment is written in the given zone with its name', () => {
  const tokyo = formatLocal('2026-12-19T16:00:00Z', 'en-GB', 'Asia/Tokyo');
  assert.match(tokyo, /20 Dec 2026/);
  assert.match(tokyo, /01:00/);
  assert.match(tokyo, /GMT\+9/);
  assert.match(formatLocal('2026-12-19T16:00:00Z', 'en-GB', 'UTC'), /16:00/);
});

test('an unreadable moment gives nothing rather than "Invalid Date"', () => {
  assert.equal(formatLocal('not a moment', 'en-GB', 'UTC'), null);
});

test('the date is written only when the reader is on another day than UTC', () => {
  const paris = formatLocal('2026-12-19T16:00:00Z', 'en-GB', 'Europe/Paris');
  assert.match(paris, /17:00/);
  assert.doesNotMatch(paris, /Dec|2026/);
  const tokyo = formatLocal('2026-12-19T16:00:00Z', 'fr', 'Asia/Tokyo');
  assert.match(tokyo, /20 déc/);
});
