/**
 * Signing in to the inbox with JavaScript: the codename is derived here and never sent.
 *
 * Progressive enhancement of `templates/inbox/sign_in.html`, whose form posts the codename to
 * the server when this module does not run. Here the typed codename becomes the login secret and
 * key seed (`deriveCodenameSecrets`); only the login secret and the owner tag key derived from
 * the seed (`ownerTagKey`, with which the server finds this codename's submissions while the
 * session lasts) are posted, as JSON with the CSRF token in `X-CSRFToken`, to the form's
 * `data-login-url`. On success the seed is kept in this tab (`inbox-key.mjs`) and the page moves
 * to the inbox, whose session on the server holds no private key. A refusal shows the server's
 * words, the same with or without JavaScript. While many sign-ins fail, the server asks for a
 * proof of work first, which `sign-in-work.mjs` does.
 */
import { CodenameError, deriveCodenameSecrets, ownerTagKey } from './parley-crypto.mjs';
import { rememberKeySeed } from './inbox-key.mjs';
import { postSigningIn } from './sign-in-work.mjs';
import { ServerRefusalError, failureText } from './server-refusal.mjs';

function toBase64(bytes) {
  return btoa(String.fromCharCode(...bytes));
}

/** Show `text` above the codename field, where the server puts its own refusal. */
function showError(form, text) {
  const input = form.elements.codename;
  let message = document.getElementById('codename-error');
  if (message === null) {
    message = document.createElement('p');
    message.className = 'field-error';
    message.id = 'codename-error';
    message.setAttribute('role', 'alert');
    input.before(message);
  }
  message.textContent = text;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', message.id);
  input.value = '';
  input.focus();
}

async function signIn(form) {
  let secrets;
  try {
    secrets = await deriveCodenameSecrets(form.elements.codename.value);
  } catch (error) {
    // Not eight words: no guess worth sending, and the same words as any refusal.
    if (error instanceof CodenameError) return showError(form, form.dataset.refused);
    throw error;
  }
  const body = {
    login_secret: toBase64(secrets.loginSecret),
    owner_tag_key: toBase64(await ownerTagKey(secrets.keySeed)),
  };
  const { response, answer } = await postSigningIn(
    form.dataset.loginUrl, form.elements.csrf_token.value, body, secrets.loginSecret,
  );
  if (!response.ok) return showError(form, failureText(new ServerRefusalError(answer.error, response.status), form.dataset.refused));
  rememberKeySeed(window.sessionStorage, secrets.keySeed);
  window.location.assign(answer.next);
}

const form = document.getElementById('sign-in');
if (form !== null) {
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    signIn(form)
      .catch(() => showError(form, form.dataset.failed))
      .finally(() => {
        button.disabled = false;
      });
  });
}
