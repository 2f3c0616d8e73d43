/**
 * Envelope v1: the shared vectors (every case opens with every recipient key; every tamper case
 * fails), round trips, and forged envelopes that authenticate yet break one rule, so that each
 * check in `openEnvelope` is shown to be needed on its own.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createHash, randomBytes } from 'node:crypto';

import {
  DecryptionError,
  MAX_PLAINTEXT,
  hpkeSeal,
  inspectEnvelope,
  openEnvelope,
  sealEnvelope,
} from '../../portal/static/js/parley-crypto.mjs';
import {
  flipped,
  fromHex,
  newKeyPair,
  pattern,
  publicKeyOf,
  readVectors,
  toHex,
  utf8,
} from './support.mjs';

const vectors = readVectors('envelope-v1.json');
const CONTEXT = 'dialogue 7 / submission';
const LARGEST_BUCKET = MAX_PLAINTEXT + 65536;

// Independent implementations of the envelope's building blocks, with Node's own crypto, so the
// tests do not take the module's word for its own format.

function sha256(...parts) {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function contextDigest(context) {
  return sha256(utf8('parley context v1\0'), utf8(context));
}

function keyIdOf(publicKey) {
  return sha256(utf8('parley key id v1\0'), publicKey).subarray(0, 16);
}

function aesGcmSeal(key, nonce, aad, plaintext) {
  const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  return Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** `u32 length || plaintext || padding`, `size` bytes in all, with any length and padding. */
function padded(plaintext, size, { declaredLength = plaintext.length, paddingByte = 0 } = {}) {
  const result = new Uint8Array(size).fill(paddingByte);
  new DataView(result.buffer).setUint32(0, declaredLength);
  result.set(plaintext, 4);
  return result;
}

/**
 * An envelope whose wraps and payload authenticate, whatever rule it breaks.
 *
 * Each recipient is `{publicKey, slotKeyId?, wrapKeyId?}`: the key id written in the slot and the
 * one bound into the wrap's HPKE info default to the key's own id.
 */
async function forgeEnvelope(recipients, paddedPlaintext) {
  const dataKey = randomBytes(32);
  const digest = contextDigest(CONTEXT);
  const slots = [];
  for (const { publicKey, slotKeyId = keyIdOf(publicKey), wrapKeyId = slotKeyId } of recipients) {
    const info = Buffer.concat([utf8('parley envelope v1\0'), digest, wrapKeyId]);
    const wrap = await hpkeSeal(publicKey, info, new Uint8Array(0), dataKey);
    slots.push(slotKeyId, wrap.enc, wrap.ciphertext);
  }
  const nonce = randomBytes(12);
  const header = Buffer.concat([
    utf8('PRLE'),
    Uint8Array.of(1, 0),
    digest,
    Uint8Array.of(recipients.length),
    ...slots,
    nonce,
  ]);
  const payload = aesGcmSeal(dataKey, nonce, header, paddedPlaintext);
  return new Uint8Array(Buffer.concat([header, payload]));
}

function payloadOffset(count) {
  return 39 + 96 * count + 12;
}

// --- Shared vectors ------------------------------------------------------------------------------

test('every vector envelope opens to its plaintext with each of its recipient keys', async () => {
  let opened = 0;
  for (const vector of vectors.cases) {
    const envelope = fromHex(vector.envelope);
    for (const privateKey of vector.recipient_private_keys) {
      const plaintext = await openEnvelope(envelope, fromHex(privateKey), vector.context);
      assert.equal(toHex(plaintext), vector.plaintext, vector.description);
      opened += 1;
    }
  }
  assert.equal(vectors.cases.length, 7);
  assert.equal(opened, 9);
});

test('inspecting a vector envelope shows version, context digest, key ids, payload size', () => {
  for (const vector of vectors.cases) {
    const envelope = fromHex(vector.envelope);
    const publicKeys = vector.recipient_private_keys.map((hex) => publicKeyOf(fromHex(hex)));
    const info = inspectEnvelope(envelope);
    assert.equal(info.version, 1);
    assert.equal(toHex(info.contextDigest), toHex(contextDigest(vector.context)));
    assert.deepEqual(info.keyIds.map(toHex), publicKeys.map((key) => toHex(keyIdOf(key))));
    assert.equal(info.payloadLength, envelope.length - payloadOffset(publicKeys.length));
  }
});

test('every vector tamper case fails with DecryptionError', async () => {
  for (const vector of vectors.tamper) {
    await assert.rejects(
      openEnvelope(fromHex(vector.envelope), fromHex(vector.private_key), vector.context),
      DecryptionError,
      vector.description,
    );
  }
  assert.equal(vectors.tamper.length, 30);
});

// --- Round trips and sealing rules ---------------------------------------------------------------

test('sealed envelopes open for every recipient, and the payload size is the bucket', async () => {
  const recipients = [newKeyPair(), newKeyPair(), newKeyPair()];
  const publicKeys = recipients.map((pair) => pair.publicKey);
  const expectedPaddedSizes = new Map([
    [0, 1024],
    [1020, 1024],
    [1021, 2048],
    [65532, 65536],
    [65533, 131072],
    [200000, 262144],
  ]);
  for (const [length, paddedSize] of expectedPaddedSizes) {
    const plaintext = pattern(length);
    const envelope = await sealEnvelope(plaintext, publicKeys, CONTEXT);
    assert.equal(inspectEnvelope(envelope).payloadLength, paddedSize + 16, `${length} bytes`);
    for (const { privateKey } of recipients) {
      assert.deepEqual(await openEnvelope(envelope, privateKey, CONTEXT), plaintext);
    }
  }
});

test('a string plaintext is sealed as UTF-8', async () => {
  const recipient = newKeyPair();
  const text = 'Défenseure — правозащитница — 人权捍卫者';
  const envelope = await sealEnvelope(text, [recipient.publicKey], CONTEXT);
  const opened = await openEnvelope(envelope, recipient.privateKey, CONTEXT);
  assert.equal(new TextDecoder().decode(opened), text);
});

test('every envelope gets its own data key and nonce', async () => {
  const recipient = newKeyPair();
  const first = await sealEnvelope('same', [recipient.publicKey], CONTEXT);
  const second = await sealEnvelope('same', [recipient.publicKey], CONTEXT);
  const nonceOffset = payloadOffset(1) - 12;
  const nonceOf = (envelope) => toHex(envelope.subarray(nonceOffset, nonceOffset + 12));
  const payloadOf = (envelope) => toHex(envelope.subarray(nonceOffset + 12));
  assert.notEqual(nonceOf(first), nonceOf(second));
  assert.notEqual(payloadOf(first), payloadOf(second));
});

test('sealing refuses bad recipient lists, oversized texts and wrong types', async () => {
  const keys = Array.from({ length: 17 }, () => newKeyPair().publicKey);
  await assert.rejects(sealEnvelope('x', [], CONTEXT), RangeError);
  await assert.rejects(sealEnvelope('x', keys, CONTEXT), RangeError);
  await assert.rejects(sealEnvelope('x', [keys[0], keys[1], keys[0]], CONTEXT), RangeError);
  await assert.rejects(sealEnvelope('x', [keys[0].subarray(1)], CONTEXT), RangeError);
  const oversized = new Uint8Array(MAX_PLAINTEXT + 1);
  await assert.rejects(sealEnvelope(oversized, [keys[0]], CONTEXT), RangeError);
  await assert.rejects(sealEnvelope('x', keys[0], CONTEXT), TypeError);
  await assert.rejects(sealEnvelope('x', [keys[0]], 7), TypeError);
});

test('an envelope holds exactly MAX_PLAINTEXT bytes at most', async () => {
  const recipient = newKeyPair();
  const largest = new Uint8Array(MAX_PLAINTEXT);
  const envelope = await sealEnvelope(largest, [recipient.publicKey], CONTEXT);
  assert.equal(inspectEnvelope(envelope).payloadLength, LARGEST_BUCKET + 16);
  const opened = await openEnvelope(envelope, recipient.privateKey, CONTEXT);
  assert.equal(opened.length, MAX_PLAINTEXT);
});

// --- Tampering ---------------------------------------------------------------------------------

test('flipping any single bit of an envelope makes it fail', async () => {
  const vector = vectors.cases.find((candidate) => candidate.recipient_private_keys.length === 3);
  const envelope = fromHex(vector.envelope);
  const privateKey = fromHex(vector.recipient_private_keys[0]);
  for (let index = 0; index < envelope.length; index += 7) {
    await assert.rejects(
      openEnvelope(flipped(envelope, index), privateKey, vector.context),
      DecryptionError,
      `byte ${index}`,
    );
  }
});

test('a byte changed in another recipient\'s slot fails: the header is authenticated', async () => {
  const vector = vectors.cases.find((candidate) => candidate.recipient_private_keys.length === 3);
  const envelope = fromHex(vector.envelope);
  const firstKey = fromHex(vector.recipient_private_keys[0]);
  assert.equal((await openEnvelope(envelope, firstKey, vector.context)).length > 0, true);
  const secondSlot = 39 + 96;
  for (const offset of [secondSlot, secondSlot + 16, secondSlot + 95]) {
    await assert.rejects(
      openEnvelope(flipped(envelope, offset), firstKey, vector.context),
      DecryptionError,
    );
  }
});

test('truncated and extended envelopes fail', async () => {
  const vector = vectors.cases.find((candidate) => candidate.description === 'short text');
  const envelope = fromHex(vector.envelope);
  const privateKey = fromHex(vector.recipient_private_keys[0]);
  const variants = [
    envelope.subarray(0, 0),
    envelope.subarray(0, 5),
    envelope.subarray(0, 39),
    envelope.subarray(0, envelope.length - 16),
    envelope.subarray(0, envelope.length - 1024),
    Uint8Array.from([...envelope, 0]),
    Uint8Array.from([...envelope, ...new Uint8Array(1024)]),
  ];
  for (const variant of variants) {
    await assert.rejects(openEnvelope(variant, privateKey, vector.context), DecryptionError);
  }
});

test('an envelope opened under another context fails', async () => {
  const recipient = newKeyPair();
  const envelope = await sealEnvelope('for dialogue 7', [recipient.publicKey], CONTEXT);
  await assert.rejects(
    openEnvelope(envelope, recipient.privateKey, 'dialogue 8 / submission'),
    DecryptionError,
  );
});

test('a forged envelope that breaks no rule opens, so the forgeries below are valid', async () => {
  const alice = newKeyPair();
  const bob = newKeyPair();
  const envelope = await forgeEnvelope([alice, bob], padded(utf8('forged'), 1024));
  for (const { privateKey } of [alice, bob]) {
    const opened = await openEnvelope(envelope, privateKey, CONTEXT);
    assert.equal(new TextDecoder().decode(opened), 'forged');
  }
});

test('a key without a slot fails even if some slot\'s wrap would open for it', async () => {
  const alice = newKeyPair();
  const outsider = newKeyPair();
  const envelope = await forgeEnvelope(
    [{ publicKey: outsider.publicKey, slotKeyId: keyIdOf(alice.publicKey) }],
    padded(utf8('forged'), 1024),
  );
  await assert.rejects(openEnvelope(envelope, outsider.privateKey, CONTEXT), DecryptionError);
});

test('a wrap bound to another slot\'s key id fails', async () => {
  const alice = newKeyPair();
  const bob = newKeyPair();
  const envelope = await forgeEnvelope(
    [{ publicKey: alice.publicKey, wrapKeyId: keyIdOf(bob.publicKey) }, bob],
    padded(utf8('forged'), 1024),
  );
  await assert.rejects(openEnvelope(envelope, alice.privateKey, CONTEXT), DecryptionError);
  assert.equal((await openEnvelope(envelope, bob.privateKey, CONTEXT)).length, 6);
});

test('a declared length above MAX_PLAINTEXT fails even inside the largest bucket', async () => {
  const alice = newKeyPair();
  const tooLong = padded(new Uint8Array(0), LARGEST_BUCKET, { declaredLength: MAX_PLAINTEXT + 1 });
  const envelope = await forgeEnvelope([alice], tooLong);
  await assert.rejects(openEnvelope(envelope, alice.privateKey, CONTEXT), DecryptionError);
});

test('a payload larger than the largest bucket fails', async () => {
  const alice = newKeyPair();
  const envelope = await forgeEnvelope([alice], padded(utf8('x'), LARGEST_BUCKET + 65536));
  await assert.rejects(openEnvelope(envelope, alice.privateKey, CONTEXT), DecryptionError);
  assert.throws(() => inspectEnvelope(envelope), DecryptionError);
});

// --- Inspecting ----------------------------------------------------------------------------------

test('inspecting checks the structure but not the padding, which needs the key', async () => {
  const alice = newKeyPair();
  const nonZeroPadding = await forgeEnvelope([alice], padded(utf8('x'), 1024, { paddingByte: 1 }));
  assert.equal(inspectEnvelope(nonZeroPadding).keyIds.length, 1);
  await assert.rejects(openEnvelope(nonZeroPadding, alice.privateKey, CONTEXT), DecryptionError);
  const notABucket = await forgeEnvelope([alice], padded(utf8('x'), 1500));
  assert.throws(() => inspectEnvelope(notABucket), DecryptionError);
});

test('inspecting rejects each structurally malformed vector', () => {
  const structural = vectors.tamper.filter((vector) =>
    /magic|version|flags|recipients|twice|not a bucket|below the smallest|truncated/.test(
      vector.description,
    ),
  );
  assert.ok(structural.length >= 10);
  for (const vector of structural) {
    const envelope = fromHex(vector.envelope);
    assert.throws(() => inspectEnvelope(envelope), DecryptionError, vector.description);
  }
});

test('wrong argument types are programming errors, not decryption failures', async () => {
  const alice = newKeyPair();
  const envelope = await sealEnvelope('x', [alice.publicKey], CONTEXT);
  await assert.rejects(openEnvelope(toHex(envelope), alice.privateKey, CONTEXT), TypeError);
  await assert.rejects(openEnvelope(envelope, alice.privateKey.subarray(1), CONTEXT), RangeError);
  await assert.rejects(openEnvelope(envelope, alice.privateKey, null), TypeError);
  assert.throws(() => inspectEnvelope([1, 2, 3]), TypeError);
});
