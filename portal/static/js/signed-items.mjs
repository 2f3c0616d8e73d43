/**
 * Who sealed an item, as the inbox tab checks it before it shows or uses anything: the same rule
 * as `portal/services/submissions/provenance.py` (docs/FORMATS.md, "Signed items in use").
 *
 * The server hands the tab envelopes, contexts and signatures; it could have written any of them.
 * The anchors come from inside the sealed submission (`parley-signatures-v2`, or `v1` before the
 * recovery key was named): the submission's own signing key, which must also be the one this tab
 * derives from its codename, the desk signing key the submission named when it was sent and the
 * recovery signing key it named, if any. An item of a signed submission counts only
 * with a signature by its side's anchor under the context it is opened with; an item of a
 * submission sent before signatures must be unsigned, and proves nothing of its author, so an
 * unsigned consent change may only lower consent.
 *
 * Desk messages sealed under a desk key made after the submission was sent are checked with that
 * key's signing key as certified from the named one at each rotation, or by the named recovery
 * signing key (`certifiedDeskKeys`).
 *
 * Pure functions over a `verify(publicKey, context, envelope, signature)` that throws on a bad
 * signature (`verifyItem`), and `verifyChain` (`verifyDeskKeyChainFrom`), so that Node can test
 * them.
 */

export const SIGNATURES_FORMAT = 'parley-signatures-v2';
export const SIGNATURES_FORMAT_V1 = 'parley-signatures-v1';
export const SIGNED = 'signed';
export const BEFORE_SIGNATURES = 'before_signatures';
export const UNVERIFIED = 'unverified';

/** The submission itself does not verify: nothing of it may be shown or used. */
export class UnverifiedSubmissionError extends Error {}

function fromHex(text) {
  if (typeof text !== 'string' || !/^[0-9a-f]{64}$/.test(text)) return null;
  return Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16));
}

function sameBytes(a, b) {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}

/**
 * The anchors of an opened submission, its signature checked: `{submission, desk, recovery}` raw
 * keys, all `null` for a submission sent before signatures (`recovery` is `null` for a `v1` block).
 *
 * @param {object} payload the opened submission
 * @param {{context: string, envelope: Uint8Array, signature: Uint8Array|null}} item as stored
 * @param {Uint8Array} ownSigningKey the signing key this tab derives for the submission
 * @param {Function} verify `verifyItem`
 * @throws {UnverifiedSubmissionError} for a signature that does not verify, a block that is
 *   missing or malformed, a key other than the tab's own, or a block without a signature
 */
export async function submissionAnchors(payload, item, ownSigningKey, verify) {
  const block = payload?.signatures;
  if (item.signature === null) {
    if (block !== undefined) throw new UnverifiedSubmissionError('a signed submission without its signature');
    return { submission: null, desk: null, recovery: null };
  }
  const submission = fromHex(block?.submission_key);
  const desk = block?.desk_key === null ? null : fromHex(block?.desk_key);
  const v2 = block?.format === SIGNATURES_FORMAT && block.recovery_key !== undefined;
  const recovery = !v2 || block.recovery_key === null ? null : fromHex(block.recovery_key);
  const known = v2 || block?.format === SIGNATURES_FORMAT_V1;
  if (!known || submission === null || (block.desk_key !== null && desk === null) || (v2 && block.recovery_key !== null && recovery === null)) {
    throw new UnverifiedSubmissionError('the submission names no signing keys');
  }
  if (!sameBytes(submission, ownSigningKey)) {
    throw new UnverifiedSubmissionError('the submission names another signing key than this codename gives');
  }
  try {
    await verify(submission, item.context, item.envelope, item.signature);
  } catch {
    throw new UnverifiedSubmissionError("the submission's signature does not verify");
  }
  return { submission, desk, recovery };
}

/**
 * The rule for one item: `SIGNED`, `BEFORE_SIGNATURES` or `UNVERIFIED`.
 *
 * @param {object} anchors from `submissionAnchors`
 * @param {Uint8Array|null} key the anchor of the item's side (`anchors.submission` or
 *   `anchors.desk`)
 * @param {{context: string, envelope: Uint8Array, signature: Uint8Array|null}} item as stored
 * @param {Function} verify `verifyItem`
 */
export async function itemProvenance(anchors, key, item, verify) {
  if (anchors.submission === null) return item.signature === null ? BEFORE_SIGNATURES : UNVERIFIED;
  if (key === null || item.signature === null) return UNVERIFIED;
  try {
    await verify(key, item.context, item.envelope, item.signature);
    return SIGNED;
  } catch {
    return UNVERIFIED;
  }
}

/**
 * Whether a valid consent change counts: a signed one always, one sent before signatures only
 * if it lowers the person's consent (`levels` is the ladder, least exposure first), an
 * unverified one never.
 */
export function changeCounts(provenance, current, proposed, levels) {
  if (provenance === SIGNED) return true;
  if (provenance !== BEFORE_SIGNATURES) return false;
  return levels.indexOf(proposed?.level) <= levels.indexOf(current?.level);
}

/**
 * The desk signing key this tab may trust for each desk key of the dialogue, by key id: the one
 * the submission names, and each later one certified from it, link by link, at rotation or by the
 * recovery signing key the submission names, as far as the chain holds (the server's
 * `messages.certified_desk_signing_keys`).
 *
 * @param {Uint8Array|null} named `anchors.desk`
 * @param {Array<{key_id: string, generation: number, public_key: string,
 *   signing_public_key: string|null, certificate: string|null}>} deskKeys oldest first, hex
 * @param {string} slug the dialogue's
 * @param {Function} verifyChain `verifyDeskKeyChainFrom`
 * @param {Uint8Array|null} [recovery] `anchors.recovery`
 * @returns {Promise<Map<string, Uint8Array>>}
 */
export async function certifiedDeskKeys(named, deskKeys, slug, verifyChain, recovery = null) {
  const trusted = new Map();
  if (named === null) return trusted;
  const anchor = deskKeys.find((key) => {
    const signing = fromHex(key.signing_public_key);
    return signing !== null && sameBytes(signing, named);
  });
  if (anchor === undefined) return trusted;
  trusted.set(anchor.key_id, named);
  const chain = [];
  for (const key of deskKeys.filter((entry) => entry.generation > anchor.generation)) {
    const signingPublicKey = fromHex(key.signing_public_key);
    const certificate = fromSignatureHex(key.certificate);
    if (signingPublicKey === null || certificate === null) break;
    chain.push({ generation: key.generation, deskPublicKey: fromHex(key.public_key), signingPublicKey, signature: certificate });
    try {
      await verifyChain(named, anchor.generation, slug, chain, recovery);
    } catch {
      break;
    }
    trusted.set(key.key_id, signingPublicKey);
  }
  return trusted;
}

function fromSignatureHex(text) {
  if (typeof text !== 'string' || !/^[0-9a-f]{128}$/.test(text)) return null;
  return Uint8Array.from(text.match(/../g), (pair) => parseInt(pair, 16));
}
