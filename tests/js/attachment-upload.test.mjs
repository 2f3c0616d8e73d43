/**
 * Uploading an attached file against a stand-in for the `/uploads` API: the ciphertext that
 * arrives must decrypt to the file with the key sealed in its attachment-keys record, through
 * dropped requests and lost answers, and the module must give up (and free the upload) once its
 * retries run out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  ATTACHMENT_KEYS_FORMAT,
  MAX_ATTEMPTS,
  UNPADDED_ATTACHMENT_KEYS_FORMAT,
  UploadRefusedError,
  attachmentListing,
  beneath,
  sendAttachment,
  withQuery,
} from '../../portal/static/js/attachment-upload.mjs';
import {
  decryptStream,
  encryptedSize,
  openEnvelope,
  paddedFileSize,
} from '../../portal/static/js/parley-crypto.mjs';
import { newKeyPair, pattern } from './support.mjs';

const CONTEXT_PREFIX = 'parley attachment keys v1|dialogue:d|session:1|kind:k|submission:S|attachment:';
const UPLOAD_ID = 'upload-id';

function answer(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A stand-in server that drops `dropped` requests and loses the answer to `lost` more. */
function standInServer({ dropped = 0, lost = 0, refusal = null } = {}) {
  const server = { pieces: [], received: 0, complete: false, deleted: false, declared: null };
  server.fetch = async (url, { method, body }) => {
    if (method === 'POST' && url === '/uploads') {
      server.declared = JSON.parse(body).size;
      return refusal ?? answer(201, { upload: UPLOAD_ID, token: 'token', received: 0 });
    }
    if (method === 'PUT') {
      if (dropped > 0) {
        dropped -= 1;
        throw new TypeError('network error');
      }
      const offset = Number(url.split('?offset=')[1]);
      if (offset !== server.received) return answer(409, { error: 'gap', received: server.received });
      server.pieces.push(body);
      server.received += body.length;
      if (lost > 0) {
        lost -= 1;
        throw new TypeError('network error');
      }
      return answer(200, { received: server.received });
    }
    if (method === 'GET') return answer(200, { received: server.received, complete: server.complete });
    if (method === 'DELETE') {
      server.deleted = true;
      return new Response(null, { status: 204 });
    }
    server.complete = true;
    return answer(200, { received: server.received, complete: true });
  };
  server.stored = () => {
    const whole = new Uint8Array(server.received);
    let offset = 0;
    for (const piece of server.pieces) {
      whole.set(piece, offset);
      offset += piece.length;
    }
    return whole;
  };
  return server;
}

function options(server, recipient, pauses) {
  return {
    submissionId: 'S',
    uploadsUrl: '/uploads',
    csrfToken: 'csrf',
    recipients: [recipient.publicKey],
    contextPrefix: CONTEXT_PREFIX,
    fetch: server.fetch,
    pause: async (milliseconds) => {
      pauses.push(milliseconds);
    },
  };
}

test('a file sent through a dropped request and a lost answer arrives whole', async () => {
  const content = pattern(1024 * 1024 + 70_000);
  const recipient = newKeyPair();
  const server = standInServer({ dropped: 1, lost: 1 });
  const pauses = [];
  const progress = [];

  const entry = await sendAttachment(new File([content], 'report.pdf', { type: 'application/pdf' }), {
    ...options(server, recipient, pauses),
    onProgress: (sent, total) => progress.push([sent, total]),
  });

  assert.equal(entry.upload, UPLOAD_ID);
  assert.ok(server.complete);
  // The first piece: dropped, then stored with its answer lost; the second goes at once.
  assert.deepEqual(pauses, [500, 1000]);
  assert.equal(server.pieces.length, 2);
  const keysEnvelope = Uint8Array.from(atob(entry.keys_envelope), (c) => c.charCodeAt(0));
  const record = JSON.parse(
    new TextDecoder().decode(await openEnvelope(keysEnvelope, recipient.privateKey, CONTEXT_PREFIX + UPLOAD_ID)),
  );
  assert.deepEqual(
    { ...record, key: undefined },
    { format: ATTACHMENT_KEYS_FORMAT, key: undefined, name: 'report.pdf', type: 'application/pdf', size: content.length },
  );
  const key = Uint8Array.from(atob(record.key), (c) => c.charCodeAt(0));
  // The server is told, and receives, only the padded size; the true size is in the record.
  const padded = new Uint8Array(paddedFileSize(content.length));
  padded.set(content);
  assert.equal(server.declared, encryptedSize(padded.length));
  assert.equal(server.received, server.declared);
  assert.deepEqual(await decryptStream(server.stored(), key), padded);
  assert.equal(progress.length, 2);
  assert.deepEqual(progress.at(-1), [server.received, server.received]);
});

test('a small file is padded to one full chunk of zeros after its bytes', async () => {
  const recipient = newKeyPair();
  const server = standInServer();

  const entry = await sendAttachment(new File([pattern(10)], 'a.txt'), options(server, recipient, []));

  assert.equal(server.declared, encryptedSize(65536));
  const keysEnvelope = Uint8Array.from(atob(entry.keys_envelope), (c) => c.charCodeAt(0));
  const record = JSON.parse(
    new TextDecoder().decode(await openEnvelope(keysEnvelope, recipient.privateKey, CONTEXT_PREFIX + UPLOAD_ID)),
  );
  assert.equal(record.size, 10);
  const key = Uint8Array.from(atob(record.key), (c) => c.charCodeAt(0));
  const expected = new Uint8Array(65536);
  expected.set(pattern(10));
  assert.deepEqual(await decryptStream(server.stored(), key), expected);
});

test('after the last retry the upload is given up and deleted', async () => {
  const server = standInServer({ dropped: Infinity });
  const pauses = [];

  await assert.rejects(
    sendAttachment(new File([pattern(10)], 'a.txt'), options(server, newKeyPair(), pauses)),
    TypeError,
  );

  assert.deepEqual(pauses, [500, 1000, 2000, 4000].slice(0, MAX_ATTEMPTS - 1));
  assert.ok(server.deleted);
  assert.equal(server.received, 0);
});

test("the server's refusal is passed on in its own words, without retrying", async () => {
  const server = standInServer({ refusal: answer(413, { error: 'attachments may take 500 MB in all' }) });
  const pauses = [];

  await assert.rejects(
    sendAttachment(new File([pattern(10)], 'a.txt'), options(server, newKeyPair(), pauses)),
    new UploadRefusedError('attachments may take 500 MB in all', 413),
  );
  assert.deepEqual(pauses, []);
});

test('an expired form is refused with its status, for the page to renew it', async () => {
  const server = standInServer({ refusal: answer(410, { error: 'this form has expired' }) });
  const pauses = [];

  await assert.rejects(
    sendAttachment(new File([pattern(10)], 'a.txt'), options(server, newKeyPair(), pauses)),
    (error) => error instanceof UploadRefusedError && error.status === 410,
  );
  assert.deepEqual(pauses, []);
});

test('the inbox lists the name and true size of a keys record of either version, nothing else', () => {
  const key = Buffer.alloc(32, 7).toString('base64');
  const record = { format: ATTACHMENT_KEYS_FORMAT, key, name: 'report.pdf', type: 'application/pdf', size: 12345 };
  assert.deepEqual(attachmentListing(record), { name: 'report.pdf', size: 12345 });
  assert.deepEqual(attachmentListing({ ...record, format: UNPADDED_ATTACHMENT_KEYS_FORMAT, size: 0 }), { name: 'report.pdf', size: 0 });
  for (const broken of [
    null,
    [],
    { ...record, format: 'parley-attachment-keys-v3' },
    { ...record, key: Buffer.alloc(16).toString('base64') },
    { ...record, key: 7 },
    { ...record, name: null },
    { ...record, type: undefined },
    { ...record, size: -1 },
    { ...record, size: 1.5 },
    { ...record, size: '12' },
  ]) {
    assert.equal(attachmentListing(broken), null, JSON.stringify(broken));
  }
});

test('the addresses of an upload keep the query of the uploads address, where the language rides', () => {
  assert.equal(beneath('/uploads?lang=ar', 'u1'), '/uploads/u1?lang=ar');
  assert.equal(beneath(beneath('/uploads', 'u1'), 'complete'), '/uploads/u1/complete');
  assert.equal(withQuery('/uploads/u1?lang=ar', { offset: 0 }), '/uploads/u1?lang=ar&offset=0');
  assert.equal(withQuery('/uploads/u1', { offset: 42 }), '/uploads/u1?offset=42');
});
