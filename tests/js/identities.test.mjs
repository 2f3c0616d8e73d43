/**
 * The persons' names split from a submission and put back, as the browser does it: the same
 * vector file as the server's split (tests/integration/test_identities_format.py).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { IDENTITIES_FORMAT, mergeIdentities, splitIdentities } from '../../portal/static/js/identities.mjs';
import { readVectors } from './support.mjs';

const vectors = readVectors('identities-v1.json');

test('the browser splits each payload as the server does', () => {
  for (const item of vectors.cases) {
    const declaration = vectors.declarations[item.kind];
    const { payload, identities } = splitIdentities(item.payload, declaration);
    assert.deepEqual(payload, item.sealed_payload, item.description);
    assert.deepEqual(identities, item.identities, item.description);
    assert.equal(identities.format, IDENTITIES_FORMAT);
    assert.deepEqual(mergeIdentities(payload, identities, declaration), item.payload, item.description);
  }
});

test('only the declared identifying text goes back, item by item', () => {
  for (const item of vectors.merge_cases) {
    const declaration = vectors.declarations[item.kind];
    assert.deepEqual(mergeIdentities(item.payload, item.identities, declaration), item.merged, item.description);
  }
});
