// Documents: the list with chunk counts (a page at a time), delete, and uploads of one or many files
// from the button or dropped anywhere on the page, each with its progress and its own error.
import { describe, request, requestJson, uploadFile } from './api.js';
import { $, h } from './dom.js';
import { showNotice } from './notice.js';

const PAGE = 50;

export class DocumentList {
  constructor() {
    this.loaded = 0;
    $('documents-more').addEventListener('click', () => this.load(this.loaded));
    $('upload-button').addEventListener('click', () => $('file-input').click());
    $('file-input').addEventListener('change', () => {
      const files = [...$('file-input').files];
      $('file-input').value = '';
      this.upload(files);
    });
    $('uploads-clear').addEventListener('click', () => {
      $('upload-list').replaceChildren();
      $('uploads-clear').hidden = true;
    });
    this.setUpDrop();
  }

  refresh() {
    return this.load(0);
  }

  async load(offset) {
    let page;
    try {
      page = await requestJson('GET', `/api/documents?limit=${PAGE}&offset=${offset}`);
    } catch (err) {
      showNotice(`The documents could not be loaded. ${describe(err)}`);
      return;
    }
    const items = page.documents.map((d) => this.item(d));
    if (offset === 0) $('document-list').replaceChildren(...items);
    else $('document-list').append(...items);
    this.loaded = offset + page.documents.length;
    $('documents-more').hidden = this.loaded >= page.total;
    $('documents-empty').hidden = page.total > 0;
    $('documents-count').textContent = page.total ? String(page.total) : '';
  }

  item(doc) {
    const title = doc.title || 'Untitled';
    const chunks = doc.chunks === 1 ? '1 chunk' : `${doc.chunks} chunks`;
    const li = h('li', { class: 'item document' },
      h('div', { class: 'item-text' },
        h('span', { class: 'item-title' }, title),
        h('span', { class: 'item-meta muted small' }, doc.source && doc.source !== title ? `${chunks} · ${doc.source}` : chunks)),
      h('button', { type: 'button', class: 'icon-button item-delete', 'aria-label': `Delete the document “${title}”`,
        title: 'Delete', onclick: () => this.remove(doc.id, title) }, h('span', { 'aria-hidden': 'true' }, '✕')));
    li.dataset.id = String(doc.id);
    return li;
  }

  async remove(id, title) {
    if (!window.confirm(`Delete the document “${title}” and its chunks?`)) return;
    try {
      await request('DELETE', `/api/documents/${id}`);
    } catch (err) {
      if (err.status !== 404) {
        showNotice(`The document could not be deleted. ${describe(err)}`);
        return;
      }
    }
    await this.refresh();
  }

  // One file after another (the server ingests each in one transaction); every file gets its row.
  async upload(files) {
    if (files.length === 0) return;
    $('upload-list').replaceChildren();
    $('uploads-clear').hidden = true;
    const rows = files.map((file) => this.uploadRow(file));
    for (const [index, file] of files.entries()) {
      const row = rows[index];
      row.status.textContent = 'Uploading…';
      try {
        const made = await uploadFile(file, (fraction) => {
          row.progress.value = fraction;
          if (fraction < 1) row.status.textContent = `Uploading… ${Math.round(fraction * 100)}%`;
          else row.status.textContent = 'Reading and indexing…';
        });
        row.el.classList.add('ok');
        row.progress.hidden = true;
        row.status.textContent = `Added: ${made.chunks === 1 ? '1 chunk' : `${made.chunks} chunks`}`;
      } catch (err) {
        row.el.classList.add('error');
        row.progress.hidden = true;
        row.status.textContent = describe(err);
      }
    }
    $('uploads-clear').hidden = false;
    await this.refresh();
  }

  uploadRow(file) {
    const progress = h('progress', { max: '1', value: '0', 'aria-label': `Upload of ${file.name}` });
    const status = h('span', { class: 'upload-status small' }, 'Waiting…');
    const el = h('li', { class: 'upload' }, h('span', { class: 'upload-name' }, file.name), progress, status);
    $('upload-list').append(el);
    return { el, progress, status };
  }

  // Files dragged over the window show an overlay; dropped anywhere, they are uploaded.
  setUpDrop() {
    let depth = 0;
    const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
    window.addEventListener('dragenter', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth++;
      $('drop-overlay').hidden = false;
    });
    window.addEventListener('dragover', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'copy';
    });
    window.addEventListener('dragleave', (event) => {
      if (!carriesFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) $('drop-overlay').hidden = true;
    });
    window.addEventListener('drop', (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      depth = 0;
      $('drop-overlay').hidden = true;
      this.upload([...event.dataTransfer.files]);
    });
  }
}
