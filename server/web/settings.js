// Search settings (k and mode), kept in localStorage and edited in a small dialog.
import { $ } from './dom.js';

const STORAGE_KEY = 'pg_rag.settings';
const MODES = ['hybrid', 'vector', 'keyword'];

export const settings = { k: 5, mode: 'hybrid' };

function load() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || '{}');
    if (Number.isInteger(saved.k) && saved.k >= 1 && saved.k <= 50) settings.k = saved.k;
    if (MODES.includes(saved.mode)) settings.mode = saved.mode;
  } catch {
    // unreadable: the defaults
  }
}

export function setUpSettings() {
  load();
  const dialog = $('settings-dialog');
  $('settings-open').addEventListener('click', () => {
    $('setting-k').value = String(settings.k);
    $('setting-mode').value = settings.mode;
    dialog.showModal();
  });
  $('settings-cancel').addEventListener('click', () => dialog.close());
  $('settings-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const k = Number($('setting-k').value);
    if (!Number.isInteger(k) || k < 1 || k > 50) {
      $('setting-k').reportValidity();
      return;
    }
    settings.k = k;
    settings.mode = MODES.includes($('setting-mode').value) ? $('setting-mode').value : 'hybrid';
    localStorage.setItem(STORAGE_KEY, JSON.stringify(settings));
    dialog.close();
  });
}
