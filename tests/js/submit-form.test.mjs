/**
 * The pure logic behind the sealed forms: reading rows, placing errors, drawing codenames.
 * (The checks themselves are compared with the server's in tests/browser/test_forms_js.py.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  fieldOf,
  generateCodename,
  messageFor,
  readForm,
  retypePositions,
  uniformIndex,
  validateSubmission,
} from '../../portal/static/js/sealed-submission.mjs';

const text = (name, required, limit) => ({ name, type: limit > 200 ? 'long_text' : 'short_text', required, limit });

/** An individual case as `kinds.as_json` declares it, trimmed to what these tests need. */
const CASE = {
  kind: 'individual_case',
  common: [{ name: 'topics', type: 'topics', required: false, choices: ['children', 'rule_of_law'] }],
  fields: [
    {
      name: 'persons',
      type: 'list',
      minimum: 1,
      maximum: 50,
      fields: [text('name', true, 200), { name: 'consent', type: 'consent' }],
    },
    text('situation', true, 20000),
    text('relation_to_person', true, 200),
  ],
  consent: { level: ['internal_only', 'raise_by_name'], given_by: ['person', 'family'] },
};

/** A stand-in for getRandomValues that hands out the given 32-bit values in turn. */
function randomFrom(values) {
  let next = 0;
  return (array) => {
    array[0] = values[next];
    next += 1;
    return array;
  };
}

test('values that would bias the remainder are drawn again', () => {
  const limit = Math.floor(2 ** 32 / 3) * 3;
  assert.equal(uniformIndex(3, randomFrom([limit, 7])), 1);
  assert.equal(uniformIndex(2048, randomFrom([2 ** 32 - 1])), 2047);
});

test('a codename is eight words of the list', () => {
  const words = ['alpha', 'bravo', 'charlie', 'delta'];
  const codename = generateCodename(words, randomFrom([0, 1, 2, 3, 4, 5, 6, 7]));
  assert.equal(codename, 'alpha bravo charlie delta alpha bravo charlie delta');
});

test('the retype check asks for two different positions, in order', () => {
  assert.deepEqual(retypePositions(randomFrom([7, 0])), [1, 8]);
  assert.deepEqual(retypePositions(randomFrom([2, 6])), [2, 3]);
});

test('empty rows are left out and errors find their rows again', () => {
  const names = ['situation', 'persons.0.name', 'persons.1.name', 'persons.2.name', 'persons.2.consent.risks_explained'];
  const entries = [
    ['situation', 'x'],
    ['relation_to_person', 'y'],
    ['persons.0.name', '  '],
    ['persons.1.name', ''],
    ['persons.2.name', ''],
    ['persons.2.consent.risks_explained', 'yes'],
  ];
  const { data, rowOfItem } = readForm(entries, names, CASE);
  assert.equal(data.persons.length, 1);
  assert.deepEqual(rowOfItem, { persons: [2] });
  const { errors } = validateSubmission(data, CASE);
  assert.equal(fieldOf('persons.0.name', rowOfItem), 'persons.2.name');
  assert.equal(errors['persons.0.name'], 'is required');
});

test('messages are the page sentences, with limits filled in', () => {
  const messages = { required: 'Fill', too_long: 'Max {limit}', 'choice.level': 'Level', other: 'Check' };
  assert.equal(messageFor('situation', 'is required', messages), 'Fill');
  assert.equal(messageFor('when', 'must be at most 200 characters', messages), 'Max 200');
  assert.equal(messageFor('persons.0.consent.level', 'must be one of: a, b', messages), 'Level');
  assert.equal(messageFor('topics', 'must be text', { ...messages, topics: 'T' }), 'T');
});

test('a field added to the declaration is read and checked with no other change', () => {
  const witness = { name: 'witness', type: 'short_text', required: true, limit: 200 };
  const declared = { ...CASE, fields: [...CASE.fields, witness] };
  const person = [
    ['persons.0.name', 'A'],
    ['persons.0.consent.level', 'raise_by_name'],
    ['persons.0.consent.given_by', 'family'],
    ['persons.0.consent.risks_explained', 'yes'],
  ];
  const base = [['situation', 'x'], ['relation_to_person', 'y'], ...person];
  const names = [...base.map(([name]) => name), 'witness'];
  const missing = validateSubmission(readForm(base, names, declared).data, declared);
  assert.deepEqual(missing.errors, { witness: 'is required' });
  const { data } = readForm([...base, ['witness', ' B ']], names, declared);
  const { payload, errors } = validateSubmission(data, declared);
  assert.deepEqual(errors, {});
  assert.equal(payload.witness, 'B');
  assert.deepEqual(Object.keys(payload), ['format', 'kind', 'topics', 'persons', 'situation', 'relation_to_person', 'witness']);
});
