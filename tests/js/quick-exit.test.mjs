/**
 * The Escape-twice rule of the quick-exit module, without a browser: presses are fed with their
 * time stamps and the test counts how often the page would have left.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DOUBLE_PRESS_WINDOW_MS,
  createEscapeWatcher,
  installQuickExit,
} from '../../portal/static/js/quick-exit.mjs';

function leavesAfter(presses) {
  let left = 0;
  const watch = createEscapeWatcher(() => {
    left += 1;
  });
  for (const [key, timeStamp, repeat = false] of presses) {
    watch({ key, timeStamp, repeat });
  }
  return left;
}

test('two Escape presses within the window leave once', () => {
  assert.equal(leavesAfter([['Escape', 100], ['Escape', 100 + DOUBLE_PRESS_WINDOW_MS]]), 1);
});

test('presses further apart, other keys and held-down repeats do not leave', () => {
  assert.equal(leavesAfter([['Escape', 0], ['Escape', DOUBLE_PRESS_WINDOW_MS + 1]]), 0);
  assert.equal(leavesAfter([['Escape', 0], ['a', 10], ['Enter', 20]]), 0);
  assert.equal(leavesAfter([['Escape', 0], ['Escape', 30, true]]), 0);
});

test('a third press starts a new pair instead of leaving again', () => {
  assert.equal(leavesAfter([['Escape', 0], ['Escape', 10], ['Escape', 20]]), 1);
});

/** A stand-in page holding only the quick-exit link with `attributes`. */
function pageWithLink(attributes) {
  const listeners = {};
  const link = {
    href: attributes.href,
    dataset: attributes.dataset ?? {},
    addEventListener: (type, listener) => {
      listeners[type] = listener;
    },
  };
  const doc = { querySelector: () => link, addEventListener: () => {} };
  return { doc, click: () => listeners.click({ preventDefault: () => {} }) };
}

function leaveFrom(attributes) {
  const { doc, click } = pageWithLink(attributes);
  const went = [];
  const beacons = [];
  const storage = {
    cleared: false,
    clear: () => {
      storage.cleared = true;
    },
  };
  installQuickExit(doc, { replace: (url) => went.push(url) }, storage, (url, data) => {
    beacons.push([url, data.get('csrf_token')]);
    return true;
  });
  click();
  return { went, beacons, storage };
}

test('signed in, the page signs out with a beacon and leaves for the neutral site directly', () => {
  const { went, beacons, storage } = leaveFrom({
    href: 'https://portal.example/quick-exit',
    dataset: { neutralUrl: 'https://neutral.example/', csrfToken: 'token' },
  });
  assert.deepEqual(beacons, [['https://portal.example/quick-exit', 'token']]);
  assert.deepEqual(went, ['https://neutral.example/']);
  assert.ok(storage.cleared);
});

test('not signed in, the page leaves by the link and sends nothing', () => {
  const { went, beacons } = leaveFrom({ href: 'https://neutral.example/' });
  assert.deepEqual(beacons, []);
  assert.deepEqual(went, ['https://neutral.example/']);
});
