/**
 * Codenames: the shared vectors (canonical form, login secret, key seed, public key) and the
 * normalisation rules a submitter relies on when typing their codename back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  CodenameError,
  deriveCodenameSecrets,
  normaliseCodename,
} from '../../portal/static/js/parley-crypto.mjs';
import { readVectors, toHex } from './support.mjs';

const vectors = readVectors('codename-v1.json');
const WORDS = 'abandon ability able about above absent absorb abstract';
// Turkish words with dotless ı (four also with a dotted i), typed composed, and their canonical
// form: NFKD, with i for ı.
const TURKISH = 'kıdemli ısıtıcı binbaşı tıbbi bıçak altın açıkgöz sıhhi';
const TURKISH_CANONICAL = 'kidemli isitici binbaşi tibbi biçak altin açikgöz sihhi'.normalize('NFKD');

/** Capitals as a Turkish keyboard types them: i becomes İ, ı becomes I. */
function turkishCapitals(text) {
  return text.replaceAll('i', '\u0130').replaceAll('\u0131', 'I').toUpperCase();
}

test('every vector codename normalises to its canonical form', () => {
  for (const vector of vectors.cases) {
    assert.equal(normaliseCodename(vector.codename), vector.canonical, vector.description);
  }
  assert.equal(vectors.cases.length, 5);
});

test('every vector codename derives its login secret, key seed and public key', async () => {
  assert.equal(vectors.pbkdf2_iterations, 600000);
  let derived = 0;
  for (const vector of vectors.cases) {
    const secrets = await deriveCodenameSecrets(vector.codename);
    assert.equal(toHex(secrets.loginSecret), vector.login_secret, vector.description);
    assert.equal(toHex(secrets.keySeed), vector.key_seed, vector.description);
    assert.equal(toHex(secrets.publicKey), vector.public_key, vector.description);
    derived += 1;
  }
  assert.equal(derived, 5);
});

test('case, composed accents and separators do not matter', () => {
  const variants = [
    ' ABANDON  Ability-able.about\tabove\nabsent--absorb...abstract ',
    'abandon\u00a0ability\u3000able\u2009about\u0085above\u001cabsent-absorb.abstract',
  ];
  for (const typed of variants) assert.equal(normaliseCodename(typed), WORDS);
  const composed = 'Académie acquérir adéquat adhésif abeille épicerie otarie viaduc';
  assert.equal(normaliseCodename(composed), normaliseCodename(composed.normalize('NFD')));
  assert.notEqual(composed, composed.normalize('NFD'));
});

test('the canonical form is NFKD: accents become combining marks', () => {
  const canonical = normaliseCodename('Épicerie a b c d e f g');
  assert.equal(canonical.slice(0, 2), 'e\u0301');
});

test('case folding matches full Unicode case folding, not just lower-casing', () => {
  const expectations = [
    ['STRAẞE a b c d e f g', 'strasse a b c d e f g'],
    ['straße a b c d e f g', 'strasse a b c d e f g'],
    ['ΟΔΟΣ a b c d e f g', 'οδοσ a b c d e f g'],
    ['ᏸᏹ ꭰꭱ a b c d e f', 'ᏰᏱ ᎠᎡ a b c d e f'],
    ['\u1c80\u1c88 a b c d e f g', '\u0432\ua64b a b c d e f g'],
    ['ᾳ a b c d e f g', 'αι a b c d e f g'],
  ];
  for (const [typed, canonical] of expectations) {
    assert.equal(normaliseCodename(typed), canonical.normalize('NFKD'), typed);
  }
});

test('Turkish words typed in capitals, plain or Turkish, are the same codename', () => {
  const upper = TURKISH.toUpperCase();
  const turkishUpper = turkishCapitals(TURKISH);
  assert.ok(upper.includes('I') && !upper.includes('\u0130'));
  assert.ok(turkishUpper.includes('I') && turkishUpper.includes('\u0130'));
  for (const typed of [TURKISH, upper, turkishUpper, turkishUpper.normalize('NFD')]) {
    assert.equal(normaliseCodename(typed), TURKISH_CANONICAL, typed);
  }
});

test('a Turkish codename in Turkish capitals derives the same secrets', async () => {
  const [lower, capitals] = await Promise.all([
    deriveCodenameSecrets(TURKISH),
    deriveCodenameSecrets(turkishCapitals(TURKISH)),
  ]);
  assert.equal(toHex(capitals.loginSecret), toHex(lower.loginSecret));
  assert.equal(toHex(capitals.keySeed), toHex(lower.keySeed));
});

test('only whitespace as Python defines it separates words (not U+FEFF)', () => {
  assert.equal(normaliseCodename('a\ufeffb c d e f g h i'), 'a\ufeffb c d e f g h i');
  assert.throws(() => normaliseCodename('a\ufeffb c d e f g h'), CodenameError);
});

test('anything but eight words is a CodenameError with a message for the submitter', async () => {
  for (const typed of ['', '   ', WORDS.split(' ').slice(0, 7).join(' '), `${WORDS} abstract`]) {
    assert.throws(() => normaliseCodename(typed), (error) => {
      assert.ok(error instanceof CodenameError);
      assert.match(error.message, /8 words/);
      return true;
    });
  }
  assert.throws(() => normaliseCodename(undefined), CodenameError);
  await assert.rejects(deriveCodenameSecrets('only three words'), CodenameError);
});
