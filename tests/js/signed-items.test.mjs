/**
 * Signed items in use (tests/vectors/signed-items-v1.json), as the inbox tab checks them: the
 * submission's anchors, the rule's answer for each item and the consent rule. Python and
 * Chromium check the same file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  DecryptionError,
  deriveCodenameSecrets,
  deriveSubmissionKeys,
  signItem,
  verifyDeskKeyChainFrom,
  verifyItem,
} from '../../portal/static/js/parley-crypto.mjs';
import {
  UnverifiedSubmissionError,
  certifiedDeskKeys,
  changeCounts,
  itemProvenance,
  submissionAnchors,
} from '../../portal/static/js/signed-items.mjs';
import { fromHex, readVectors, toHex } from './support.mjs';

const vectors = readVectors('signed-items-v1.json');
const envelope = fromHex(vectors.envelope);
const LEVELS = ['internal_only', 'raise_without_name', 'raise_by_name', 'handover_list'];

async function ownKeys() {
  const { keySeed } = await deriveCodenameSecrets(vectors.codename);
  return deriveSubmissionKeys(keySeed, vectors.public_id);
}

function stored(context, signature) {
  return { context, envelope, signature: signature === null ? null : fromHex(signature) };
}

test('the submission is signed by the key the codename gives, and names the anchors', async () => {
  const keys = await ownKeys();
  const { submission } = vectors;
  assert.equal(toHex(await signItem(keys.signingSeed, submission.context, envelope)), submission.signature);
  const anchors = await submissionAnchors(submission.payload, stored(submission.context, submission.signature), keys.signingPublicKey, verifyItem);
  const expected = submission.anchors;
  assert.deepEqual([toHex(anchors.submission), toHex(anchors.desk), toHex(anchors.recovery)], [expected.submission, expected.desk, expected.recovery]);
});

test('a v1 signatures block is still read and names no recovery key', async () => {
  const keys = await ownKeys();
  const { submission } = vectors;
  const { recovery_key: _named, ...rest } = submission.payload.signatures;
  const payload = { ...submission.payload, signatures: { ...rest, format: 'parley-signatures-v1' } };
  const anchors = await submissionAnchors(payload, stored(submission.context, submission.signature), keys.signingPublicKey, verifyItem);
  assert.equal(toHex(anchors.desk), submission.anchors.desk);
  assert.equal(anchors.recovery, null);
});

test('a submission that does not verify is refused', async () => {
  const keys = await ownKeys();
  assert.equal(vectors.refused_submissions.length, 5);
  for (const refused of vectors.refused_submissions) {
    await assert.rejects(
      submissionAnchors(refused.payload, stored(vectors.submission.context, refused.signature), keys.signingPublicKey, verifyItem),
      UnverifiedSubmissionError,
      refused.description,
    );
  }
});

test('each item gets the answer of the rule', async () => {
  const keys = await ownKeys();
  const { submission } = vectors;
  const anchors = await submissionAnchors(submission.payload, stored(submission.context, submission.signature), keys.signingPublicKey, verifyItem);
  const unsigned = { submission: null, desk: null };
  const cases = [
    ...vectors.signed_submission_items.map((item) => [anchors, item]),
    ...vectors.before_signatures_items.map((item) => [unsigned, item]),
  ];
  assert.equal(cases.length, 14);
  for (const [anchored, item] of cases) {
    const key = item.side === 'desk' ? anchored.desk : anchored.submission;
    const provenance = await itemProvenance(anchored, key, stored(item.context, item.signature), verifyItem);
    assert.equal(provenance, item.expected, item.description);
  }
});

test('an unsigned consent change only lowers consent; an unverified one never counts', () => {
  for (const rule of vectors.consent_rule) {
    const counts = changeCounts(rule.provenance, { level: rule.current }, { level: rule.proposed }, LEVELS);
    assert.equal(counts, rule.counts, JSON.stringify(rule));
  }
});

test('desk keys certified at rotation, walked from the one a submission names', async () => {
  const { slug, cases } = vectors.anchored_desk_key_chains;
  assert.equal(cases.length, 11);
  for (const entry of cases) {
    const certificates = entry.certificates.map((item) => ({
      generation: item.generation,
      deskPublicKey: fromHex(item.desk_public_key),
      signingPublicKey: fromHex(item.signing_public_key),
      signature: fromHex(item.signature),
    }));
    const recovery = entry.recovery_signing_key === null ? null : fromHex(entry.recovery_signing_key);
    const walk = verifyDeskKeyChainFrom(fromHex(entry.anchor_signing_key), entry.anchor_generation, slug, certificates, recovery);
    if (entry.valid) assert.equal((await walk).length, certificates.length, entry.description);
    else await assert.rejects(walk, DecryptionError, entry.description);
  }
});

test('the tab trusts a later desk key only as far as its certificates hold', async () => {
  const { slug, cases } = vectors.anchored_desk_key_chains;
  const [fromTwo] = cases;
  const named = fromHex(fromTwo.anchor_signing_key);
  const row = (generation, signingKey, certificate) => ({
    key_id: `key ${generation}`,
    generation,
    public_key: '00'.repeat(32),
    signing_public_key: signingKey,
    certificate,
  });
  const rows = [
    row(2, fromTwo.anchor_signing_key, null),
    ...fromTwo.certificates.map((c) => ({ ...row(c.generation, c.signing_public_key, c.signature), public_key: c.desk_public_key })),
  ];
  const trusted = await certifiedDeskKeys(named, rows, slug, verifyDeskKeyChainFrom);
  assert.deepEqual([...trusted.keys()], ['key 2', 'key 3', 'key 4']);
  assert.equal(toHex(trusted.get('key 4')), fromTwo.certificates[1].signing_public_key);
  const broken = rows.map((entry) => (entry.generation === 3 ? { ...entry, certificate: '00'.repeat(64) } : entry));
  assert.deepEqual([...(await certifiedDeskKeys(named, broken, slug, verifyDeskKeyChainFrom)).keys()], ['key 2']);
  assert.equal((await certifiedDeskKeys(null, rows, slug, verifyDeskKeyChainFrom)).size, 0);
});

test('the tab counts a link signed by the recovery key its submission names, and no other', async () => {
  const { slug, cases } = vectors.anchored_desk_key_chains;
  const named = cases.find((entry) => entry.description.includes('the recovery key the submission names'));
  const other = cases.find((entry) => entry.description.includes('a recovery key other than the one named'));
  const rows = [
    { key_id: 'key 2', generation: 2, public_key: '00'.repeat(32), signing_public_key: named.anchor_signing_key, certificate: null },
    ...named.certificates.map((c) => ({ key_id: `key ${c.generation}`, generation: c.generation, public_key: c.desk_public_key, signing_public_key: c.signing_public_key, certificate: c.signature })),
  ];
  const anchor = fromHex(named.anchor_signing_key);
  const trusted = (recovery) => certifiedDeskKeys(anchor, rows, slug, verifyDeskKeyChainFrom, recovery);
  assert.deepEqual([...(await trusted(fromHex(named.recovery_signing_key))).keys()], ['key 2', 'key 3', 'key 4']);
  assert.deepEqual([...(await trusted(fromHex(other.recovery_signing_key))).keys()], ['key 2']);
  assert.deepEqual([...(await trusted(null)).keys()], ['key 2']);
});
