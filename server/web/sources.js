// The sources panel: every source of one answer (title, heading, source, score, snippet); a citation
// selects its source there.
import { $, h } from './dom.js';
import { isOverlay, openDrawer } from './drawers.js';

let shown = null; // the answer whose sources are listed

export function showSources(answer, selected = null, { reveal = false } = {}) {
  shown = answer;
  const list = $('source-list');
  list.replaceChildren(...(answer.sources || []).map((s) => sourceItem(s, s.n === selected)));
  $('sources-empty').hidden = list.childElementCount > 0;
  $('sources-for').textContent = answer.question ? `For: ${answer.question}` : '';
  if (reveal) openDrawer('sources');
  if (selected !== null) {
    const item = document.getElementById(`source-${selected}`);
    if (item) {
      item.scrollIntoView({ block: 'nearest' });
      if (reveal || !isOverlay($('sources'))) item.focus({ preventScroll: true });
    }
  }
}

export function clearSources() {
  shown = null;
  $('source-list').replaceChildren();
  $('sources-for').textContent = '';
  $('sources-empty').hidden = false;
}

export const sourcesShownFor = () => shown;

function sourceItem(s, selected) {
  const score = typeof s.score === 'number' ? s.score.toPrecision(3) : '';
  return h('li', { id: `source-${s.n}`, class: selected ? 'source selected' : 'source', tabindex: '-1',
    'aria-current': selected ? 'true' : undefined },
  h('div', { class: 'source-head' },
    h('span', { class: 'source-n', 'aria-label': `Source ${s.n}` }, String(s.n)),
    h('span', { class: 'source-title' }, s.title || 'Untitled')),
  s.heading ? h('p', { class: 'source-heading' }, s.heading) : null,
  h('p', { class: 'source-meta muted small' },
    s.source ? h('span', { class: 'source-origin' }, s.source) : null,
    score ? h('span', { class: 'source-score' }, `score ${score}`) : null),
  h('blockquote', { class: 'source-snippet' }, s.snippet || s.content || ''));
}
