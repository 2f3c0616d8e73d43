/**
 * What the browser must know to seal a form: the payload, its checks and a new codename.
 *
 * With JavaScript the server receives only an envelope it cannot open, so it cannot validate
 * what was typed: the browser must refuse, as the server would, anything the desk could not use.
 * `readForm` and `validateSubmission` therefore mirror `ReadForm.payload_input` and
 * `payload.validate_submission` rule for rule, with the same paths and the same English
 * messages, and a browser test compares the two on the same inputs. `messageFor` mirrors
 * `vocabulary.field_message`, with sentences the page hands over in its own language.
 *
 * Pure functions only (no DOM, no network), so Node can test them.
 */

export const SUBMISSION_FORMAT = 'parley-submission-v1';
export const SHORT_TEXT_LIMIT = 200;
export const LONG_TEXT_LIMIT = 20000;
export const MAX_PERSONS = 50;
export const MAX_RECOMMENDATIONS = 200;
export const CODENAME_WORDS = 8;
export const FLAG_VALUE = 'yes';
export const FLAGS = [
  'contact_through_portal',
  'share_with_member_states',
  'women_hrd',
  'gender_specific_risk',
];
export const TOPICS = [
  'general_developments',
  'death_penalty',
  'torture_and_ill_treatment',
  'human_rights_defenders',
  'freedom_of_expression',
  'freedom_of_assembly_and_association',
  'freedom_of_religion_or_belief',
  'women_and_gender_equality',
  'children',
  'lgbti',
  'minorities_and_indigenous_peoples',
  'migrants_and_refugees',
  'labour_rights',
  'business_and_human_rights',
  'economic_social_cultural_rights',
  'detention_and_fair_trial',
  'multilateral_engagement',
  'good_governance',
  'rule_of_law',
  'international_humanitarian_law',
];
export const CONSENT_LEVELS = [
  'internal_only',
  'raise_without_name',
  'raise_by_name',
  'handover_list',
];
export const CONSENT_GIVERS = ['person', 'family', 'representative'];
export const URGENCIES = ['standard', 'urgent'];

/** The free-text fields of each kind: name, whether required, and whether long. */
const TEXT_FIELDS = {
  agenda_input: [
    ['situation', true, true],
    ['recommendations', false, true],
    ['gender_dimension', false, true],
    ['sources', false, true],
  ],
  individual_case: [
    ['place', false, false],
    ['situation', true, true],
    ['dates', false, false],
    ['relation_to_person', true, false],
    ['earlier_referrals', false, true],
  ],
  reprisal_report: [
    ['what_happened', true, true],
    ['when', true, false],
    ['by_whom', false, false],
    ['link_to_engagement', true, true],
  ],
  seminar_recommendations: [['seminar', true, false]],
};

/** Which kinds carry lists of rows, and the fewest rows each needs. */
const PERSONS_MINIMUM = { individual_case: 1, reprisal_report: 0 };

/** Collects one message per path, the first one found, as the server's `_Checker` does. */
class Checker {
  constructor() {
    this.errors = {};
  }

  fail(path, message) {
    if (!(path in this.errors)) this.errors[path] = message;
  }

  text(data, path, key, { required, limit }) {
    const value = data[key] ?? '';
    const field = join(path, key);
    if (typeof value !== 'string') {
      this.fail(field, 'must be text');
      return '';
    }
    const stripped = value.trim();
    if (required && !stripped) this.fail(field, 'is required');
    else if ([...stripped].length > limit) {
      this.fail(field, `must be at most ${limit} characters`);
    }
    return stripped;
  }

  choice(data, path, key, allowed) {
    const value = data[key];
    if (allowed.includes(value)) return value;
    this.fail(join(path, key), `must be one of: ${allowed.join(', ')}`);
    return null;
  }

  items(data, key, { minimum, maximum }) {
    const value = data[key] ?? [];
    if (!Array.isArray(value)) {
      this.fail(key, 'must be a list');
      return [];
    }
    if (value.length < minimum) this.fail(key, `needs at least ${minimum}`);
    if (value.length > maximum) this.fail(key, `may hold at most ${maximum}`);
    return value.slice(0, maximum).map((item, position) => [`${key}.${position}`, item]);
  }
}

function join(path, key) {
  return path ? `${path}.${key}` : key;
}

function checkTopics(checker, data, required) {
  const value = data.topics ?? [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    checker.fail('topics', 'must be a list of agenda themes');
    return [];
  }
  const known = value.filter((item) => TOPICS.includes(item));
  if (known.length !== value.length) {
    checker.fail('topics', 'holds a theme that is not on the list of agenda themes');
  } else if (required && value.length === 0) {
    checker.fail('topics', 'choose at least one agenda theme');
  }
  return [...new Set(known)].sort();
}

function checkFlag(checker, data, key) {
  const value = data[key] ?? false;
  if (typeof value !== 'boolean') {
    checker.fail(key, 'must be true or false');
    return false;
  }
  return value;
}

function checkConsent(checker, data, path) {
  const consent = data.consent;
  if (consent === null || typeof consent !== 'object') {
    checker.fail(path, 'say what the person agreed to, and who agreed');
    return {};
  }
  const level = checker.choice(consent, path, 'level', CONSENT_LEVELS);
  const givenBy = checker.choice(consent, path, 'given_by', CONSENT_GIVERS);
  if (consent.risks_explained !== true) {
    checker.fail(
      join(path, 'risks_explained'),
      'consent counts only once the risks were explained to whoever gave it',
    );
  }
  return { level, given_by: givenBy, risks_explained: true };
}

function checkPersons(checker, data, minimum) {
  return checker
    .items(data, 'persons', { minimum, maximum: MAX_PERSONS })
    .map(([path, person]) => ({
      name: checker.text(person, path, 'name', { required: true, limit: SHORT_TEXT_LIMIT }),
      consent: checkConsent(checker, person, join(path, 'consent')),
    }));
}

function checkRecommendations(checker, data) {
  return checker
    .items(data, 'recommendations', { minimum: 1, maximum: MAX_RECOMMENDATIONS })
    .map(([path, row]) => ({
      text: checker.text(row, path, 'text', { required: true, limit: LONG_TEXT_LIMIT }),
      addressee: checker.text(row, path, 'addressee', { required: true, limit: SHORT_TEXT_LIMIT }),
      topic: checker.choice(row, path, 'topic', TOPICS),
    }));
}

/**
 * The normalised payload of a `kind` submission and the errors found, by payload path.
 *
 * Mirrors `payload.validate_submission`: when `errors` is empty, `payload` is exactly what the
 * server would have sealed for the same form without JavaScript.
 *
 * @param {object} data what `readForm` read
 * @param {string} kind a SubmissionKind value
 * @returns {{payload: object, errors: Object<string, string>}}
 */
export function validateSubmission(data, kind) {
  const checker = new Checker();
  const payload = {
    format: SUBMISSION_FORMAT,
    kind,
    topics: checkTopics(checker, data, kind === 'agenda_input'),
  };
  for (const flag of FLAGS) payload[flag] = checkFlag(checker, data, flag);
  for (const [name, required, long] of TEXT_FIELDS[kind]) {
    const limit = long ? LONG_TEXT_LIMIT : SHORT_TEXT_LIMIT;
    payload[name] = checker.text(data, '', name, { required, limit });
  }
  if (kind === 'reprisal_report') payload.urgency = checker.choice(data, '', 'urgency', URGENCIES);
  if (kind in PERSONS_MINIMUM) payload.persons = checkPersons(checker, data, PERSONS_MINIMUM[kind]);
  if (kind === 'seminar_recommendations') {
    payload.recommendations = checkRecommendations(checker, data);
  }
  return { payload, errors: checker.errors };
}

/**
 * What the person typed, shaped as `validateSubmission` reads it (`ReadForm.payload_input`).
 *
 * A row of a list counts only if one of its fields holds something; `rowOfItem` maps each
 * list's item positions back to the form's row numbers, so errors find their fields.
 *
 * @param {Array<[string, string]>} entries the form's submitted name/value pairs (FormData)
 * @param {string[]} fieldNames the names of all the form's fields, filled in or not
 * @param {string} kind a SubmissionKind value
 * @returns {{data: object, rowOfItem: Object<string, number[]>}}
 */
export function readForm(entries, fieldNames, kind) {
  const values = (name) => entries.filter(([key]) => key === name).map(([, value]) => value);
  const value = (name) => values(name)[0] ?? '';
  const checked = (name) => values(name).includes(FLAG_VALUE);
  const data = { topics: values('topics') };
  for (const flag of FLAGS) data[flag] = checked(flag);
  for (const [name] of TEXT_FIELDS[kind]) data[name] = value(name);
  if (kind === 'reprisal_report') data.urgency = value('urgency');
  const rowOfItem = {};
  const readRows = (list, readRow) => {
    const rows = rowNumbers(fieldNames, list).filter((row) =>
      entries.some(([key, typed]) => key.startsWith(`${list}.${row}.`) && typed.trim()),
    );
    rowOfItem[list] = rows;
    return rows.map((row) => readRow(`${list}.${row}.`));
  };
  if (kind in PERSONS_MINIMUM) {
    data.persons = readRows('persons', (prefix) => ({
      name: value(`${prefix}name`),
      consent: {
        level: value(`${prefix}consent.level`),
        given_by: value(`${prefix}consent.given_by`),
        risks_explained: checked(`${prefix}consent.risks_explained`),
      },
    }));
  }
  if (kind === 'seminar_recommendations') {
    data.recommendations = readRows('recommendations', (prefix) => ({
      text: value(`${prefix}text`),
      addressee: value(`${prefix}addressee`),
      topic: value(`${prefix}topic`),
    }));
  }
  return { data, rowOfItem };
}

/** The row numbers the form shows for `list`, in order. */
function rowNumbers(fieldNames, list) {
  const pattern = new RegExp(`^${list}\\.(\\d+)\\.`);
  const rows = fieldNames.map((name) => pattern.exec(name)).filter((match) => match !== null);
  return [...new Set(rows.map((match) => Number(match[1])))].sort((a, b) => a - b);
}

/** The form field name for a payload path, list positions turned into rows (`field_of`). */
export function fieldOf(path, rowOfItem) {
  const parts = path.split('.');
  if (parts.length > 1 && parts[0] in rowOfItem && /^\d+$/.test(parts[1])) {
    parts[1] = String(rowOfItem[parts[0]][Number(parts[1])]);
  }
  return parts.join('.');
}

/**
 * The sentence a person reads beside a refused field (`vocabulary.field_message`).
 *
 * @param {string} path the payload path
 * @param {string} message the English message `validateSubmission` gave
 * @param {Object<string, string>} messages the page's sentences (`vocabulary.browser_messages`)
 */
export function messageFor(path, message, messages) {
  const last = path.split('.').at(-1);
  const limit = /^(?:must be at most|may hold at most) (\d+)/.exec(message);
  if (message === 'is required') return messages.required;
  if (limit && message.endsWith('characters')) return messages.too_long.replace('{limit}', limit[1]);
  if (limit) return messages.too_many.replace('{limit}', limit[1]);
  if (message.startsWith('needs at least') && `minimum.${last}` in messages) {
    return messages[`minimum.${last}`];
  }
  if (message.startsWith('must be one of') && `choice.${last}` in messages) {
    return messages[`choice.${last}`];
  }
  if (last === 'risks_explained') return messages.risks_explained;
  if (last === 'topics') return messages.topics;
  return messages.other;
}

/**
 * A uniformly random whole number below `bound`, from 32-bit random values.
 *
 * Values at or above the largest multiple of `bound` that fits are drawn again, so that no
 * number is likelier than another (a plain remainder would favour the small ones).
 *
 * @param {number} bound at most 2**32
 * @param {(array: Uint32Array) => Uint32Array} fillRandom `crypto.getRandomValues` or a stand-in
 */
export function uniformIndex(bound, fillRandom) {
  const limit = Math.floor(2 ** 32 / bound) * bound;
  const draw = new Uint32Array(1);
  for (;;) {
    fillRandom(draw);
    if (draw[0] < limit) return draw[0] % bound;
  }
}

/**
 * A new codename: `CODENAME_WORDS` words drawn uniformly from `words`, as `generate_codename`
 * does on the server, spelled as the list spells them.
 */
export function generateCodename(words, fillRandom) {
  return Array.from({ length: CODENAME_WORDS }, () => words[uniformIndex(words.length, fillRandom)])
    .join(' ');
}

/** Two distinct word positions of a codename, counted from 1, in order: the retype check. */
export function retypePositions(fillRandom) {
  const first = uniformIndex(CODENAME_WORDS, fillRandom);
  const second = (first + 1 + uniformIndex(CODENAME_WORDS - 1, fillRandom)) % CODENAME_WORDS;
  return [first + 1, second + 1].sort((a, b) => a - b);
}
