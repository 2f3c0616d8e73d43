/**
 * One attached file, encrypted in the browser and sent through the resumable upload API.
 *
 * The server must never see a file in clear, and a defender on a poor connection must not lose a
 * large file to one dropped request. So the file is read a STREAM chunk at a time (`File.slice`,
 * never whole), encrypted under its own random key, and sent in requests of about 1 MiB of
 * ciphertext to `/uploads` (see `portal/blueprints/uploads.py`). After a network error or a 5xx
 * answer the browser asks how much arrived and carries on from there, a bounded number of times
 * with a growing pause; only the request being sent is held in memory, so nothing has to be
 * encrypted twice. The file is padded with zero bytes to its size bucket (`paddedFileSize`)
 * before it is encrypted, so the server is told, and stores, only the padded size. Once the
 * upload is complete, the file's key, name, type and true size are sealed in an attachment-keys
 * record (`parley-attachment-keys-v2`) to the same recipients as the submission, under the
 * context that names the upload (whose public id becomes the attachment's).
 *
 * `fetch` and `pause` can be handed in, so Node can test the resuming without a server.
 */
import {
  CHUNK_SIZE,
  createStreamEncryptor,
  encryptedSize,
  paddedFileSize,
  sealEnvelope,
} from './parley-crypto.mjs';
import { ServerRefusalError } from './server-refusal.mjs';

export const ATTACHMENT_KEYS_FORMAT = 'parley-attachment-keys-v2';
/** Records written before padding (`attachments.UNPADDED_ATTACHMENT_KEYS_FORMAT`), still read. */
export const UNPADDED_ATTACHMENT_KEYS_FORMAT = 'parley-attachment-keys-v1';
/** As `attachments.MAX_FILE_NAME_LENGTH` and `MAX_CONTENT_TYPE_LENGTH`, in code points. */
const MAX_FILE_NAME_LENGTH = 255;
const MAX_CONTENT_TYPE_LENGTH = 127;
/** STREAM chunks per request: 1 MiB of plaintext, within the server's `MAX_CHUNK_BYTES`. */
const CHUNKS_PER_REQUEST = 16;
export const MAX_ATTEMPTS = 5;
const FIRST_PAUSE_MS = 500;
const KEY_LENGTH = 32;

/** A refusal the server explained (a 4xx): retrying cannot help, the message says why. */
/** The server refused an upload; `status` is its answer's status (410: the form expired). */
export class UploadRefusedError extends ServerRefusalError {}

const waitFor = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds));

function toBase64(bytes) {
  return btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(''));
}

function joined(parts) {
  const whole = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    whole.set(part, offset);
    offset += part.length;
  }
  return whole;
}

/** The first `limit` code points of `text`, as Python's slicing would keep them. */
function clipped(text, limit) {
  return Array.from(text).slice(0, limit).join('');
}

/**
 * Encrypt `file`, upload it and seal its keys.
 *
 * @param {File} file
 * @param {{submissionId: string, uploadsUrl: string, csrfToken: string,
 *   recipients: Uint8Array[], contextPrefix: string,
 *   onProgress?: (sentBytes: number, totalBytes: number) => void,
 *   fetch?: typeof fetch, pause?: (milliseconds: number) => Promise<void>}} options
 *   `contextPrefix` is the attachment-keys context up to and including "attachment:"
 * @returns {Promise<{upload: string, keys_envelope: string}>} the entry the sealed submission's
 *   `attachments` list takes
 * @throws {UploadRefusedError} when the server refused; a network error once retries run out
 */
export async function sendAttachment(file, options) {
  const calls = new UploadCalls(options);
  const totalBytes = encryptedSize(paddedFileSize(file.size));
  const created = await calls.json('POST', options.uploadsUrl, {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ submission: options.submissionId, size: totalBytes }),
  });
  const uploadUrl = beneath(options.uploadsUrl, created.upload);
  calls.token = created.token;
  const key = globalThis.crypto.getRandomValues(new Uint8Array(KEY_LENGTH));
  try {
    await sendCiphertext(calls, uploadUrl, file, createStreamEncryptor(key), (sent) =>
      options.onProgress?.(sent, totalBytes),
    );
  } catch (error) {
    // Free the submission's attachments budget for the next attempt; if this fails too, the
    // upload expires within a day.
    await calls.fetch(uploadUrl, { method: 'DELETE', headers: calls.headers() }).catch(() => {});
    throw error;
  }
  const record = {
    format: ATTACHMENT_KEYS_FORMAT,
    key: toBase64(key),
    name: clipped(file.name, MAX_FILE_NAME_LENGTH),
    type: clipped(file.type || 'application/octet-stream', MAX_CONTENT_TYPE_LENGTH),
    size: file.size,
  };
  const keysEnvelope = await sealEnvelope(
    JSON.stringify(record),
    options.recipients,
    `${options.contextPrefix}${created.upload}`,
  );
  return { upload: created.upload, keys_envelope: toBase64(keysEnvelope) };
}

/**
 * The address of `segment` below `url`, keeping `url`'s query: the page's language rides there
 * (`lang`, portal/i18n.py), so that the server's refusals come back in the page's language.
 */
export function beneath(url, segment) {
  const [path, query] = splitQuery(url);
  return `${path}/${segment}${query}`;
}

/** `url` with `values` added to (or replacing in) its query. */
export function withQuery(url, values) {
  const [path, query] = splitQuery(url);
  const parameters = new URLSearchParams(query);
  for (const [name, value] of Object.entries(values)) parameters.set(name, String(value));
  return `${path}?${parameters}`;
}

function splitQuery(url) {
  const start = url.indexOf('?');
  return start === -1 ? [url, ''] : [url.slice(0, start), url.slice(start)];
}

async function sendCiphertext(calls, uploadUrl, file, encryptor, report) {
  let sent = 0;
  for await (const body of requestBodies(file, encryptor)) {
    sent = await calls.sendChunk(uploadUrl, sent, body);
    report(sent);
  }
  await calls.json('POST', beneath(uploadUrl, 'complete'), {});
}

/**
 * The ciphertext of `file`, padded, in request-sized pieces: the header, then sealed chunks.
 * Each chunk is the file's bytes in its range followed by zero bytes up to the padded size.
 */
async function* requestBodies(file, encryptor) {
  const paddedSize = paddedFileSize(file.size);
  const chunks = Math.ceil(paddedSize / CHUNK_SIZE);
  let parts = [encryptor.header];
  for (let index = 0; index < chunks; index += 1) {
    const start = index * CHUNK_SIZE;
    const plaintext = new Uint8Array(Math.min(CHUNK_SIZE, paddedSize - start));
    if (start < file.size) {
      plaintext.set(new Uint8Array(await file.slice(start, start + CHUNK_SIZE).arrayBuffer()));
    }
    parts.push(await encryptor.encryptChunk(plaintext, index === chunks - 1));
    if (parts.length >= CHUNKS_PER_REQUEST || index === chunks - 1) {
      yield joined(parts);
      parts = [];
    }
  }
}

/** The calls of one upload, each retried after a network error or a 5xx answer. */
class UploadCalls {
  constructor({ csrfToken, fetch: fetchCall = globalThis.fetch, pause = waitFor }) {
    this.csrfToken = csrfToken;
    // Called as a plain function: the platform's fetch refuses any other `this`.
    this.fetch = (url, init) => fetchCall(url, init);
    this.pause = pause;
    this.token = null;
  }

  headers(extra = {}) {
    const headers = { 'X-CSRFToken': this.csrfToken, ...extra };
    if (this.token !== null) headers['X-Upload-Token'] = this.token;
    return headers;
  }

  /** One call's JSON answer; a 4xx becomes an `UploadRefusedError` with the server's words. */
  async json(method, url, { headers = {}, body } = {}) {
    const response = await this.retried(() =>
      this.fetch(url, { method, credentials: 'same-origin', headers: this.headers(headers), body }),
    );
    const answer = await response.json();
    if (!response.ok) throw new UploadRefusedError(answer.error, response.status);
    return answer;
  }

  /**
   * Send `body` at `offset`; the received length after it.
   *
   * When the answer is lost, the server may or may not hold the bytes: it commits a request
   * whole or not at all, so asking how much arrived says whether to go on or send it again.
   */
  async sendChunk(url, offset, body) {
    const end = offset + body.length;
    for (let attempt = 1; ; attempt += 1) {
      let response;
      try {
        response = await this.fetch(withQuery(url, { offset }), {
          method: 'PUT',
          credentials: 'same-origin',
          headers: this.headers({ 'Content-Type': 'application/octet-stream' }),
          body,
        });
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS) throw error;
      }
      if (response?.ok) return (await response.json()).received;
      if (response !== undefined && response.status < 500 && response.status !== 409) {
        throw new UploadRefusedError((await response.json()).error, response.status);
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error('the file could not be sent');
      await this.pause(FIRST_PAUSE_MS * 2 ** (attempt - 1));
      const { received } = await this.json('GET', url);
      if (received === end) return received;
      if (received !== offset) throw new Error('the server holds another part of this file');
    }
  }

  /** Run `call` again after a network error or a 5xx answer, pausing longer each time. */
  async retried(call) {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const response = await call();
        if (response.status < 500 || attempt >= MAX_ATTEMPTS) return response;
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS) throw error;
      }
      await this.pause(FIRST_PAUSE_MS * 2 ** (attempt - 1));
    }
  }
}

/**
 * What the inbox lists of an opened attachment-keys record of either version: `{name, size}`,
 * or `null` for a record that says nothing usable (the server's `attachments.read_keys_record`).
 */
export function attachmentListing(record) {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return null;
  if (![ATTACHMENT_KEYS_FORMAT, UNPADDED_ATTACHMENT_KEYS_FORMAT].includes(record.format)) return null;
  const { key, name, type, size } = record;
  if (typeof key !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(key)) return null;
  if (typeof name !== 'string' || typeof type !== 'string' || !Number.isInteger(size) || size < 0) return null;
  return { name, size };
}
