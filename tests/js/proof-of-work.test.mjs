/**
 * Proof of work: the browser finds the vector files' nonces (the smallest that hold), and the
 * sign-in poster solves a challenge the server asks for and sends the proof with the same body.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { leadingZeroBits, solveChallenge } from '../../portal/static/js/parley-crypto.mjs';
import { postSigningIn } from '../../portal/static/js/sign-in-work.mjs';
import { fromHex, readVectors, sha256Hex, utf8 } from './support.mjs';

const vectors = readVectors('proof-of-work-v1.json');

function base64Url(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

test('solveChallenge finds the smallest nonce of every vector', async () => {
  for (const vector of vectors.cases) {
    const nonce = await solveChallenge(
      base64Url(fromHex(vector.challenge)), fromHex(vector.bound), vector.difficulty,
    );
    assert.equal(nonce, vector.nonce, vector.description);
  }
});

test('leadingZeroBits counts across bytes', () => {
  assert.equal(leadingZeroBits(Uint8Array.of(0x80)), 0);
  assert.equal(leadingZeroBits(Uint8Array.of(0x00, 0x01)), 15);
  assert.equal(leadingZeroBits(new Uint8Array(4)), 32);
});

/** A digest as the server computes it (Node's own SHA-256, not the module's). */
function serverDigest(token, bound, nonce) {
  const nonceBytes = Buffer.alloc(8);
  nonceBytes.writeBigUInt64BE(BigInt(nonce));
  return fromHex(sha256Hex(Buffer.concat([
    utf8('parley proof of work v1\u0000'), Buffer.from(token, 'base64url'), bound, nonceBytes,
  ])));
}

test('postSigningIn solves an asked challenge and posts the same body with the proof', async () => {
  const loginSecret = fromHex(vectors.cases[0].bound);
  const token = base64Url(utf8('a challenge the server sealed'));
  const sent = [];
  globalThis.fetch = async (url, options) => {
    sent.push({ url, options, body: JSON.parse(options.body) });
    const asked = sent.length === 1;
    return {
      ok: !asked,
      status: asked ? 429 : 200,
      json: async () => (asked
        ? { error: 'solve first', challenge: { token, difficulty: 10 } }
        : { next: '/inbox' }),
    };
  };
  try {
    const { response, answer } = await postSigningIn('/in', 'csrf', { login_secret: 'x' }, loginSecret);
    assert.equal(response.status, 200);
    assert.deepEqual(answer, { next: '/inbox' });
  } finally {
    delete globalThis.fetch;
  }
  assert.equal(sent.length, 2);
  assert.equal(sent[0].options.headers['X-CSRFToken'], 'csrf');
  assert.deepEqual(sent[0].body, { login_secret: 'x' });
  assert.equal(sent[1].body.login_secret, 'x');
  assert.equal(sent[1].body.proof.challenge, token);
  assert.ok(leadingZeroBits(serverDigest(token, loginSecret, sent[1].body.proof.nonce)) >= 10);
});

test('postSigningIn gives up after a few challenges and returns the last answer', async () => {
  let calls = 0;
  globalThis.fetch = async () => {
    calls += 1;
    return {
      ok: false,
      status: 429,
      json: async () => ({ error: 'busy', challenge: { token: 'AAAA', difficulty: 1 } }),
    };
  };
  try {
    const { response, answer } = await postSigningIn('/in', 'csrf', {}, new Uint8Array(32));
    assert.equal(response.status, 429);
    assert.equal(answer.error, 'busy');
  } finally {
    delete globalThis.fetch;
  }
  assert.equal(calls, 4);
});
