/**
 * A refusal the portal answered, and the words a page shows when something it tried failed.
 *
 * Only the portal's own refusals carry words written for a person, and it writes them in the
 * page's language (the `error` of its JSON answer). Every other failure (the network gone, an
 * answer that is not the portal's JSON, a check in the browser, a programming mistake) carries an
 * English message meant for a developer; a page shows its own translated sentence instead, read
 * from its `data-messages`, and never that message.
 */

/** The portal refused what was sent; `message` is its answer's `error`, `status` its status. */
export class ServerRefusalError extends Error {
  constructor(message, status) {
    super(message ?? '');
    this.name = 'ServerRefusalError';
    this.status = status;
  }
}

/**
 * What a page says about `failure`: the portal's words for its refusal, else `fallback`.
 *
 * @param {unknown} failure what was thrown
 * @param {string} fallback the page's translated sentence for a failure it cannot explain
 * @returns {string}
 */
export function failureText(failure, fallback) {
  return failure instanceof ServerRefusalError && failure.message !== '' ? failure.message : fallback;
}
