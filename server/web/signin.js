// The sign-in dialog: asks for an API key or a token when the server answers 401. The credential is
// kept in sessionStorage (this tab only, gone when it closes) and sent as "Authorization: Bearer …".
import { $ } from './dom.js';

const STORAGE_KEY = 'pg_rag.credential';

export const credential = {
  get: () => sessionStorage.getItem(STORAGE_KEY),
  set(value) {
    sessionStorage.setItem(STORAGE_KEY, value);
    $('sign-out').hidden = false;
  },
  clear() {
    sessionStorage.removeItem(STORAGE_KEY);
    $('sign-out').hidden = true;
  },
};

export function authorizationHeader() {
  const value = credential.get();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

let pending = null;

// Resolves once a credential was entered (requests then retry with it); rejects when cancelled.
// Requests that get 401 together share one dialog.
export function signIn(reason) {
  if (!pending) {
    pending = ask(reason).finally(() => {
      pending = null;
    });
  }
  return pending;
}

function ask(reason) {
  const dialog = $('signin-dialog');
  const form = $('signin-form');
  const input = $('signin-credential');
  const hadOne = Boolean(credential.get());
  const said = reason ? ` The server said: “${reason}”.` : '';
  $('signin-reason').textContent = hadOne
    ? `The server refused the key or token of this tab.${said} Enter another one.`
    : `This server needs an API key or a token.${said}`;
  input.value = '';
  return new Promise((resolve, reject) => {
    const finish = (value) => {
      form.removeEventListener('submit', onSubmit);
      $('signin-cancel').removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (value === null) reject(new Error('sign-in cancelled'));
      else resolve(value);
    };
    const onSubmit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      credential.set(value);
      finish(value);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(null);
    };
    form.addEventListener('submit', onSubmit);
    $('signin-cancel').addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}

export function setUpSignOut(onSignedOut) {
  $('sign-out').hidden = !credential.get();
  $('sign-out').addEventListener('click', () => {
    credential.clear();
    onSignedOut();
  });
}
