/**
 * Key ids and fingerprints, checked against the definitions computed with Node's own SHA-256.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { fingerprint, keyId } from '../../portal/static/js/parley-crypto.mjs';
import { newKeyPair, sha256Hex, toHex, utf8 } from './support.mjs';

function labelled(label, publicKey) {
  return Buffer.concat([utf8(label), Uint8Array.of(0), publicKey]);
}

test('a key id is the first 16 bytes of SHA-256 over its label and the public key', async () => {
  for (let round = 0; round < 5; round += 1) {
    const { publicKey } = newKeyPair();
    const expected = sha256Hex(labelled('parley key id v1', publicKey)).slice(0, 32);
    assert.equal(toHex(await keyId(publicKey)), expected);
  }
});

test('a fingerprint is 40 upper-case hex digits of its own digest in groups of 4', async () => {
  for (let round = 0; round < 5; round += 1) {
    const { publicKey } = newKeyPair();
    const digits = sha256Hex(labelled('parley fingerprint v1', publicKey)).slice(0, 40);
    const shown = await fingerprint(publicKey);
    assert.match(shown, /^[0-9A-F]{4}( [0-9A-F]{4}){9}$/);
    assert.equal(shown.replaceAll(' ', ''), digits.toUpperCase());
  }
});

test('keys of the wrong length are refused', async () => {
  await assert.rejects(keyId(new Uint8Array(31)), RangeError);
  await assert.rejects(fingerprint(new Uint8Array(33)), RangeError);
});
