/**
 * Parley's encryption in the browser.
 *
 * What a person writes into a Parley form is encrypted on their own device before it is sent, so
 * that the server stores only ciphertext it cannot read. This module produces exactly the bytes
 * the server's `crypto` package produces and reads; docs/FORMATS.md specifies them, and both
 * sides check the shared known-answer vectors in tests/vectors:
 *
 * - HPKE (RFC 9180) for Parley's one suite (FORMATS.md, "HPKE");
 * - envelope v1: one message, padded to a size bucket, for up to 16 recipients ("Envelope v1");
 * - STREAM v1: a file cut into 64 KiB chunks, each sealed with its index and a last-chunk flag
 *   ("STREAM v1");
 * - key ids and fingerprints of X25519 public keys ("Key ids and fingerprints");
 * - codenames: the words a submitter keeps, and the login secret and key derived from them
 *   ("Codenames");
 * - the proof of work a sign-in may be asked for while many fail ("Proof of work").
 *
 * It builds no envelope context of its own: pages carry the contexts the server made
 * (FORMATS.md, "Envelope contexts").
 *
 * It uses WebCrypto only (`globalThis.crypto`), has no dependencies and needs no build step, so it
 * runs unchanged in browsers and in Node 20. Every function that opens something throws one error
 * type, `DecryptionError`, whatever went wrong, and never returns part of a plaintext.
 */

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/**
 * Something handed to us (an envelope, an HPKE ciphertext, an encrypted file) did not open.
 *
 * The message never says which check failed: the right reaction is the same in every case
 * (refuse the input and use nothing derived from it), and telling a forger which check failed
 * only helps them.
 */
export class DecryptionError extends Error {
  constructor() {
    super('The data could not be decrypted: it is damaged, altered or not meant for this key.');
    this.name = 'DecryptionError';
  }
}

/** A codename as typed cannot be used; the message can be shown to the submitter. */
export class CodenameError extends Error {
  constructor(message) {
    super(message);
    this.name = 'CodenameError';
  }
}

/**
 * Run `operation` so that any failure inside it surfaces as a `DecryptionError`.
 *
 * WebCrypto reports a failed authentication as a generic `OperationError`, and malformed input can
 * surface as other exceptions; callers must see a single error type for all of them.
 */
async function failClosed(operation) {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof DecryptionError) throw error;
    throw new DecryptionError();
  }
}

// ---------------------------------------------------------------------------------------------
// Bytes
// ---------------------------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();

/** UTF-8 bytes of a string. */
function utf8(text) {
  return textEncoder.encode(text);
}

/** Concatenation of byte arrays (or plain arrays of byte values). */
function concat(...parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const result = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    result.set(part, offset);
    offset += part.length;
  }
  return result;
}

/** Big-endian encoding of a non-negative integer in `size` bytes (I2OSP). */
function bigEndian(value, size) {
  const bytes = new Uint8Array(size);
  for (let index = size - 1, rest = value; index >= 0; index -= 1) {
    bytes[index] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return bytes;
}

/** The 32-bit big-endian integer starting at `offset`. */
function readUint32(bytes, offset) {
  return new DataView(bytes.buffer, bytes.byteOffset + offset, 4).getUint32(0);
}

/** Whether two byte arrays hold the same bytes (all bytes compared, whatever differs first). */
export function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) difference |= a[index] ^ b[index];
  return difference === 0;
}

/** Lower-case hexadecimal form of bytes. */
function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** `n` bytes from the platform's cryptographic random number generator. */
function randomBytes(n) {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/**
 * Check that a caller passed a `Uint8Array` (of `length` bytes when given).
 *
 * These are programming mistakes in the calling page, not hostile input, so they raise
 * `TypeError`/`RangeError` rather than `DecryptionError`.
 */
function requireBytes(value, name, length) {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new RangeError(`${name} must be ${length} bytes, not ${value.length}`);
  }
  return value;
}

function requireString(value, name) {
  if (typeof value !== 'string') throw new TypeError(`${name} must be a string`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// WebCrypto primitives
// ---------------------------------------------------------------------------------------------

// Browsers offer WebCrypto only to secure contexts (HTTPS, localhost, onion services in Tor
// Browser). Failing at import makes a page fall back to its no-JavaScript form instead of failing
// later, half-way through encrypting.
if (!globalThis.crypto?.subtle) {
  throw new Error('WebCrypto is unavailable: Parley encryption needs HTTPS or an onion service.');
}
const subtle = globalThis.crypto.subtle;

const HASH_LENGTH = 32;
const KEY_LENGTH = 32;
const GCM_NONCE_LENGTH = 12;
const GCM_TAG_LENGTH = 16;

async function sha256(data) {
  return new Uint8Array(await subtle.digest('SHA-256', data));
}

async function hmacSha256(key, data) {
  const algorithm = { name: 'HMAC', hash: 'SHA-256' };
  const hmacKey = await subtle.importKey('raw', key, algorithm, false, ['sign']);
  return new Uint8Array(await subtle.sign('HMAC', hmacKey, data));
}

/**
 * HKDF-Extract (RFC 5869) with SHA-256.
 *
 * Implemented over HMAC because HPKE needs Extract and Expand as separate steps with its own
 * labelled inputs, which WebCrypto's all-in-one HKDF cannot express. An empty salt is replaced by
 * HashLen zero bytes as RFC 5869 prescribes (WebCrypto refuses zero-length HMAC keys; HMAC pads
 * the key with zeros, so the result is the same).
 */
async function hkdfExtract(salt, ikm) {
  return hmacSha256(salt.length > 0 ? salt : new Uint8Array(HASH_LENGTH), ikm);
}

/**
 * HKDF-Expand (RFC 5869) with SHA-256, for outputs of at most one hash block.
 *
 * Every length this module asks for (keys, seeds, nonces) is at most 32 bytes, so the output is
 * the first block T(1) = HMAC(PRK, info || 0x01) cut to `length`.
 */
async function hkdfExpand(prk, info, length) {
  if (length > HASH_LENGTH) throw new RangeError(`HKDF output is limited to ${HASH_LENGTH} bytes`);
  const block = await hmacSha256(prk, concat(info, [1]));
  return block.slice(0, length);
}

function importAesKey(rawKey, usage) {
  return subtle.importKey('raw', rawKey, { name: 'AES-GCM' }, false, [usage]);
}

async function aesGcmEncrypt(key, nonce, additionalData, plaintext) {
  const sealed = await subtle.encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData },
    key,
    plaintext,
  );
  return new Uint8Array(sealed);
}

async function aesGcmDecrypt(key, nonce, additionalData, ciphertext) {
  const opened = await subtle.decrypt(
    { name: 'AES-GCM', iv: nonce, additionalData },
    key,
    ciphertext,
  );
  return new Uint8Array(opened);
}

/**
 * DER prefix of a PKCS#8 X25519 private key (RFC 8410) in front of the raw 32 bytes.
 *
 * WebCrypto cannot import a raw X25519 private key; wrapping it in this fixed structure is the
 * portable way in.
 */
const PKCS8_X25519_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

/** The X25519 base point, u = 9, as 32 little-endian bytes. */
const X25519_BASE_POINT = concat([9], new Uint8Array(31));

/**
 * X25519(privateKey, publicKey) as raw bytes.
 *
 * WebCrypto rejects an all-zero result (a low-order public key), which is exactly the check
 * RFC 9180 section 7.1.4 requires of DHKEM(X25519).
 */
async function x25519(privateKey, publicKey) {
  const ownKey = await subtle.importKey(
    'pkcs8',
    concat(PKCS8_X25519_PREFIX, privateKey),
    { name: 'X25519' },
    false,
    ['deriveBits'],
  );
  const peerKey = await subtle.importKey('raw', publicKey, { name: 'X25519' }, false, []);
  const bits = await subtle.deriveBits({ name: 'X25519', public: peerKey }, ownKey, 256);
  return new Uint8Array(bits);
}

/**
 * The public key belonging to a raw X25519 private key.
 *
 * By definition (RFC 7748) it is X25519 of the private key with the base point, so it can be
 * computed without making the private key extractable.
 */
export function x25519PublicKey(privateKey) {
  return x25519(privateKey, X25519_BASE_POINT);
}

// ---------------------------------------------------------------------------------------------
// HPKE (RFC 9180), base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM
// ---------------------------------------------------------------------------------------------

const HPKE_VERSION_LABEL = utf8('HPKE-v1');
const KEM_SUITE_ID = concat(utf8('KEM'), [0x00, 0x20]);
const HPKE_SUITE_ID = concat(utf8('HPKE'), [0x00, 0x20, 0x00, 0x01, 0x00, 0x02]);
const MODE_BASE = 0x00;
const X25519_KEY_LENGTH = 32;

function labeledExtract(suiteId, salt, label, ikm) {
  return hkdfExtract(salt, concat(HPKE_VERSION_LABEL, suiteId, utf8(label), ikm));
}

function labeledExpand(suiteId, prk, label, info, length) {
  const labeledInfo = concat(bigEndian(length, 2), HPKE_VERSION_LABEL, suiteId, utf8(label), info);
  return hkdfExpand(prk, labeledInfo, length);
}

/**
 * DeriveKeyPair for DHKEM(X25519) (RFC 9180 section 7.1.3): a key pair determined by `ikm`.
 *
 * Parley uses it only through the RFC's known-answer tests; it shows this module's labelled
 * HKDF matches the standard.
 *
 * @param {Uint8Array} ikm input keying material
 * @returns {Promise<{privateKey: Uint8Array, publicKey: Uint8Array}>} raw 32-byte keys
 */
export async function hpkeDeriveKeyPair(ikm) {
  requireBytes(ikm, 'ikm');
  const prk = await labeledExtract(KEM_SUITE_ID, EMPTY, 'dkp_prk', ikm);
  const privateKey = await labeledExpand(KEM_SUITE_ID, prk, 'sk', EMPTY, X25519_KEY_LENGTH);
  return { privateKey, publicKey: await x25519PublicKey(privateKey) };
}

/** DHKEM ExtractAndExpand: the KEM shared secret from a Diffie-Hellman result. */
async function kemSharedSecret(dh, enc, recipientPublicKey) {
  const prk = await labeledExtract(KEM_SUITE_ID, EMPTY, 'eae_prk', dh);
  const kemContext = concat(enc, recipientPublicKey);
  return labeledExpand(KEM_SUITE_ID, prk, 'shared_secret', kemContext, HASH_LENGTH);
}

/**
 * The HPKE key schedule for base mode (no PSK): the AEAD key and base nonce of a context.
 *
 * @param {Uint8Array} sharedSecret the KEM shared secret (32 bytes)
 * @param {Uint8Array} info application-supplied context binding
 * @returns {Promise<{key: Uint8Array, baseNonce: Uint8Array}>}
 */
export async function hpkeKeySchedule(sharedSecret, info) {
  requireBytes(sharedSecret, 'sharedSecret', HASH_LENGTH);
  requireBytes(info, 'info');
  const pskIdHash = await labeledExtract(HPKE_SUITE_ID, EMPTY, 'psk_id_hash', EMPTY);
  const infoHash = await labeledExtract(HPKE_SUITE_ID, EMPTY, 'info_hash', info);
  const scheduleContext = concat([MODE_BASE], pskIdHash, infoHash);
  const secret = await labeledExtract(HPKE_SUITE_ID, sharedSecret, 'secret', EMPTY);
  const key = await labeledExpand(HPKE_SUITE_ID, secret, 'key', scheduleContext, KEY_LENGTH);
  const baseNonce = await labeledExpand(
    HPKE_SUITE_ID,
    secret,
    'base_nonce',
    scheduleContext,
    GCM_NONCE_LENGTH,
  );
  return { key, baseNonce };
}

/** The nonce of message number `sequence`: the base nonce XOR the big-endian sequence number. */
function sequenceNonce(baseNonce, sequence) {
  const counter = bigEndian(sequence, GCM_NONCE_LENGTH);
  return baseNonce.map((byte, index) => byte ^ counter[index]);
}

/**
 * Set up a sender context (SetupBaseS) to `recipientPublicKey`.
 *
 * Each call of `seal` uses the next sequence number; the number is taken when `seal` is called,
 * so concurrent calls still get distinct nonces. `sharedSecret` is exposed so that known-answer
 * tests can check the KEM step on its own; it is the sender's own secret and protects nothing
 * beyond what the context already can.
 *
 * @param {Uint8Array} recipientPublicKey raw 32-byte X25519 public key
 * @param {Uint8Array} info application-supplied context binding
 * @param {{ephemeralPrivate?: Uint8Array}} [options] a fixed ephemeral key, for known-answer
 *   tests only; by default a fresh random one is used
 * @returns {Promise<{enc: Uint8Array, sharedSecret: Uint8Array,
 *   seal: (aad: Uint8Array, plaintext: Uint8Array) => Promise<Uint8Array>}>}
 */
export async function hpkeSetupBaseS(recipientPublicKey, info, { ephemeralPrivate } = {}) {
  requireBytes(recipientPublicKey, 'recipientPublicKey', X25519_KEY_LENGTH);
  requireBytes(info, 'info');
  const ephemeral =
    ephemeralPrivate === undefined
      ? randomBytes(X25519_KEY_LENGTH)
      : requireBytes(ephemeralPrivate, 'ephemeralPrivate', X25519_KEY_LENGTH);
  const enc = await x25519PublicKey(ephemeral);
  const dh = await x25519(ephemeral, recipientPublicKey);
  const sharedSecret = await kemSharedSecret(dh, enc, recipientPublicKey);
  const { key, baseNonce } = await hpkeKeySchedule(sharedSecret, info);
  const aesKey = await importAesKey(key, 'encrypt');
  let sequence = 0;
  return {
    enc,
    sharedSecret,
    async seal(aad, plaintext) {
      requireBytes(aad, 'aad');
      requireBytes(plaintext, 'plaintext');
      const nonce = sequenceNonce(baseNonce, sequence);
      sequence += 1;
      return aesGcmEncrypt(aesKey, nonce, aad, plaintext);
    },
  };
}

/**
 * Single-shot HPKE seal: encrypt one message to `recipientPublicKey` (sequence number 0).
 *
 * @returns {Promise<{enc: Uint8Array, ciphertext: Uint8Array}>} the ephemeral public key and the
 *   ciphertext with its 16-byte tag; Parley stores them as `enc || ciphertext`
 */
export async function hpkeSeal(recipientPublicKey, info, aad, plaintext, options = {}) {
  const context = await hpkeSetupBaseS(recipientPublicKey, info, options);
  return { enc: context.enc, ciphertext: await context.seal(aad, plaintext) };
}

/**
 * Single-shot HPKE open: decrypt what `hpkeSeal` made for the holder of `recipientPrivateKey`.
 *
 * @throws {DecryptionError} for a wrong key, wrong `info` or `aad`, or any altered byte
 */
export async function hpkeOpen(recipientPrivateKey, enc, info, aad, ciphertext) {
  requireBytes(recipientPrivateKey, 'recipientPrivateKey', X25519_KEY_LENGTH);
  requireBytes(enc, 'enc');
  requireBytes(info, 'info');
  requireBytes(aad, 'aad');
  requireBytes(ciphertext, 'ciphertext');
  return failClosed(async () => {
    const recipientPublicKey = await x25519PublicKey(recipientPrivateKey);
    const dh = await x25519(recipientPrivateKey, enc);
    const sharedSecret = await kemSharedSecret(dh, enc, recipientPublicKey);
    const { key, baseNonce } = await hpkeKeySchedule(sharedSecret, info);
    return aesGcmDecrypt(await importAesKey(key, 'decrypt'), baseNonce, aad, ciphertext);
  });
}

// ---------------------------------------------------------------------------------------------
// Key ids and fingerprints
// ---------------------------------------------------------------------------------------------

const KEY_ID_LABEL = concat(utf8('parley key id v1'), [0]);
const FINGERPRINT_LABEL = concat(utf8('parley fingerprint v1'), [0]);
const KEY_ID_LENGTH = 16;
const FINGERPRINT_LENGTH = 20;

/**
 * The 16-byte id that names a recipient's slot in an envelope.
 *
 * @param {Uint8Array} publicKey raw 32-byte X25519 public key
 * @returns {Promise<Uint8Array>}
 */
export async function keyId(publicKey) {
  requireBytes(publicKey, 'publicKey', X25519_KEY_LENGTH);
  return (await sha256(concat(KEY_ID_LABEL, publicKey))).slice(0, KEY_ID_LENGTH);
}

/**
 * The fingerprint people compare to check they have the right key: "ABCD EF01 ..." (10 groups of
 * 4 upper-case hex digits). It uses its own label, so it reveals nothing about key ids.
 *
 * @param {Uint8Array} publicKey raw 32-byte X25519 public key
 * @returns {Promise<string>}
 */
export async function fingerprint(publicKey) {
  requireBytes(publicKey, 'publicKey', X25519_KEY_LENGTH);
  const digest = await sha256(concat(FINGERPRINT_LABEL, publicKey));
  const digits = toHex(digest.subarray(0, FINGERPRINT_LENGTH)).toUpperCase();
  return digits.match(/.{4}/g).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Envelope v1 (docs/FORMATS.md, "Envelope v1": layout, padding buckets, order of the checks)
//
// Each wrap binds the context digest and its slot's key id, so it cannot be moved to another
// context or slot; padding to a bucket keeps the length from saying how much was written.
// ---------------------------------------------------------------------------------------------

const ENVELOPE_MAGIC = utf8('PRLE');
const ENVELOPE_VERSION = 1;
const ENVELOPE_FLAGS = 0;
const CONTEXT_LABEL = concat(utf8('parley context v1'), [0]);
const WRAP_INFO_LABEL = concat(utf8('parley envelope v1'), [0]);
const DIGEST_OFFSET = 6;
const COUNT_OFFSET = 38;
const SLOTS_OFFSET = 39;
const WRAP_LENGTH = 80;
const SLOT_LENGTH = KEY_ID_LENGTH + WRAP_LENGTH;
const MAX_RECIPIENTS = 16;
const LENGTH_PREFIX = 4;
const SMALLEST_BUCKET = 1024;
const LARGE_BUCKET_STEP = 65536;

/** The largest plaintext an envelope may hold: 16 MiB. */
export const MAX_PLAINTEXT = 16 * 1024 * 1024;

/**
 * The padded size for `size` bytes (length prefix included).
 *
 * Powers of two from 1024 to 65536, then multiples of 65536: an observer learns roughly how much
 * was written, never the exact length.
 */
function bucketSize(size) {
  if (size > LARGE_BUCKET_STEP) return Math.ceil(size / LARGE_BUCKET_STEP) * LARGE_BUCKET_STEP;
  let bucket = SMALLEST_BUCKET;
  while (bucket < size) bucket *= 2;
  return bucket;
}

const LARGEST_BUCKET = bucketSize(LENGTH_PREFIX + MAX_PLAINTEXT);

/** Whether `size` is a padded size `pad` can produce (1024 up to 16 MiB + 64 KiB). */
function isBucketSize(size) {
  return size <= LARGEST_BUCKET && bucketSize(size) === size;
}

/**
 * The digest an envelope carries to name what it is for (e.g. a dialogue and a kind of record).
 *
 * @param {string} context
 * @returns {Promise<Uint8Array>} 32 bytes
 */
function contextDigest(context) {
  return sha256(concat(CONTEXT_LABEL, utf8(context)));
}

function wrapInfo(digest, slotKeyId) {
  return concat(WRAP_INFO_LABEL, digest, slotKeyId);
}

function pad(plaintext) {
  const padded = new Uint8Array(bucketSize(LENGTH_PREFIX + plaintext.length));
  padded.set(bigEndian(plaintext.length, LENGTH_PREFIX));
  padded.set(plaintext, LENGTH_PREFIX);
  return padded;
}

/** The plaintext inside `padded`, refusing a wrong length or any non-zero padding byte. */
function unpad(padded) {
  const length = readUint32(padded, 0);
  const end = LENGTH_PREFIX + length;
  if (length > MAX_PLAINTEXT || end > padded.length) throw new DecryptionError();
  let padding = 0;
  for (let index = end; index < padded.length; index += 1) padding |= padded[index];
  if (padding !== 0) throw new DecryptionError();
  return padded.slice(LENGTH_PREFIX, end);
}

/** Recipient public keys checked for count, length and distinct key ids, with their ids. */
async function envelopeRecipients(recipients) {
  if (!Array.isArray(recipients)) throw new TypeError('recipients must be an array');
  if (recipients.length < 1 || recipients.length > MAX_RECIPIENTS) {
    throw new RangeError(`an envelope has 1 to ${MAX_RECIPIENTS} recipients`);
  }
  const keyIds = await Promise.all(recipients.map((publicKey) => keyId(publicKey)));
  if (new Set(keyIds.map(toHex)).size !== keyIds.length) {
    throw new RangeError('the same recipient key is listed twice');
  }
  return recipients.map((publicKey, index) => ({ publicKey, keyId: keyIds[index] }));
}

/**
 * Encrypt `plaintext` so that each recipient's private key opens it under `context`.
 *
 * A fresh random data key encrypts the padded plaintext and is wrapped to each recipient with
 * HPKE. Strings are encoded as UTF-8.
 *
 * @param {Uint8Array|string} plaintext at most `MAX_PLAINTEXT` bytes
 * @param {Uint8Array[]} recipients 1 to 16 distinct raw 32-byte X25519 public keys
 * @param {string} context what the envelope is for; opening needs the same string
 * @returns {Promise<Uint8Array>} the envelope
 */
export async function sealEnvelope(plaintext, recipients, context) {
  const message =
    typeof plaintext === 'string' ? utf8(plaintext) : requireBytes(plaintext, 'plaintext');
  if (message.length > MAX_PLAINTEXT) {
    throw new RangeError(`an envelope holds at most ${MAX_PLAINTEXT} bytes`);
  }
  const slotsFor = await envelopeRecipients(recipients);
  const digest = await contextDigest(requireString(context, 'context'));
  const dataKey = randomBytes(KEY_LENGTH);
  const slots = await Promise.all(
    slotsFor.map(async (recipient) => {
      const info = wrapInfo(digest, recipient.keyId);
      const { enc, ciphertext } = await hpkeSeal(recipient.publicKey, info, EMPTY, dataKey);
      return concat(recipient.keyId, enc, ciphertext);
    }),
  );
  const nonce = randomBytes(GCM_NONCE_LENGTH);
  const header = concat(
    ENVELOPE_MAGIC,
    [ENVELOPE_VERSION, ENVELOPE_FLAGS],
    digest,
    [slots.length],
    ...slots,
    nonce,
  );
  const aesKey = await importAesKey(dataKey, 'encrypt');
  return concat(header, await aesGcmEncrypt(aesKey, nonce, header, pad(message)));
}

/**
 * Parse an envelope strictly, without decrypting anything.
 *
 * Checks magic, version, flags, 1 to 16 recipients, distinct key ids and a payload whose size is
 * a bucket plus the tag.
 *
 * @throws {DecryptionError} for anything malformed
 */
function parseEnvelope(envelope) {
  if (envelope.length < SLOTS_OFFSET) throw new DecryptionError();
  if (!equalBytes(envelope.subarray(0, ENVELOPE_MAGIC.length), ENVELOPE_MAGIC)) {
    throw new DecryptionError();
  }
  if (envelope[4] !== ENVELOPE_VERSION || envelope[5] !== ENVELOPE_FLAGS) {
    throw new DecryptionError();
  }
  const count = envelope[COUNT_OFFSET];
  if (count < 1 || count > MAX_RECIPIENTS) throw new DecryptionError();
  const nonceOffset = SLOTS_OFFSET + SLOT_LENGTH * count;
  const payloadOffset = nonceOffset + GCM_NONCE_LENGTH;
  const payloadLength = envelope.length - payloadOffset;
  if (!isBucketSize(payloadLength - GCM_TAG_LENGTH)) throw new DecryptionError();
  const slots = [];
  for (let offset = SLOTS_OFFSET; offset < nonceOffset; offset += SLOT_LENGTH) {
    slots.push({
      keyId: envelope.slice(offset, offset + KEY_ID_LENGTH),
      wrap: envelope.slice(offset + KEY_ID_LENGTH, offset + SLOT_LENGTH),
    });
  }
  if (new Set(slots.map((slot) => toHex(slot.keyId))).size !== count) throw new DecryptionError();
  return {
    version: envelope[4],
    contextDigest: envelope.slice(DIGEST_OFFSET, COUNT_OFFSET),
    slots,
    header: envelope.subarray(0, payloadOffset),
    nonce: envelope.subarray(nonceOffset, payloadOffset),
    payload: envelope.subarray(payloadOffset),
  };
}

/**
 * What can be learnt from an envelope without a key, so a page or the server can check that it
 * names the expected context and recipients before sending or storing it.
 *
 * @param {Uint8Array} envelope
 * @returns {{version: number, contextDigest: Uint8Array, keyIds: Uint8Array[],
 *   payloadLength: number}} `payloadLength` counts every byte after the payload nonce (the
 *   encrypted padded plaintext and its 16-byte tag)
 * @throws {DecryptionError} for anything malformed
 */
export function inspectEnvelope(envelope) {
  const parsed = parseEnvelope(requireBytes(envelope, 'envelope'));
  return {
    version: parsed.version,
    contextDigest: parsed.contextDigest,
    keyIds: parsed.slots.map((slot) => slot.keyId),
    payloadLength: parsed.payload.length,
  };
}

/**
 * Decrypt an envelope addressed to `privateKey` under `context`.
 *
 * Parses strictly, checks the context, finds the slot carrying this key's id, opens the wrap,
 * opens the payload, then checks the declared length and that every padding byte is zero.
 *
 * @param {Uint8Array} envelope
 * @param {Uint8Array} privateKey raw 32-byte X25519 private key of one recipient
 * @param {string} context the context the envelope was sealed for
 * @returns {Promise<Uint8Array>} the plaintext
 * @throws {DecryptionError} whatever went wrong; no partial plaintext is ever returned
 */
export async function openEnvelope(envelope, privateKey, context) {
  requireBytes(envelope, 'envelope');
  requireBytes(privateKey, 'privateKey', X25519_KEY_LENGTH);
  requireString(context, 'context');
  return failClosed(async () => {
    const parsed = parseEnvelope(envelope);
    if (!equalBytes(parsed.contextDigest, await contextDigest(context))) {
      throw new DecryptionError();
    }
    const ownKeyId = await keyId(await x25519PublicKey(privateKey));
    const slot = parsed.slots.find((candidate) => equalBytes(candidate.keyId, ownKeyId));
    if (slot === undefined) throw new DecryptionError();
    // The digest and key id bound into the wrap are the ones in the header, checked just above.
    const info = wrapInfo(parsed.contextDigest, slot.keyId);
    const enc = slot.wrap.subarray(0, X25519_KEY_LENGTH);
    const wrappedKey = slot.wrap.subarray(X25519_KEY_LENGTH);
    const dataKey = await hpkeOpen(privateKey, enc, info, EMPTY, wrappedKey);
    const aesKey = await importAesKey(dataKey, 'decrypt');
    return unpad(await aesGcmDecrypt(aesKey, parsed.nonce, parsed.header, parsed.payload));
  });
}

// ---------------------------------------------------------------------------------------------
// STREAM v1, attachments (docs/FORMATS.md, "STREAM v1": header, chunking, nonces)
//
// The index and the last-chunk flag in each nonce make a truncated, extended, reordered or
// spliced file fail to authenticate.
// ---------------------------------------------------------------------------------------------

const STREAM_MAGIC = utf8('PRLS');
const STREAM_VERSION = 1;
export const CHUNK_SIZE = 65536;
const NONCE_PREFIX_LENGTH = 7;
const STREAM_HEADER_LENGTH = 16;
const SEALED_CHUNK_LENGTH = CHUNK_SIZE + GCM_TAG_LENGTH;
const LAST_CHUNK_INDEX = 0xffffffff;

function streamHeader(noncePrefix) {
  return concat(STREAM_MAGIC, [STREAM_VERSION], bigEndian(CHUNK_SIZE, 4), noncePrefix);
}

function chunkNonce(noncePrefix, index, isLast) {
  return concat(noncePrefix, bigEndian(index, 4), [isLast ? 1 : 0]);
}

/**
 * The number of chunks a file of `size` bytes is cut into: full chunks, then a last chunk holding
 * the rest. An empty file is a single empty chunk; a non-empty file whose size is a multiple of
 * the chunk size ends with a full chunk (there is no trailing empty chunk).
 */
function chunkCount(size) {
  return Math.max(1, Math.ceil(size / CHUNK_SIZE));
}

/** Size in bytes of the encrypted form of a `size`-byte file. */
export function encryptedSize(size) {
  return STREAM_HEADER_LENGTH + size + GCM_TAG_LENGTH * chunkCount(size);
}

/** The smallest size an attachment is padded to: one chunk (docs/FORMATS.md). */
export const MIN_PADDED_FILE_SIZE = CHUNK_SIZE;

/**
 * The size a file of `size` bytes is padded to with zero bytes before it is encrypted: Padmé over
 * a 64 KiB floor, as `crypto.file_padding.padded_file_size` computes it. Plain arithmetic rather
 * than bit operations, which JavaScript does on 32 bits only.
 */
export function paddedFileSize(size) {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError('a file size is a count of bytes');
  }
  const floored = Math.max(size, MIN_PADDED_FILE_SIZE);
  let exponent = 0;
  while (2 ** (exponent + 1) <= floored) exponent += 1;
  let exponentBits = 0;
  while (2 ** exponentBits <= exponent) exponentBits += 1;
  const step = 2 ** (exponent - exponentBits);
  return Math.ceil(floored / step) * step;
}

/**
 * Start encrypting one file under `key`, chunk by chunk, so a large file never has to be held in
 * memory whole.
 *
 * Send `header` first, then the result of each `encryptChunk` call in order. Every chunk but the
 * last must hold exactly 65536 bytes; the last (`isLast` true) holds 0 to 65536 bytes, and no
 * chunk may follow it. The chunk index is taken when `encryptChunk` is called, so calls made
 * without waiting for the previous one still get the right indices, in call order.
 *
 * @param {Uint8Array} key the file's own random 32-byte key
 * @param {{noncePrefix?: Uint8Array}} [options] a fixed 7-byte nonce prefix, for known-answer
 *   tests only; by default a random one is used
 * @returns {{header: Uint8Array,
 *   encryptChunk: (plaintext: Uint8Array, isLast: boolean) => Promise<Uint8Array>}}
 */
export function createStreamEncryptor(key, { noncePrefix } = {}) {
  requireBytes(key, 'key', KEY_LENGTH);
  const prefix =
    noncePrefix === undefined
      ? randomBytes(NONCE_PREFIX_LENGTH)
      : requireBytes(noncePrefix, 'noncePrefix', NONCE_PREFIX_LENGTH).slice();
  const header = streamHeader(prefix);
  const aesKey = importAesKey(key, 'encrypt');
  let nextIndex = 0;
  let finished = false;
  return {
    header: header.slice(),
    async encryptChunk(plaintext, isLast) {
      requireBytes(plaintext, 'plaintext');
      if (typeof isLast !== 'boolean') throw new TypeError('isLast must be true or false');
      if (finished) throw new Error('the last chunk has already been encrypted');
      if (isLast ? plaintext.length > CHUNK_SIZE : plaintext.length !== CHUNK_SIZE) {
        throw new RangeError(`a chunk before the last holds exactly ${CHUNK_SIZE} bytes`);
      }
      if (nextIndex > LAST_CHUNK_INDEX) throw new RangeError('a file has at most 2^32 chunks');
      const nonce = chunkNonce(prefix, nextIndex, isLast);
      nextIndex += 1;
      finished = isLast;
      return aesGcmEncrypt(await aesKey, nonce, header, plaintext);
    },
  };
}

/** Bytes `start` to `end` of a Blob (read from disk as needed) or of a Uint8Array. */
async function readRange(source, start, end) {
  if (source instanceof Uint8Array) return source.subarray(start, end);
  return new Uint8Array(await source.slice(start, end).arrayBuffer());
}

/**
 * Encrypt a whole file (a Blob or File, or bytes) into one STREAM v1 ciphertext.
 *
 * A Blob is read one chunk at a time; the result is built in one buffer, so this suits files
 * small enough to upload in one request. Larger files use `createStreamEncryptor` directly.
 *
 * @param {Blob|Uint8Array} source
 * @param {Uint8Array} key the file's own random 32-byte key
 * @param {{noncePrefix?: Uint8Array}} [options] as for `createStreamEncryptor`
 * @returns {Promise<Uint8Array>}
 */
export async function encryptBlob(source, key, options = {}) {
  const isBlob = source instanceof Blob;
  if (!isBlob && !(source instanceof Uint8Array)) {
    throw new TypeError('source must be a Blob or a Uint8Array');
  }
  const size = isBlob ? source.size : source.length;
  const encryptor = createStreamEncryptor(key, options);
  const output = new Uint8Array(encryptedSize(size));
  output.set(encryptor.header);
  let offset = encryptor.header.length;
  const count = chunkCount(size);
  for (let index = 0; index < count; index += 1) {
    const start = index * CHUNK_SIZE;
    const piece = await readRange(source, start, Math.min(size, start + CHUNK_SIZE));
    const sealed = await encryptor.encryptChunk(piece, index === count - 1);
    output.set(sealed, offset);
    offset += sealed.length;
  }
  return output;
}

/**
 * Decrypt a whole STREAM v1 ciphertext held in memory.
 *
 * Reads 65536 + 16 bytes at a time; a chunk is the last exactly when no byte follows it, and its
 * nonce must say so. Returns the plaintext only once every chunk has authenticated.
 *
 * @param {Uint8Array} ciphertext header and chunks
 * @param {Uint8Array} key the file's 32-byte key
 * @returns {Promise<Uint8Array>}
 * @throws {DecryptionError} for a wrong header, a wrong key, or any altered, missing, extra,
 *   reordered or duplicated chunk
 */
export async function decryptStream(ciphertext, key) {
  requireBytes(ciphertext, 'ciphertext');
  requireBytes(key, 'key', KEY_LENGTH);
  return failClosed(async () => {
    const header = ciphertext.subarray(0, STREAM_HEADER_LENGTH);
    if (
      header.length !== STREAM_HEADER_LENGTH ||
      !equalBytes(header.subarray(0, STREAM_MAGIC.length), STREAM_MAGIC) ||
      header[4] !== STREAM_VERSION ||
      readUint32(header, 5) !== CHUNK_SIZE
    ) {
      throw new DecryptionError();
    }
    const prefix = header.subarray(9);
    const aesKey = await importAesKey(key, 'decrypt');
    const pieces = [];
    for (let offset = STREAM_HEADER_LENGTH, index = 0; ; index += 1) {
      const isLast = ciphertext.length - offset <= SEALED_CHUNK_LENGTH;
      if (index > LAST_CHUNK_INDEX) throw new DecryptionError();
      const end = isLast ? ciphertext.length : offset + SEALED_CHUNK_LENGTH;
      const nonce = chunkNonce(prefix, index, isLast);
      pieces.push(await aesGcmDecrypt(aesKey, nonce, header, ciphertext.subarray(offset, end)));
      if (isLast) return concat(...pieces);
      offset = end;
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Codenames (docs/FORMATS.md, "Codenames": canonical form, derivation)
//
// A submitter's codename is 8 words from one BIP-39 word list. With JavaScript the browser turns
// it into a login secret (all the server receives) and the seed of the submitter's own X25519
// key, so the server never sees the codename or that key. The two Turkish rules of the canonical
// form make "kıdemli", "KIDEMLI" and "KIDEMLİ" one word: case folding alone maps I to i, never
// to ı.
//
// Whether the words are in a shipped list is checked by the server; here only the count is.
// ---------------------------------------------------------------------------------------------

const CODENAME_WORDS = 8;
const CODENAME_SALT = utf8('parley codename v1');
const LOGIN_SECRET_INFO = utf8('parley login secret v1');
const KEY_SEED_INFO = utf8('parley submitter key v1');
const PBKDF2_ITERATIONS = 600000;

/**
 * Full case folding where it differs from `toLowerCase`, for text already in NFKD.
 *
 * The server folds with Unicode full case folding (Python's `str.casefold`); JavaScript only has
 * lower-casing. After NFKD the two differ on exactly these characters, and on Cherokee, whose
 * lower-case letters (U+13F8-U+13FD, U+AB70-U+ABBF) fold to the upper-case ones.
 */
const FOLD_AFTER_LOWER_CASE = new Map([
  ['\u00df', 'ss'],
  ['\u0345', '\u03b9'],
  ['\u03c2', '\u03c3'],
  ['\u1c80', '\u0432'],
  ['\u1c81', '\u0434'],
  ['\u1c82', '\u043e'],
  ['\u1c83', '\u0441'],
  ['\u1c84', '\u0442'],
  ['\u1c85', '\u0442'],
  ['\u1c86', '\u044a'],
  ['\u1c87', '\u0463'],
  ['\u1c88', '\ua64b'],
]);
const FOLD_PATTERN = /[\u00df\u0345\u03c2\u1c80-\u1c88\u13f8-\u13fd\uab70-\uabbf]/gu;

function foldLetter(letter) {
  const folded = FOLD_AFTER_LOWER_CASE.get(letter);
  if (folded !== undefined) return folded;
  const codePoint = letter.codePointAt(0);
  const upperCase = codePoint >= 0xab70 ? codePoint - 0xab70 + 0x13a0 : codePoint - 0x13f8 + 0x13f0;
  return String.fromCodePoint(upperCase);
}

/** Unicode full case folding of NFKD text, as Python's `str.casefold` does it. */
function caseFold(text) {
  return text.toLowerCase().replace(FOLD_PATTERN, foldLetter);
}

const DOTLESS_I_OR_DOT_ABOVE = /[\u0131\u0307]/gu;

/** Dotless i becomes i and U+0307 COMBINING DOT ABOVE goes, after NFKD and case folding. */
function foldTurkishI(text) {
  return text.replace(DOTLESS_I_OR_DOT_ABOVE, (letter) => (letter === '\u0131' ? 'i' : ''));
}

/**
 * Runs of whitespace, hyphens or dots, which separate the words of a codename.
 *
 * "Whitespace" is spelled out as the characters Python's `str.isspace` accepts, which the server
 * uses; JavaScript's `\s` differs (it includes U+FEFF and lacks U+001C-U+001F and U+0085).
 */
const WORD_SEPARATORS =
  /[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000.-]+/u;

/**
 * The canonical form of a codename as typed: what the derivation is computed over.
 *
 * Case (Turkish capitals İ and I included), accents typed as separate marks, and the spacing,
 * hyphens or dots between words do not matter, so a submitter can type their codename however it
 * comes to them.
 *
 * @param {string} text the codename as typed
 * @returns {string} eight words joined by single spaces
 * @throws {CodenameError} if the text does not hold exactly eight words
 */
export function normaliseCodename(text) {
  if (typeof text !== 'string') throw new CodenameError('Please type your codename.');
  const words = foldTurkishI(caseFold(text.normalize('NFKD')))
    .split(WORD_SEPARATORS)
    .filter((word) => word.length > 0);
  if (words.length !== CODENAME_WORDS) {
    throw new CodenameError(
      `A codename has ${CODENAME_WORDS} words; ${words.length} were typed. Please check it.`,
    );
  }
  return words.join(' ');
}

async function pbkdf2Sha256(password, salt, iterations) {
  const passwordKey = await subtle.importKey('raw', password, 'PBKDF2', false, ['deriveBits']);
  const bits = await subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    passwordKey,
    HASH_LENGTH * 8,
  );
  return new Uint8Array(bits);
}

/**
 * The login secret and submitter key derived from a codename.
 *
 * PBKDF2 with 600000 iterations makes each guess slow; the codename's 88 bits of entropy do the
 * rest. It takes a noticeable moment (a tenth of a second or more, longer on phones), so call it
 * once per login and show that something is happening.
 *
 * @param {string} codename as typed (it is normalised first)
 * @returns {Promise<{loginSecret: Uint8Array, keySeed: Uint8Array, publicKey: Uint8Array}>}
 *   `keySeed` is the raw X25519 private key; `publicKey` its public half
 * @throws {CodenameError} if the text does not hold exactly eight words
 */
export async function deriveCodenameSecrets(codename) {
  const canonical = normaliseCodename(codename);
  const master = await pbkdf2Sha256(utf8(canonical), CODENAME_SALT, PBKDF2_ITERATIONS);
  const prk = await hkdfExtract(EMPTY, master);
  const loginSecret = await hkdfExpand(prk, LOGIN_SECRET_INFO, KEY_LENGTH);
  const keySeed = await hkdfExpand(prk, KEY_SEED_INFO, KEY_LENGTH);
  return { loginSecret, keySeed, publicKey: await x25519PublicKey(keySeed) };
}

// ---------------------------------------------------------------------------------------------
// Signing keys and signed items (docs/FORMATS.md, "Signing keys", "Signed item v1")
//
// Every sealed item carries its author's Ed25519 signature over its context and the SHA-256 of
// the envelope as stored, so a row forged by whoever can write to the database is shown as
// unverified and never used. Signing keys have their own key id and fingerprint labels.
// ---------------------------------------------------------------------------------------------

const SEED_LENGTH = 32;
const SIGNING_PUBLIC_KEY_LENGTH = 32;
const SIGNATURE_LENGTH = 64;
const SIGNING_KEY_ID_LABEL = concat(utf8('parley signing key id v1'), [0]);
const SIGNING_FINGERPRINT_LABEL = concat(utf8('parley signing fingerprint v1'), [0]);
const SIGNED_ITEM_LABEL = concat(utf8('parley signed item v1'), [0]);

/**
 * DER prefix of a PKCS#8 Ed25519 private key (RFC 8410) in front of the 32-byte seed: the
 * portable way to import a seed into WebCrypto.
 */
const PKCS8_ED25519_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

/** Bytes of unpadded base64url text (a JWK member). */
function fromBase64Url(text) {
  const base64 = text.replaceAll('-', '+').replaceAll('_', '/');
  return Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (char) =>
    char.charCodeAt(0),
  );
}

/**
 * The Ed25519 private key of a seed, and its raw public key.
 *
 * WebCrypto cannot compute a public key from a private one except by exporting it, so the key is
 * imported extractable and exported as a JWK, whose `x` is the public key (RFC 8037).
 */
async function ed25519KeyPair(seed) {
  requireBytes(seed, 'seed', SEED_LENGTH);
  const privateKey = await subtle.importKey(
    'pkcs8',
    concat(PKCS8_ED25519_PREFIX, seed),
    { name: 'Ed25519' },
    true,
    ['sign'],
  );
  const { x } = await subtle.exportKey('jwk', privateKey);
  return { privateKey, publicKey: fromBase64Url(x) };
}

async function ed25519Sign(seed, message) {
  const { privateKey } = await ed25519KeyPair(seed);
  return new Uint8Array(await subtle.sign({ name: 'Ed25519' }, privateKey, message));
}

/**
 * Check a plain Ed25519 signature (RFC 8032) of any message.
 *
 * Parley verifies only its labelled messages (`verifyItem`, `verifyDeskKeyChain`); this is the
 * Ed25519 under them, exported so that RFC 8032's own known answers can be checked against it. A
 * key or signature of the wrong length arrives from the server, so it fails like a signature
 * that does not verify.
 *
 * @param {Uint8Array} publicKey raw 32-byte Ed25519 public key
 * @param {Uint8Array} message
 * @param {Uint8Array} signature 64 bytes
 * @returns {Promise<void>}
 * @throws {DecryptionError}
 */
export async function ed25519Verify(publicKey, message, signature) {
  requireBytes(publicKey, 'publicKey');
  requireBytes(signature, 'signature');
  requireBytes(message, 'message');
  return failClosed(async () => {
    if (publicKey.length !== SIGNING_PUBLIC_KEY_LENGTH || signature.length !== SIGNATURE_LENGTH) {
      throw new DecryptionError();
    }
    const key = await subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
    if (!(await subtle.verify({ name: 'Ed25519' }, key, signature, message))) {
      throw new DecryptionError();
    }
  });
}

/** `u32(length) || text` in UTF-8; refuses a string that has no UTF-8 form (a lone surrogate). */
function lengthPrefixed(text, name) {
  requireString(text, name);
  if (!text.isWellFormed()) throw new TypeError(`${name} must be well-formed Unicode`);
  const encoded = utf8(text);
  return concat(bigEndian(encoded.length, 4), encoded);
}

/**
 * The raw 32-byte Ed25519 public key of a 32-byte seed (RFC 8032).
 *
 * @param {Uint8Array} seed
 * @returns {Promise<Uint8Array>}
 */
export async function signingPublicKey(seed) {
  return (await ed25519KeyPair(seed)).publicKey;
}

/**
 * The 16-byte id of a signing key.
 *
 * @param {Uint8Array} publicKey raw 32-byte Ed25519 public key
 * @returns {Promise<Uint8Array>}
 */
export async function signingKeyId(publicKey) {
  requireBytes(publicKey, 'publicKey', SIGNING_PUBLIC_KEY_LENGTH);
  return (await sha256(concat(SIGNING_KEY_ID_LABEL, publicKey))).slice(0, KEY_ID_LENGTH);
}

/**
 * The fingerprint of a signing key, shown like an X25519 key's ("ABCD EF01 ...").
 *
 * @param {Uint8Array} publicKey raw 32-byte Ed25519 public key
 * @returns {Promise<string>}
 */
export async function signingFingerprint(publicKey) {
  requireBytes(publicKey, 'publicKey', SIGNING_PUBLIC_KEY_LENGTH);
  const digest = await sha256(concat(SIGNING_FINGERPRINT_LABEL, publicKey));
  return toHex(digest.subarray(0, FINGERPRINT_LENGTH)).toUpperCase().match(/.{4}/g).join(' ');
}

async function itemMessage(context, envelope) {
  requireBytes(envelope, 'envelope');
  return concat(SIGNED_ITEM_LABEL, lengthPrefixed(context, 'context'), await sha256(envelope));
}

/**
 * Sign an envelope, exactly as it will be stored, for the context it was sealed under.
 *
 * @param {Uint8Array} seed the author's 32-byte Ed25519 seed
 * @param {string} context the string the page carries, as for `sealEnvelope`
 * @param {Uint8Array} envelope
 * @returns {Promise<Uint8Array>} the 64-byte signature
 */
export async function signItem(seed, context, envelope) {
  return ed25519Sign(seed, await itemMessage(context, envelope));
}

/**
 * Check the signature of a stored envelope before opening or using it.
 *
 * @param {Uint8Array} publicKey the author's raw Ed25519 public key
 * @param {string} context the context the reader expects
 * @param {Uint8Array} envelope
 * @param {Uint8Array} signature
 * @returns {Promise<void>}
 * @throws {DecryptionError} for a key or signature of the wrong length, another key, context or
 *   envelope, or an altered signature
 */
export async function verifyItem(publicKey, context, envelope, signature) {
  return ed25519Verify(publicKey, await itemMessage(context, envelope), signature);
}

// ---------------------------------------------------------------------------------------------
// Derived keys (docs/FORMATS.md, "Per-submission keys and owner tags", "Signing keys of key
// holders")
//
// Each submission has its own key pair and signing key, derived from the codename's key seed and
// the submission's public id, so a copy of the database cannot tell which submissions share a
// submitter; the browser derives them itself to check the keys the server hands it. Desk, staff
// and recovery keys derive their signing seed from their X25519 private key, so whoever holds the
// one holds the other.
// ---------------------------------------------------------------------------------------------

const PUBLIC_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const SUBMISSION_KEY_INFO = 'parley submission key v1|';
const SUBMISSION_SIGNING_KEY_INFO = 'parley submission signing key v1|';
const OWNER_TAG_KEY_INFO = utf8('parley owner tag key v1');
const OWNER_TAG_LABEL = concat(utf8('parley owner tag v1'), [0]);
const DESK_SIGNING_KEY_INFO = utf8('parley desk signing key v1');
const STAFF_SIGNING_KEY_INFO = utf8('parley staff signing key v1');
const RECOVERY_SIGNING_KEY_INFO = utf8('parley recovery signing key v1');
const MAX_UINT32 = 0xffffffff;

/** HKDF-SHA256 with an empty salt, 32 bytes, from a 32-byte secret. */
async function deriveKey(secret, info) {
  return hkdfExpand(await hkdfExtract(EMPTY, secret), info, KEY_LENGTH);
}

/**
 * The keys of one submission of the submitter whose codename gives `keySeed`.
 *
 * @param {Uint8Array} keySeed `deriveCodenameSecrets(...).keySeed`
 * @param {string} publicId the submission's public id, 22 base64url characters
 * @returns {Promise<{privateKey: Uint8Array, publicKey: Uint8Array, signingSeed: Uint8Array,
 *   signingPublicKey: Uint8Array}>} raw X25519 keys, the Ed25519 seed and its public key
 */
export async function deriveSubmissionKeys(keySeed, publicId) {
  requireBytes(keySeed, 'keySeed', KEY_LENGTH);
  requireString(publicId, 'publicId');
  if (!PUBLIC_ID_PATTERN.test(publicId)) {
    throw new RangeError('a submission public id is 22 base64url characters');
  }
  const privateKey = await deriveKey(keySeed, utf8(SUBMISSION_KEY_INFO + publicId));
  const signingSeed = await deriveKey(keySeed, utf8(SUBMISSION_SIGNING_KEY_INFO + publicId));
  return {
    privateKey,
    publicKey: await x25519PublicKey(privateKey),
    signingSeed,
    signingPublicKey: await signingPublicKey(signingSeed),
  };
}

/**
 * The key of a submitter's owner tags.
 *
 * @param {Uint8Array} keySeed `deriveCodenameSecrets(...).keySeed`
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export function ownerTagKey(keySeed) {
  requireBytes(keySeed, 'keySeed', KEY_LENGTH);
  return deriveKey(keySeed, OWNER_TAG_KEY_INFO);
}

/**
 * The tag stored with the submitter's submission number `index` (0, 1, 2, ...).
 *
 * @param {Uint8Array} tagKey `ownerTagKey(...)`
 * @param {number} index 0 to 2^32 - 1
 * @returns {Promise<Uint8Array>} 32 bytes
 */
export function ownerTag(tagKey, index) {
  requireBytes(tagKey, 'tagKey', KEY_LENGTH);
  if (!Number.isInteger(index) || index < 0 || index > MAX_UINT32) {
    throw new RangeError('an owner tag index is 0 to 2^32 - 1');
  }
  return hmacSha256(tagKey, concat(OWNER_TAG_LABEL, bigEndian(index, 4)));
}

/**
 * The Ed25519 seed of a desk key.
 *
 * @param {Uint8Array} privateKey raw 32-byte X25519 desk private key
 * @returns {Promise<Uint8Array>}
 */
export function deskSigningSeed(privateKey) {
  requireBytes(privateKey, 'privateKey', X25519_KEY_LENGTH);
  return deriveKey(privateKey, DESK_SIGNING_KEY_INFO);
}

/**
 * The Ed25519 seed of a staff member's personal key.
 *
 * @param {Uint8Array} privateKey raw 32-byte X25519 personal private key
 * @returns {Promise<Uint8Array>}
 */
export function staffSigningSeed(privateKey) {
  requireBytes(privateKey, 'privateKey', X25519_KEY_LENGTH);
  return deriveKey(privateKey, STAFF_SIGNING_KEY_INFO);
}

/**
 * The Ed25519 seed of the instance recovery key.
 *
 * @param {Uint8Array} privateKey raw 32-byte X25519 recovery private key
 * @returns {Promise<Uint8Array>}
 */
export function recoverySigningSeed(privateKey) {
  requireBytes(privateKey, 'privateKey', X25519_KEY_LENGTH);
  return deriveKey(privateKey, RECOVERY_SIGNING_KEY_INFO);
}

// ---------------------------------------------------------------------------------------------
// Desk key certificates (docs/FORMATS.md, "Desk key certificate v1")
//
// Each desk key is certified by the signing key of the desk key before it, or by the recovery
// signing key (a dialogue's first desk key, and after every desk member lost access). The
// certificate names the dialogue and the key's generation, so it cannot be moved to another
// dialogue or replayed out of order; the browser walks the chain before sealing to a desk key.
// ---------------------------------------------------------------------------------------------

const DESK_KEY_CERTIFICATE_LABEL = concat(utf8('parley desk key certificate v1'), [0]);

function certifiedMessage(slug, { generation, deskPublicKey, signingPublicKey: signingKey }) {
  return concat(
    DESK_KEY_CERTIFICATE_LABEL,
    lengthPrefixed(slug, 'slug'),
    bigEndian(generation, 4),
    deskPublicKey,
    signingKey,
  );
}

function isGeneration(generation) {
  return Number.isInteger(generation) && generation >= 1 && generation <= MAX_UINT32;
}

/**
 * Certify the desk key of generation `generation` of the dialogue `slug`.
 *
 * @param {Uint8Array} signerSeed the previous desk key's signing seed, or the recovery one
 * @param {string} slug
 * @param {number} generation 1 for a dialogue's first desk key, then 2, 3, ...
 * @param {Uint8Array} deskPublicKey raw 32-byte X25519 public key
 * @param {Uint8Array} deskSigningPublicKey raw 32-byte Ed25519 public key
 * @returns {Promise<{generation: number, deskPublicKey: Uint8Array,
 *   signingPublicKey: Uint8Array, signature: Uint8Array}>} the certificate
 */
export async function certifyDeskKey(
  signerSeed,
  slug,
  generation,
  deskPublicKey,
  deskSigningPublicKey,
) {
  if (!isGeneration(generation)) throw new RangeError('a desk key generation is 1 to 2^32 - 1');
  const certificate = {
    generation,
    deskPublicKey: requireBytes(deskPublicKey, 'deskPublicKey', X25519_KEY_LENGTH).slice(),
    signingPublicKey: requireBytes(
      deskSigningPublicKey,
      'deskSigningPublicKey',
      SIGNING_PUBLIC_KEY_LENGTH,
    ).slice(),
  };
  const signature = await ed25519Sign(signerSeed, certifiedMessage(slug, certificate));
  return { ...certificate, signature };
}

/**
 * Check that `signerPublicKey` certified this desk key for the dialogue `slug`.
 *
 * @param {Uint8Array} signerPublicKey raw Ed25519 public key
 * @param {string} slug
 * @param {{generation: number, deskPublicKey: Uint8Array, signingPublicKey: Uint8Array,
 *   signature: Uint8Array}} certificate
 * @returns {Promise<void>}
 * @throws {DecryptionError} on any failure
 */
export async function verifyDeskKeyCertificate(signerPublicKey, slug, certificate) {
  const { generation, deskPublicKey, signingPublicKey: signingKey, signature } = certificate;
  requireBytes(deskPublicKey, 'deskPublicKey');
  requireBytes(signingKey, 'signingPublicKey');
  if (
    !isGeneration(generation) ||
    deskPublicKey.length !== X25519_KEY_LENGTH ||
    signingKey.length !== SIGNING_PUBLIC_KEY_LENGTH
  ) {
    throw new DecryptionError();
  }
  return ed25519Verify(signerPublicKey, certifiedMessage(slug, certificate), signature);
}

/** Whether `signerPublicKey` certified `certificate`, for trying the two possible signers. */
async function isCertifiedBy(signerPublicKey, slug, certificate) {
  try {
    await verifyDeskKeyCertificate(signerPublicKey, slug, certificate);
    return true;
  } catch (error) {
    if (error instanceof DecryptionError) return false;
    throw error;
  }
}

/**
 * The newest desk key of the dialogue `slug`, after checking every certificate from the first.
 *
 * The certificates are those of generations 1, 2, 3, ... in order; each must be signed by the key
 * certified just before it or by `trustedSigningKey` (the recovery signing key), the first by
 * `trustedSigningKey`. Every key of a chain that verifies is certified, so older desk items may
 * be checked with the older signing keys in it.
 *
 * @param {Uint8Array} trustedSigningKey raw Ed25519 public key
 * @param {string} slug
 * @param {Array<{generation: number, deskPublicKey: Uint8Array, signingPublicKey: Uint8Array,
 *   signature: Uint8Array}>} certificates
 * @returns {Promise<object>} the last certificate
 * @throws {DecryptionError} for an empty or broken chain
 */
export async function verifyDeskKeyChain(trustedSigningKey, slug, certificates) {
  if (!Array.isArray(certificates)) throw new TypeError('certificates must be an array');
  if (certificates.length === 0) throw new DecryptionError();
  let previous = null;
  for (const certificate of certificates) {
    const expected = previous === null ? 1 : previous.generation + 1;
    if (certificate.generation !== expected) throw new DecryptionError();
    const signers = [trustedSigningKey];
    if (previous !== null) signers.push(previous.signingPublicKey);
    let certified = false;
    for (const signer of signers) certified ||= await isCertifiedBy(signer, slug, certificate);
    if (!certified) throw new DecryptionError();
    previous = certificate;
  }
  return previous;
}

/**
 * The desk keys of the dialogue `slug` certified after the one a reader already trusts.
 *
 * A submitter trusts the desk signing key their submission names (`anchorSigningKey`, of
 * generation `anchorGeneration`), not the recovery key. The certificates are those of
 * generations `anchorGeneration + 1`, `+ 2`, ... in order, each signed by the signing key certified
 * just before it (the anchor's, for the first): what a holder of the previous desk key makes at
 * rotation; or by `recoverySigningKey`, when the submission names the recovery signing key too
 * (what the operator certifies with the recovery key, for example on the way to offline review).
 *
 * @param {Uint8Array} anchorSigningKey raw Ed25519 public key
 * @param {number} anchorGeneration
 * @param {string} slug
 * @param {Array<{generation: number, deskPublicKey: Uint8Array, signingPublicKey: Uint8Array,
 *   signature: Uint8Array}>} certificates
 * @param {Uint8Array|null} [recoverySigningKey] raw Ed25519 public key, or `null`
 * @returns {Promise<object[]>} the certificates, when every link holds (may be empty)
 * @throws {DecryptionError} at the first link that does not hold
 */
export async function verifyDeskKeyChainFrom(anchorSigningKey, anchorGeneration, slug, certificates, recoverySigningKey = null) {
  if (!Array.isArray(certificates)) throw new TypeError('certificates must be an array');
  if (!isGeneration(anchorGeneration)) throw new DecryptionError();
  let signer = anchorSigningKey;
  let generation = anchorGeneration;
  for (const certificate of certificates) {
    generation += 1;
    if (certificate.generation !== generation) throw new DecryptionError();
    const byRecovery = async () => recoverySigningKey !== null && isCertifiedBy(recoverySigningKey, slug, certificate);
    if (!(await isCertifiedBy(signer, slug, certificate)) && !(await byRecovery())) throw new DecryptionError();
    signer = certificate.signingPublicKey;
  }
  return certificates;
}

// ---------------------------------------------------------------------------------------------
// Proof of work (FORMATS.md, "Proof of work")
// ---------------------------------------------------------------------------------------------

const WORK_LABEL = utf8('parley proof of work v1\u0000');
const MAX_NONCE = Number.MAX_SAFE_INTEGER;
// Digests asked of WebCrypto at once: each call is a promise, and a batch keeps them flowing.
const WORK_BATCH = 256;

/** How many bits at the start of `digest` are zero. */
export function leadingZeroBits(digest) {
  let bits = 0;
  for (const byte of digest) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

/**
 * The smallest nonce that solves a sign-in challenge: SHA-256 of the label, the challenge, the
 * login secret being tried and the nonce (u64 big-endian) starts with `difficulty` zero bits.
 * About `2 ** difficulty` hashes; the server checks the answer with one.
 *
 * @param {string} token the challenge as the server sent it (base64url with padding)
 * @param {Uint8Array} bound the login secret the attempt sends
 * @param {number} difficulty bits of work, 0 to 32
 * @returns {Promise<number>}
 */
export async function solveChallenge(token, bound, difficulty) {
  const prefix = concat(WORK_LABEL, fromBase64Url(token), bound);
  for (let start = 0; start <= MAX_NONCE; start += WORK_BATCH) {
    const nonces = Array.from({ length: WORK_BATCH }, (_, index) => start + index);
    const digests = await Promise.all(
      nonces.map((nonce) => sha256(concat(prefix, bigEndian(nonce, 8)))),
    );
    const found = digests.findIndex((digest) => leadingZeroBits(digest) >= difficulty);
    if (found >= 0) return nonces[found];
  }
  throw new RangeError('no nonce solves this challenge');
}
