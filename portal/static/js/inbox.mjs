/**
 * One submission read back in the browser, for an inbox session whose key this tab holds.
 *
 * The page (`templates/inbox/_sealed_submission.html`) carries no plaintext: this module fetches
 * the envelopes from `data-sealed-url`, opens them with the key that the key seed kept in this
 * tab (`inbox-key.mjs`) derives for the submission's public id (`data-public-id`; the seed itself
 * for a submission stored before per-submission keys) and fills the page with `textContent`
 * only, so nothing decrypted is ever parsed as HTML in the page: the one exception, a notice's
 * HTML, is parsed in an inert document and rebuilt element by element (`notices.mjs`).
 * Further information and consent changes are sealed here to the recipients and under the
 * contexts the page names (the ones the server checks) and posted as JSON with the CSRF token
 * in `X-CSRFToken`; the server stores envelopes only. Deleting stays a form post. The files
 * attached are listed by the name and size their keys records hold, once checked and opened
 * here like every other item (`attachment-upload.mjs`, `attachmentListing`).
 * The form for adding information exists only once this module has read the submission back
 * with the key of this tab, so no plain post of what is typed can leave the page.
 *
 * The thread with the desk comes with the envelopes: each message is opened here and checked
 * (`desk-messages.mjs`); a reply is sealed under `data-reply-context`, the context of the reply
 * id the server issued with the page, and posted with that id (`data-reply-id`). A notice (a
 * debrief or progress on the roadmap) is checked exactly like a desk message, then headed by
 * what it is and its HTML rebuilt through the allow-list of `notices.mjs`; one that fails the
 * check shows as unverified, with nothing of its text. The server lists new items first and
 * marks them; once the thread is shown, the page posts the ids of the new items it showed to
 * `data-seen-url`, and only then are they no longer new.
 *
 * Before anything is opened for use, every item goes through `signed-items.mjs`: the submission
 * must be signed by the key this tab derives (and name it inside), each later item by its side's
 * key named inside the submission; what fails is shown as "This item could not be verified" and
 * never used, what was sent before signatures is marked so. What the tab adds to a signed
 * submission (`data-signing-key`, which must be the tab's own) is signed here before it is sent.
 *
 * While the EU asks to confirm consent for a new session (`data-round`, and a hidden `round` in
 * each consent form), each person shows whether they are confirmed for it, and a consent form
 * seals its round inside the change and sends the same round beside the envelope, for the server
 * to check that the request is open (`consent-change.mjs`).
 */
import {
  deriveSubmissionKeys,
  equalBytes,
  openEnvelope,
  sealEnvelope,
  signItem,
  verifyDeskKeyChainFrom,
  verifyItem,
  x25519PublicKey,
} from './parley-crypto.mjs';
import { recallKeySeed } from './inbox-key.mjs';
import { characterCount } from './sealed-submission.mjs';
import { messagePayload, readMessage } from './desk-messages.mjs';
import { cleanNoticeHtml, noticeHeading, readNotice } from './notices.mjs';
import { attachmentListing } from './attachment-upload.mjs';
import { mergeIdentities } from './identities.mjs';
import { consentChangePayload, consentHistory, isValidChange, roundOf } from './consent-change.mjs';
import {
  BEFORE_SIGNATURES,
  UNVERIFIED,
  UnverifiedSubmissionError,
  certifiedDeskKeys,
  itemProvenance,
  submissionAnchors,
} from './signed-items.mjs';

const FURTHER_INFORMATION_FORMAT = 'parley-further-information-v1';

function fromBase64(text) {
  return Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
}

function toBase64(bytes) {
  return btoa(Array.from(bytes, (byte) => String.fromCharCode(byte)).join(''));
}

function fromHex(hex) {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function element(tag, text, className) {
  const made = document.createElement(tag);
  if (text !== undefined) made.textContent = text;
  if (className !== undefined) made.className = className;
  return made;
}

function longDate(isoDate) {
  const format = { dateStyle: 'long', timeZone: 'UTC' };
  return new Date(`${isoDate}T00:00:00Z`).toLocaleDateString(document.documentElement.lang, format);
}

async function openItem(item, key) {
  const plaintext = await openEnvelope(fromBase64(item.envelope), key, item.context);
  return JSON.parse(new TextDecoder().decode(plaintext));
}

/** An item as the server handed it, in the shape `signed-items.mjs` checks. */
function stored(item) {
  return {
    context: item.context,
    envelope: fromBase64(item.envelope),
    signature: item.signature === null || item.signature === undefined ? null : fromBase64(item.signature),
  };
}

/** An item checked by the rule, then opened unless it failed: `{provenance, payload}`. */
async function checkedItem(item, anchors, signingKey, key) {
  const provenance = await itemProvenance(anchors, signingKey, stored(item), verifyItem);
  if (provenance === UNVERIFIED) return { provenance, payload: null };
  try {
    return { provenance, payload: await openItem(item, key) };
  } catch {
    return { provenance: UNVERIFIED, payload: null };
  }
}

/** The text of one checked message, or `null` when it failed, does not open or is no message. */
function messageOf(checked, limit) {
  return checked.payload === null ? null : readMessage(checked.payload, limit);
}

/** The notice of one checked item, or `null` when it failed, does not open or is no notice. */
function noticeOf(checked) {
  return checked.payload === null ? null : readNotice(checked.payload);
}

/** The page named another submitter key than the tab's own: nothing is opened or sealed. */
class KeyMismatchError extends Error {}

class SealedPage {
  constructor(root, seed) {
    this.root = root;
    this.seed = seed;
    this.data = root.dataset;
    this.messages = JSON.parse(root.dataset.messages);
    this.values = JSON.parse(root.dataset.valueLabels);
    this.noticeWords = JSON.parse(root.dataset.noticeWords);
    this.declaration = JSON.parse(document.getElementById('kind-declaration').textContent);
    this.recipients = [fromHex(root.dataset.deskKey), fromHex(root.dataset.submitterKey)];
  }

  valueLabel(value) {
    return this.values[value] ?? value;
  }

  /** Items joined as the page's language joins a list, as the server's `listed` filter does. */
  listed(items) {
    return new Intl.ListFormat(document.documentElement.lang, { type: 'conjunction' }).format(items);
  }

  consentWords(consent) {
    const giver = this.messages.given_by.replace('{giver}', this.valueLabel(consent.given_by));
    return `${this.valueLabel(consent.level)} (${giver})`;
  }

  /**
   * The private key this submission opens with: the one this tab's seed derives for the
   * submission's public id, or, for a submission stored before per-submission keys, the seed
   * itself. Refuses a page that names, as this person's key, any other key: a server that
   * swapped it would read everything sealed from here on.
   */
  async ownKey() {
    const named = this.recipients[1];
    const derived = await deriveSubmissionKeys(this.seed, this.data.publicId);
    this.signingKeys = derived;
    const namedSigningKey = fromHex(this.data.signingKey ?? '');
    if (namedSigningKey.length > 0 && !equalBytes(namedSigningKey, derived.signingPublicKey)) {
      throw new KeyMismatchError();
    }
    if (equalBytes(derived.publicKey, named)) return derived.privateKey;
    if (equalBytes(await x25519PublicKey(this.seed), named)) return this.seed;
    throw new KeyMismatchError();
  }

  async load() {
    const key = await this.ownKey();
    const response = await fetch(this.data.sealedUrl, { credentials: 'same-origin' });
    if (!response.ok) throw new Error('the envelopes could not be fetched');
    const sealed = await response.json();
    const sent = await openItem(sealed.submission, key);
    const anchors = await submissionAnchors(sent, stored(sealed.submission), this.signingKeys.signingPublicKey, verifyItem);
    this.beforeSignatures = anchors.submission === null;
    // The persons' names, when they were sealed apart, are put back for their author to read,
    // once they pass the same check as every other item of the submission.
    const names = sealed.identities ? await checkedItem(sealed.identities, anchors, anchors.submission, key) : null;
    const payload = names?.payload ? mergeIdentities(sent, names.payload, this.declaration) : sent;
    const own = (item) => checkedItem(item, anchors, anchors.submission, key);
    const furtherInformation = await Promise.all(sealed.further_information.map(own));
    const changes = await Promise.all(sealed.consent_changes.map(own));
    const limit = this.declaration.inbox_text_limit;
    const deskKeys = await certifiedDeskKeys(anchors.desk, sealed.desk_keys ?? [], sealed.dialogue, verifyDeskKeyChainFrom, anchors.recovery);
    const messages = await Promise.all(
      (sealed.messages ?? []).map(async (item) => {
        const deskKey = deskKeys.get(item.desk_key_id) ?? anchors.desk;
        const checked = await checkedItem(item, anchors, item.written_by === 'desk' ? deskKey : anchors.submission, key);
        return { provenance: checked.provenance, text: messageOf(checked, limit), notice: noticeOf(checked) };
      }),
    );
    this.sessionDates = sealed.session_dates ?? {};
    this.showMessages(messages, sealed.messages ?? []);
    // A failed post leaves the items new, to be marked again next time: nothing else depends on it.
    await this.markSeen(sealed.messages ?? []).catch(() => undefined);
    if (this.beforeSignatures) document.getElementById('read-back').before(this.provenanceNote(BEFORE_SIGNATURES));
    this.showPayload(payload);
    this.showPersons(payload.persons ?? [], changes);
    if (names?.provenance === UNVERIFIED) document.getElementById('persons').before(this.provenanceNote(UNVERIFIED));
    this.showChanges(payload.persons ?? [], changes, sealed.consent_changes);
    this.showFurtherInformation(furtherInformation, sealed.further_information);
    this.showAttachments(await Promise.all((sealed.attachments ?? []).map(own)));
  }

  /** The files attached, by the name and true size sealed in their keys records. */
  showAttachments(records) {
    const list = document.getElementById('attachment-list');
    for (const { provenance, payload } of records) {
      const listing = provenance === UNVERIFIED ? null : attachmentListing(payload);
      const entry = element('li');
      if (listing === null) entry.append(this.provenanceNote(UNVERIFIED));
      else entry.append(element('span', listing.name, 'written'), ` (${this.messages.file_size.replace('{n}', String(listing.size))})`);
      list.append(entry);
    }
    document.getElementById('attachments-section').hidden = records.length === 0;
  }

  /** The note for an item sent before signatures, or the notice in place of an unverified one. */
  provenanceNote(provenance) {
    return provenance === UNVERIFIED
      ? element('p', this.messages.unverified_item, 'notice unverified-item')
      : element('p', this.messages.before_signatures, 'hint provenance-note');
  }

  /** A field's value as the submitter reads it (`submission_fields.html`'s `read_value`). */
  readValue(field, value) {
    if (field.type === 'flag') return value ? this.messages.yes : this.messages.no;
    if (field.type === 'topics') return this.listed(value.map((topic) => this.valueLabel(topic)));
    if (field.type === 'choice') return this.valueLabel(value);
    return value;
  }

  /** What was sent, walking the kind's declaration as `submission_fields.html` does. */
  showPayload(payload) {
    const list = document.getElementById('read-back');
    const { fields, common } = this.declaration;
    for (const field of [...fields, ...common]) {
      const value = payload[field.name];
      if (field.type === 'list' || field.type === 'consent') continue;
      if (field.type !== 'flag' && (value === undefined || value === null || value.length === 0)) continue;
      const written = field.type === 'short_text' || field.type === 'long_text' ? 'written' : undefined;
      list.append(element('dt', field.submitter_label), element('dd', this.readValue(field, value), written));
    }
    const items = document.getElementById('recommendations-read-back');
    for (const field of fields.filter((declared) => declared.type === 'list' && declared.read_back)) {
      for (const row of payload[field.name] ?? []) {
        const item = element('li');
        for (const inner of field.fields.filter((declared) => declared.type === 'long_text' && row[declared.name])) {
          item.append(element('p', row[inner.name], 'written'));
        }
        const others = field.fields
          .filter((declared) => declared.type !== 'long_text' && row[declared.name])
          .map((declared) =>
            this.messages.labelled
              .replace('{label}', declared.submitter_label)
              .replace('{value}', () => this.readValue(declared, row[declared.name])),
          );
        item.append(element('p', others.join(' · ')));
        items.append(item);
        items.hidden = false;
      }
    }
  }

  /**
   * Each person with their consent as sent and as it stands, the consent form and, while the
   * EU asks to confirm consent for a session (`data-round`), whether they are confirmed for it.
   */
  showPersons(persons, changes) {
    const round = roundOf(this.data.round);
    const { consents, confirmed } = consentHistory(persons, changes, this.declaration.consent, round);
    const container = document.getElementById('persons');
    const template = document.getElementById('person-template');
    persons.forEach((person, index) => {
      const section = template.content.firstElementChild.cloneNode(true);
      for (const named of section.querySelectorAll('[id], [for]')) {
        for (const attribute of ['id', 'for']) {
          if (named.hasAttribute(attribute)) named.setAttribute(attribute, named.getAttribute(attribute).replace('{index}', String(index)));
        }
      }
      section.querySelector('.person-name').textContent = person.name ?? '';
      section.querySelector('.consent-as-sent').textContent = this.messages.as_sent.replace('{consent}', this.consentWords(person.consent));
      section.querySelector('.consent-as-now').textContent = this.messages.as_now.replace('{consent}', this.consentWords(consents[index]));
      const status = section.querySelector('.round-status');
      if (status !== null) {
        const awaiting = !confirmed.has(index);
        status.textContent = awaiting ? this.messages.round_awaiting : this.messages.round_confirmed;
        status.classList.toggle('round-awaiting', awaiting);
      }
      const form = section.querySelector('form.consent-form');
      if (form !== null) this.enhanceConsentForm(form, index, consents[index]);
      container.append(section);
    });
    document.getElementById('persons-section').hidden = persons.length === 0;
  }

  showChanges(persons, changes, items) {
    const list = document.getElementById('consent-changes');
    changes.forEach(({ provenance, payload: change }, index) => {
      let words = this.messages.unverified_item;
      if (provenance !== UNVERIFIED) {
        words = isValidChange(change, persons.length, this.declaration.consent)
          ? this.messages.person_consent
              .replace('{consent}', this.consentWords(change.consent))
              .replace('{name}', () => persons[change.person].name)
          : this.messages.unknown_change;
      }
      const dated = this.messages.dated_change.replace('{date}', longDate(items[index].received_on));
      const entry = element('li', dated.replace('{change}', () => words));
      if (provenance === BEFORE_SIGNATURES && !this.beforeSignatures) entry.append(this.provenanceNote(provenance));
      list.append(entry);
    });
    document.getElementById('consent-changes-section').hidden = changes.length === 0;
  }

  showFurtherInformation(added, items) {
    const list = document.getElementById('further-information-list');
    added.forEach(({ provenance, payload }, index) => {
      const entry = element('li');
      entry.append(element('p', this.messages.added_on.replace('{date}', longDate(items[index].received_on))));
      entry.append(provenance === UNVERIFIED ? this.provenanceNote(provenance) : element('p', payload?.text, 'written'));
      list.append(entry);
    });
  }

  showMessages(messages, items) {
    const list = document.getElementById('message-thread');
    messages.forEach(({ provenance, text, notice }, index) => {
      const item = items[index];
      const fromDesk = item.written_by === 'desk';
      const entry = element('li', undefined, `message message-${fromDesk ? 'desk' : 'submitter'}`);
      const meta = (fromDesk ? this.messages.from_desk : this.messages.from_you).replace('{date}', longDate(item.sent_on));
      const metaLine = element('p', meta, 'message-meta');
      if (item.new) {
        entry.classList.add('message-new');
        metaLine.prepend(element('strong', this.noticeWords.new, 'new-marker'), ' ');
      }
      entry.append(metaLine);
      if (provenance === UNVERIFIED) entry.append(this.provenanceNote(provenance));
      else if (notice !== null) entry.append(...this.noticeBody(notice));
      else if (text === null) entry.append(element('p', this.messages.unreadable_message, 'notice'));
      else entry.append(element('p', text, 'written'));
      list.append(entry);
    });
    document.getElementById('no-messages').hidden = messages.length > 0;
  }

  /** A checked notice as `notice_fields.html` shows it: what it is, then its cleaned HTML. */
  noticeBody(notice) {
    const heading = noticeHeading(notice, this.noticeWords, this.sessionDates, longDate);
    const text = element('div', undefined, 'notice-text');
    text.append(cleanNoticeHtml(notice.html, document));
    return [element('h3', heading, 'notice-heading'), text];
  }

  /** Tell the server which new items this tab has shown, so that they are no longer new. */
  async markSeen(items) {
    const shown = items.filter((item) => item.new).map((item) => item.public_id);
    if (shown.length === 0) return;
    await fetch(this.data.seenUrl, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken() },
      body: JSON.stringify({ messages: shown }),
    });
  }

  /** Seal `payload` under `context`, post it to `url` (with `fields` beside the envelope), and
   * show the page the server names. */
  async send(url, payload, context, csrfToken, fields = {}) {
    const envelope = await sealEnvelope(JSON.stringify(payload), this.recipients, context);
    // A submission sent before signatures takes unsigned additions: it names no key to check.
    const signature = this.beforeSignatures ? null : toBase64(await signItem(this.signingKeys.signingSeed, context, envelope));
    const response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrfToken },
      body: JSON.stringify({ ...fields, envelope: toBase64(envelope), signature }),
    });
    const answer = await response.json();
    if (!response.ok) throw new Error(answer.error);
    // The next page is this one at an anchor: moving to it only scrolls, so reload it too.
    window.location.assign(answer.next);
    window.location.reload();
  }

  enhanceConsentForm(form, index, consent) {
    for (const input of form.querySelectorAll('input[type="radio"]')) {
      input.checked = input.value === consent[input.name === 'level' ? 'level' : 'given_by'];
    }
    const error = form.querySelector('.field-error');
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      // A confirmation seals its round inside and sends the same round beside the envelope, for
      // the server to check that the EU asks for it; the desk trusts only the sealed one.
      const round = roundOf(form.elements.round?.value);
      const choices = {
        level: form.elements.level.value,
        givenBy: form.elements.given_by.value,
        risksExplained: form.elements.risks_explained.checked,
      };
      const payload = consentChangePayload(index, choices, round);
      const beside = round === null ? {} : { round };
      this.send(this.data.consentUrl, payload, this.data.consentChangeContext, csrfToken(), beside).catch((failure) => {
        error.textContent = failure.message || this.messages.not_sent;
        error.hidden = false;
      });
    });
  }

  /** Put the form for adding information in the page, sealing what is typed into it. */
  addFurtherInformationForm() {
    const template = document.getElementById('further-information-template');
    const form = template.content.firstElementChild.cloneNode(true);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = form.elements.text.value.trim();
      const tooLong = characterCount(text) > this.declaration.inbox_text_limit;
      if (text.length === 0 || tooLong) return showFormError(form, this.messages.empty_text);
      const payload = { format: FURTHER_INFORMATION_FORMAT, text };
      return this.send(this.data.furtherInformationUrl, payload, this.data.furtherInformationContext, csrfToken()).catch(
        (failure) => showFormError(form, failure.message || this.messages.not_sent),
      );
    });
    document.getElementById('further-information-list').after(form);
  }

  /** Put the form for writing to the desk in the page, sealing the reply under the issued id. */
  addMessageForm() {
    const template = document.getElementById('message-template');
    const form = template.content.firstElementChild.cloneNode(true);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const payload = messagePayload(form.elements.text.value, this.declaration.inbox_text_limit);
      if (payload === null) return showFormError(form, this.messages.empty_message);
      const fields = { public_id: this.data.replyId };
      return this.send(this.data.replyUrl, payload, this.data.replyContext, csrfToken(), fields).catch((failure) =>
        showFormError(form, failure.message || this.messages.not_sent),
      );
    });
    document.getElementById('no-messages').after(form);
  }
}

function csrfToken() {
  return document.querySelector('input[name="csrf_token"]').value;
}

function showFormError(form, text) {
  let message = form.querySelector('.field-error');
  if (message === null) {
    message = element('p', undefined, 'field-error');
    message.setAttribute('role', 'alert');
    form.elements.text.before(message);
  }
  message.textContent = text;
}

const root = document.getElementById('sealed-submission');
if (root !== null) {
  const status = document.getElementById('sealed-status');
  const seed = recallKeySeed(window.sessionStorage);
  const page = seed === null ? null : new SealedPage(root, seed);
  if (page === null) {
    status.textContent = JSON.parse(root.dataset.messages).key_missing;
  } else {
    page
      .load()
      .then(() => {
        page.addFurtherInformationForm();
        page.addMessageForm();
        status.hidden = true;
      })
      .catch((failure) => {
        if (failure instanceof KeyMismatchError) status.textContent = page.messages.key_mismatch;
        else if (failure instanceof UnverifiedSubmissionError) status.textContent = page.messages.unverified_item;
        else status.textContent = page.messages.not_loaded;
      });
  }
}
