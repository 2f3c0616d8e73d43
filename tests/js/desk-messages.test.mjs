/**
 * The message checks of the inbox page: what it seals, and what it agrees to show once opened
 * (the server's side of the same rules is tests/integration/test_messages_services.py).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MESSAGE_FORMAT, messagePayload, messageText, readMessage } from '../../portal/static/js/desk-messages.mjs';

test('a reply is the trimmed text within the limit, in the message format', () => {
  assert.deepEqual(messagePayload('  Thank you.\n'), { format: MESSAGE_FORMAT, text: 'Thank you.' });
  assert.equal(messagePayload('   '), null);
  assert.equal(messagePayload('x'.repeat(20001)), null);
  assert.equal(messageText('x'.repeat(20000)).length, 20000);
  assert.equal(messageText(undefined), null);
});

test('only a valid message is read from an opened envelope', () => {
  assert.equal(readMessage({ format: MESSAGE_FORMAT, text: 'Which prison?' }), 'Which prison?');
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
    assert.equal(readMessage(payload), null, JSON.stringify(payload));
  }
});
