/**
 * Provenance: RFC 8032's Ed25519 answers, and the shared vectors for signing keys, signed items,
 * per-submission keys, owner tags, key holders' signing keys and desk key certificate chains.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DecryptionError,
  certifyDeskKey,
  deriveCodenameSecrets,
  deriveSubmissionKeys,
  deskSigningSeed,
  ed25519Verify,
  ownerTag,
  ownerTagKey,
  recoverySigningSeed,
  signItem,
  signingFingerprint,
  signingKeyId,
  signingPublicKey,
  staffSigningSeed,
  verifyDeskKeyCertificate,
  verifyDeskKeyChain,
  verifyItem,
} from '../../portal/static/js/parley-crypto.mjs';
import { flipped, fromHex, readVectors, sha256Hex, toHex, utf8 } from './support.mjs';

const rfc8032 = readVectors('rfc8032-ed25519.json');
const vectors = readVectors('provenance-v1.json');
const chains = vectors.desk_key_chains;
const SEED_FOR = { desk: deskSigningSeed, staff: staffSigningSeed, recovery: recoverySigningSeed };

function certificate(entry) {
  return {
    generation: entry.generation,
    deskPublicKey: fromHex(entry.desk_public_key),
    signingPublicKey: fromHex(entry.signing_public_key),
    signature: fromHex(entry.signature),
  };
}

test('RFC 8032 section 7.1: public keys from seeds, and the signatures verify', async () => {
  assert.equal(rfc8032.cases.length, 4);
  for (const entry of rfc8032.cases) {
    assert.equal(toHex(await signingPublicKey(fromHex(entry.seed))), entry.public_key);
    const message = fromHex(entry.message);
    const signature = fromHex(entry.signature);
    await ed25519Verify(fromHex(entry.public_key), message, signature);
    await assert.rejects(
      ed25519Verify(fromHex(entry.public_key), message, flipped(signature, 63)),
      DecryptionError,
    );
  }
});

test('signing keys: public key, key id and fingerprint by their definitions', async () => {
  assert.equal(vectors.signing_keys.length, 3);
  for (const entry of vectors.signing_keys) {
    const publicKey = await signingPublicKey(fromHex(entry.seed));
    assert.equal(toHex(publicKey), entry.public_key);
    const labelled = (label) => Buffer.concat([utf8(label), Uint8Array.of(0), publicKey]);
    assert.equal(toHex(await signingKeyId(publicKey)), entry.key_id);
    assert.equal(entry.key_id, sha256Hex(labelled('parley signing key id v1')).slice(0, 32));
    const shown = await signingFingerprint(publicKey);
    assert.equal(shown, entry.fingerprint);
    const digits = sha256Hex(labelled('parley signing fingerprint v1')).slice(0, 40);
    assert.equal(shown.replaceAll(' ', ''), digits.toUpperCase());
  }
});

test('signed items: the same signatures as Python, and they verify', async () => {
  assert.equal(vectors.signed_items.length, 3);
  for (const item of vectors.signed_items) {
    const envelope = fromHex(item.envelope);
    const signature = await signItem(fromHex(item.seed), item.context, envelope);
    assert.equal(toHex(signature), item.signature, item.description);
    await verifyItem(fromHex(item.public_key), item.context, envelope, signature);
  }
});

test('every rejected item is refused with a DecryptionError', async () => {
  assert.equal(vectors.rejected_items.length, 11);
  for (const item of vectors.rejected_items) {
    await assert.rejects(
      verifyItem(
        fromHex(item.public_key),
        item.context,
        fromHex(item.envelope),
        fromHex(item.signature),
      ),
      DecryptionError,
      item.description,
    );
  }
});

test('a context that is not well-formed Unicode is a caller error', async () => {
  await assert.rejects(signItem(new Uint8Array(32), 'a\ud800', new Uint8Array(0)), TypeError);
  await assert.rejects(signItem(new Uint8Array(31), 'context', new Uint8Array(0)), RangeError);
});

test('codename, key seed, submission keys and owner tags, end to end', async () => {
  const submitter = vectors.submitter;
  const { keySeed } = await deriveCodenameSecrets(submitter.codename);
  assert.equal(toHex(keySeed), submitter.key_seed);
  assert.equal(submitter.submissions.length, 3);
  for (const entry of submitter.submissions) {
    const keys = await deriveSubmissionKeys(keySeed, entry.public_id);
    assert.equal(toHex(keys.privateKey), entry.key_seed, entry.public_id);
    assert.equal(toHex(keys.publicKey), entry.public_key, entry.public_id);
    assert.equal(toHex(keys.signingSeed), entry.signing_seed, entry.public_id);
    assert.equal(toHex(keys.signingPublicKey), entry.signing_public_key, entry.public_id);
  }
  const tagKey = await ownerTagKey(keySeed);
  assert.equal(toHex(tagKey), submitter.owner_tag_key);
  assert.deepEqual(
    submitter.owner_tags.map((entry) => entry.index),
    [0, 1, 2, 2 ** 32 - 1],
  );
  for (const entry of submitter.owner_tags) {
    assert.equal(toHex(await ownerTag(tagKey, entry.index)), entry.tag);
  }
});

test('public ids of another shape and tag indices outside u32 are refused', async () => {
  const seed = new Uint8Array(32);
  const almost = 'A'.repeat(21);
  for (const publicId of ['', almost, `${almost}AA`, `${almost}=`, `${almost}|`]) {
    await assert.rejects(deriveSubmissionKeys(seed, publicId), RangeError, publicId);
  }
  for (const index of [-1, 2 ** 32, 1.5]) {
    assert.throws(() => ownerTag(seed, index), RangeError);
  }
});

test("key holders' signing seeds", async () => {
  assert.deepEqual(
    vectors.holder_signing_keys.map((entry) => entry.role),
    ['desk', 'staff', 'recovery'],
  );
  for (const entry of vectors.holder_signing_keys) {
    const seed = await SEED_FOR[entry.role](fromHex(entry.private_key));
    assert.equal(toHex(seed), entry.signing_seed, entry.role);
    assert.equal(toHex(await signingPublicKey(seed)), entry.signing_public_key, entry.role);
  }
});

test('valid desk key chains give their newest certificate', async () => {
  const trusted = fromHex(chains.trusted_signing_key);
  assert.equal(chains.valid.length, 3);
  for (const chain of chains.valid) {
    const certificates = chain.certificates.map(certificate);
    const newest = await verifyDeskKeyChain(trusted, chains.slug, certificates);
    assert.equal(newest, certificates.at(-1), chain.description);
  }
});

test('broken desk key chains are refused', async () => {
  const trusted = fromHex(chains.trusted_signing_key);
  assert.equal(chains.broken.length, 12);
  for (const chain of chains.broken) {
    await assert.rejects(
      verifyDeskKeyChain(trusted, chain.slug, chain.certificates.map(certificate)),
      DecryptionError,
      chain.description,
    );
  }
});

test('certificates made here are the ones in the vectors, and name their dialogue', async () => {
  const [first] = chains.valid[0].certificates;
  const recovery = vectors.holder_signing_keys.find((entry) => entry.role === 'recovery');
  const made = await certifyDeskKey(
    fromHex(recovery.signing_seed),
    chains.slug,
    1,
    fromHex(first.desk_public_key),
    fromHex(first.signing_public_key),
  );
  assert.equal(toHex(made.signature), first.signature);
  const trusted = fromHex(chains.trusted_signing_key);
  await verifyDeskKeyCertificate(trusted, chains.slug, made);
  await assert.rejects(verifyDeskKeyCertificate(trusted, 'another', made), DecryptionError);
  const { deskPublicKey, signingPublicKey: signingKey } = made;
  const signerSeed = fromHex(recovery.signing_seed);
  for (const generation of [0, 2 ** 32]) {
    await assert.rejects(
      certifyDeskKey(signerSeed, chains.slug, generation, deskPublicKey, signingKey),
      RangeError,
    );
  }
});
