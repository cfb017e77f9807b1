// The list of earlier conversations (GET /api/sessions, newest first, a page at a time): open one,
// delete one.
import { describe, request, requestJson } from './api.js';
import { $, h, relativeTime } from './dom.js';
import { showNotice } from './notice.js';

const PAGE = 30;

export class SessionList {
  constructor({ onOpen, onDeleted, current }) {
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.current = current; // () => the open session's id
    this.loaded = 0;
    $('sessions-more').addEventListener('click', () => this.load(this.loaded));
  }

  refresh() {
    return this.load(0);
  }

  async load(offset) {
    let page;
    try {
      page = await requestJson('GET', `/api/sessions?limit=${PAGE}&offset=${offset}`);
    } catch (err) {
      showNotice(`The conversations could not be loaded. ${describe(err)}`);
      return;
    }
    const items = page.sessions.map((s) => this.item(s));
    if (offset === 0) $('session-list').replaceChildren(...items);
    else $('session-list').append(...items);
    this.loaded = offset + page.sessions.length;
    $('sessions-more').hidden = this.loaded >= page.total;
    $('sessions-empty').hidden = this.loaded > 0;
    this.markCurrent();
  }

  markCurrent() {
    for (const li of $('session-list').children) {
      const open = li.querySelector('.item-open');
      if (li.dataset.id === this.current()) open.setAttribute('aria-current', 'true');
      else open.removeAttribute('aria-current');
    }
  }

  item(session) {
    const title = session.title || 'Untitled conversation';
    const li = h('li', { class: 'item' },
      h('button', { type: 'button', class: 'item-open', onclick: () => this.onOpen(session.id) },
        h('span', { class: 'item-title' }, title),
        h('span', { class: 'item-meta muted small' }, relativeTime(session.updated_at))),
      h('button', { type: 'button', class: 'icon-button item-delete', 'aria-label': `Delete the conversation “${title}”`,
        title: 'Delete', onclick: () => this.remove(session.id, title) }, h('span', { 'aria-hidden': 'true' }, '✕')));
    li.dataset.id = session.id;
    return li;
  }

  async remove(id, title) {
    if (!window.confirm(`Delete the conversation “${title}”?`)) return;
    try {
      await request('DELETE', `/api/sessions/${encodeURIComponent(id)}`);
    } catch (err) {
      if (err.status !== 404) {
        showNotice(`The conversation could not be deleted. ${describe(err)}`);
        return;
      }
    }
    await this.refresh();
    this.onDeleted(id);
  }
}
