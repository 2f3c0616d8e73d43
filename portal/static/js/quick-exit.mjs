// Quick exit: leave for a neutral site at once, without leaving this page behind in history.
//
// The quick-exit link in the page header works without JavaScript (an ordinary link to the
// neutral site). Where this module runs, it adds two things: following the link replaces the
// current history entry instead of adding one, so Back does not return here; and pressing
// Escape twice within a second does the same from anywhere on the page. The neutral address is
// read from the link itself, so it is configured in one place (the application factory).
// Leaving also empties this tab's sessionStorage, which holds the inbox key seed after a sign-in
// with JavaScript (see inbox-key.mjs): whoever opens the tab afterwards finds no key in it.
//
// While an inbox is signed in, the link points to the portal's /quick-exit, which signs the inbox
// out on the server before redirecting (the path without JavaScript), and carries the neutral
// address and the CSRF token. This module then leaves for the neutral address directly, without
// waiting for the portal, and signs the inbox out with a beacon (POST /quick-exit with the
// token), which the browser delivers even as the page goes away (portal/blueprints/quick_exit.py).

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
 * sessionStorage) and, when the link names a neutral address, send `sendBeacon` to sign the inbox
 * out before leaving; returns false if the page has no link.
 */
export function installQuickExit(doc, location, storage, sendBeacon) {
  const link = doc.querySelector('a.quick-exit');
  if (link === null) {
    return false;
  }
  const leave = () => {
    storage.clear();
    const neutral = link.dataset.neutralUrl;
    if (neutral === undefined) {
      location.replace(link.href);
      return;
    }
    const form = new FormData();
    form.append('csrf_token', link.dataset.csrfToken ?? '');
    sendBeacon(link.href, form);
    location.replace(neutral);
  };
  link.addEventListener('click', (event) => {
    event.preventDefault();
    leave();
  });
  doc.addEventListener('keydown', createEscapeWatcher(leave));
  return true;
}

if (typeof document !== 'undefined') {
  installQuickExit(document, window.location, window.sessionStorage, (url, data) =>
    navigator.sendBeacon(url, data),
  );
}
