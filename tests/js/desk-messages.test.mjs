/**
 * The message checks of the inbox page: what it seals, and what it agrees to show once opened
 * (the server's side of the same rules is tests/integration/test_messages_services.py).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MESSAGE_FORMAT, messagePayload, messageText, readMessage } from '../../portal/static/js/desk-messages.mjs';

// The page's `inbox_text_limit` (kinds.LONG_TEXT_LIMIT on the server).
const LIMIT = 20000;

test('a reply is the trimmed text within the limit, in the message format', () => {
  assert.deepEqual(messagePayload('  Thank you.\n', LIMIT), { format: MESSAGE_FORMAT, text: 'Thank you.' });
  assert.equal(messagePayload('   ', LIMIT), null);
  assert.equal(messagePayload('x'.repeat(20001), LIMIT), null);
  assert.equal(messageText('x'.repeat(20000), LIMIT).length, 20000);
  assert.equal(messageText(undefined, LIMIT), null);
});

test('the limit counts characters as the server does, not UTF-16 units', () => {
  const faces = '\u{1F600}'.repeat(LIMIT);
  assert.equal(faces.length, 2 * LIMIT);
  assert.equal(messageText(faces, LIMIT), faces);
  assert.equal(messageText(`${faces}x`, LIMIT), null);
});

test('only a valid message is read from an opened envelope', () => {
  assert.equal(readMessage({ format: MESSAGE_FORMAT, text: 'Which prison?' }, LIMIT), 'Which prison?');
  for (const payload of [
    null,
    [],
    'text',
    { text: 'no format' },
    { format: 'parley-further-information-v1', text: 'another kind' },
    { format: MESSAGE_FORMAT, text: 42 },
    { format: MESSAGE_FORMAT, text: '' },
    { format: MESSAGE_FORMAT, text: 'x'.repeat(20001) },
  ]) {
    assert.equal(readMessage(payload, LIMIT), null, JSON.stringify(payload));
  }
});
