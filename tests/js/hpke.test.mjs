/**
 * HPKE against the RFC 9180 known-answer vector for our suite (mode 0, DHKEM(X25519, HKDF-SHA256),
 * HKDF-SHA256, AES-256-GCM), and the failures a recipient must see for anything altered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DecryptionError,
  hpkeDeriveKeyPair,
  hpkeKeySchedule,
  hpkeOpen,
  hpkeSeal,
  hpkeSetupBaseS,
} from '../../portal/static/js/parley-crypto.mjs';
import { flipped, fromHex, randomKey, readVectors, toHex, utf8 } from './support.mjs';

const vector = readVectors('rfc9180-x25519-sha256-aes256gcm.json');

test('the vector file is the RFC 9180 entry for our suite', () => {
  assert.deepEqual(
    [vector.mode, vector.kem_id, vector.kdf_id, vector.aead_id],
    [0, 0x20, 0x01, 0x02],
  );
  assert.equal(vector.encryptions.length, 257);
});

test('DeriveKeyPair gives the recipient and ephemeral keys of the vector', async () => {
  const recipient = await hpkeDeriveKeyPair(fromHex(vector.ikmR));
  assert.equal(toHex(recipient.privateKey), vector.skRm);
  assert.equal(toHex(recipient.publicKey), vector.pkRm);
  const ephemeral = await hpkeDeriveKeyPair(fromHex(vector.ikmE));
  assert.equal(toHex(ephemeral.privateKey), vector.skEm);
  assert.equal(toHex(ephemeral.publicKey), vector.pkEm);
});

test('the key schedule gives the key and base nonce of the vector', async () => {
  const schedule = await hpkeKeySchedule(fromHex(vector.shared_secret), fromHex(vector.info));
  assert.equal(toHex(schedule.key), vector.key);
  assert.equal(toHex(schedule.baseNonce), vector.base_nonce);
});

test('a sender context reproduces enc, the shared secret and all 257 encryptions', async () => {
  const context = await hpkeSetupBaseS(fromHex(vector.pkRm), fromHex(vector.info), {
    ephemeralPrivate: fromHex(vector.skEm),
  });
  assert.equal(toHex(context.enc), vector.enc);
  assert.equal(toHex(context.sharedSecret), vector.shared_secret);
  let checked = 0;
  for (const [sequence, encryption] of vector.encryptions.entries()) {
    const ciphertext = await context.seal(fromHex(encryption.aad), fromHex(encryption.pt));
    assert.equal(toHex(ciphertext), encryption.ct, `encryption with sequence number ${sequence}`);
    checked += 1;
  }
  assert.equal(checked, 257);
});

test('single-shot seal and open match the first encryption of the vector', async () => {
  const [first] = vector.encryptions;
  const sealed = await hpkeSeal(
    fromHex(vector.pkRm),
    fromHex(vector.info),
    fromHex(first.aad),
    fromHex(first.pt),
    { ephemeralPrivate: fromHex(vector.skEm) },
  );
  assert.equal(toHex(sealed.enc), vector.enc);
  assert.equal(toHex(sealed.ciphertext), first.ct);
  const opened = await hpkeOpen(
    fromHex(vector.skRm),
    fromHex(vector.enc),
    fromHex(vector.info),
    fromHex(first.aad),
    fromHex(first.ct),
  );
  assert.equal(toHex(opened), first.pt);
});

test('concurrent seals on one context still use consecutive sequence numbers', async () => {
  const context = await hpkeSetupBaseS(fromHex(vector.pkRm), fromHex(vector.info), {
    ephemeralPrivate: fromHex(vector.skEm),
  });
  const firstFive = vector.encryptions.slice(0, 5);
  const sealed = await Promise.all(
    firstFive.map((encryption) => context.seal(fromHex(encryption.aad), fromHex(encryption.pt))),
  );
  assert.deepEqual(sealed.map(toHex), firstFive.map((encryption) => encryption.ct));
});

test('a fresh ephemeral key is used for every seal', async () => {
  const { publicKey } = await hpkeDeriveKeyPair(randomKey());
  const first = await hpkeSeal(publicKey, utf8('info'), new Uint8Array(0), utf8('same'));
  const second = await hpkeSeal(publicKey, utf8('info'), new Uint8Array(0), utf8('same'));
  assert.notEqual(toHex(first.enc), toHex(second.enc));
  assert.notEqual(toHex(first.ciphertext), toHex(second.ciphertext));
});

test('a low-order public key is refused (no shared secret exists)', async () => {
  const lowOrderPoint = new Uint8Array(32);
  await assert.rejects(
    hpkeSeal(lowOrderPoint, utf8('info'), new Uint8Array(0), utf8('secret')),
  );
});

/** A sealed message, and `open` to try opening it with any of its inputs replaced. */
async function sealedMessage() {
  const recipient = await hpkeDeriveKeyPair(randomKey());
  const info = utf8('parley test info');
  const aad = utf8('aad');
  const sealed = await hpkeSeal(recipient.publicKey, info, aad, utf8('for the recipient only'));
  const open = (changes = {}) => {
    const inputs = { privateKey: recipient.privateKey, info, aad, ...sealed, ...changes };
    return hpkeOpen(inputs.privateKey, inputs.enc, inputs.info, inputs.aad, inputs.ciphertext);
  };
  return { ...sealed, open };
}

test('hpkeOpen opens an untouched message', async () => {
  const message = await sealedMessage();
  assert.equal(new TextDecoder().decode(await message.open()), 'for the recipient only');
});

test('hpkeOpen throws DecryptionError for anything altered', async () => {
  const message = await sealedMessage();
  const lastByte = message.ciphertext.length - 1;
  const alterations = {
    'another private key': { privateKey: randomKey() },
    'another info': { info: utf8('parley test inf0') },
    'another aad': { aad: utf8('aaD') },
    'a flipped ciphertext byte': { ciphertext: flipped(message.ciphertext, 0) },
    'a flipped tag byte': { ciphertext: flipped(message.ciphertext, lastByte) },
    'a truncated ciphertext': { ciphertext: message.ciphertext.subarray(0, 15) },
    'a flipped enc byte': { enc: flipped(message.enc, 3) },
    'a short enc': { enc: message.enc.subarray(0, 31) },
    'a low-order enc': { enc: new Uint8Array(32) },
  };
  for (const [description, change] of Object.entries(alterations)) {
    await assert.rejects(message.open(change), DecryptionError, description);
  }
});

test('keys and inputs of the wrong type or length are programming errors', async () => {
  const info = utf8('info');
  const empty = new Uint8Array(0);
  await assert.rejects(hpkeSeal(new Uint8Array(31), info, empty, empty), RangeError);
  await assert.rejects(hpkeSeal('not bytes', info, empty, empty), TypeError);
  await assert.rejects(
    hpkeSeal(randomKey(), info, empty, empty, { ephemeralPrivate: new Uint8Array(16) }),
    RangeError,
  );
  await assert.rejects(hpkeOpen(new Uint8Array(33), empty, info, empty, empty), RangeError);
});
