/**
 * Notices in the inbox tab: the desk's debriefs and progress on the roadmap, sealed and signed
 * like any desk message, holding `parley-desk-notice-v1` (docs/FORMATS.md, "Notice v1").
 *
 * `readNotice` accepts exactly what the server's `notice_format.read_notice` accepts. A notice
 * carries HTML, rendered and cleaned when the desk wrote it; the tab never trusts it as it is:
 * `cleanNoticeHtml` parses it into an inert document (DOMParser: no script runs, nothing is
 * fetched, no handler fires) and rebuilds it in the page element by element, creating only the
 * elements of `ALLOWED_TAGS` (`staff_markdown.ALLOWED_TAGS` on the server), without a single
 * attribute, and copying text as text. Everything else goes: script, style and the like with
 * their content, any other element (a link, an image, a form) leaving only its text, comments.
 * Nothing is ever assigned to `innerHTML` in the live document.
 *
 * The walk takes the parsed tree and the document to build in as arguments, so that Node can
 * test it without a browser.
 */
import { characterCount } from './sealed-submission.mjs';

export const NOTICE_FORMAT = 'parley-desk-notice-v1';
export const NOTICE_PURPOSES = ['debrief', 'progress'];
/** The longest notice HTML, in characters (`notice_format.MAX_NOTICE_HTML`). */
export const MAX_NOTICE_HTML = 200000;
/** What survives the rebuild (`staff_markdown.ALLOWED_TAGS`). */
export const ALLOWED_TAGS = ['p', 'br', 'strong', 'em', 'ul', 'ol', 'li', 'blockquote', 'code', 'pre', 'h4', 'h5'];
/** Elements whose content is not text to read, dropped whole rather than unwrapped. */
const DROPPED_WITH_CONTENT = new Set(['script', 'style', 'template', 'noscript', 'iframe', 'object', 'embed', 'svg', 'math', 'textarea', 'select', 'title', 'head']);

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const ALLOWED = new Set(ALLOWED_TAGS);

function optionalId(value) {
  return value === undefined || value === null || (Number.isInteger(value) && value > 0 && value < 2 ** 31);
}

/**
 * An opened notice as `{purpose, session, action, html}` (`html` still to be cleaned by
 * `cleanNoticeHtml`), or `null` when `payload` is not a valid notice v1.
 */
export function readNotice(payload) {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return null;
  if (payload.format !== NOTICE_FORMAT) return null;
  const { purpose, html, session, action } = payload;
  if (!NOTICE_PURPOSES.includes(purpose) || typeof html !== 'string') return null;
  if (characterCount(html) > MAX_NOTICE_HTML || !optionalId(session) || !optionalId(action)) return null;
  return { purpose, session: session ?? null, action: action ?? null, html };
}

/**
 * The children of `source` (a node of an inert parsed document) rebuilt in `target` (the
 * document of the page) under `into`: allowed elements made anew without attributes, text
 * copied as text, other elements unwrapped, dropped ones and everything else left out.
 */
function rebuild(source, into, target) {
  for (const node of source.childNodes) {
    if (node.nodeType === TEXT_NODE) {
      into.append(target.createTextNode(node.data));
    } else if (node.nodeType === ELEMENT_NODE) {
      const tag = String(node.localName ?? node.nodeName).toLowerCase();
      if (DROPPED_WITH_CONTENT.has(tag)) continue;
      if (ALLOWED.has(tag)) {
        const made = target.createElement(tag);
        rebuild(node, made, target);
        into.append(made);
      } else {
        rebuild(node, into, target);
      }
    }
  }
}

function parseInert(html) {
  return new DOMParser().parseFromString(html, 'text/html');
}

/**
 * A fragment of `target` holding `html` cleaned to the allow-list (module comment).
 *
 * @param {string} html the notice's HTML
 * @param {Document} target the page's document, which makes the new nodes
 * @param {Function} [parse] html -> an inert document with a `body` (DOMParser by default)
 */
export function cleanNoticeHtml(html, target, parse = parseInert) {
  const fragment = target.createDocumentFragment();
  rebuild(parse(html).body, fragment, target);
  return fragment;
}

/**
 * The heading of a notice: the debrief of the session on its date, or progress on the roadmap.
 *
 * @param {{purpose: string, session: number|null}} notice from `readNotice`
 * @param {Object<string, string>} words `notice_headings.notice_heading_words` (`{date}` inside)
 * @param {Object<string, string>} sessionDates ISO dates by session id, of the dialogue
 * @param {Function} longDate ISO date -> the date written out
 */
export function noticeHeading(notice, words, sessionDates, longDate) {
  if (notice.purpose === 'progress') return words.progress;
  const date = notice.session === null ? undefined : sessionDates[String(notice.session)];
  return date === undefined ? words.debrief_undated : words.debrief.replace('{date}', longDate(date));
}
