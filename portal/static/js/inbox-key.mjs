/**
 * The submitter's key seed after a sign-in with JavaScript, kept in this tab and nowhere else.
 *
 * The seed (32 bytes, the X25519 private key the codename derives to) lives in `sessionStorage`:
 * it survives reloads and moves between inbox pages of this tab, so the codename is typed once
 * (and never kept), and it is gone when the tab closes. Not a cookie, which would carry it to the
 * server with every request; not `localStorage`, which would keep it on disk past the browser
 * session and share it with every tab. The cost: while the tab is open, script of this origin
 * can read it (the Content-Security-Policy admits only the portal's own files), and so can
 * someone holding the unlocked device. Signing out and quick exit clear it.
 */
export const KEY_SEED_ENTRY = 'parley.inbox.keySeed';
const SEED_LENGTH = 32;

export function rememberKeySeed(storage, seed) {
  storage.setItem(KEY_SEED_ENTRY, btoa(String.fromCharCode(...seed)));
}

/** The stored seed, or null when this tab holds none (or something that is not a seed). */
export function recallKeySeed(storage) {
  const stored = storage.getItem(KEY_SEED_ENTRY);
  if (stored === null) return null;
  let seed;
  try {
    seed = Uint8Array.from(atob(stored), (character) => character.charCodeAt(0));
  } catch {
    return null;
  }
  return seed.length === SEED_LENGTH ? seed : null;
}

export function forgetKeySeed(storage) {
  storage.removeItem(KEY_SEED_ENTRY);
}

if (typeof document !== 'undefined') {
  // The form still posts: the server ends the session, and this tab forgets the key.
  for (const form of document.querySelectorAll('form.sign-out')) {
    form.addEventListener('submit', () => forgetKeySeed(window.sessionStorage));
  }
}
