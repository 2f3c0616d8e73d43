/**
 * Shared helpers for the browser module's Node tests: hex conversion, the known-answer vector
 * files (the same ones the Python tests read) and byte patterns.
 */
import { readFileSync } from 'node:fs';
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';

const VECTOR_DIR = new URL('../vectors/', import.meta.url);

export function fromHex(hex) {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

export function toHex(bytes) {
  return Buffer.from(bytes).toString('hex');
}

export function utf8(text) {
  return new TextEncoder().encode(text);
}

/** Parsed content of one file in tests/vectors/. */
export function readVectors(name) {
  return JSON.parse(readFileSync(new URL(name, VECTOR_DIR), 'utf8'));
}

/** SHA-256 in hex, computed with Node's own crypto (independent of the module under test). */
export function sha256Hex(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The vector files' test pattern: byte i is i % 251. */
export function pattern(length) {
  return Uint8Array.from({ length }, (_, index) => index % 251);
}

/** A copy of `bytes` with bit 0 of the byte at `index` flipped. */
export function flipped(bytes, index) {
  const copy = bytes.slice();
  copy[index] ^= 0x01;
  return copy;
}

export function randomKey() {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** The raw public key of a raw X25519 private key, computed with Node's own crypto. */
export function publicKeyOf(privateKey) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), privateKey]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({
    format: 'jwk',
  });
  return Uint8Array.from(Buffer.from(jwk.x, 'base64url'));
}

/** A fresh random X25519 key pair as raw bytes. */
export function newKeyPair() {
  const privateKey = randomKey();
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}
