// The message line above the conversation: errors that belong to no answer (a list that failed to load).
import { $ } from './dom.js';

export function showNotice(text) {
  $('notice-text').textContent = text;
  $('notice').hidden = false;
}

export function clearNotice() {
  $('notice').hidden = true;
  $('notice-text').textContent = '';
}

$('notice-close').addEventListener('click', clearNotice);
