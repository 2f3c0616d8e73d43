/**
 * STREAM v1: the shared vectors byte for byte, every way a file can be cut, extended, reordered
 * or relabelled, and the rules an encryptor enforces on its caller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';

import {
  DecryptionError,
  createStreamEncryptor,
  decryptStream,
  encryptBlob,
  paddedFileSize,
} from '../../portal/static/js/parley-crypto.mjs';
import {
  flipped,
  fromHex,
  pattern,
  randomKey,
  readVectors,
  sha256Hex,
  toHex,
  utf8,
} from './support.mjs';

const vectors = readVectors('stream-v1.json');
const CHUNK = 65536;
const SEALED_CHUNK = CHUNK + 16;
const HEADER = 16;

function plaintextOf(vector) {
  return vector.plaintext === undefined
    ? pattern(vector.plaintext_pattern.length)
    : fromHex(vector.plaintext);
}

/** The sealed chunks of a ciphertext, split by position (every chunk but the last is full). */
function chunksOf(ciphertext) {
  const chunks = [];
  for (let offset = HEADER; offset < ciphertext.length; offset += SEALED_CHUNK) {
    chunks.push(ciphertext.subarray(offset, offset + SEALED_CHUNK));
  }
  return chunks;
}

function join(...parts) {
  return Uint8Array.from(Buffer.concat(parts));
}

/**
 * A stream with any header, its chunks sealed correctly for that header with Node's own
 * AES-GCM, so that only the header checks can reject it.
 */
function forgeStream(header, key, pieces) {
  const chunks = pieces.map((piece, index) => {
    const nonce = Buffer.alloc(12);
    nonce.set(header.subarray(9, 16));
    nonce.writeUInt32BE(index, 7);
    nonce[11] = index === pieces.length - 1 ? 1 : 0;
    const cipher = createCipheriv('aes-256-gcm', key, nonce).setAAD(header);
    return Buffer.concat([cipher.update(piece), cipher.final(), cipher.getAuthTag()]);
  });
  return join(header, ...chunks);
}

function header({ magic = 'PRLS', version = 1, chunkSize = CHUNK, prefix = new Uint8Array(7) }) {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(chunkSize);
  return join(utf8(magic), Uint8Array.of(version), size, prefix);
}

// --- Shared vectors ------------------------------------------------------------------------------

test('encryptBlob reproduces every vector ciphertext from bytes and from a Blob', async () => {
  let checked = 0;
  for (const vector of vectors.cases) {
    const plaintext = plaintextOf(vector);
    const options = { noncePrefix: fromHex(vector.nonce_prefix) };
    const fromBytes = await encryptBlob(plaintext, fromHex(vector.key), options);
    const fromBlob = await encryptBlob(new Blob([plaintext]), fromHex(vector.key), options);
    assert.equal(sha256Hex(fromBytes), vector.ciphertext_sha256, vector.description);
    assert.deepEqual(fromBlob, fromBytes, vector.description);
    if (vector.ciphertext !== undefined) assert.equal(toHex(fromBytes), vector.ciphertext);
    checked += 1;
  }
  assert.equal(checked, 6);
});

test('encrypting chunk by chunk gives the same bytes as encryptBlob', async () => {
  const vector = vectors.cases.find((candidate) => candidate.plaintext_pattern?.length === 200000);
  const plaintext = plaintextOf(vector);
  const encryptor = createStreamEncryptor(fromHex(vector.key), {
    noncePrefix: fromHex(vector.nonce_prefix),
  });
  const pending = [];
  for (let start = 0; start < plaintext.length; start += CHUNK) {
    const piece = plaintext.subarray(start, start + CHUNK);
    pending.push(encryptor.encryptChunk(piece, start + CHUNK >= plaintext.length));
  }
  const ciphertext = join(encryptor.header, ...(await Promise.all(pending)));
  assert.equal(pending.length, 4);
  assert.equal(sha256Hex(ciphertext), vector.ciphertext_sha256);
});

test('decryptStream recovers every vector plaintext', async () => {
  for (const vector of vectors.cases) {
    const plaintext = plaintextOf(vector);
    const ciphertext = await encryptBlob(plaintext, fromHex(vector.key), {
      noncePrefix: fromHex(vector.nonce_prefix),
    });
    assert.deepEqual(await decryptStream(ciphertext, fromHex(vector.key)), plaintext);
  }
});

// --- Round trips and the encryptor's rules -------------------------------------------------------

test('a random nonce prefix is chosen for every file', async () => {
  const key = randomKey();
  const first = await encryptBlob(utf8('same'), key);
  const second = await encryptBlob(utf8('same'), key);
  assert.notEqual(toHex(first.subarray(9, 16)), toHex(second.subarray(9, 16)));
  assert.deepEqual(await decryptStream(second, key), utf8('same'));
});

test('k full chunks end with a full last chunk; an empty last chunk also opens', async () => {
  const key = randomKey();
  const plaintext = pattern(2 * CHUNK);
  const ciphertext = await encryptBlob(plaintext, key);
  assert.equal(ciphertext.length, HEADER + 2 * SEALED_CHUNK);
  const encryptor = createStreamEncryptor(key);
  const withEmptyLast = join(
    encryptor.header,
    await encryptor.encryptChunk(plaintext.subarray(0, CHUNK), false),
    await encryptor.encryptChunk(plaintext.subarray(CHUNK), false),
    await encryptor.encryptChunk(new Uint8Array(0), true),
  );
  assert.deepEqual(await decryptStream(withEmptyLast, key), plaintext);
});

test('the encryptor refuses wrong chunk sizes, chunks after the last, no isLast', async () => {
  const encryptor = createStreamEncryptor(randomKey());
  await assert.rejects(encryptor.encryptChunk(new Uint8Array(CHUNK - 1), false), RangeError);
  await assert.rejects(encryptor.encryptChunk(new Uint8Array(CHUNK + 1), false), RangeError);
  await assert.rejects(encryptor.encryptChunk(new Uint8Array(CHUNK + 1), true), RangeError);
  await assert.rejects(encryptor.encryptChunk(new Uint8Array(CHUNK)), TypeError);
  await encryptor.encryptChunk(new Uint8Array(10), true);
  await assert.rejects(encryptor.encryptChunk(new Uint8Array(0), true), /already/);
});

test('keys and nonce prefixes of the wrong length are refused', async () => {
  assert.throws(() => createStreamEncryptor(new Uint8Array(16)), RangeError);
  assert.throws(
    () => createStreamEncryptor(randomKey(), { noncePrefix: new Uint8Array(8) }),
    RangeError,
  );
  await assert.rejects(encryptBlob('text', randomKey()), TypeError);
  await assert.rejects(decryptStream(new Uint8Array(32), new Uint8Array(31)), RangeError);
});

// --- Tampering -----------------------------------------------------------------------------------

/** A four-chunk file (three full chunks and a short last one) and its key. */
async function fourChunkFile() {
  const key = randomKey();
  const ciphertext = await encryptBlob(pattern(3 * CHUNK + 100), key);
  const parts = { key, header: ciphertext.subarray(0, HEADER), chunks: chunksOf(ciphertext) };
  assert.equal(parts.chunks.length, 4);
  return parts;
}

test('a file cut at a chunk boundary fails: the new last chunk is not marked last', async () => {
  const { key, header, chunks } = await fourChunkFile();
  for (let kept = 0; kept < chunks.length; kept += 1) {
    await assert.rejects(
      decryptStream(join(header, ...chunks.slice(0, kept)), key),
      DecryptionError,
      `${kept} chunks kept`,
    );
  }
});

test('a chunk appended after the last one fails', async () => {
  const key = randomKey();
  const prefix = crypto.getRandomValues(new Uint8Array(7));
  const long = await encryptBlob(pattern(3 * CHUNK), key, { noncePrefix: prefix });
  const short = await encryptBlob(pattern(2 * CHUNK), key, { noncePrefix: prefix });
  const [, , third] = chunksOf(long);
  await assert.rejects(decryptStream(join(short, third), key), DecryptionError);
  await assert.rejects(decryptStream(join(short, utf8('x')), key), DecryptionError);
});

test('reordered or duplicated chunks fail', async () => {
  const { key, header, chunks } = await fourChunkFile();
  const [first, second, third, last] = chunks;
  const variants = {
    'first two swapped': [second, first, third, last],
    'first chunk repeated': [first, first, second, third, last],
    'a chunk skipped': [first, third, third, last],
  };
  for (const [description, order] of Object.entries(variants)) {
    await assert.rejects(decryptStream(join(header, ...order), key), DecryptionError, description);
  }
});

test('a flipped byte anywhere, a wrong key or a cut inside a chunk fails', async () => {
  const key = randomKey();
  const ciphertext = await encryptBlob(pattern(CHUNK + 10), key);
  const offsets = [0, 4, 8, 9, 15, 16, 1000, HEADER + SEALED_CHUNK - 1, ciphertext.length - 1];
  for (const index of offsets) {
    const altered = flipped(ciphertext, index);
    await assert.rejects(decryptStream(altered, key), DecryptionError, `byte ${index}`);
  }
  await assert.rejects(decryptStream(ciphertext, randomKey()), DecryptionError);
  for (const length of [0, 8, HEADER, HEADER + 15, ciphertext.length - 1]) {
    await assert.rejects(decryptStream(ciphertext.subarray(0, length), key), DecryptionError);
  }
});

test('a forged stream with a right header decrypts, so the forgeries below are valid', async () => {
  const key = randomKey();
  const forged = forgeStream(header({}), key, [pattern(CHUNK), utf8('tail')]);
  assert.deepEqual(await decryptStream(forged, key), join(pattern(CHUNK), utf8('tail')));
});

test('another magic, version or chunk size is refused though all chunks authenticate', async () => {
  const key = randomKey();
  const pieces = [pattern(CHUNK), utf8('tail')];
  const headers = {
    'magic PRLX': header({ magic: 'PRLX' }),
    'version 2': header({ version: 2 }),
    'declared chunk size 32768': header({ chunkSize: 32768 }),
  };
  for (const [description, forgedHeader] of Object.entries(headers)) {
    const forged = forgeStream(forgedHeader, key, pieces);
    await assert.rejects(decryptStream(forged, key), DecryptionError, description);
  }
});

// Attachment padding (parley-attachment-keys-v2): the sizes and padded files of the shared vectors.
const paddingVectors = readVectors('attachment-padding-v1.json');

test('paddedFileSize gives the padded size of every vector size', async () => {
  assert.ok(paddingVectors.padded_sizes.length > 0);
  for (const [size, padded] of paddingVectors.padded_sizes) {
    assert.equal(paddedFileSize(size), padded, `size ${size}`);
  }
  assert.throws(() => paddedFileSize(-1), RangeError);
  assert.throws(() => paddedFileSize(1.5), RangeError);
});

test('a padded file encrypts to the vector ciphertext', async () => {
  for (const vector of paddingVectors.cases) {
    const padded = new Uint8Array(paddedFileSize(vector.size));
    padded.set(pattern(vector.size));
    assert.equal(padded.length, vector.padded_size, vector.description);
    const ciphertext = await encryptBlob(padded, fromHex(vector.key), {
      noncePrefix: fromHex(vector.nonce_prefix),
    });
    assert.equal(sha256Hex(ciphertext), vector.ciphertext_sha256, vector.description);
  }
});
