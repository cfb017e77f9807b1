// The conversation: its messages from the server, a question streamed into an answer (sources, tokens,
// done), the stop button, copying an answer, and citations that open their source.
import { ApiError, describe, request, requestJson, streamError } from './api.js';
import { $, copyText, h } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { settings } from './settings.js';
import { readEvents } from './sse.js';
import { clearSources, showSources, sourcesShownFor } from './sources.js';
import { clearNotice, showNotice } from './notice.js';

export class Conversation {
  constructor({ onAnswered }) {
    this.onAnswered = onAnswered;
    this.sessionId = null;
    this.answers = []; // {question, answer, sources, meta, el, body}
    this.controller = null;
    this.opening = 0; // the latest open(); older responses are dropped
    $('messages').addEventListener('click', (event) => this.onClick(event));
  }

  // Shows the session's messages from the server (fresh: a new id, with none to ask for).
  async open(sessionId, { fresh = false } = {}) {
    this.stop();
    const opening = ++this.opening;
    this.sessionId = sessionId;
    this.answers = [];
    $('messages').replaceChildren();
    clearSources();
    this.updateWelcome();
    if (fresh) return;
    try {
      const data = await requestJson('GET', `/api/sessions/${encodeURIComponent(sessionId)}/messages`);
      if (opening !== this.opening) return;
      let question = '';
      for (const m of data.messages) {
        if (m.role === 'user') {
          question = m.content;
          this.addQuestion(m.content);
        } else {
          const answer = this.addAnswer(question);
          answer.answer = m.content;
          answer.sources = m.sources || [];
          answer.meta = { provider: m.provider, model: m.model };
          this.finish(answer, 'done');
        }
      }
      const last = this.answers[this.answers.length - 1];
      if (last) showSources(last);
    } catch (err) {
      if (opening !== this.opening) return;
      if (!(err instanceof ApiError && err.status === 404)) showNotice(`This conversation could not be loaded. ${describe(err)}`);
    }
    this.updateWelcome();
    this.scrollToEnd(true);
  }

  get busy() {
    return this.controller !== null;
  }

  async ask(question) {
    if (this.busy) return;
    clearNotice();
    this.addQuestion(question);
    const answer = this.addAnswer(question);
    answer.el.setAttribute('aria-busy', 'true');
    this.updateWelcome();
    this.scrollToEnd(true);
    const controller = new AbortController();
    this.controller = controller;
    this.setBusy(true);
    try {
      const res = await request('POST', '/api/chat', {
        body: { question, session_id: this.sessionId, k: settings.k, mode: settings.mode, stream: true },
        signal: controller.signal,
        accept: 'text/event-stream',
      });
      let complete = false;
      for await (const { event, data } of readEvents(res)) {
        if (event === 'sources') {
          answer.sources = data.sources || [];
          showSources(answer);
        } else if (event === 'token') {
          answer.answer += data.text;
          this.scheduleRender(answer);
        } else if (event === 'done') {
          answer.answer = data.answer;
          answer.sources = data.sources || answer.sources;
          answer.meta = data;
          complete = true;
        } else if (event === 'error') {
          throw streamError(data);
        }
      }
      if (!complete) throw new ApiError('the server closed the connection before the answer was complete');
      this.finish(answer, 'done');
      if (sourcesShownFor() === answer || !sourcesShownFor()) showSources(answer);
      this.onAnswered();
    } catch (err) {
      if (controller.signal.aborted) {
        this.finish(answer, 'stopped');
      } else {
        const failure = err instanceof ApiError ? err : new ApiError(
          'the connection to the server was lost before the answer was complete');
        this.finish(answer, 'failed', describe(failure));
        // Nothing was answered: the question goes back into the box to send again.
        if (!answer.answer && !$('question').value) $('question').value = question;
      }
    } finally {
      this.controller = null;
      this.setBusy(false);
    }
  }

  // Ends a streaming answer: the request is aborted, so the server stops generating and records nothing.
  stop() {
    if (this.controller) this.controller.abort();
  }

  setBusy(busy) {
    $('send').hidden = busy;
    $('stop').hidden = !busy;
    $('composer').setAttribute('aria-busy', String(busy));
    if (busy) $('stop').focus();
    else if (document.activeElement === $('stop') || document.activeElement === document.body) $('question').focus();
  }

  updateWelcome() {
    $('welcome').hidden = $('messages').childElementCount > 0;
  }

  addQuestion(text) {
    $('messages').append(h('li', { class: 'message user' },
      h('span', { class: 'visually-hidden' }, 'You asked: '),
      h('div', { class: 'message-body' }, text)));
  }

  addAnswer(question) {
    const body = h('div', { class: 'message-body markdown' });
    const status = h('p', { class: 'message-status', hidden: true });
    const footer = h('div', { class: 'message-footer', hidden: true });
    const el = h('li', { class: 'message assistant' },
      h('span', { class: 'visually-hidden' }, 'Answer: '),
      h('div', { class: 'typing', 'aria-hidden': 'true' }, h('span'), h('span'), h('span')),
      body, status, footer);
    const answer = { question, answer: '', sources: [], meta: null, el, body, status, footer, frame: 0 };
    el.dataset.index = String(this.answers.length);
    this.answers.push(answer);
    $('messages').append(el);
    return answer;
  }

  scheduleRender(answer) {
    if (answer.frame) return;
    answer.frame = requestAnimationFrame(() => {
      answer.frame = 0;
      const follow = this.nearEnd();
      this.render(answer);
      this.scrollToEnd(follow);
    });
  }

  render(answer) {
    answer.el.classList.toggle('has-text', answer.answer.length > 0);
    answer.body.replaceChildren(renderMarkdown(answer.answer, {
      citation: (n) => {
        const source = answer.sources.find((s) => s.n === n);
        if (!source) return null;
        return h('button', { type: 'button', class: 'cite', 'data-n': String(n),
          'aria-label': `Source ${n}: ${source.title || 'untitled'}`, title: source.title || '' }, String(n));
      },
    }));
  }

  finish(answer, state, message = '') {
    if (answer.frame) cancelAnimationFrame(answer.frame);
    answer.frame = 0;
    this.render(answer);
    answer.el.removeAttribute('aria-busy');
    answer.el.classList.add(state);
    const texts = {
      stopped: 'Stopped. This answer was not saved in the conversation.',
      failed: message,
    };
    if (texts[state]) {
      answer.status.textContent = texts[state];
      answer.status.hidden = false;
      answer.status.setAttribute('role', state === 'failed' ? 'alert' : 'status');
    }
    if (state === 'done') answer.footer.replaceChildren(...this.footer(answer));
    answer.footer.hidden = state !== 'done';
  }

  footer(answer) {
    const meta = answer.meta || {};
    const parts = [meta.provider, meta.model].filter(Boolean);
    if (typeof meta.latency_ms === 'number') parts.push(`${(meta.latency_ms / 1000).toFixed(1)} s`);
    if (meta.cached) parts.push('cached');
    const count = answer.sources.length;
    return [
      h('span', { class: 'meta muted small' }, parts.join(' · ')),
      meta.standalone_question ? h('span', { class: 'meta muted small' }, `searched for: ${meta.standalone_question}`) : null,
      h('span', { class: 'footer-actions' },
        count ? h('button', { type: 'button', class: 'button quiet small show-sources' },
          count === 1 ? '1 source' : `${count} sources`) : null,
        h('button', { type: 'button', class: 'button quiet small copy', 'aria-label': 'Copy the answer' }, 'Copy')),
    ].filter(Boolean);
  }

  async onClick(event) {
    const target = event.target instanceof Element ? event.target.closest('button') : null;
    const item = target && target.closest('.message.assistant');
    if (!item) return;
    const answer = this.answers[Number(item.dataset.index)];
    if (!answer) return;
    if (target.classList.contains('cite')) {
      showSources(answer, Number(target.dataset.n), { reveal: true });
    } else if (target.classList.contains('show-sources')) {
      showSources(answer, null, { reveal: true });
    } else if (target.classList.contains('copy')) {
      try {
        await copyText(answer.answer);
        target.textContent = 'Copied';
      } catch (err) {
        target.textContent = 'Copy failed';
        showNotice(`The answer could not be copied: ${err.message}`);
      }
      setTimeout(() => {
        target.textContent = 'Copy';
      }, 2000);
    }
  }

  nearEnd() {
    const box = $('conversation');
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  scrollToEnd(force) {
    if (!force) return;
    const box = $('conversation');
    box.scrollTop = box.scrollHeight;
  }
}
