/**
 * Notices in the inbox tab (`notices.mjs`): the same reading rules as the server's
 * `notice_format.read_notice` (tests/integration/test_notice_format.py), and the allow-list
 * rebuild of their HTML. Node has no DOMParser, so the rebuild is given trees shaped like the
 * ones an HTML parser makes of hostile input, and a recording document to build in; the browser
 * test (tests/browser/test_inbox_notices_browser.py) runs it on Chromium's own parser.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ALLOWED_TAGS, MAX_NOTICE_HTML, NOTICE_FORMAT, cleanNoticeHtml, noticeHeading, readNotice } from '../../portal/static/js/notices.mjs';

const notice = (fields) => ({ format: NOTICE_FORMAT, purpose: 'debrief', session: 3, action: null, html: '<p>Discussed.</p>', ...fields });

test('a written notice reads back, with its session or action', () => {
  assert.deepEqual(readNotice(notice({})), { purpose: 'debrief', session: 3, action: null, html: '<p>Discussed.</p>' });
  assert.deepEqual(readNotice(notice({ purpose: 'progress', session: null, action: 7 })), {
    purpose: 'progress',
    session: null,
    action: 7,
    html: '<p>Discussed.</p>',
  });
  const { session: _session, action: _action, ...bare } = notice({});
  assert.deepEqual(readNotice(bare), { purpose: 'debrief', session: null, action: null, html: '<p>Discussed.</p>' });
});

test('anything that is not exactly a notice is refused', () => {
  for (const payload of [
    null,
    [],
    'text',
    { format: 'parley-desk-message-v1', text: 'a message' },
    notice({ format: 'parley-desk-notice-v2' }),
    notice({ purpose: 'message' }),
    notice({ purpose: 'Debrief' }),
    notice({ html: 42 }),
    notice({ html: null }),
    notice({ html: 'x'.repeat(MAX_NOTICE_HTML + 1) }),
    notice({ session: 0 }),
    notice({ session: -1 }),
    notice({ session: '3' }),
    notice({ session: true }),
    notice({ session: 2 ** 31 }),
    notice({ action: 1.5 }),
  ]) {
    assert.equal(readNotice(payload), null, JSON.stringify(payload)?.slice(0, 80));
  }
  assert.notEqual(readNotice(notice({ html: '\u{1F600}'.repeat(MAX_NOTICE_HTML) })), null, 'characters, not UTF-16 units');
});

// A tree as an HTML parser makes it: elements with attributes, text, comments.
const text = (data) => ({ nodeType: 3, data, childNodes: [] });
const comment = (data) => ({ nodeType: 8, data, childNodes: [] });
const el = (localName, attributes, ...childNodes) => ({ nodeType: 1, localName, attributes, childNodes });

/** A document that records what is built in it, as markup, and every attribute set. */
function recordingDocument() {
  const attributesSet = [];
  const node = (tag) => ({
    tag,
    children: [],
    append(...nodes) {
      this.children.push(...nodes);
    },
    setAttribute(name, value) {
      attributesSet.push([name, value]);
    },
  });
  return {
    attributesSet,
    createDocumentFragment: () => node(null),
    createElement: (tag) => node(tag),
    createTextNode: (data) => ({ text: data }),
  };
}

function markup(built) {
  if (built.text !== undefined) return built.text;
  const inner = built.children.map(markup).join('');
  return built.tag === null ? inner : `<${built.tag}>${inner}</${built.tag}>`;
}

function cleaned(...bodyNodes) {
  const target = recordingDocument();
  const fragment = cleanNoticeHtml('ignored', target, () => ({ body: el('body', {}, ...bodyNodes) }));
  assert.deepEqual(target.attributesSet, []);
  return markup(fragment);
}

test('the allowed elements are made anew, without their attributes', () => {
  const made = cleaned(
    el('h4', { id: 'x' }, text('Outcome')),
    el('p', { class: 'c', style: 'color:red', onclick: 'steal()' }, text('Raised '), el('strong', { onmouseover: 'x()' }, text('detention')), el('br', {})),
    el('ul', {}, el('li', {}, el('em', {}, text('one'))), el('li', {}, el('code', {}, text('two')))),
  );
  assert.equal(made, '<h4>Outcome</h4><p>Raised <strong>detention</strong><br></br></p><ul><li><em>one</em></li><li><code>two</code></li></ul>');
  for (const tag of ALLOWED_TAGS) assert.equal(cleaned(el(tag.toUpperCase(), {}, text('t'))), `<${tag}>t</${tag}>`);
});

test('scripts and styles go with their content; links, images and forms leave only text', () => {
  assert.equal(cleaned(el('script', {}, text('steal()')), el('style', {}, text('p{}')), el('p', {}, text('kept'))), '<p>kept</p>');
  assert.equal(cleaned(el('template', {}, el('p', {}, text('hidden')))), '');
  assert.equal(cleaned(el('svg', {}, el('script', {}, text('x'))), el('iframe', { src: 'https://elsewhere' }, text('frame'))), '');
  assert.equal(cleaned(el('p', {}, el('a', { href: 'javascript:steal()' }, text('click here')))), '<p>click here</p>');
  assert.equal(cleaned(el('img', { src: 'x', onerror: 'steal()' }), el('form', { action: '/x' }, el('input', {}), text('typed'))), 'typed');
  assert.equal(cleaned(el('div', {}, el('p', {}, text('inside a div')))), '<p>inside a div</p>');
  assert.equal(cleaned(comment('<script>x</script>'), text('after')), 'after');
});

test('text is copied as text, never as markup', () => {
  const target = recordingDocument();
  const fragment = cleanNoticeHtml('ignored', target, () => ({ body: el('body', {}, el('p', {}, text('<img src=x onerror=steal()>'))) }));
  assert.deepEqual(fragment.children[0].children, [{ text: '<img src=x onerror=steal()>' }]);
});

test('a notice is headed by what it is', () => {
  const words = { debrief: 'Debrief of the session on {date}', debrief_undated: 'Debrief of a session', progress: 'Progress on the roadmap' };
  const longDate = (iso) => `the ${iso}`;
  const dates = { 3: '2026-05-04' };
  assert.equal(noticeHeading({ purpose: 'debrief', session: 3 }, words, dates, longDate), 'Debrief of the session on the 2026-05-04');
  assert.equal(noticeHeading({ purpose: 'debrief', session: 9 }, words, dates, longDate), 'Debrief of a session');
  assert.equal(noticeHeading({ purpose: 'debrief', session: null }, words, dates, longDate), 'Debrief of a session');
  assert.equal(noticeHeading({ purpose: 'progress', session: 3 }, words, dates, longDate), 'Progress on the roadmap');
});
