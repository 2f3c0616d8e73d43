// Quick exit: leave for a neutral site at once, without leaving this page behind in history.
//
// The quick-exit link in the page header works without JavaScript (an ordinary link to the
// neutral site). Where this module runs, it adds two things: following the link replaces the
// current history entry instead of adding one, so Back does not return here; and pressing
// Escape twice within a second does the same from anywhere on the page. The neutral address is
// read from the link itself, so it is configured in one place (the application factory).
// Leaving also empties this tab's sessionStorage, which holds the inbox key seed after a sign-in
// with JavaScript (see inbox-key.mjs): whoever opens the tab afterwards finds no key in it.

export const DOUBLE_PRESS_WINDOW_MS = 1000;

/** Calls `leave` when Escape is pressed a second time within DOUBLE_PRESS_WINDOW_MS. */
export function createEscapeWatcher(leave) {
  let lastEscapeAt = Number.NEGATIVE_INFINITY;
  return (event) => {
    if (event.key !== 'Escape' || event.repeat) {
      return;
    }
    if (event.timeStamp - lastEscapeAt <= DOUBLE_PRESS_WINDOW_MS) {
      lastEscapeAt = Number.NEGATIVE_INFINITY;
      leave();
      return;
    }
    lastEscapeAt = event.timeStamp;
  };
}

/**
 * Wires the link and the keyboard shortcut in `doc`, which clear `storage` (the tab's
 * sessionStorage) before leaving; returns false if the page has no link.
 */
export function installQuickExit(doc, location, storage) {
  const link = doc.querySelector('a.quick-exit');
  if (link === null) {
    return false;
  }
  const leave = () => {
    storage.clear();
    location.replace(link.href);
  };
  link.addEventListener('click', (event) => {
    event.preventDefault();
    leave();
  });
  doc.addEventListener('keydown', createEscapeWatcher(leave));
  return true;
}

if (typeof document !== 'undefined') {
  installQuickExit(document, window.location, window.sessionStorage);
}
