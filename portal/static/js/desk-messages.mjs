/**
 * The messages between the desk and a submission's author, as the inbox page reads and writes
 * them: `parley-desk-message-v1` (docs/FORMATS.md, "Envelope plaintexts").
 *
 * A message is checked after it is opened, whoever sealed it: a reply sealed in a browser was
 * never seen by the server, so a payload that is not a message is shown as one this page cannot
 * show rather than trusted.
 */
import { characterCount } from './sealed-submission.mjs';

export const MESSAGE_FORMAT = 'parley-desk-message-v1';
export const MESSAGE_AUTHORS = ['desk', 'submitter'];

/**
 * The text to send, trimmed, or `null` when it is empty or longer than `limit` characters (the
 * page's `inbox_text_limit`, counted as the server counts them).
 */
export function messageText(typed, limit) {
  const text = typeof typed === 'string' ? typed.trim() : '';
  return text.length === 0 || characterCount(text) > limit ? null : text;
}

/** The payload a reply is sealed as, or `null` when the text cannot be sent. */
export function messagePayload(typed, limit) {
  const text = messageText(typed, limit);
  return text === null ? null : { format: MESSAGE_FORMAT, text };
}

/** The text of an opened message, or `null` when it is not a valid message. */
export function readMessage(payload, limit) {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null;
  if (payload.format !== MESSAGE_FORMAT) return null;
  return messageText(payload.text, limit);
}
