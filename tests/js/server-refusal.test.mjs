/**
 * What a page shows for a failure: the portal's own words for a refusal it answered, and the
 * page's translated sentence for anything else, never the English message of a JavaScript error.
 * The last test reads the modules themselves, so that a new place showing a thrown error's
 * message, or an English literal put straight into the page, fails here.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { test } from 'node:test';

import { UploadRefusedError } from '../../portal/static/js/attachment-upload.mjs';
import { CodenameError, normaliseCodename } from '../../portal/static/js/parley-crypto.mjs';
import { ServerRefusalError, failureText } from '../../portal/static/js/server-refusal.mjs';

const FALLBACK = '[the page says it could not be sent]';
const MODULES = new URL('../../portal/static/js/', import.meta.url);

test("the portal's refusal is shown in its own words", () => {
  assert.equal(failureText(new ServerRefusalError('[refused in the page language]', 400), FALLBACK), '[refused in the page language]');
  assert.equal(failureText(new UploadRefusedError('[upload refused]', 413), FALLBACK), '[upload refused]');
});

test("a refusal that came without words gets the page's sentence", () => {
  assert.equal(failureText(new ServerRefusalError(undefined, 502), FALLBACK), FALLBACK);
});

test("any other failure gets the page's sentence, not its English message", () => {
  let codename;
  try {
    normaliseCodename('only three words');
  } catch (error) {
    codename = error;
  }
  assert.ok(codename instanceof CodenameError && codename.message.length > 0);
  const failures = [
    codename,
    new Error('the file could not be sent'),
    new TypeError('Failed to fetch'),
    new SyntaxError('Unexpected token < in JSON'),
    'a thrown string',
    undefined,
  ];
  for (const failure of failures) assert.equal(failureText(failure, FALLBACK), FALLBACK);
});

test('no module shows a thrown error\'s message or an English literal itself', () => {
  const offences = [];
  for (const name of readdirSync(MODULES).filter((file) => file.endsWith('.mjs'))) {
    if (name === 'server-refusal.mjs') continue;
    const lines = readFileSync(new URL(name, MODULES), 'utf8').split('\n');
    lines.forEach((line, index) => {
      const code = line.replace(/^\s*(\*|\/\/).*$/, '');
      // A thrown error's message may reach a page only through `failureText`.
      if (/\b(failure|error|err|e)\.message\b/.test(code)) offences.push(`${name}:${index + 1} reads a message`);
      // Text put into the page comes from the page (data-messages, data-*), never a literal;
      // a template's placeholders are values, only the words around them count.
      const words = code.replace(/\$\{[^}]*\}/g, '');
      if (/\.(textContent|innerText|title)\s*=\s*['"`][^'"`]*[A-Za-z]/.test(words)) offences.push(`${name}:${index + 1} writes a literal`);
    });
  }
  assert.deepEqual(offences, []);
});
