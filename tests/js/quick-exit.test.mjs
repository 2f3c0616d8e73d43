/**
 * The Escape-twice rule of the quick-exit module, without a browser: presses are fed with their
 * time stamps and the test counts how often the page would have left.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  DOUBLE_PRESS_WINDOW_MS,
  createEscapeWatcher,
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
