/**
 * The public forms with JavaScript: sealed in the browser, so the server receives envelopes only.
 *
 * Progressive enhancement of `templates/forms/form.html`, which works without this module. On
 * "Send", the module reads the form, checks it as the server would (`sealed-submission.mjs`),
 * makes a new codename here or derives a typed one here, derives from it the key pair of this
 * submission (its public id is the page's), seals the payload to the desk key and the
 * submission's key under the context the page names (the persons' names apart, to the identity
 * key the page names, when it names one: `identities.mjs`), and posts JSON to the form's
 * `data-sealed-url` (see `portal/blueprints/forms_sealed.py`). The codename and what was typed
 * never leave the page; a refusal is shown in the form, with everything typed still there.
 *
 * Chosen files are encrypted here too: photos are first cleaned of hidden details
 * (`image-metadata.mjs`; the form names the files that are not), then each file is encrypted under
 * its own key and sent in resumable pieces before the submission (`attachment-upload.mjs`), with
 * a progress bar per file and for all of them; the submission then names the uploads and carries
 * each file's sealed keys. "Add more rows" adds the rows in the page rather than posting what
 * was typed.
 *
 * The page's public id is issued by the server and expires. When the server answers that it has
 * (410, from the upload API or on sending), the module fetches this page again and takes the
 * fresh id and the contexts that name it from the copy; what was typed and the chosen files stay,
 * and the person sends again.
 */
import {
  CodenameError,
  deriveCodenameSecrets,
  deriveSubmissionKeys,
  normaliseCodename,
  ownerTagKey,
  sealEnvelope,
  signItem,
} from './parley-crypto.mjs';
import {
  fieldOf,
  generateCodename,
  messageFor,
  readForm,
  retypePositions,
  validateSubmission,
} from './sealed-submission.mjs';
import { UploadRefusedError, sendAttachment } from './attachment-upload.mjs';
import { splitIdentities } from './identities.mjs';
import { ImageNotCleanedError, isCleaned, withoutMetadata } from './image-metadata.mjs';
import { postSigningIn } from './sign-in-work.mjs';
import { ServerRefusalError, failureText } from './server-refusal.mjs';

const SEND_ACTION = 'send';
const FORM_EXPIRED = 410;
// What the page names after the public id, and must change with it.
const ISSUED_ID_DATA = ['context', 'attachmentContextPrefix', 'identitiesContext'];
const ADD_ROWS_ACTION = 'add_rows';
const fillRandom = (array) => globalThis.crypto.getRandomValues(array);

/** The element id of a field, as `forms_web.fields.html_id` makes it. */
function htmlId(name) {
  return `field-${name.replaceAll('.', '-')}`;
}

function toBase64(bytes) {
  return btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(''));
}

function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function toHex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function fromBase64(text) {
  return Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
}

/**
 * The keys this submission's items are checked with, sealed inside it (`parley-signatures-v2`):
 * its own signing key, the desk signing key the page names, whose messages it will trust, and
 * the recovery signing key the page names, whose certificates of later desk keys it will accept.
 */
function signaturesBlock(signingPublicKey, deskSigningKey, recoverySigningKey) {
  return {
    format: 'parley-signatures-v2',
    submission_key: toHex(signingPublicKey),
    desk_key: deskSigningKey ? deskSigningKey : null,
    recovery_key: recoverySigningKey ? recoverySigningKey : null,
  };
}

/** Each file's entry signed with the submission's signing key, under its keys context. */
async function signedAttachments(entries, signingSeed, contextPrefix) {
  return Promise.all(
    entries.map(async (entry) => {
      const context = `${contextPrefix}${entry.upload}`;
      const signature = await signItem(signingSeed, context, fromBase64(entry.keys_envelope));
      return { ...entry, signature: toBase64(signature) };
    }),
  );
}

function textEntries(form) {
  return [...new FormData(form).entries()].filter(([, value]) => typeof value === 'string');
}

function chosenFiles(form) {
  return [...form.querySelectorAll('input[type="file"]')].flatMap((input) => [...input.files]);
}

/** Bars for each file and for all of them, below the file input; `update(index, fraction)`. */
function showProgress(form, files) {
  const input = form.querySelector('input[type="file"]');
  input.parentElement.querySelector('.upload-progress')?.remove();
  const block = document.getElementById('sealed-upload-progress').content.firstElementChild.cloneNode(true);
  const overallText = block.querySelector('.progress-text');
  const rows = files.map((file, index) => {
    const row = document.getElementById('sealed-upload-file').content.firstElementChild.cloneNode(true);
    const label = row.querySelector('.progress-label');
    label.id = `upload-progress-file-${index}`;
    label.textContent = file.name;
    row.querySelector('progress').setAttribute('aria-labelledby', label.id);
    block.querySelector('.upload-files').append(row);
    return row;
  });
  input.after(block);
  const fractions = files.map(() => 0);
  const percentText = (fraction) =>
    overallText.dataset.sent.replace('{percent}', String(Math.floor(fraction * 100)));
  return (index, fraction) => {
    fractions[index] = fraction;
    rows[index].querySelector('progress').value = fraction;
    rows[index].querySelector('.progress-text').textContent = percentText(fraction);
    const overall = fractions.reduce((total, part) => total + part, 0) / files.length;
    block.querySelector('p progress').value = overall;
    // Only a new figure is written: the line is a live region, and a screen reader may read
    // out even an unchanged text that is set again.
    if (overallText.textContent !== percentText(overall)) overallText.textContent = percentText(overall);
  };
}

/** Encrypt and upload each chosen file, one after the other; the entries the submission names. */
async function sendFiles(form, recipients) {
  const files = chosenFiles(form);
  if (files.length === 0) return [];
  const update = showProgress(form, files);
  const attachments = [];
  for (const [index, file] of files.entries()) {
    const entry = await sendAttachment(await withoutMetadata(file), {
      submissionId: form.elements.public_id.value,
      uploadsUrl: form.dataset.uploadsUrl,
      csrfToken: form.elements.csrf_token.value,
      recipients,
      contextPrefix: form.dataset.attachmentContextPrefix,
      onProgress: (sent, total) => update(index, sent / total),
    });
    attachments.push(entry);
  }
  return attachments;
}

/** Remove the errors a previous attempt put on the page. */
function clearErrors(form) {
  document.getElementById('error-summary')?.remove();
  for (const message of form.querySelectorAll('.field-error-message')) message.remove();
  for (const field of form.querySelectorAll('.has-error')) field.classList.remove('has-error');
  for (const field of form.querySelectorAll('[aria-invalid]')) {
    field.removeAttribute('aria-invalid');
    field.removeAttribute('aria-describedby');
  }
}

/** What a field is called in the error summary: its row's legend, its label or its legend. */
function titleOf(element) {
  const row = element.closest('fieldset.row');
  if (row !== null) return row.querySelector('legend').textContent.trim();
  const label = element.tagName === 'FIELDSET' ? element.querySelector('legend') : element.labels?.[0];
  return label?.firstChild?.textContent.trim() ?? '';
}

/** Put one error next to its field, marked up as `templates/forms/fields.html` does. */
function placeError(form, name, text) {
  const element = document.getElementById(htmlId(name));
  const errorId = `${htmlId(name)}-error`;
  const message = document.getElementById('sealed-field-error').content.firstElementChild.cloneNode(true);
  message.id = errorId;
  message.querySelector('.message').textContent = text;
  if (element.tagName === 'FIELDSET') element.querySelector('legend').after(message);
  else if (element.type === 'checkbox') element.parentElement.prepend(message);
  else element.before(message);
  element.closest('.form-field, .choice')?.classList.add('has-error');
  element.setAttribute('aria-describedby', errorId);
  element.setAttribute('aria-invalid', 'true');
  return element;
}

/** The summary at the top of the form, with a link to each field and an optional refusal. */
function showSummary(form, fieldErrors, refusal) {
  const summary = document.getElementById('sealed-error-summary').content.firstElementChild.cloneNode(true);
  for (const [name, text] of fieldErrors) {
    const element = placeError(form, name, text);
    const link = document.createElement('a');
    link.href = `#${element.id}`;
    link.textContent = `${titleOf(element)}: ${text}`;
    const item = document.createElement('li');
    item.append(link);
    summary.querySelector('ul').append(item);
  }
  if (refusal) {
    const paragraph = summary.querySelector('.sealed-refusal');
    paragraph.textContent = refusal;
    paragraph.hidden = false;
  }
  document.getElementById('who-reads').before(summary);
  summary.focus();
}

/** More empty rows in each declared list, up to its maximum, copied from the list's last row. */
function addRows(form, declaration) {
  for (const list of declaration.fields.filter((field) => field.type === 'list')) {
    const rowsInput = form.querySelector(`input[name="${list.rows_field}"]`);
    if (rowsInput === null) continue;
    const shown = Number(rowsInput.value);
    const grown = Math.min(shown + list.added_rows, list.maximum);
    const rows = document.getElementById(htmlId(list.name)).querySelectorAll('fieldset.row');
    const last = rows[rows.length - 1];
    for (let row = shown; row < grown; row += 1) last.parentElement.append(copyRow(last, list.name, shown - 1, row));
    rowsInput.value = String(grown);
  }
}

function copyRow(template, list, from, to) {
  const row = template.cloneNode(true);
  const renumber = (text) =>
    text.replaceAll(`${list}.${from}.`, `${list}.${to}.`).replaceAll(`${htmlId(list)}-${from}`, `${htmlId(list)}-${to}`);
  for (const element of [row, ...row.querySelectorAll('*')]) {
    for (const attribute of ['id', 'name', 'for', 'aria-describedby']) {
      if (element.hasAttribute(attribute)) element.setAttribute(attribute, renumber(element.getAttribute(attribute)));
    }
  }
  const legend = row.querySelector('legend');
  legend.textContent = legend.textContent.replace(String(from + 1), String(to + 1));
  for (const message of row.querySelectorAll('.field-error-message')) message.remove();
  for (const field of row.querySelectorAll('input, textarea, select')) {
    field.removeAttribute('aria-invalid');
    if (field.type === 'radio' || field.type === 'checkbox') field.checked = false;
    else field.value = '';
  }
  return row;
}

/** The codename's login secret and key: a new codename made here, or the one typed. */
async function codenameSecrets(form) {
  if (form.elements.codename_choice.value === 'existing') {
    return { codename: null, secrets: await deriveCodenameSecrets(form.elements.codename.value) };
  }
  const response = await fetch(form.dataset.codenameWordsUrl, { credentials: 'same-origin' });
  if (!response.ok) throw new Error('the codename word list could not be loaded');
  const words = (await response.text()).split('\n').filter((word) => word.length > 0);
  const codename = generateCodename(words, fillRandom);
  return { codename, secrets: await deriveCodenameSecrets(codename) };
}

/**
 * Where the page names an identity key, the persons' names sealed apart to it and to the
 * submission's key (`identities.mjs`) and signed with the submission's signing key under the
 * same context, and the payload without them; else the payload as is.
 */
async function sealWithIdentities(form, payload, declaration, submissionKeys) {
  if (!form.dataset.identityKey) return { payload, identitiesEnvelope: null, identitiesSignature: null };
  const split = splitIdentities(payload, declaration);
  const context = form.dataset.identitiesContext;
  const identitiesEnvelope = await sealEnvelope(
    JSON.stringify(split.identities),
    [fromHex(form.dataset.identityKey), submissionKeys.publicKey],
    context,
  );
  const identitiesSignature = await signItem(submissionKeys.signingSeed, context, identitiesEnvelope);
  return { payload: split.payload, identitiesEnvelope, identitiesSignature };
}

async function sendSealed(form, declaration, messages) {
  clearErrors(form);
  const kind = declaration.kind;
  const fieldNames = [...form.elements].map((element) => element.name).filter(Boolean);
  const { data, rowOfItem } = readForm(textEntries(form), fieldNames, declaration);
  const { payload, errors } = validateSubmission(data, declaration);
  const fieldErrors = Object.entries(errors).map(([path, message]) => [
    fieldOf(path, rowOfItem),
    messageFor(path, message, messages),
  ]);
  if (fieldErrors.length > 0) return showSummary(form, fieldErrors, null);

  let chosen;
  try {
    chosen = await codenameSecrets(form);
  } catch (error) {
    if (!(error instanceof CodenameError)) throw error;
    return showSummary(form, [['codename', messages.codename]], null);
  }
  const { codename, secrets } = chosen;
  const publicId = form.elements.public_id.value;
  // Sealed to this submission's own key, never to the codename's: no stored key links it to
  // the submitter's other submissions.
  const submissionKeys = await deriveSubmissionKeys(secrets.keySeed, publicId);
  const recipients = [fromHex(form.dataset.deskKey), submissionKeys.publicKey];
  const sealed = await sealWithIdentities(form, payload, declaration, submissionKeys);
  const signed = { ...sealed.payload, signatures: signaturesBlock(submissionKeys.signingPublicKey, form.dataset.deskSigningKey, form.dataset.recoverySigningKey) };
  const envelope = await sealEnvelope(JSON.stringify(signed), recipients, form.dataset.context);
  const signature = await signItem(submissionKeys.signingSeed, form.dataset.context, envelope);
  const attachments = await signedAttachments(
    await sendFiles(form, recipients),
    submissionKeys.signingSeed,
    form.dataset.attachmentContextPrefix,
  );
  const body = {
    dialogue: form.dataset.dialogue,
    session: form.dataset.session ? Number(form.dataset.session) : null,
    kind,
    public_id: publicId,
    envelope: toBase64(envelope),
    signature: toBase64(signature),
    submission_key: toBase64(submissionKeys.publicKey),
    signing_key: toBase64(submissionKeys.signingPublicKey),
    login_secret: toBase64(secrets.loginSecret),
    // The server files the submission under this codename's next owner tag, then forgets it.
    owner_tag_key: toBase64(await ownerTagKey(secrets.keySeed)),
    new_submitter: codename !== null,
    topics: payload.topics,
    urgent: payload.urgency === 'urgent',
    attachments,
  };
  if (sealed.identitiesEnvelope !== null) {
    body.identities_envelope = toBase64(sealed.identitiesEnvelope);
    body.identities_signature = toBase64(sealed.identitiesSignature);
  }
  if (codename !== null) body.public_key = toBase64(secrets.publicKey);
  // Signing in (or registering) may first ask this device for a proof of work.
  const { response, answer } = await postSigningIn(
    form.dataset.sealedUrl, form.elements.csrf_token.value, body, secrets.loginSecret,
  );
  if (response.status === FORM_EXPIRED) return renewed(form, messages);
  if (!response.ok) {
    const codenameRefused = response.status === 403 && codename === null;
    const refusal = failureText(new ServerRefusalError(answer.error, response.status), messages.not_sent);
    return showSummary(form, codenameRefused ? [['codename', refusal]] : [], codenameRefused ? null : refusal);
  }
  return codename === null ? showPage('sealed-received') : showCodename(codename);
}

/** Replace the page's content with one of the form's result templates. */
function showPage(templateId) {
  const main = document.getElementById('main');
  main.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
  window.scrollTo(0, 0);
  return main;
}

/** Show the new codename, which only this page knows, and check that it was written down. */
function showCodename(codename) {
  const page = showPage('sealed-codename');
  const list = page.querySelector('#codename');
  for (const word of codename.split(' ')) {
    const item = document.createElement('li');
    item.lang = list.dataset.lang;
    item.textContent = word;
    list.append(item);
  }
  const check = page.querySelector('form.retype-check');
  const positions = retypePositions(fillRandom);
  const inputs = [...check.querySelectorAll('input[name="word"]')];
  check.querySelectorAll('label').forEach((label, index) => {
    inputs[index].id = `retype-word-${positions[index]}`;
    label.htmlFor = inputs[index].id;
    label.textContent = label.dataset.wordLabel.replace('{number}', String(positions[index]));
  });
  const canonical = normaliseCodename(codename).split(' ');
  check.addEventListener('submit', (event) => {
    event.preventDefault();
    const retyped = [...canonical];
    positions.forEach((position, index) => {
      retyped[position - 1] = inputs[index].value;
    });
    let matches = false;
    try {
      matches = normaliseCodename(retyped.join(' ')) === canonical.join(' ');
    } catch (error) {
      if (!(error instanceof CodenameError)) throw error;
    }
    for (const result of page.querySelectorAll('.retype-result')) {
      result.hidden = result.dataset.result !== (matches ? 'match' : 'mismatch');
    }
    check.hidden = matches;
  });
}

/** Say that photos are cleaned here, and name each chosen file that is not. */
function explainCleaning(form) {
  const input = form.querySelector('input[type="file"]');
  const cleaning = document.getElementById(`${input.id}-cleaning`);
  const notCleaned = document.getElementById(`${input.id}-not-cleaned`);
  cleaning.hidden = false;
  const describedBy = input.getAttribute('aria-describedby');
  input.setAttribute('aria-describedby', `${describedBy} ${cleaning.id} ${notCleaned.id}`);
  input.addEventListener('change', () => {
    const names = [...input.files].filter((file) => !isCleaned(file)).map((file) => file.name);
    // Emptied, not only hidden: a description is read out even from a hidden element.
    notCleaned.textContent = names.length === 0 ? '' : notCleaned.dataset.text.replace('{names}', names.join(', '));
    notCleaned.hidden = names.length === 0;
  });
}

/** Take a fresh public id, and the contexts that name it, from a new copy of this page. */
async function renewIssuedId(form) {
  // The attribute: `form.action` would be the form's button named "action".
  const response = await fetch(form.getAttribute('action'), { credentials: 'same-origin' });
  if (!response.ok) throw new Error('the form could not be fetched again');
  const page = new DOMParser().parseFromString(await response.text(), 'text/html');
  const fresh = page.querySelector('form.submission-form[data-sealed-url]');
  if (fresh === null) throw new Error('the form could not be fetched again');
  form.elements.public_id.value = fresh.elements.public_id.value;
  form.elements.csrf_token.value = fresh.elements.csrf_token.value;
  for (const name of ISSUED_ID_DATA) {
    if (fresh.dataset[name] === undefined) delete form.dataset[name];
    else form.dataset[name] = fresh.dataset[name];
  }
}

/** Renew an expired form in place and say so; everything typed and chosen stays. */
async function renewed(form, messages) {
  try {
    await renewIssuedId(form);
  } catch {
    return showSummary(form, [], messages.not_sent);
  }
  return showSummary(form, [], messages.form_renewed);
}

/** Show why sending failed, renewing the form first when its id had expired. */
function showFailure(form, error, messages) {
  if (error instanceof UploadRefusedError && error.status === FORM_EXPIRED) return renewed(form, messages);
  return showSummary(form, [], failureMessage(error, messages));
}

/** Why sending failed, in the page's language where the page gave the words. */
function failureMessage(error, messages) {
  if (error instanceof ImageNotCleanedError) return messages.image_not_cleaned.replace('{name}', error.fileName);
  return failureText(error, messages.not_sent);
}

/** Take over "Send" and "Add more rows", by the kind's declaration the page carries. */
function enhance(form) {
  const messages = JSON.parse(form.dataset.messages);
  const declaration = JSON.parse(document.getElementById('kind-declaration').textContent);
  explainCleaning(form);
  const sendButton = form.querySelector(`button[value="${SEND_ACTION}"]`);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (event.submitter?.value === ADD_ROWS_ACTION) {
      addRows(form, declaration);
      return;
    }
    sendButton.disabled = true;
    sendSealed(form, declaration, messages)
      .catch((error) => showFailure(form, error, messages))
      .finally(() => {
        sendButton.disabled = false;
      });
  });
}

for (const form of document.querySelectorAll('form.submission-form[data-sealed-url]')) {
  enhance(form);
}
