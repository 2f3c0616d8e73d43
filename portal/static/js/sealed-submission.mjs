/**
 * What the browser must know to seal a form: the payload, its checks and a new codename.
 *
 * With JavaScript the server receives only an envelope it cannot open, so it cannot validate
 * what was typed: the browser must refuse, as the server would, anything the desk could not use.
 * `readForm` and `validateSubmission` therefore mirror `ReadForm.payload_input` and
 * `payload.validate_submission` rule for rule, with the same paths and the same English
 * messages, and a browser test compares the two on the same inputs. Neither names a field:
 * both walk the kind's declaration, which the page hands over as JSON
 * (`portal/services/submissions/kinds.py`), so a field declared there is checked here too. `messageFor` mirrors
 * `vocabulary.field_message`, with sentences the page hands over in its own language.
 *
 * Pure functions only (no DOM, no network), so Node can test them.
 */

export const SUBMISSION_FORMAT = 'parley-submission-v1';
export const CODENAME_WORDS = 8;
export const FLAG_VALUE = 'yes';

/** How many characters `text` holds as the server counts them: code points, not UTF-16 units. */
export function characterCount(text) {
  return [...text].length;
}

/**
 * The declaration of a kind, as the page carries it (`kinds.as_json` on the server): the
 * common fields, then the kind's own, each `{name, type, required, limit, choices, label}`, a
 * list being `{name, type: 'list', minimum, maximum, fields}`; `consent` holds the choices of
 * the consent ladder.
 *
 * @typedef {{kind: string, common: object[], fields: object[], consent: Object<string, string[]>}} Declaration
 */

/** The declared fields in payload order. */
function payloadFields(declaration) {
  return [...declaration.common, ...declaration.fields];
}

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
    else if (characterCount(stripped) > limit) {
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

function checkTopics(checker, data, field) {
  const value = data[field.name] ?? [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    checker.fail(field.name, 'must be a list of agenda themes');
    return [];
  }
  const known = value.filter((item) => field.choices.includes(item));
  if (known.length !== value.length) {
    checker.fail(field.name, 'holds a theme that is not on the list of agenda themes');
  } else if (field.required && value.length === 0) {
    checker.fail(field.name, 'choose at least one agenda theme');
  }
  return [...new Set(known)].sort();
}

function checkFlag(checker, data, path, key) {
  const value = data[key] ?? false;
  if (typeof value !== 'boolean') {
    checker.fail(join(path, key), 'must be true or false');
    return false;
  }
  return value;
}

function checkConsent(checker, data, path, ladder) {
  const consent = data.consent;
  if (consent === null || typeof consent !== 'object') {
    checker.fail(path, 'say what the person agreed to, and who agreed');
    return {};
  }
  const level = checker.choice(consent, path, 'level', ladder.level);
  const givenBy = checker.choice(consent, path, 'given_by', ladder.given_by);
  if (consent.risks_explained !== true) {
    checker.fail(
      join(path, 'risks_explained'),
      'consent counts only once the risks were explained to whoever gave it',
    );
  }
  return { level, given_by: givenBy, risks_explained: true };
}

/** The normalised value of one declared field of `data` (an object at `path`). */
function checkField(checker, data, path, field, declaration) {
  switch (field.type) {
    case 'short_text':
    case 'long_text':
      return checker.text(data, path, field.name, { required: field.required, limit: field.limit });
    case 'choice':
      return checker.choice(data, path, field.name, field.choices);
    case 'flag':
      return checkFlag(checker, data, path, field.name);
    case 'topics':
      return checkTopics(checker, data, field);
    case 'consent':
      return checkConsent(checker, data, join(path, field.name), declaration.consent);
    case 'list':
      return checker
        .items(data, field.name, { minimum: field.minimum, maximum: field.maximum })
        .map(([rowPath, row]) =>
          Object.fromEntries(field.fields.map((inner) => [inner.name, checkField(checker, row, rowPath, inner, declaration)])),
        );
    default:
      throw new Error(`a field of unknown type: ${field.type}`);
  }
}

/**
 * The normalised payload of a submission and the errors found, by payload path.
 *
 * Mirrors `payload.validate_submission`, walking the same declaration: when `errors` is empty,
 * `payload` is exactly what the server would have sealed for the same form without JavaScript.
 *
 * @param {object} data what `readForm` read
 * @param {Declaration} declaration the kind's declaration
 * @returns {{payload: object, errors: Object<string, string>}}
 */
export function validateSubmission(data, declaration) {
  const checker = new Checker();
  const payload = { format: SUBMISSION_FORMAT, kind: declaration.kind };
  for (const field of payloadFields(declaration)) {
    payload[field.name] = checkField(checker, data, '', field, declaration);
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
 * @param {Declaration} declaration the kind's declaration
 * @returns {{data: object, rowOfItem: Object<string, number[]>}}
 */
export function readForm(entries, fieldNames, declaration) {
  const values = (name) => entries.filter(([key]) => key === name).map(([, value]) => value);
  const value = (name) => values(name)[0] ?? '';
  const checked = (name) => values(name).includes(FLAG_VALUE);
  const rowOfItem = {};
  const read = (field, prefix) => {
    const name = `${prefix}${field.name}`;
    switch (field.type) {
      case 'flag':
        return checked(name);
      case 'topics':
        return values(name);
      case 'consent':
        return {
          level: value(`${name}.level`),
          given_by: value(`${name}.given_by`),
          risks_explained: checked(`${name}.risks_explained`),
        };
      case 'list': {
        const rows = rowNumbers(fieldNames, field.name).filter((row) =>
          entries.some(([key, typed]) => key.startsWith(`${field.name}.${row}.`) && typed.trim()),
        );
        rowOfItem[field.name] = rows;
        return rows.map((row) =>
          Object.fromEntries(field.fields.map((inner) => [inner.name, read(inner, `${field.name}.${row}.`)])),
        );
      }
      default:
        return value(name);
    }
  };
  const data = Object.fromEntries(payloadFields(declaration).map((field) => [field.name, read(field, '')]));
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
